"""`fixtures.alt_bucket`: a bucket the second account creates, owns and deletes (`${alt_bucket}`), so a case can
tell "may this account write here" apart from "may it read the source"."""
from __future__ import annotations

import json
import textwrap

from conformance import cli
from conformance.casefile import loader

SOURCE = '{document: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html", quote: "q"}'

CASES = f"""
cases:
  - id: t.alt-bucket
    title: the second account owns its bucket; the main account may not write there
    operation: PutObject
    source: {SOURCE}
    fixtures:
      alt_bucket: true
    steps:
      - request: {{method: PUT, bucket: "${{alt_bucket}}", key: mine, auth: alt, body: {{text: x}}}}
        expect: {{status: 200}}
      - request: {{method: PUT, bucket: "${{alt_bucket}}", key: theirs, body: {{text: x}}}}
        expect: {{status: 403, error: {{code: AccessDenied}}}}
      - request: {{method: PUT, bucket: "${{bucket}}", key: main, auth: alt, body: {{text: x}}}}
        expect: {{status: 403, error: {{code: AccessDenied}}}}
"""


def test_alt_bucket_is_created_and_deleted_by_the_second_account(tmp_path, capsys):
    path = tmp_path / "alt.yaml"
    path.write_text(textwrap.dedent(CASES))
    code = cli.main(["run", "--cases", str(path), "--report-dir", str(tmp_path / "r")])
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "r" / "aws.json").read_text())
    case = report["cases"][0]
    assert code == 0 and case["outcome"] == "passed" and case["teardown_problems"] == [], (out, case)
    alt_bucket = case["steps"][0]["exchange"]["request"]["url"].split("/")[3]
    assert alt_bucket.endswith("-alt")
    # the fixture call and the teardown's DELETE were signed with the second account's key
    texts = json.dumps(case)
    assert f"create bucket {alt_bucket} as the second account" in texts


def test_alt_bucket_needs_multi_account_and_the_fixture(tmp_path):
    path = tmp_path / "alt.yaml"
    path.write_text(textwrap.dedent(CASES))
    cases, problems = loader.load_cases([str(path)])
    assert problems == [] and "multi-account" in cases[0].implied_requirements()
    path.write_text(textwrap.dedent(CASES).replace("      alt_bucket: true\n", "      bucket: true\n"))
    _, problems = loader.load_cases([str(path)])
    assert any("${alt_bucket} needs fixtures.alt_bucket: true" in str(p) for p in problems), problems
