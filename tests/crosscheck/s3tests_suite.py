"""Runs ceph/s3-tests' SSE and checksum tests against the reference mock server (tox -e s3tests).

s3-tests is not vendored: point S3TESTS_DIR (or --s3tests-dir) at a checkout of https://github.com/ceph/s3-tests.
The script
  1. makes (once) a separate venv with s3-tests' requirements.txt (default: <S3TESTS_DIR>/.venv-s3-conformance),
  2. starts the mock server (`python -m mockserver serve`, TLS with a generated CA, port 0) on 127.0.0.1,
  3. creates two KMS keys in the main account (s3-tests' `kms_keyid` / `kms_keyid2`),
  4. writes an S3TEST_CONF from mockserver.accounts (main -> [s3 main]; alt -> [s3 alt]; the tenant and IAM
     sections, which the selected tests never use but s3-tests' config loader requires, reuse the alt account),
  5. runs s3-tests' pytest in that venv with the selection below, writes junit XML and a summary,
  6. stops the server by its PID.

Selection (s3tests/functional/test_s3.py and test_headers.py): tests whose name or markers contain one of the
keywords of the chosen tier (--tier sse | auth | all, default all), minus those marked with one of
EXCLUDE_MARKERS (fails_on_aws, and features the mock server does not implement: bucket policies, IAM, STS,
lifecycle...) or whose name contains EXCLUDE_NAMES.

Exit status: 0 when the run happened and every failure is listed in <report-dir>/known-failures.txt (one pytest
node id per line, `#` comments), 1 when a failure is not listed there (or a listed one passed: update the
list), 2 when the run could not happen (no checkout, venv or server trouble).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from mockserver.accounts import ALT, MAIN, Account

REPO = Path(__file__).resolve().parents[2]
TEST_FILE = "s3tests/functional/test_s3.py"
HEADERS_FILE = "s3tests/functional/test_headers.py"
TEST_FILES = (TEST_FILE, HEADERS_FILE)

# `-k` matches test names and marker names (substring), across both files.
# Tier "sse" (the original selection): the `encryption`, `sse_s3`, `bucket_encryption`, `checksum` markers and
# test_encryption_*, test_sse_*, *sse_c*, *checksum*, test_copy_part_enc* (test_multipart_*checksum* is covered by
# "checksum").
SSE_KEYWORDS = ("encryption", "sse_s3", "bucket_encryption", "checksum", "test_encryption_", "test_sse_",
                "sse_c", "test_copy_part_enc")
# Tier "auth": what the corpus's auth, post-object and integrity (Content-MD5 / Content-Length, payload modes)
# cases also check: POST Object and its policy (test_post_object_*), presigned URLs and their expiry
# (x_amz_expires, authenticated_expired, presigned_put_object), anonymous and authenticated raw requests
# (test_object_raw_*), chunked uploads (transfer encoding, aws-chunked), and test_headers.py's Content-MD5,
# Content-Length, Authorization and Date checks (SigV4 and SigV2).
AUTH_KEYWORDS = ("post_object", "x_amz_expires", "authenticated_expired", "presigned_put_object", "object_raw",
                 "chunked", "bad_md5", "bad_contentlength", "contentlength_none", "bad_authorization",
                 "date_and_amz_date", "amz_date_and_no_date", "bad_date")
TIERS = {"sse": SSE_KEYWORDS, "auth": AUTH_KEYWORDS, "all": SSE_KEYWORDS + AUTH_KEYWORDS}
SELECT_KEYWORDS = TIERS["all"]
# Not about SSE, or a feature the reference server does not implement (answers 501 NotImplemented).
EXCLUDE_MARKERS = ("fails_on_aws", "bucket_policy", "lifecycle", "lifecycle_expiration", "lifecycle_transition",
                   "cloud_transition", "cloud_restore", "iam_account", "iam_cross_account", "iam_role",
                   "iam_tenant", "iam_user", "user_policy", "role_policy", "group_policy", "session_policy",
                   "test_of_sts", "webidentity_test", "s3select", "s3website", "sns", "bucket_logging",
                   "object_lock", "storage_class", "tagging")
# Tests that need a bucket policy but carry no bucket_policy marker; CORS (presigned CORS requests).
EXCLUDE_NAMES = ("with_bucket_policy", "cors")


def k_expression(tier: str = "all") -> str:
    wanted = " or ".join(TIERS[tier])
    unwanted = " or ".join(EXCLUDE_NAMES)
    return f"({wanted}) and not ({unwanted})"


def m_expression() -> str:
    return " and ".join(f"not {m}" for m in EXCLUDE_MARKERS)


def fail(message: str) -> int:
    print(f"s3tests_suite: {message}", file=sys.stderr)
    return 2


def s3tests_checkout(path: str | None) -> Path | None:
    if not path:
        return None
    root = Path(path).expanduser().resolve()
    return root if (root / TEST_FILE).is_file() and (root / "requirements.txt").is_file() else None


def ensure_venv(venv: Path, s3tests: Path) -> Path:
    """A venv with s3-tests' requirements; reinstalled when requirements.txt changes."""
    python = venv / "bin" / "python"
    requirements = (s3tests / "requirements.txt").read_bytes()
    stamp = venv / ".s3-conformance-requirements.sha256"
    digest = hashlib.sha256(requirements).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    print(f"s3tests_suite: installing s3-tests' requirements into {venv}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(s3tests / "requirements.txt")], check=True)
    stamp.write_text(digest + "\n")
    return python


class MockServer:
    """`python -m mockserver serve` in a child process; stopped by its PID."""

    def __init__(self, log_path: Path, plain: bool, dialect: str, root: Path = REPO) -> None:
        self.log_path = log_path
        self.plain = plain
        self.dialect = dialect
        self.root = root            # the tree whose mockserver runs (a mutated copy with --mutant)
        self.proc: subprocess.Popen[str] | None = None
        self.endpoint = ""
        self.ca_file: str | None = None
        self._drain: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> None:
        cmd = [sys.executable, "-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0",
               "--dialect", self.dialect]
        cmd += ["--allow-sse-c-over-http"] if self.plain else ["--tls"]
        env = {**os.environ, "PYTHONPATH": str(self.root), "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=self.root,
                                     env=env)
        log = self.log_path.open("w")
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"mock server exited early (code {self.proc.wait()})")
            log.write(line)
            log.flush()
            if line.startswith("endpoint: "):
                self.endpoint = line.split(": ", 1)[1].strip()
            elif line.startswith("CA file: "):
                self.ca_file = line.split(": ", 1)[1].strip()
            elif line.startswith("alt account:"):  # the last line of the announcement
                break
        if not self.endpoint:
            raise RuntimeError(f"mock server did not announce its endpoint in {timeout:.0f}s")
        stdout = self.proc.stdout

        def drain() -> None:
            for rest in stdout:
                log.write(rest)
                log.flush()
            log.close()

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self._drain is not None:
            self._drain.join(timeout=5)


def create_kms_keys(server: MockServer, account: Account, count: int = 2) -> list[str]:
    import boto3

    kms = boto3.client("kms", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id=account.access_key, aws_secret_access_key=account.secret_key,
                       verify=server.ca_file if server.ca_file else True)
    return [kms.create_key(Description=f"s3-tests key {i + 1}")["KeyMetadata"]["Arn"] for i in range(count)]


def write_config(path: Path, server: MockServer, kms_keys: list[str]) -> None:
    scheme, rest = server.endpoint.split("://", 1)
    host, port = rest.rstrip("/").rsplit(":", 1)

    def section(name: str, account: Account, **extra: str) -> str:
        lines = [f"[{name}]", f"display_name = {account.name}", f"user_id = {account.account_id}",
                 f"email = {account.name}@example.com", f"access_key = {account.access_key}",
                 f"secret_key = {account.secret_key}"]
        lines += [f"{k} = {v}" for k, v in extra.items()]
        return "\n".join(lines) + "\n"

    parts = [
        "[DEFAULT]",
        f"host = {host}",
        f"port = {port}",
        f"is_secure = {scheme == 'https'}",
        "ssl_verify = False",  # s3-tests takes a boolean only; the mock's CA is generated per run
        "",
        "[fixtures]",
        "bucket prefix = s3c-{random}-",
        "",
        section("s3 main", MAIN, api_name="", kms_keyid=kms_keys[0], kms_keyid2=kms_keys[1]),
        section("s3 alt", ALT),
        # The mock knows two accounts only; these sections are required by s3-tests' loader, unused by the
        # selected tests (setup/teardown list buckets with the tenant client, so it must authenticate).
        section("s3 tenant", ALT, tenant="alt"),
        section("iam", ALT),
        section("iam root", ALT),
        section("iam alt root", ALT),
    ]
    path.write_text("\n".join(parts))


def summarize(junit: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"passed": [], "failed": [], "error": [], "skipped": []}
    for case in ET.parse(junit).getroot().iter("testcase"):
        node = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        if case.find("failure") is not None:
            out["failed"].append(node)
        elif case.find("error") is not None:
            out["error"].append(node)
        elif case.find("skipped") is not None:
            out["skipped"].append(node)
        else:
            out["passed"].append(node)
    return out


def known_failures(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return {line for line in lines if line}


def mutated_copy(name: str, tmp: Path) -> Path:
    """A copy of the repository with the named mutant (tests/mutation/mutants.py) applied, as the mutation
    harness makes it."""
    sys.path.insert(0, str(REPO / "tests" / "mutation"))
    import shutil

    from harness import COPY_IGNORE, DoesNotApply, apply
    from mutants import MUTANTS

    mutant = next((m for m in MUTANTS if m.name == name), None)
    if mutant is None:
        raise RuntimeError(f"no mutant named {name!r} in tests/mutation/mutants.py")
    copy = tmp / "repo"
    shutil.copytree(REPO, copy, ignore=COPY_IGNORE)
    try:
        apply(mutant, copy)
    except DoesNotApply as exc:
        raise RuntimeError(str(exc)) from None
    return copy


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--s3tests-dir", default=os.environ.get("S3TESTS_DIR"),
                        help="checkout of ceph/s3-tests (default: $S3TESTS_DIR)")
    parser.add_argument("--venv", default=os.environ.get("S3TESTS_VENV"),
                        help="venv for s3-tests' requirements (default: $S3TESTS_VENV or "
                             "<s3tests-dir>/.venv-s3-conformance)")
    parser.add_argument("--report-dir", default=str(REPO / "reports" / "s3-tests"))
    parser.add_argument("--plain", action="store_true",
                        help="serve plain HTTP with --allow-sse-c-over-http instead of TLS")
    parser.add_argument("--s3tests-commit", default=os.environ.get("S3TESTS_COMMIT"),
                        help="commit of the checkout, for the summary (default: $S3TESTS_COMMIT, else git rev-parse)")
    parser.add_argument("--dialect", default="aws-2023",
                        help="mock server dialect (default aws-2023: SSE-C allowed on new buckets, as s3-tests "
                             "expects; `aws` blocks SSE-C writes on new buckets as AWS does since April 2026)")
    parser.add_argument("--tier", choices=sorted(TIERS), default="all",
                        help="sse: SSE and checksum tests (the original selection); auth: POST Object, presigned "
                             "URLs, raw/anonymous requests, chunked uploads, test_headers.py; all: both (default)")
    parser.add_argument("--mutant", help="run against the server with this mutant (tests/mutation/mutants.py) "
                                         "applied; failures not in known-failures.txt are tests that kill it. "
                                         "Results go to <report-dir>/mutants/<name>.*")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for s3-tests' pytest (after --)")
    args = parser.parse_args(argv)

    s3tests = s3tests_checkout(args.s3tests_dir)
    if s3tests is None:
        where = f" ({args.s3tests_dir!r} has no {TEST_FILE})" if args.s3tests_dir else ""
        return fail("set S3TESTS_DIR (or --s3tests-dir) to a checkout of https://github.com/ceph/s3-tests"
                    f"{where}; s3-tests is not part of this repository")
    report_dir = Path(args.report_dir).resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    known_path = report_dir / "known-failures.txt"
    if args.mutant:
        report_dir = report_dir / "mutants"
        report_dir.mkdir(exist_ok=True)
    try:
        python = ensure_venv(Path(args.venv or s3tests / ".venv-s3-conformance").resolve(), s3tests)
    except subprocess.CalledProcessError as exc:
        return fail(f"could not make the s3-tests venv: {exc}")

    with tempfile.TemporaryDirectory(prefix="s3tests-conf-") as tmp:
        try:
            root = mutated_copy(args.mutant, Path(tmp)) if args.mutant else REPO
        except (RuntimeError, OSError) as exc:      # unknown mutant, or its old text is not there exactly once
            return fail(f"mutant {args.mutant}: {exc}")
        server = MockServer(Path(tmp) / "mockserver.log", plain=args.plain, dialect=args.dialect, root=root)
        try:
            server.start()
            conf = Path(tmp) / "s3tests.conf"
            write_config(conf, server, create_kms_keys(server, MAIN))
            junit = report_dir / (f"{args.mutant}.junit.xml" if args.mutant else "s3-tests.junit.xml")
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(S3TEST_CONF=str(conf), AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                       AWS_SHARED_CREDENTIALS_FILE=os.devnull, PYTHONDONTWRITEBYTECODE="1")
            if server.ca_file:  # some POST Object tests call requests.post() without verify=
                env["REQUESTS_CA_BUNDLE"] = server.ca_file
            cmd = [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE", "--tb=short",
                   *TEST_FILES, "-k", k_expression(args.tier), "-m", m_expression(), f"--junitxml={junit}", *args.pytest_args]
            print("s3tests_suite: server", server.endpoint, "pid", server.proc.pid if server.proc else "?")
            print("s3tests_suite:", " ".join(f"'{c}'" if " " in c else c for c in cmd), flush=True)
            code = subprocess.run(cmd, check=False, cwd=s3tests, env=env).returncode
        except (RuntimeError, OSError) as exc:
            if server.log_path.is_file():
                print(server.log_path.read_text(), file=sys.stderr)
            return fail(str(exc))
        finally:
            server.stop()
    if code not in (0, 1) or not junit.is_file():
        return fail(f"s3-tests' pytest did not run to completion (exit {code})")

    result = summarize(junit)
    commit = args.s3tests_commit or subprocess.run(["git", "-C", str(s3tests), "rev-parse", "HEAD"], check=False,
                                                   capture_output=True, text=True).stdout.strip()
    result_doc = {"s3tests_commit": commit or None, "transport": "http" if args.plain else "https",
                  "dialect": args.dialect, **({"mutant": args.mutant} if args.mutant else {}),
                  "tier": args.tier, "k": k_expression(args.tier), "m": m_expression(),
                  "counts": {k: len(v) for k, v in result.items()}, **result}
    summary_path = report_dir / (f"{args.mutant}.json" if args.mutant else "summary.json")
    failing = set(result["failed"]) | set(result["error"])
    known = known_failures(known_path)
    if args.mutant:
        result_doc["killed_by"] = sorted(failing - known)
    summary_path.write_text(json.dumps(result_doc, indent=1) + "\n")
    new, fixed = sorted(failing - known), sorted(known & set(result["passed"]))
    counts = result_doc["counts"]
    print(f"s3tests_suite: selected {sum(counts.values())}, passed {counts['passed']}, failed {counts['failed']}, "
          f"errors {counts['error']}, skipped {counts['skipped']}; summary in {summary_path}")
    if args.mutant:
        print(f"s3tests_suite: mutant {args.mutant} " + (f"killed by {len(new)} test(s)" if new else "survived"))
    for node in new:
        print(f"  NEW FAILURE (not in known-failures.txt): {node}")
    for node in fixed:
        print(f"  now passes (remove from known-failures.txt): {node}")
    return 1 if new or fixed else 0


if __name__ == "__main__":
    sys.exit(run())
