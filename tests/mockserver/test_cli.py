"""`python -m mockserver` / `s3-conformance serve`: announces endpoint, credentials and CA; serves; stops on
SIGTERM and SIGINT."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import boto3
import pytest
from botocore.config import Config

STARTUP_SECONDS = 30


def start(*args: str, command: list[str] | None = None) -> tuple[subprocess.Popen, dict[str, str]]:
    cmd = (command or [sys.executable, "-m", "mockserver"]) + ["--port", "0", *args]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    announced: dict[str, str] = {}
    deadline = time.monotonic() + STARTUP_SECONDS
    assert process.stdout is not None
    while time.monotonic() < deadline and "alt account" not in announced:
        line = process.stdout.readline()
        if not line:
            break
        name, _, value = line.partition(": ")
        announced[name.strip()] = value.strip()
    if "alt account" not in announced:
        process.kill()
        raise AssertionError(f"server did not announce itself: {announced} {process.stderr.read()}")
    return process, announced


def stop(process: subprocess.Popen, sig: int) -> int:
    process.send_signal(sig)
    try:
        return process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_serve_tls_announces_and_stops_cleanly(sig):
    process, announced = start("--tls", "--access-key", "AKIACUSTOM0000000001", "--secret-key", "custom-secret")
    try:
        assert announced["endpoint"].startswith("https://127.0.0.1:")
        assert announced["CA file"].endswith("ca.pem")
        assert "AKIACUSTOM0000000001" in announced["main account"] and "custom-secret" in announced["main account"]
        assert "444455556666" in announced["alt account"]
        s3 = boto3.client("s3", endpoint_url=announced["endpoint"], verify=announced["CA file"],
                          region_name="us-east-1", aws_access_key_id="AKIACUSTOM0000000001",
                          aws_secret_access_key="custom-secret",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=10, read_timeout=20))
        s3.create_bucket(Bucket="cli-bucket")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["cli-bucket"]
    finally:
        code = stop(process, sig)
    assert code == 0


def test_console_script_serve_with_data_dir(tmp_path):
    script = shutil.which("s3-conformance", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert script is not None
    process, announced = start("--data-dir", str(tmp_path), "--fsync", command=[script, "serve"])
    try:
        assert announced["endpoint"].startswith("http://127.0.0.1:")
        assert "CA file" not in announced
    finally:
        assert stop(process, signal.SIGTERM) == 0


def test_serve_rejects_bad_options_without_traceback():
    result = subprocess.run([sys.executable, "-m", "mockserver", "--dialect", "nope"], check=False, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "unknown dialect" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run([sys.executable, "-m", "mockserver", "--cert", "x.pem"], check=False, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_serve_on_a_busy_port_exits_with_a_message():
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "mockserver", "--port", str(port)], check=False,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "cannot listen" in result.stderr and "Traceback" not in result.stderr
