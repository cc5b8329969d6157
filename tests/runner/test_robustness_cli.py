"""CLI usage errors: a clear one-line message on stderr, exit code 2, no traceback, and nothing run
(no report written, no server started)."""
from __future__ import annotations

import json

import pytest

from conformance import cli

CASE = """\
cases:
  - id: demo.one
    title: Demo
    operation: GetObject
    source: {document: seeds/x.txt, quote: q}
    tags: [demo]
    fixtures: {bucket: false}
    steps:
      - request: {method: GET}
"""


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "case.yaml").write_text(CASE)
    return tmp_path


def usage_error(capsys, workdir, *argv: str, command: str = "run") -> str:
    reports = workdir / "reports"
    base = [command, "--cases", str(workdir / "case.yaml")]
    if command == "run":
        base += ["--report-dir", str(reports), "--endpoint", "http://127.0.0.1:9", "--access-key", "AKIAX",
                 "--secret-key", "secret-secret"]
    code = cli.main(base + list(argv))
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "Traceback" not in captured.out + captured.err
    assert not list(reports.glob("*.json")) if reports.exists() else True       # nothing ran
    return captured.err


@pytest.mark.parametrize("argv,message", [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["-n"], "argument -n/--jobs: expected one argument"),
    (["-n", "two"], "invalid int value: 'two'"),
    (["-n", "0"], "-n must be at least 1 (got 0)"),
    (["-n", "-3"], "-n must be at least 1 (got -3)"),
    (["--timeout", "0"], "--timeout must be a positive number of seconds"),
    (["--timeout", "-1"], "--timeout must be a positive number of seconds"),
    (["--timeout", "nan"], "--timeout must be a positive number of seconds"),
    (["--timeout", "soon"], "invalid float value: 'soon'"),
    (["--connect-timeout", "0"], "--connect-timeout must be a positive number"),
    (["--addressing", "diagonal"], "invalid choice: 'diagonal'"),
    (["--update-baseline"], "--update-baseline needs --baseline FILE"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_run_options(argv, message, workdir, capsys):
    assert message in usage_error(capsys, workdir, *argv)


@pytest.mark.parametrize("argv,message", [
    (["--endpoint", "s3.example.com"], "--endpoint 's3.example.com' is not an http(s) URL"),
    (["--endpoint", "http://host:port"], "Port could not be cast to integer value"),
    (["--endpoint", "http://host:99999"], "Port out of range"),
    (["--endpoint", "http://:9000"], "is not an http(s) URL"),
    (["--endpoint", "http://h:9000/?x=1"], "an endpoint takes no query or fragment"),
    (["--kms-endpoint", "kms.local"], "--kms-endpoint 'kms.local' is not an http(s) URL"),
    (["--plain-endpoint", "ftp://x"], "--plain-endpoint 'ftp://x' is not an http(s) URL"),
    (["--ca-file", "/no/such/ca.pem"], "--ca-file /no/such/ca.pem: no such file"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_endpoint_options(argv, message, workdir, capsys):
    """The later option wins in argparse, so these replace the valid --endpoint usage_error() passes."""
    assert message in usage_error(capsys, workdir, *argv)


@pytest.mark.parametrize("expression,message", [
    ("tag:demo and", "expression ends where a term was expected"),
    ("(tag:demo", "missing ')'"),
    ("tag:demo)", "unexpected ')'"),
    ("and tag:demo", "unexpected 'and'"),
    ("tag:demo tag:x", "unexpected 'tag:x'"),
    ("not", "expression ends where a term was expected"),
    ("tag:", "empty pattern"),
    ("colour:red", "unknown field 'colour'"),
    ("", "empty --select expression"),
    ("id:nothing-matches-this", "matches none of the cases"),
])
def test_bad_select(expression, message, workdir, capsys):
    err = usage_error(capsys, workdir, "--select", expression)
    assert message in err and "--select" in err


@pytest.mark.parametrize("expression", ["tag:demo and", "colour:red"])
def test_bad_select_in_list(expression, workdir, capsys):
    assert "--select" in usage_error(capsys, workdir, "--select", expression, command="list")


@pytest.mark.parametrize("content,message", [
    (None, "baseline file not found"),
    ("{not json", "not a readable baseline"),
    ("[1, 2]", 'expected {"failures": [case ids]}'),
    ('{"failures": "demo.one"}', 'expected {"failures": [case ids]}'),
    ('{"failures": [1]}', 'expected {"failures": [case ids]}'),
    ("", "not a readable baseline"),
], ids=["missing", "not-json", "list", "string", "numbers", "empty"])
def test_bad_baseline(content, message, workdir, capsys):
    path = workdir / "baseline.json"
    if content is not None:
        path.write_text(content)
    err = usage_error(capsys, workdir, "--baseline", str(path))
    assert message in err and str(path) in err


def test_baseline_that_is_a_directory(workdir, capsys):
    assert "not a readable baseline" in usage_error(capsys, workdir, "--baseline", str(workdir))


def test_report_dir_not_writable(workdir, capsys):
    blocker = workdir / "file"
    blocker.write_text("x")
    err = usage_error(capsys, workdir, "--report-dir", str(blocker / "reports"))
    assert f"--report-dir {blocker / 'reports'}: not writable" in err
    err = usage_error(capsys, workdir, "--report-dir", str(blocker))
    assert "exists and is not a directory" in err


def test_update_baseline_target_not_writable(workdir, capsys):
    blocker = workdir / "file"
    blocker.write_text("x")
    err = usage_error(capsys, workdir, "--baseline", str(blocker / "b.json"), "--update-baseline")
    assert f"--baseline {blocker / 'b.json'}: directory {blocker} exists and is not a directory" in err


@pytest.mark.parametrize("argv,message", [
    (["nonsense"], "invalid choice: 'nonsense'"),
    ([], "usage"),
    (["validate", "--bogus"], "unrecognized arguments"),
    (["list", "--profile"], "expected one argument"),
])
def test_bad_commands(argv, message, capsys):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err


def test_valid_options_still_run(workdir, capsys):
    """The checks above reject only what is wrong: the same options, valid, run the case (and fail it, the
    endpoint being closed) with exit code 1."""
    baseline = workdir / "b.json"
    baseline.write_text(json.dumps({"failures": []}))
    code = cli.main(["run", "--cases", str(workdir / "case.yaml"), "--report-dir", str(workdir / "r"),
                     "--endpoint", "http://127.0.0.1:9", "--access-key", "AKIAX", "--secret-key", "secret-secret",
                     "-n", "2", "--timeout", "1", "--connect-timeout", "1", "--select", "tag:demo",
                     "--baseline", str(baseline), "--no-preflight"])
    out = capsys.readouterr().out
    assert code == 1 and out.splitlines()[-1] == "0 passed, 1 failed, 0 not applicable, 0 warnings"
    assert "new failure: demo.one" in out
