"""Unproven expectations: a mismatch in a check an expect lists in `unproven`
(or in any check of an expect with `confidence: unproven`) is a warning, never a failure; every mismatch
carries its check name, confidence and the evidence behind it; every reporter, the CLI exit code, the
baseline and the pytest plugin treat a warning as a pass with a note."""
from __future__ import annotations

import json
import subprocess
import sys

from lxml import etree

from conformance import baseline, cli, matchers
from conformance.casefile.model import Evidence, Expect
from conformance.reporters import RunInfo, console, html, jsonreport, junit
from conformance.results import CaseResult, Exchange, Mismatch, Outcome, RequestRecord, ResponseRecord, StepResult

ERROR = (b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
         b"<Key>k</Key></Error>")
RECORDED = Evidence("ls", "recorded", recording={
    "repo": "localstack/localstack", "file": "tests/aws/services/s3/test_s3.snapshot.json",
    "test": "tests/aws/services/s3/test_s3.py::TestS3::test_x", "key": "get-missing"})
S3TESTS = Evidence("ceph", "corroborated", s3tests={"file": "s3tests/functional/test_s3.py", "test": "test_y"})
DOC = Evidence("doc", "documented", document="https://docs.aws.amazon.com/AmazonS3/latest/API/x.html", quote="q")


def _exchange(status=404, body=ERROR, headers=()):
    return Exchange(RequestRecord("GET", "https://h/b/k", []), ResponseRecord(status, "", list(headers), body))


def _mismatches(expect, ex=None, evidence=(RECORDED, S3TESTS, DOC)):
    parsed = Expect.from_dict(expect)
    return matchers.annotate(matchers.check(parsed, ex or _exchange(), matchers.MatchContext()), parsed,
                             tuple(evidence))


# ------------------------------------------------------------------------------------------ matchers

def test_every_mismatch_names_its_check_in_unproven_spelling():
    ex = _exchange(404, ERROR, [("X-Amz-Server-Side-Encryption", "AES256")])
    names = [m.check for m in _mismatches({"status": 400, "error": {"code": "X", "message": "m", "fields": {"Key": "o"}},
                                           "headers": {"absent": ["X-Amz-Server-Side-Encryption"]}}, ex)]
    assert names == ["status", "error.code", "error.message", "error.fields.Key", "headers.x-amz-server-side-encryption"]
    xml = _mismatches({"xml": [{"path": "Code", "equal": "Y"}, {"path": "Key", "count": 2}]})
    assert [m.check for m in xml] == ["xml.Code", "xml.Key"]
    assert [m.check for m in _mismatches({"body": {"empty": True}})] == ["body"]


def test_an_unproven_mismatch_is_a_warning():
    [m] = _mismatches({"status": 404, "error": {"code": "NoSuchKey", "message": "other"}, "evidence": ["ls"],
                       "unproven": ["error.message"]})
    assert (m.check, m.unproven, m.confidence) == ("error.message", True, "unproven")
    assert [e["id"] for e in m.evidence] == ["ls"]


def test_a_proven_mismatch_is_a_failure_with_its_confidence_and_evidence():
    [m] = _mismatches({"status": 404, "error": {"code": "Other", "message": "The specified key does not exist."},
                       "evidence": ["ls"], "unproven": ["error.message"]})
    assert (m.check, m.unproven, m.confidence) == ("error.code", False, "recorded")
    [entry] = m.evidence
    assert entry["recording"]["key"] == "get-missing"
    assert entry["url"] == ("https://github.com/localstack/localstack/blob/main/"
                            "tests/aws/services/s3/test_s3.snapshot.json")


def test_mixed_mismatches_keep_the_proven_one_a_failure():
    mismatches = _mismatches({"status": 404, "error": {"code": "Other", "message": "other"}, "evidence": ["ceph"],
                              "unproven": ["error.message"]})
    assert [(m.check, m.unproven) for m in mismatches] == [("error.code", False), ("error.message", True)]
    step = StepResult("s", mismatches=mismatches)
    assert [m.check for m in step.failures] == ["error.code"] and [m.check for m in step.warnings] == ["error.message"]
    assert mismatches[0].confidence == "corroborated"
    assert mismatches[0].evidence[0]["url"] == "https://github.com/ceph/s3-tests/blob/master/s3tests/functional/test_s3.py"


def test_confidence_unproven_makes_every_check_a_warning_but_not_a_missing_response():
    mismatches = _mismatches({"confidence": "unproven", "status": 400, "error": {"code": "X"},
                              "headers": {"present": ["x-amz-foo"]}})
    assert mismatches and all(m.unproven and m.confidence == "unproven" for m in mismatches)
    none = Exchange(RequestRecord("GET", "https://h/b/k", []), None, error="connection failed")
    [m] = _mismatches({"confidence": "unproven", "status": 400}, none)
    assert (m.check, m.unproven) == ("response", False)


def test_headers_unproven_is_case_insensitive_and_groups_need_every_check_unproven():
    ex = _exchange(200, b"", [("x-amz-server-side-encryption-context", "e30=")])
    [m] = _mismatches({"status": 200, "headers": {"absent": ["X-Amz-Server-Side-Encryption-Context"]},
                       "unproven": ["headers.X-AMZ-Server-Side-Encryption-Context"]}, ex)
    assert m.unproven
    # no error document at all: unproven only when every error check of the expect is
    no_doc = _exchange(404, b"")
    [m] = _mismatches({"status": 404, "error": {"code": "X", "message": "m"}, "unproven": ["error.message"]}, no_doc)
    assert (m.check, m.unproven) == ("error", False)
    [m] = _mismatches({"status": 404, "error": {"code": "X", "message": "m"},
                       "unproven": ["error.message", "error.code"]}, no_doc)
    assert (m.check, m.unproven) == ("error", True)


def test_confidence_defaults_to_the_strongest_cited_evidence_else_documented():
    expect = {"status": 400, "evidence": ["doc", "ceph"]}
    assert _mismatches(expect, _exchange(200, b""))[0].confidence == "corroborated"
    assert _mismatches({"status": 400}, _exchange(200, b""))[0].confidence == "documented"
    assert _mismatches({"status": 400, "confidence": "recorded", "evidence": ["ls"]},
                       _exchange(200, b""))[0].confidence == "recorded"


def test_evidence_urls():
    pinned = Evidence("p", "recorded", recording={**RECORDED.recording, "commit": "8b9a79f05846"})
    assert pinned.url() == ("https://github.com/localstack/localstack/blob/8b9a79f05846/"
                            "tests/aws/services/s3/test_s3.snapshot.json")
    assert DOC.url() == DOC.document and Evidence("s", "documented", document="seeds/x.txt").url() is None


# ------------------------------------------------------------------------------------------ reporters

def _results() -> list[CaseResult]:
    warn = Mismatch("error message", "a", "b", check="error.message", unproven=True, confidence="unproven",
                    evidence=[{"id": "ls", "confidence": "recorded", "recording": RECORDED.recording,
                               "url": RECORDED.url(), "wire": "boto3 get_object"}])
    fail = Mismatch("error code", "X", "Y", check="error.code", confidence="corroborated",
                    evidence=[{"id": "ceph", "confidence": "corroborated", "s3tests": S3TESTS.s3tests,
                               "url": S3TESTS.url(), "note": "passes on AWS"}])
    warned = CaseResult("w.case", "warned", "GetObject", "f.yaml", 3, Outcome.WARNING,
                        reason="step s: unproven expectation did not hold: error message: expected 'a', got 'b'",
                        steps=[StepResult("s", _exchange(), mismatches=[warn])])
    failed = CaseResult("f.case", "failed", "GetObject", "f.yaml", 9, Outcome.FAILED,
                        reason="step s: error code: expected 'X', got 'Y'",
                        steps=[StepResult("s", _exchange(), mismatches=[fail, warn])])
    passed = CaseResult("p.case", "passed", "GetObject", "f.yaml", 20, Outcome.PASSED)
    return [warned, failed, passed]


def _info(results=None) -> RunInfo:
    return RunInfo("aws", "https://h", [], results if results is not None else _results(), "t", 1.0)


def test_console_shows_warnings_briefly_and_counts_them():
    text = console.render_summary(_info())
    lines = text.splitlines()
    assert lines[-1] == "1 passed, 1 failed, 0 not applicable, 1 warnings"
    assert "WARNING w.case (f.yaml:3)" in lines
    assert "    step s: unproven error message: expected 'a', got 'b'" in lines


def test_json_report_lists_every_failed_and_warned_check_with_confidence_and_evidence():
    data = jsonreport.build(_info())
    assert data["summary"]["warnings"] == 1 and data["summary"]["failed"] == 1
    checks = {(c["case"], c["check"]): c for c in data["checks"]}
    assert set(checks) == {("w.case", "error.message"), ("f.case", "error.code"), ("f.case", "error.message")}
    failed = checks[("f.case", "error.code")]
    assert (failed["outcome"], failed["confidence"], failed["unproven"]) == ("failed", "corroborated", False)
    assert failed["evidence"][0]["s3tests"]["test"] == "test_y" and failed["evidence"][0]["note"] == "passes on AWS"
    warned = checks[("w.case", "error.message")]
    assert warned["outcome"] == "warning" and warned["evidence"][0]["recording"]["key"] == "get-missing"
    case = next(c for c in data["cases"] if c["id"] == "w.case")
    assert case["outcome"] == "warning" and case["steps"][0]["mismatches"][0]["confidence"] == "unproven"


def test_html_report_shows_evidence_beside_the_diff_and_a_warnings_section():
    page = html.render(_info())
    assert '<section id="warnings"><h2>Warnings</h2>' in page
    assert 'href="https://github.com/localstack/localstack/blob/main/tests/aws/services/s3/test_s3.snapshot.json"' in page
    assert 'href="https://github.com/ceph/s3-tests/blob/master/s3tests/functional/test_s3.py"' in page
    assert "<th>confidence</th><th>evidence</th>" in page and '<td class="conf">corroborated</td>' in page
    assert 'data-outcome="warning"' in page and "1 warnings" in page
    assert html.render(_info(_results()[1:])).count('id="warnings"') == 0


def test_junit_warning_is_a_passed_testcase_with_a_note():
    root = etree.fromstring(junit.render(_info()))
    assert root.get("failures") == "1"
    warned = root.find("testcase[@name='w.case']")
    assert warned.find("failure") is None and warned.find("skipped") is None and warned.find("error") is None
    assert "error message: expected 'a', got 'b'" in warned.findtext("system-out")
    assert warned.find("properties/property[@name='warning']") is not None
    assert root.find("testcase[@name='f.case']/failure") is not None


def test_baseline_warnings_are_not_failures():
    results = _results()
    assert baseline.failing_ids(results) == ["f.case"]
    comparison = baseline.compare(results, {"w.case", "f.case"})
    assert comparison.known_failures == ["f.case"] and comparison.newly_passing == ["w.case"]
    assert comparison.gate_ok


# ------------------------------------------------------------------------------------------ end to end

CASES = """
cases:
  - id: t.warn-only
    title: an unproven message that does not hold is a warning; the next step still runs
    operation: GetObject
    source: {document: "https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html", quote: "NoSuchKey"}
    evidence:
      - {id: doc, confidence: documented, document: "https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html", quote: "NoSuchKey"}
    steps:
      - request: {method: GET, bucket: "${bucket}", key: missing}
        expect:
          evidence: [doc]
          status: 404
          error: {code: NoSuchKey, message: "not what any server says"}
          unproven: [error.message]
      - name: after
        request: {method: GET, bucket: "${bucket}", key: missing}
        expect: {status: 404}
  - id: t.whole-expect-unproven
    title: confidence unproven
    operation: GetObject
    source: {document: "https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html", quote: "NoSuchKey"}
    steps:
      - request: {method: GET, bucket: "${bucket}", key: missing}
        expect: {confidence: unproven, status: 418}
"""
MIXED = """
  - id: t.mixed
    title: a proven mismatch beside an unproven one fails
    operation: GetObject
    source: {document: "https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html", quote: "NoSuchKey"}
    steps:
      - request: {method: GET, bucket: "${bucket}", key: missing}
        expect:
          status: 404
          error: {code: NoSuchBucket, message: "not what any server says"}
          unproven: [error.message]
"""


def test_cli_exit_code_is_zero_when_only_warnings(tmp_path, capsys):
    cases = tmp_path / "warn.yaml"
    cases.write_text(CASES)
    code = cli.main(["run", "--cases", str(cases), "--report-dir", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-1] == "0 passed, 0 failed, 0 not applicable, 2 warnings"
    report = json.loads((tmp_path / "r" / "aws.json").read_text())
    warn = next(c for c in report["cases"] if c["id"] == "t.warn-only")
    assert warn["outcome"] == "warning" and [s["name"] for s in warn["steps"]] == ["step1", "after"]
    assert warn["steps"][1]["ok"] and warn["steps"][1]["exchange"]["response"]["status"] == 404

    cases.write_text(CASES + MIXED)
    code = cli.main(["run", "--cases", str(cases), "--report-dir", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 1 and out.splitlines()[-1] == "0 passed, 1 failed, 0 not applicable, 2 warnings"
    assert "FAILED t.mixed" in out and "error code: expected 'NoSuchBucket'" in out


def test_pytest_plugin_passes_a_warning_case_with_a_pytest_warning(tmp_path):
    cases = tmp_path / "warn.yaml"
    cases.write_text(CASES)
    proc = subprocess.run([sys.executable, "-m", "pytest", str(cases), "-q", "-p", "no:cacheprovider",
                           "-p", "no:xdist", "-W", "default", "-o", "addopts="],
                          check=False, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout and "UnprovenExpectationWarning" in proc.stdout
    assert "unproven expectations did not hold" in proc.stdout
