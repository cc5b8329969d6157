"""The CLI end to end against moto's server (and against nothing at all)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import botocore.session
from runner_support import DATA, MOTO_MAIN

from conformance import cli, engine
from conformance import profile as profiles
from conformance.casefile import loader
from conformance.request import signing
from conformance.target import Target


def moto_args(endpoint, *extra):
    return ["run", "--endpoint", endpoint, "--access-key", MOTO_MAIN[0], "--secret-key", MOTO_MAIN[1],
            "--cases", str(DATA / "cases"), *extra]


def s3_client(endpoint):
    return botocore.session.get_session().create_client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=MOTO_MAIN[0],
        aws_secret_access_key=MOTO_MAIN[1])


def test_teardown_removes_every_bucket_and_object(moto_endpoint, tmp_path):
    prefix = "teardown-check"
    code = cli.main(moto_args(moto_endpoint, "--profile", str(DATA / "profile-basic.yaml"), "--bucket-prefix", prefix,
                              "--report-dir", str(tmp_path), "--capability", "sse-c", "--capability",
                              "sse-c-over-http"))  # moto takes SSE-C over plain HTTP
    assert code == 1       # sse-c-put fails on moto (no key MD5 echo); the deviation is listed
    names = [b["Name"] for b in s3_client(moto_endpoint).list_buckets()["Buckets"]]
    assert not [n for n in names if n.startswith(prefix)]
    report = json.loads((tmp_path / "runner-test.json").read_text())
    outcomes = {c["id"]: c["outcome"] for c in report["cases"]}
    assert outcomes["sample.deviation-listed"] == "deviation"
    assert outcomes["sample.needs-dsse"] == "na"
    assert outcomes["sample.put-get-roundtrip"] == "passed"
    assert all(not c["teardown_problems"] for c in report["cases"])


def test_unique_bucket_names():
    names = {engine.bucket_name("Some_Prefix.X") for _ in range(200)}
    assert len(names) == 200
    assert all(len(n) <= 63 and n == n.lower() and n.startswith("some-prefix-x-") for n in names)
    assert len(engine.bucket_name("p" * 100)) <= 63


def test_select_and_exit_code_zero(moto_endpoint, tmp_path, capsys):
    code = cli.main(moto_args(moto_endpoint, "--profile", str(DATA / "profile-basic.yaml"), "--select",
                              "tag:sample and not tag:wire", "--report-dir", str(tmp_path)))
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[-1] == "2 passed, 0 failed, 0 not applicable, 0 warnings"


def test_baseline_ratchet(moto_endpoint, tmp_path, capsys):
    base = tmp_path / "baseline.json"
    strict = ["--profile", str(DATA / "profile-strict.yaml"), "--report-dir", str(tmp_path),
              "--select", "sample.deviation-listed or sample.put-get-roundtrip"]
    assert cli.main(moto_args(moto_endpoint, *strict, "--baseline", str(base), "--update-baseline")) == 1
    assert json.loads(base.read_text())["failures"] == ["sample.deviation-listed"]
    capsys.readouterr()
    assert cli.main(moto_args(moto_endpoint, *strict, "--baseline", str(base))) == 0     # known failure only
    out = capsys.readouterr().out
    assert "baseline: 0 new failures, 1 known failures, 0 newly passing" in out
    base.write_text(json.dumps({"failures": ["sample.put-get-roundtrip"]}))
    assert cli.main(moto_args(moto_endpoint, *strict, "--baseline", str(base))) == 1
    out = capsys.readouterr().out
    assert "new failure: sample.deviation-listed" in out and "newly passing: sample.put-get-roundtrip" in out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_endpoint_gives_failed_cases_not_a_crash(tmp_path, capsys):
    """Without the preflight (which stops such a run first: tests/cli/test_preflight.py) every case fails."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    code = cli.main(["run", "--endpoint", endpoint, "--access-key", "AK", "--secret-key", "SECRETSECRET",
                     "--profile", str(DATA / "profile-basic.yaml"), "--cases", str(DATA / "cases"),
                     "--report-dir", str(tmp_path), "--connect-timeout", "2", "--no-preflight"])
    out = capsys.readouterr().out
    assert code == 1
    # sample.kms-key is not applicable: discovery found no KMS API at the (unreachable) endpoint
    assert out.splitlines()[-2:] == ["1 known deviations", "0 passed, 3 failed, 3 not applicable, 0 warnings"]
    report = json.loads((tmp_path / "runner-test.json").read_text())
    na = {c["id"]: c["reason"] for c in report["cases"] if c["outcome"] == "na"}
    assert na["sample.kms-key"].startswith(f"kms-admin: no KMS API found at {endpoint}")
    failed = [c for c in report["cases"] if c["outcome"] == "failed"]
    assert failed and all("connection failed" in c["reason"] for c in failed)


def test_usage_errors_exit_2(tmp_path, capsys):
    assert cli.main(["run", "--profile", "no-such-profile", "--cases", str(DATA / "cases")]) == 2
    assert "no such profile" in capsys.readouterr().err
    assert cli.main(["run", "--endpoint", "ftp://x", "--access-key", "a", "--secret-key", "b", "--profile",
                     str(DATA / "profile-basic.yaml"), "--cases", str(DATA / "cases")]) == 2
    assert cli.main(["run", "--select", "tag:x and", "--cases", str(DATA / "cases")]) == 2
    assert cli.main(["run", "--baseline", str(tmp_path / "missing.json"), "--cases", str(DATA / "cases")]) == 2
    assert cli.main(["bogus"]) == 2
    assert cli.main([]) == 2


def test_list_shows_operation_requirements_and_na(capsys):
    assert cli.main(["list", "--cases", str(DATA / "cases"), "--profile", str(DATA / "profile-basic.yaml")]) == 0
    out = capsys.readouterr().out
    assert "sample.needs-dsse  PutObject  requires=dsse  source=seeds/aws-bucket-key-object-level.md  [NA: dsse]" in out
    assert "sample.kms-key  PutObject  requires=kms,kms-admin" in out
    assert out.splitlines()[-1] == "7 cases"


def test_runner_error_in_a_case_does_not_stop_the_run(moto_endpoint, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent("""\
        cases:
          - id: bad.template
            title: refers to a variable nobody defines
            operation: GetObject
            source: {document: seeds/x.txt, quote: q}
            steps:
              - request: {method: GET, bucket: "${bucket}", key: "${no_such_var}"}
          - id: good.one
            title: fine
            operation: GetObject
            source: {document: seeds/x.txt, quote: q}
            steps:
              - request: {method: GET, bucket: "${bucket}", key: missing}
                expect: {error: {code: NoSuchKey}}
        """))
    cases, problems = loader.load_cases([path])
    assert not problems
    target = Target(moto_endpoint, "us-east-1", signing.Keys(*MOTO_MAIN))
    runner = engine.Engine(target, profiles.load_profile(str(DATA / "profile-basic.yaml")))
    bad, good = (runner.run_case(c) for c in cases)
    assert bad.outcome.value == "failed" and "unknown variable ${no_such_var}" in bad.reason
    assert "case bad.template step step1" in bad.reason
    assert good.outcome.value == "passed"
    assert not bad.teardown_problems


def test_pytest_plugin_collects_cases_with_xdist(moto_endpoint, tmp_path):
    case_dir = tmp_path / "cases"
    case_dir.mkdir()
    (case_dir / "sample.yaml").write_text((DATA / "cases" / "sample.yaml").read_text())
    (case_dir / "unrelated.yaml").write_text("name: not a case file\n")
    args = [sys.executable, "-m", "pytest", str(case_dir), "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
            "--s3-endpoint", moto_endpoint, "--s3-access-key", MOTO_MAIN[0], "--s3-secret-key", MOTO_MAIN[1],
            "--s3-profile", str(DATA / "profile-basic.yaml"), "-q"]
    for extra in ([], ["-n", "2"]):
        run = subprocess.run(args + extra, capture_output=True, text=True, check=False, timeout=300, cwd=tmp_path)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        assert "4 passed, 2 skipped, 1 xfailed" in run.stdout.splitlines()[-1]
    failing = subprocess.run(args + ["--s3-profile", str(DATA / "profile-strict.yaml"), "--s3-select",
                                     "sample.deviation-listed"], capture_output=True, text=True, check=False, timeout=300,
                             cwd=tmp_path)
    assert failing.returncode == 1
    assert "status: expected 200, got 404" in failing.stdout
    assert "Signature=[REDACTED]" in failing.stdout


def test_unwritable_report_dir_is_a_usage_error(moto_endpoint, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = cli.main(moto_args(moto_endpoint, "--profile", str(DATA / "profile-basic.yaml"), "--select",
                              "sample.bucket-encryption-roundtrip", "--report-dir", str(blocker / "sub")))
    captured = capsys.readouterr()
    assert code == 2
    # checked before the run: an unwritable report directory must not cost a whole run first
    assert f"--report-dir {blocker / 'sub'}: not writable" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""


def test_pytest_plugin_reports_bad_case_files_with_lines(tmp_path):
    case_dir = tmp_path / "cases"
    case_dir.mkdir()
    bad = case_dir / "bad.yaml"
    bad.write_text("cases:\n  - id: Bad Id\n    title: t\n")
    (case_dir / "notes.yaml").write_text("just: data\n")
    run = subprocess.run([sys.executable, "-m", "pytest", str(case_dir), "--collect-only", "-q", "-p", "no:cacheprovider",
                          "--rootdir", str(tmp_path)], capture_output=True, text=True, check=False, timeout=120,
                         cwd=tmp_path)
    assert run.returncode == 2
    assert f"{bad}:2: cases/0/id: 'Bad Id' does not match" in run.stdout
    assert "notes.yaml" not in run.stdout


def test_silent_endpoint_times_out_into_failed_cases(tmp_path, capsys, silent_endpoint):
    """A server that accepts connections and never answers: each request ends at --timeout."""
    code = cli.main(["run", "--endpoint", silent_endpoint, "--access-key", "AK",
                     "--secret-key", "SECRETSECRET", "--profile", str(DATA / "profile-basic.yaml"),
                     "--cases", str(DATA / "cases"), "--select", "sample.bucket-encryption-roundtrip",
                     "--report-dir", str(tmp_path), "--timeout", "0.5", "--no-preflight"])
    assert code == 1
    assert capsys.readouterr().out.splitlines()[-1] == "0 passed, 1 failed, 0 not applicable, 0 warnings"
    report = json.loads((tmp_path / "runner-test.json").read_text())
    assert report["cases"][0]["reason"].startswith("setup failed: create bucket")
    assert "timeout" in report["cases"][0]["reason"]
