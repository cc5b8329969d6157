"""`-n N`: the cases run on N worker processes (conformance/run.py CasePool). The results and every report are
the same as at -n 1, in the same order; SSE-C keys a worker made are redacted in the runner's reports; a worker
that dies is an `error` result of the case it ran, never a hang."""
from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest
from lxml import etree
from runner_support import DATA

from conformance import cli
from conformance.casefile import loader
from conformance.engine import Engine
from conformance.profile import load_profile
from conformance.request import signing
from conformance.request.transport import Transport, TransportConfig
from conformance.results import Outcome
from conformance.run import CasePool, execute
from conformance.target import Target

ROOT = Path(__file__).resolve().parents[2]
SMALL = [DATA / "cases", ROOT / "cases" / "sse-c" / "sse-c-errors-by-operation.yaml",
         ROOT / "cases" / "kms-keys" / "other-account-arn.yaml"]
VOLATILE = [
    (re.compile(r"s3c-[0-9a-f]{12}\d{3}"), "BUCKET"),                   # per-case bucket names
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UUID"),   # KMS key ids
    (re.compile(r"\b\d+(\.\d+)?s\b|\b\d+\.\d+ ?s\b"), "SECONDS"),
    (re.compile(r"[A-Za-z0-9+/]{22}=="), "MD5"),                          # MD5s of the per-case SSE-C keys
]


def _stable(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: int) -> tuple[int, str, dict, str, list[str]]:
    out_dir = tmp_path / f"n{jobs}"
    args = ["run", "--profile", str(DATA / "profile-strict.yaml"), "--capability", "sse-c",
            "--report-dir", str(out_dir), "-n", str(jobs)]
    for path in SMALL:
        args += ["--cases", str(path)]
    code = cli.main(args)
    out = capsys.readouterr().out
    report = json.loads((out_dir / "runner-strict.json").read_text())
    junit = (out_dir / "runner-strict.junit.xml").read_text()
    html = (out_dir / "runner-strict.html").read_text()
    return code, out, report, junit, re.findall(r'<span class="cid">([^<]+)</span>', html)


def _case_view(case: dict) -> dict:
    """What a report says of a case, without what differs between any two runs (names, ids, times, keys)."""
    def step(s: dict) -> tuple:
        return (_stable(s["name"]), s["ok"], s["error"], s["variant"],
                [(m["what"], m["check"], m["unproven"]) for m in s["mismatches"]])
    return {"id": case["id"], "outcome": case["outcome"], "reason": _stable(case["reason"]),
            "setup": [step(s) for s in case["setup"]], "steps": [step(s) for s in case["steps"]],
            "teardown": case["teardown_problems"]}


def test_results_and_reports_are_the_same_at_n1_and_n2(tmp_path, capsys):
    code1, out1, report1, junit1, html1 = _run(tmp_path, capsys, 1)
    code2, out2, report2, junit2, html2 = _run(tmp_path, capsys, 2)
    assert code1 == code2 == 1                         # the sample cases include failures
    assert [c["id"] for c in report2["cases"]] == [c["id"] for c in report1["cases"]]     # case order
    assert [_case_view(c) for c in report2["cases"]] == [_case_view(c) for c in report1["cases"]]
    assert report2["summary"] == report1["summary"]
    assert {c["outcome"] for c in report1["cases"]} >= {"passed", "failed", "na"}
    assert _stable(out2) == _stable(out1)              # console: failures, summary line
    assert html1 and html2 == html1                     # the HTML report lists the cases in the same order
    names = [t.get("name") for t in etree.fromstring(junit1.encode()).iter("testcase")]
    assert [t.get("name") for t in etree.fromstring(junit2.encode()).iter("testcase")] == names


# -------------------------------------------------------------------------------------- a worker that dies
SLOW_CASES = "cases:\n" + "".join(f"""\
  - id: slow.{n}
    title: the endpoint never answers
    operation: ListBuckets
    source: {{document: seeds/x.txt, quote: q}}
    fixtures: {{bucket: false}}
    steps:
      - name: list
        request: {{method: GET}}
        expect: {{status: 200}}
""" for n in range(3))


def _engine(endpoint: str, tmp_path: Path) -> Engine:
    (tmp_path / "profile.yaml").write_text("name: probe\nregion: us-east-1\ncapabilities: []\n")
    target = Target(endpoint=endpoint, region="us-east-1", main=signing.Keys("AKIAPROBE", "probe-secret-key"))
    return Engine(target, load_profile(str(tmp_path / "profile.yaml")),
                  Transport(TransportConfig(connect_timeout=2, read_timeout=1.5)))


def _slow_cases(tmp_path: Path) -> list:
    (tmp_path / "slow.yaml").write_text(SLOW_CASES)
    cases, problems = loader.load_cases([tmp_path / "slow.yaml"])
    assert not problems
    return cases


def test_a_killed_worker_is_an_error_of_its_case_and_the_run_goes_on(silent_endpoint, tmp_path):
    cases = _slow_cases(tmp_path)
    pool = CasePool.start(2)
    first = pool.workers[0]

    def kill_once_it_holds_case_0() -> None:         # case 0 is the first handed out, to the first worker
        deadline = time.monotonic() + 20
        while first.index != 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        first.process.kill()

    killer = threading.Thread(target=kill_once_it_holds_case_0, daemon=True)
    started = time.monotonic()
    engine = _engine(silent_endpoint, tmp_path)
    known = set(engine.redactor.secrets)
    try:
        killer.start()
        results = pool.run(cases, engine)
    finally:
        killer.join(30)
        pool.close()
    assert time.monotonic() - started < 30
    assert [r.case_id for r in results] == ["slow.0", "slow.1", "slow.2"]
    assert results[0].outcome is Outcome.ERROR
    assert "worker process running this case died (killed by signal SIGKILL)" in results[0].reason
    for other in results[1:]:                       # run by the other worker: the endpoint's timeout, a failure
        assert other.outcome is Outcome.FAILED and "timeout" in other.reason, other.reason
    # the SSE-C keys each case's variables hold (key1..3, short) were made in the worker: the runner's redactor,
    # which redacts every report, learnt them with the results
    assert len(engine.redactor.secrets - known) == 4 * 2


def test_when_every_worker_is_gone_each_case_is_an_error(silent_endpoint, tmp_path):
    cases = _slow_cases(tmp_path)
    pool = CasePool.start(2)
    for worker in pool.workers:
        worker.process.kill()
        worker.process.join(10)
    try:
        seen = []
        results = execute(cases, _engine(silent_endpoint, tmp_path), 2, on_result=seen.append, pool=pool)
    finally:
        pool.close()
    assert [r.case_id for r in results] == [c.id for c in cases]
    assert all(r.outcome is Outcome.ERROR and "every worker process died" in r.reason for r in results)
    assert len(seen) == len(cases)                  # each reported to the progress too


def test_stop_hands_out_no_further_case(silent_endpoint, tmp_path):
    """Ctrl-C (the stop event) before the run: no case starts, nothing is reported, the workers end."""
    cases = _slow_cases(tmp_path)
    stop = threading.Event()
    stop.set()
    assert execute(cases, _engine(silent_endpoint, tmp_path), 2, stop=stop) == []


def test_workers_ignore_sigint(tmp_path):
    """A terminal's Ctrl-C reaches the whole process group: the workers leave it to the runner."""
    pool = CasePool.start(1)
    try:
        process = pool.workers[0].process
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:          # spawn: the handler is set once the worker has started
            process.join(0.3)
            if not process.is_alive():
                break
            with open(f"/proc/{process.pid}/status") as status:
                ignored = int(next(line for line in status if line.startswith("SigIgn:")).split()[1], 16)
            if ignored & (1 << (signal.SIGINT - 1)):
                break
        assert process.is_alive()
        os.kill(process.pid, signal.SIGINT)
        process.join(1)
        assert process.is_alive()
    finally:
        pool.close()
    assert not pool.workers[0].process.is_alive()


def test_loading_on_the_workers_gives_the_same_cases_and_problems(tmp_path):
    """The runner and the workers load shares of the files at once; cases and problems come out as a serial
    load gives them, in the same order (duplicate ids included)."""
    (tmp_path / "broken.yaml").write_text("cases:\n  - id: x\n    title: [unclosed\n")
    (tmp_path / "dup.yaml").write_text(SLOW_CASES)
    (tmp_path / "dup2.yaml").write_text(SLOW_CASES)
    paths = [*SMALL, ROOT / "cases" / "sse-c", tmp_path]
    serial = loader.load_cases(paths)
    pool = CasePool.start(2)
    try:
        parallel = loader.load_cases(paths, pool.load_files)
    finally:
        pool.close()
    assert parallel == serial
    assert serial[1] and any("duplicate case id" in p.message for p in serial[1])


def test_the_server_launched_while_cases_load_ends_when_they_do_not_load(tmp_path, capsys, monkeypatch):
    """Without --endpoint the built-in server is launched before the cases load (the two overlap); a problem in
    the case files ends the run with exit 2 and the server process with it."""
    from conformance.target import BuiltinServer

    launches = []
    original = BuiltinServer.launch.__func__

    def launch(cls, dialect):
        launches.append(original(cls, dialect))
        return launches[-1]

    monkeypatch.setattr(BuiltinServer, "launch", classmethod(launch))
    (tmp_path / "broken.yaml").write_text("cases:\n  - id: x\n")
    for jobs in ("1", "2"):
        assert cli.main(["run", "--cases", str(tmp_path / "broken.yaml"), "--report-dir", str(tmp_path / "r"),
                         "-n", jobs]) == 2
    assert "problem(s) in case files" in capsys.readouterr().err
    assert len(launches) == 2
    assert all(launched.process is not None and launched.process.poll() is not None for launched in launches)
