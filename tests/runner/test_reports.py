"""Reports: JUnit parses, JSON has every exchange with secrets redacted, HTML renders in Chromium."""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib

import pytest
from lxml import etree
from runner_support import MOTO_MAIN

from conformance.reporters import console

MOTO_SECRET = MOTO_MAIN[1]

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


def test_run_exit_code_and_files(sample_report):
    code, report_dir = sample_report
    assert code == 1                      # sample.deviation-listed fails under the strict profile
    assert sorted(p.name for p in report_dir.iterdir()) == [
        "runner-strict.html", "runner-strict.json", "runner-strict.junit.xml"]


def test_junit_parses_and_counts(sample_report):
    _, report_dir = sample_report
    root = etree.parse(str(report_dir / "runner-strict.junit.xml")).getroot()
    assert root.tag == "testsuite"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert len(cases) == int(root.get("tests")) == 7
    assert cases["sample.deviation-listed"].find("failure") is not None
    assert "status: expected 200, got 404" in cases["sample.deviation-listed"].find("failure").get("message")
    assert cases["sample.needs-dsse"].find("skipped") is not None
    assert cases["sample.put-get-roundtrip"].find("failure") is None
    assert cases["sample.put-get-roundtrip"].get("classname") == "PutObject"
    assert int(root.get("failures")) == sum(1 for c in cases.values() if c.find("failure") is not None)


def test_json_has_exchanges_and_no_secrets(sample_report):
    _, report_dir = sample_report
    text = (report_dir / "runner-strict.json").read_text()
    data = json.loads(text)
    assert data["summary"]["na"] == 1 and data["summary"]["failed"] >= 1
    wire_case = next(c for c in data["cases"] if c["id"] == "sample.wire-modes")
    assert [s["name"] for s in wire_case["steps"]][:2] == ["chunked", "get_chunked"]
    assert all(s["exchange"]["response"]["status"] in (200, 204) for s in wire_case["steps"])
    assert wire_case["setup"][0]["name"].startswith("setup: create bucket")
    # secrets: secret key, signatures of every kind, SSE-C keys
    assert MOTO_SECRET not in text
    assert not re.search(r"Signature=[0-9a-f]{64}", text)
    assert not re.search(r"X-Amz-Signature=[0-9a-f]{64}", text)
    assert not re.search(r"chunk-signature=[0-9a-f]{64}", text)
    ssec = next(c for c in data["cases"] if c["id"] == "sample.sse-c-put")
    headers = dict(ssec["steps"][0]["exchange"]["request"]["headers"])
    assert headers["x-amz-server-side-encryption-customer-key"] == "[REDACTED]"
    assert headers["x-amz-server-side-encryption-customer-key-MD5"] != "[REDACTED]"
    form_step = next(s for s in wire_case["steps"] if s["name"] == "form")
    assert re.search(r'name="x-amz-signature"\r\n\r\n\[REDACTED\]', form_step["exchange"]["request"]["body"])


def test_console_last_line_form():
    from conformance.reporters import RunInfo
    from conformance.results import CaseResult, Outcome

    results = [CaseResult("a", "a", "Op", "f", 1, Outcome.PASSED), CaseResult("b", "b", "Op", "f", 1, Outcome.DEVIATION),
               CaseResult("c", "c", "Op", "f", 1, Outcome.NA), CaseResult("d", "d", "Op", "f", 1, Outcome.FAILED),
               CaseResult("e", "e", "Op", "f", 1, Outcome.ERROR, reason="runner error:\nboom")]
    text = console.render_summary(RunInfo("p", "e", [], results, "t", 0.0))
    lines = text.splitlines()
    assert lines[-1] == "1 passed, 2 failed, 1 not applicable, 0 warnings"      # runner errors count as failures
    assert lines[-2] == "1 known deviations"
    assert "FAILED d (f:1)" in lines and "ERROR e (f:1)" in lines
    no_deviation = console.render_summary(RunInfo("p", "e", [], results[:1], "t", 0.0))
    assert no_deviation.splitlines() == ["1 passed, 0 failed, 0 not applicable, 0 warnings"]


def _png_is_not_blank(data: bytes) -> bool:
    """Decode the PNG (8-bit RGB/RGBA, non-interlaced as Chromium writes it) and check colour variety."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    # sample the filter-free bytes loosely: distinct byte values across rows show drawn content
    distinct = {raw[row * stride + 1: row * stride + 1 + 600] for row in range(0, height, max(1, height // 40))}
    return len(distinct) > 5


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="Debian chromium not installed (required when CI is set)")
def test_html_report_in_headless_chromium(sample_report, tmp_path):
    assert CHROMIUM is not None, "chromium is required in CI (.ci/run installs it)"
    _, report_dir = sample_report
    html = (report_dir / "runner-strict.html").read_text()
    assert not re.search(r"""<(?:script|link|img)[^>]+(?:src|href)=["']?(?:https?:)?//""", html)   # self-contained
    assert MOTO_SECRET not in html
    url = (report_dir / "runner-strict.html").as_uri() + "#open-failures"
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
             "--window-size=1280,1600"]
    dom = subprocess.run(flags + ["--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000", "--dump-dom", url],
                         capture_output=True, text=True, check=False, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # the page's own script ran to the end and recorded no error
    assert re.search(r'<body[^>]*data-ready="1"', dom.stdout), dom.stdout[:500]
    assert "data-js-errors" not in dom.stdout
    # the page logs nothing itself: any console message (uncaught error, console.error, CSP report) fails
    assert not [line for line in dom.stderr.splitlines() if "CONSOLE" in line], dom.stderr[-2000:]
    assert '7 shown' in dom.stdout
    # failures opened through #open-failures, showing the diff table
    assert re.search(r'<details class="case" data-outcome="failed"[^>]*open', dom.stdout)
    shot = tmp_path / "report.png"
    run = subprocess.run(flags + [f"--screenshot={shot}", url], capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    assert _png_is_not_blank(shot.read_bytes())
