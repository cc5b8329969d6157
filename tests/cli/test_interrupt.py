"""Ctrl-C (SIGINT to a subprocess run): no new case starts, the running ones finish and tear down what they
created, partial JSON/JUnit/HTML reports of the cases that ran are written, exit code 130."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from lxml import etree

from conformance.request import signing
from mockserver.accounts import ALT, MAIN
from mockserver.server import running_server

EMPTY = hashlib.sha256(b"").hexdigest()


@pytest.fixture(scope="module")
def mock():
    with running_server(dialect="aws") as server:
        yield server


def _bucket_names(endpoint: str) -> list[str]:
    signed = signing.sign_v4("GET", endpoint + "/", [("x-amz-content-sha256", EMPTY)], b"",
                             signing.Keys(MAIN.access_key, MAIN.secret_key), "us-east-1", EMPTY)
    response = requests.get(signed.url, headers=dict(signed.headers), timeout=10)
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    return [el.text for el in root.iter() if etree.QName(el).localname == "Name"]


def _wait_for_marks(proc: subprocess.Popen[bytes], count: int, deadline: float) -> bytes:
    """stderr read until `count` progress marks of finished cases have appeared."""
    assert proc.stderr is not None
    seen = b""
    while time.monotonic() < deadline:
        char = proc.stderr.read(1)
        if not char:
            break
        seen += char
        _head, started, rest = seen.partition(b" cases, profile ")   # the line before the progress marks
        if not started or b"\n" not in rest:
            continue
        marks = rest.split(b"\n", 1)[1]
        if sum(marks.count(m) for m in (b".", b"F", b"s", b"x", b"E")) >= count:
            return seen
    raise AssertionError(f"no {count} finished cases in time: {seen[-500:]!r}")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigint_stops_cleanly_with_partial_reports(mock, tmp_path: Path, jobs: str) -> None:
    prefix = f"intr{jobs}"
    reports = tmp_path / "r"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "run", "--endpoint", mock.endpoint,
         "--access-key", MAIN.access_key, "--secret-key", MAIN.secret_key, "--alt-access-key", ALT.access_key,
         "--alt-secret-key", ALT.secret_key, "--bucket-prefix", prefix, "--report-dir", str(reports), "-n", jobs],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        seen = _wait_for_marks(proc, 5, time.monotonic() + 120)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = (seen + err).decode()
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert "interrupted: finishing the running case(s)" in stderr
    report = json.loads((reports / "aws.json").read_text())
    ran = len(report["cases"])
    assert report["interrupted"] is True
    assert 5 <= ran < 300
    assert f"interrupted: {ran} of " in stderr
    assert (reports / "aws.junit.xml").read_text().count("<testcase") == ran
    assert (reports / "aws.html").stat().st_size > 0
    assert " passed, " in out.decode().splitlines()[-1]
    assert [name for name in _bucket_names(mock.endpoint) if name.startswith(prefix)] == []   # torn down
