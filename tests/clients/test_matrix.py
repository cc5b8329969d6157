"""`s3-conformance clients` through the command: boto3, the AWS CLI and the JS SDK against the embedded server
(installed on demand into the clients cache: ~/.cache/s3-conformance/clients unless S3C_CLIENTS_CACHE says
otherwise), the matrix against moto's server (its failures shown, exit 1, no crash), an offline install (not
applicable with the reason) and a hanging client (killed at its time limit)."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from conformance import cli
from conformance.clients import scenarios
from conformance.clients.base import NA, PASS, Adapter, Installation
from conformance.clients.installer import Cache
from conformance.clients.runner import MatrixRunner
from conformance.clients.scenarios import Target

SHAPE_KEYS = {"name", "outcome", "detail", "request", "response"}


def _run(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    report = tmp_path / "report"
    code = cli.main(["clients", "--report-dir", str(report), *args])
    data = json.loads((report / "clients.json").read_text())
    assert (report / "clients.junit.xml").exists() and (report / "clients.html").exists()
    return code, data, (report / "clients.html").read_text()


@pytest.mark.parametrize("client,configs", [("boto3", {"default", "when_required"}),
                                            ("awscli", {"default"}),          # the slowest (a CLI per step)
                                            ("aws-sdk-js", {"default", "when_required"})])
def test_client_passes_every_scenario_it_can_express(client, configs, tmp_path, capsys):
    code, data, page = _run(tmp_path, "--client", client, *[a for c in sorted(configs) for a in ("--config", c)])
    out = capsys.readouterr().out
    problems = [(c["config"], s["name"], s["detail"]) for c in data["clients"] for s in c["scenarios"]
                if s["outcome"] != PASS and not (s["outcome"] == NA and s["detail"])]
    assert problems == [] and code == 0, out
    assert {c["config"] for c in data["clients"]} == configs
    for entry in data["clients"]:
        assert entry["name"] == client and entry["version"][0].isdigit()
        assert [s["name"] for s in entry["scenarios"]] == list(scenarios.NAMES)
        assert all(set(s) == SHAPE_KEYS for s in entry["scenarios"])
    checksums = {c["config"]: next(s for s in c["scenarios"] if s["name"] == "checksums")["detail"]
                 for c in data["clients"]}
    # the defaults send a CRC32 trailer (aws-chunked); "when required" sends no checksum for a plain PUT
    assert "trailer x-amz-checksum-crc32" in checksums["default"], checksums
    if "when_required" in checksums:
        assert "trailer" not in checksums["when_required"], checksums
    assert "create-bucket" in out and client in out and "Client compatibility matrix" in page


def test_matrix_against_moto_shows_failures_and_exits_1(tmp_path, capsys):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        code, data, _ = _run(tmp_path, "--endpoint", f"http://{host}:{port}", "--access-key", "AKIAMOTOMAIN00000001",
                             "--secret-key", "moto/main/secret/key/0000000000000000001", "--client", "boto3",
                             "--scenario", "put-get", "--scenario", "sse-c", "--scenario", "sse-kms")
    finally:
        server.stop()
    out = capsys.readouterr().out
    assert code == 1, out
    outcomes = {(c["config"], s["name"]): s for c in data["clients"] for s in c["scenarios"]}
    assert outcomes[("default", "put-get")]["outcome"] == PASS
    sse_c = outcomes[("default", "sse-c")]
    # moto stores the SSE-C object but does not answer the key's MD5 on GET
    assert sse_c["outcome"] == "fail" and "SSECustomerKeyMD5" in sse_c["detail"]
    assert sse_c["request"]["method"] == "GET" and sse_c["response"]["status"] == 200
    assert "FAIL" in out and "failures:" in out


def test_offline_install_is_not_applicable_with_the_reason(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-wheels"))
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_offline", "true")
    code, data, _ = _run(tmp_path, "--clients-cache", str(tmp_path / "cache"), "--client", "minio-py",
                         "--client", "aws-sdk-js", "--scenario", "put-get")
    assert code == 0
    for entry in data["clients"]:
        [scenario] = entry["scenarios"]
        assert scenario["outcome"] == NA
        assert scenario["detail"].startswith(f"not applicable: could not install {entry['name']} (")
    assert not any(p.name.startswith(".") for p in (tmp_path / "cache").iterdir())      # staging removed


class Sleeper(Adapter):
    """A 'client' that starts a grandchild and hangs: the runner must kill the whole process group."""
    name = "sleeper"

    def __init__(self, marker: Path):
        self.marker = marker

    def install(self, cache: Cache) -> Installation:
        return Installation(self.name, "0", Path(sys.executable).parent)

    def command(self, installation: Installation) -> list[str]:
        code = ("import subprocess, sys, time; "
                f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
                f"open({str(self.marker)!r}, 'w').write(str(p.pid)); time.sleep(60)")
        return [sys.executable, "-c", code]


def test_hanging_client_is_killed_at_its_time_limit(tmp_path):
    from mockserver.server import running_server

    marker = tmp_path / "grandchild.pid"
    with running_server() as server:
        creds = server.credentials["main"]
        target = Target(server.endpoint, creds["access_key"], creds["secret_key"])
        runner = MatrixRunner(target, Cache(tmp_path / "cache"), tmp_path / "work", ["put-get"], timeout=3)
        started = time.monotonic()
        [result] = runner.run([Sleeper(marker)])
    assert time.monotonic() - started < 30
    [scenario] = result.scenarios
    assert scenario.outcome == "fail" and "did not finish in 3 s" in scenario.detail
    pid = int(marker.read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the client's child process {pid} survived")
