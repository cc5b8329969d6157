"""Preflight through the CLI (a subprocess): an unreachable endpoint or wrong keys stop the run before any
case with exit 2 and a few lines that name the endpoint, the S3 error and what to check."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.accounts import ALT, MAIN
from mockserver.server import running_server


def _cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]          # closed again when the block ends: nothing listens there


@pytest.fixture(scope="module")
def mock():
    with running_server(dialect="aws") as server:
        yield server


def test_unreachable_endpoint_stops_before_any_case(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    proc = _cli("run", "--endpoint", endpoint, "--access-key", "AK", "--secret-key", "SK",
                "--report-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert 2 <= len(lines) <= 6, proc.stderr
    assert endpoint in lines[0] and "preflight failed" in lines[0]
    assert "Connection refused" in proc.stderr or "connection failed" in proc.stderr
    assert "check:" in proc.stderr and "endpoint URL" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""                      # no case ran: no summary, no failure blocks
    assert not (tmp_path / "r" / "aws.json").exists()


def test_wrong_secret_key_names_the_s3_error(mock, tmp_path: Path) -> None:
    proc = _cli("run", "--endpoint", mock.endpoint, "--access-key", MAIN.access_key, "--secret-key", "wrong",
                "--report-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert 2 <= len(lines) <= 6, proc.stderr
    assert mock.endpoint in lines[0]
    assert "403" in proc.stderr and "SignatureDoesNotMatch" in proc.stderr
    assert '"The request signature we calculated does not match' in proc.stderr
    assert "check: the secret key" in proc.stderr
    assert proc.stdout == ""


def test_unknown_access_key_and_bad_second_account(mock, tmp_path: Path) -> None:
    proc = _cli("run", "--endpoint", mock.endpoint, "--access-key", "AKIANOSUCHKEY0000000", "--secret-key", "x",
                cwd=tmp_path)
    assert proc.returncode == 2 and "InvalidAccessKeyId" in proc.stderr and "check: the access key" in proc.stderr
    proc = _cli("run", "--endpoint", mock.endpoint, "--access-key", MAIN.access_key, "--secret-key",
                MAIN.secret_key, "--alt-access-key", ALT.access_key, "--alt-secret-key", "wrong", cwd=tmp_path)
    assert proc.returncode == 2 and "second account" in proc.stderr, proc.stderr


def test_good_keys_pass_the_preflight(mock, tmp_path: Path) -> None:
    proc = _cli("run", "--endpoint", mock.endpoint, "--access-key", MAIN.access_key, "--secret-key",
                MAIN.secret_key, "--select", "id:put-object.no-sse-headers-default", "--report-dir",
                str(tmp_path / "r"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "preflight" not in proc.stderr


def test_no_preflight_skips_it(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    proc = _cli("run", "--endpoint", endpoint, "--access-key", "AK", "--secret-key", "SK", "--no-preflight",
                "--select", "id:put-object.no-sse-headers-default", "--report-dir", str(tmp_path / "r"),
                cwd=tmp_path)
    assert "preflight failed" not in proc.stderr
    assert proc.returncode == 1                    # the case itself fails: nothing answers
