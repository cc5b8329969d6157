"""`kms:` steps: a KMS call on a fixture key made through
the runner's KMS client (the one fixtures use: --kms-endpoint, else the S3 endpoint), its response checked
as KMS JSON; the evidence rules `validate` enforces (path:line, exit 2)."""
from __future__ import annotations

import json
import textwrap

from conformance import cli
from conformance.casefile import loader

SOURCE = '{document: "https://docs.aws.amazon.com/kms/latest/developerguide/enabling-keys.html", quote: "q"}'

KMS_CASES = f"""
cases:
  - id: t.disable-then-get
    title: a disabled key cannot decrypt
    operation: GetObject
    source: {SOURCE}
    fixtures:
      kms_keys: [{{name: k1}}]
      objects:
        - {{name: src, key: obj, body: {{generate: 10}},
            headers: {{x-amz-server-side-encryption: "aws:kms", x-amz-server-side-encryption-aws-kms-key-id: "${{kms.k1.arn}}"}}}}
    steps:
      - name: disable
        kms: {{operation: DisableKey, key: k1}}
        expect: {{status: 200}}
      - name: describe
        kms: {{operation: DescribeKey, key: k1}}
      - request: {{method: GET, bucket: "${{bucket}}", key: obj}}
        expect: {{status: 400, error: {{code: KMS.DisabledException}}}}
      - name: enable
        kms: {{operation: EnableKey, key: k1}}
      - request: {{method: GET, bucket: "${{bucket}}", key: obj}}
        expect: {{status: 200}}
  - id: t.schedule-and-cancel
    title: key deletion scheduled and cancelled by steps; teardown copes
    operation: GetObject
    source: {SOURCE}
    fixtures:
      bucket: false
      kms_keys: [{{name: k1}}, {{name: k2}}]
    steps:
      - kms: {{operation: ScheduleKeyDeletion, key: k1}}
      - name: again
        kms: {{operation: EnableKey, key: k1}}
        expect: {{status: 400, error: {{code: KMSInvalidStateException, message_match: "pending deletion"}}}}
      - kms: {{operation: ScheduleKeyDeletion, key: k2}}
      - kms: {{operation: CancelKeyDeletion, key: k2}}
  - id: t.alt-account
    title: the second account's KMS client does not see the main account's key
    operation: GetObject
    source: {SOURCE}
    fixtures:
      bucket: false
      kms_keys: [{{name: k1}}]
    steps:
      - kms: {{operation: DescribeKey, key: k1, account: alt}}
        expect: {{error: {{code: NotFoundException}}}}
  - id: t.alt-owned-key
    title: a fixture key of the second account is created (and deleted) by that account; the main one does not see it
    operation: GetObject
    source: {SOURCE}
    fixtures:
      bucket: false
      kms_keys: [{{name: k1, account: alt}}]
    steps:
      - kms: {{operation: DescribeKey, key: k1, account: alt}}
        expect: {{status: 200}}
      - kms: {{operation: DescribeKey, key: k1}}
        expect: {{error: {{code: NotFoundException}}}}
"""


def _write(tmp_path, text, name="kms.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_kms_steps_run_through_the_kms_client(tmp_path, capsys):
    path = _write(tmp_path, KMS_CASES)
    code = cli.main(["run", "--cases", str(path), "--report-dir", str(tmp_path / "r")])
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "r" / "aws.json").read_text())
    outcomes = {c["id"]: (c["outcome"], c["reason"], c["teardown_problems"]) for c in report["cases"]}
    assert code == 0, (out, outcomes)
    assert all(o == ("passed", "", []) for o in outcomes.values()), outcomes
    case = next(c for c in report["cases"] if c["id"] == "t.disable-then-get")
    request = case["steps"][0]["exchange"]["request"]
    headers = dict(request["headers"])
    assert request["method"] == "POST" and headers["X-Amz-Target"] == "TrentService.DisableKey"
    assert "/kms/aws4_request" in headers["Authorization"]            # signed for KMS, not for s3
    assert case["steps"][1]["exchange"]["response"]["status"] == 200
    assert json.loads(case["steps"][1]["exchange"]["response"]["body"])["KeyMetadata"]["Enabled"] is False


def test_kms_step_failure_is_reported_like_any_step(tmp_path, capsys):
    path = _write(tmp_path, KMS_CASES.replace("expect: {status: 400, error: {code: KMSInvalidStateException",
                                              "expect: {status: 400, error: {code: OtherException"))
    code = cli.main(["run", "--cases", str(path), "--report-dir", str(tmp_path / "r"),
                     "--select", "id:t.schedule-and-cancel"])
    out = capsys.readouterr().out
    assert code == 1
    assert "step again: error code: expected 'OtherException', got 'KMSInvalidStateException'" in out


def test_kms_steps_need_kms_admin_and_alt_needs_multi_account(tmp_path):
    cases, problems = loader.load_cases([str(_write(tmp_path, KMS_CASES))])
    assert problems == []
    needs = {c.id: c.implied_requirements() for c in cases}
    assert "kms-admin" in needs["t.schedule-and-cancel"]
    assert {"kms-admin", "multi-account"} <= set(needs["t.alt-account"])
    assert {"kms-admin", "multi-account"} <= set(needs["t.alt-owned-key"])   # a key fixture of the alt account
    assert "multi-account" not in needs["t.schedule-and-cancel"]


def test_kms_step_is_not_applicable_without_kms_admin(tmp_path, capsys):
    path = _write(tmp_path, KMS_CASES)
    code = cli.main(["run", "--cases", str(path), "--without", "kms-admin", "--report-dir", str(tmp_path / "r")])
    assert code == 0 and capsys.readouterr().out.splitlines()[-1] == "0 passed, 0 failed, 4 not applicable, 0 warnings"


def _problems(tmp_path, text):
    _, problems = loader.load_cases([str(_write(tmp_path, text, "bad.yaml"))])
    return [str(p) for p in problems]


def test_alt_key_fixture_is_not_applicable_without_the_second_account(tmp_path, capsys):
    path = _write(tmp_path, KMS_CASES)
    code = cli.main(["run", "--cases", str(path), "--without", "multi-account", "--select", "id:t.alt-owned-key",
                     "--report-dir", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 0 and out.splitlines()[-1] == "0 passed, 0 failed, 1 not applicable, 0 warnings", out
    report = json.loads((tmp_path / "r" / "aws.json").read_text())
    assert "multi-account" in report["cases"][0]["reason"]            # the NA reason names the capability


def test_kms_step_validation(tmp_path):
    problems = _problems(tmp_path, KMS_CASES.replace("{operation: DisableKey, key: k1}", "{operation: DisableKey, key: k9}"))
    assert any("bad.yaml:14:" in p and "'k9' is not a fixtures.kms_keys name" in p for p in problems), problems
    problems = _problems(tmp_path, KMS_CASES.replace("operation: DisableKey", "operation: Decrypt"))
    assert problems and "bad.yaml:14" in problems[0]
    problems = _problems(tmp_path, KMS_CASES.replace("kms: {operation: DescribeKey, key: k1}\n",
                                                     "kms: {operation: DescribeKey, key: k1}\n"
                                                     "        expect: {headers: {present: [x]}}\n", 1))
    assert any("expect.headers cannot be checked on a KMS response" in p for p in problems), problems
    both = KMS_CASES.replace("kms: {operation: EnableKey, key: k1}", "kms: {operation: EnableKey, key: k1}\n"
                             "        request: {method: GET}", 1)
    assert _problems(tmp_path, both)


EVIDENCE_CASE = f"""
cases:
  - id: t.evidence
    title: evidence references
    operation: GetObject
    source: {SOURCE}
    evidence:
      - {{id: used, confidence: documented, document: "https://docs.aws.amazon.com/x", quote: "q"}}
      - {{id: spare, confidence: documented, document: "https://docs.aws.amazon.com/x", quote: "q"}}
    steps:
      - request: {{method: GET, bucket: "${{bucket}}", key: k}}
        expect:
          evidence: [used, nowhere]
          status: 404
          unproven: [error.message]
      - request: {{method: GET, bucket: "${{bucket}}", key: k}}
        expect:
          confidence: recorded
          status: 404
"""


def test_validate_reports_evidence_problems_with_lines(tmp_path, capsys):
    path = _write(tmp_path, EVIDENCE_CASE, "bad.yaml")
    code = cli.main(["validate", "--cases", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}:13: evidence 'nowhere' is not in the case's evidence list" in err
    assert f"{path}:9: evidence 'spare' is cited by no expect of the case" in err
    assert f"{path}:15: unproven 'error.message' names no check of this expect" in err
    assert f"{path}:18: confidence recorded needs the evidence" in err
    fixed = (EVIDENCE_CASE.replace("[used, nowhere]", "[used, spare]")
             .replace("status: 404\n          unproven", "status: 404\n          error: {message: m}\n          unproven")
             .replace("confidence: recorded", "confidence: documented"))
    assert cli.main(["validate", "--cases", str(_write(tmp_path, fixed, "good.yaml"))]) == 0
