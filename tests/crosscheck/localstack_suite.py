"""Runs the case suite against LocalStack (S3 and KMS) started in-process on 127.0.0.1 (tox -e localstack).

LocalStack is a second, independent implementation whose S3 tests are snapshot-validated against AWS, so
every case it fails is either a LocalStack deviation, something LocalStack cannot do, or a wrong case;
reports/localstack/README.md triages each failure and lists each warning (a mismatch only in checks the case
marks unproven). The script fails only when the run itself could not happen (LocalStack did not start, or exit
code 2 from the runner).

LocalStack runs from the Python given with --localstack-python (default: this interpreter), which must
have `localstack-core[base-runtime]` installed (2026.3.0 on Python 3.13 with cbor2==5.9.0, pyopenssl<25,
service_identity<25). No docker: the runtime (`localstack.runtime.main`) runs in a child process with a
throw-away filesystem root, no DNS server, no analytics, and is stopped by its PID.

Accounts: LocalStack takes a 12-digit access key id as the account id, so the main keys are
000000000000/test (LocalStack's default account) and the second account's keys 111111111111/test.
LocalStack serves HTTP and HTTPS on the same port; it is given a certificate for 127.0.0.1 signed by a
throw-away CA (mockserver.tls, through LocalStack's CUSTOM_SSL_CERT_PATH), so the run uses
https://127.0.0.1:PORT as the endpoint (capability `tls`) and http://127.0.0.1:PORT as the plain one.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from mockserver.tls import generate_tls_files

MAIN = ("000000000000", "test")
ALT = ("111111111111", "test")

# LocalStack's twisted gateway ignores the host part of GATEWAY_LISTEN (it binds every interface); the
# launcher gives twisted's TCP4ServerEndpoint the host from GATEWAY_LISTEN before the runtime starts.
LAUNCHER = """
import functools, os
from twisted.internet import endpoints
host = os.environ["GATEWAY_LISTEN"].rsplit(":", 1)[0]
endpoints.TCP4ServerEndpoint = functools.partial(endpoints.TCP4ServerEndpoint, interface=host)
from localstack.runtime.main import main
main()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def localstack_env(port: int, root: Path, cert: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_", "PYTHON"))}
    env.update({
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "SERVICES": "s3,kms",
        "EAGER_SERVICE_LOADING": "1",
        "DNS_ADDRESS": "0",                 # no DNS server
        "DISABLE_EVENTS": "1",              # no analytics
        "SKIP_SSL_CERT_DOWNLOAD": "1",      # no certificate download: ours
        "CUSTOM_SSL_CERT_PATH": str(cert),
        "PERSISTENCE": "0",
        # LocalStack's own switches towards AWS behaviour (both default to skipping the check):
        "S3_SKIP_KMS_KEY_VALIDATION": "0",      # S3 checks that the KMS key exists and is usable
        "S3_SKIP_SIGNATURE_VALIDATION": "0",    # presigned URLs are verified
        "FILESYSTEM_ROOT": str(root),
        "LOCALSTACK_VOLUME_DIR": str(root / "volume"),
    })
    return env


def make_certificate(root: Path) -> tuple[Path, Path]:
    """A key+certificate PEM for LocalStack (its CUSTOM_SSL_CERT_PATH format) and the CA file for the runner."""
    tls = generate_tls_files(str(root))
    combined = root / "localstack-server.pem"
    combined.write_bytes(Path(tls.key_file).read_bytes() + Path(tls.cert_file).read_bytes())
    return combined, Path(tls.ca_file)


def wait_ready(proc: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    url = f"http://127.0.0.1:{port}/_localstack/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"LocalStack exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                services = json.load(resp).get("services", {})
            if all(services.get(s) in ("available", "running") for s in ("s3", "kms")):
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"LocalStack not ready on port {port} after {timeout:.0f}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--localstack-python", default=sys.executable,
                        help="python with localstack-core[base-runtime] installed (default: this one)")
    parser.add_argument("--runner", default=None,
                        help="s3-conformance executable (default: `python -m conformance.cli` of this python)")
    parser.add_argument("--port", type=int, default=0, help="gateway port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--no-tls", action="store_true", help="use the plain-HTTP endpoint only")
    parser.add_argument("--report-dir", default="reports/localstack")
    parser.add_argument("--profile", default="aws")
    parser.add_argument("--cases", default="cases")
    parser.add_argument("-n", "--jobs", default="2")
    parser.add_argument("--log", default=None, help="keep LocalStack's output in this file (default: dropped)")
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    args, extra = parser.parse_known_args(argv)

    port = args.port or free_port()
    root = Path(tempfile.mkdtemp(prefix="s3c-localstack-"))
    report_dir = Path(args.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    log_path = Path(args.log) if args.log else root / "localstack.log"
    server_pem, ca_file = make_certificate(root)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([args.localstack_python, "-c", LAUNCHER], env=localstack_env(port, root, server_pem),
                                stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)
        try:
            wait_ready(proc, port, args.startup_timeout)
            plain = f"http://127.0.0.1:{port}"
            cmd = [args.runner] if args.runner else [sys.executable, "-m", "conformance.cli"]
            cmd += ["run", "--access-key", MAIN[0], "--secret-key", MAIN[1],
                    "--alt-access-key", ALT[0], "--alt-secret-key", ALT[1],
                    "--account-id", MAIN[0], "--alt-account-id", ALT[0],
                    "--kms-endpoint", plain, "--plain-endpoint", plain,
                    "--profile", args.profile, "--cases", args.cases, "--report-dir", str(report_dir),
                    "--report-name", "localstack", "--capability", "kms-admin", "-n", args.jobs]
            if args.no_tls:
                cmd += ["--endpoint", plain]
            else:
                cmd += ["--endpoint", f"https://127.0.0.1:{port}", "--ca-file", str(ca_file),
                        "--capability", "plain-http"]
            print("running:", " ".join(cmd), flush=True)
            code = subprocess.call([*cmd, *extra])
        except RuntimeError as exc:
            log.flush()
            tail = log_path.read_text(errors="replace").splitlines()[-40:]
            print("\n".join(tail), file=sys.stderr)
            print(f"localstack_suite: {exc}", file=sys.stderr)
            return 2
        finally:
            stop(proc)
            shutil.rmtree(root, ignore_errors=True)
    return 0 if code in (0, 1) else code


if __name__ == "__main__":
    sys.exit(run())
