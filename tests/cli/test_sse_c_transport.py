"""Against a plain-HTTP endpoint (`s3-conformance serve` without --tls), cases that send SSE-C keys are not
applicable with a reason that says how to run them, instead of failing; an endpoint that accepts SSE-C
over HTTP says so with --capability sse-c-over-http, and then they run."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.accounts import ALT, MAIN
from mockserver.server import running_server

HINT = "SSE-C needs HTTPS and the endpoint is plain HTTP"


def _run(endpoint: str, tmp_path: Path, *extra: str) -> tuple[int, dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--endpoint", endpoint, "--access-key", MAIN.access_key,
         "--secret-key", MAIN.secret_key, "--alt-access-key", ALT.access_key, "--alt-secret-key", ALT.secret_key,
         "--account-id", MAIN.account_id, "--select", "tag:sse-c", "--report-dir", str(tmp_path), "-n", "2", *extra],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads((tmp_path / "aws.json").read_text())


@pytest.mark.parametrize("allow", [False, True], ids=["plain-http", "sse-c-over-http"])
def test_sse_c_cases_on_a_plain_http_endpoint(tmp_path: Path, allow: bool) -> None:
    with running_server(dialect="aws", allow_sse_c_over_http=allow) as server:
        assert server.endpoint.startswith("http://")
        code, report = _run(server.endpoint, tmp_path, *(["--capability", "sse-c-over-http"] if allow else []))
    failed = [c["id"] for c in report["cases"] if c["outcome"] == "failed"]
    assert code == 0 and failed == []
    hinted = [c for c in report["cases"] if c["outcome"] == "na" and HINT in c["reason"]]
    if allow:
        assert hinted == []
        assert sum(c["outcome"] == "passed" for c in report["cases"]) >= 30
    else:
        assert len(hinted) >= 30
        assert "--capability sse-c-over-http" in hinted[0]["reason"]
        assert all("sse-c-transport" not in c["reason"] for c in hinted)    # the endpoint lacks TLS
