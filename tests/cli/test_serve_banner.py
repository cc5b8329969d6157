"""`s3-conformance serve` (a subprocess) says why SSE-C may fail against it and how to unblock it."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest


def _banner(*args: str) -> str:
    process = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("alt account"):
                break
        process.send_signal(signal.SIGTERM)
        rest = process.stdout.read()         # the notes (same write as the lines above), then "stopping"
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return "".join(lines) + rest


@pytest.mark.parametrize("args, http_note", [((), True), (("--allow-sse-c-over-http",), False), (("--tls",), False)])
def test_banner_explains_sse_c(args: tuple[str, ...], http_note: bool) -> None:
    text = _banner(*args)
    assert "endpoint: " in text
    assert ("SSE-C over plain HTTP is rejected" in text) is http_note
    if http_note:
        assert "--tls" in text and "--allow-sse-c-over-http" in text and "--capability sse-c-over-http" in text
    assert "new buckets block SSE-C, as AWS does since April 2026" in text       # dialect aws
    assert "<BlockedEncryptionTypes><EncryptionType>NONE</EncryptionType></BlockedEncryptionTypes>" in text


def test_legacy_dialect_does_not_block_sse_c() -> None:
    assert "new buckets block SSE-C" not in _banner("--dialect", "aws-legacy")
