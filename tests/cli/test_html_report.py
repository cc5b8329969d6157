"""HTML report (issue 12 item 10): source URLs are links; a value that is not there reads `(absent)` in the
console, JUnit and HTML alike (not None in one place and null in another); the not-applicable cases are grouped
by the capability they miss, with counts and the flag or feature that would make them run; an interrupted run
says so. Also: `validate PATH` checks --extra-cases too."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conformance.reporters import RunInfo, console, html, junit
from conformance.results import CaseResult, Mismatch, Outcome, StepResult

CASE = """\
cases:
  - id: tmp.absent-header
    title: a header that is not there
    operation: PutObject
    source: {document: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html", quote: "x"}
    steps:
      - request: {method: PUT, bucket: "${bucket}", key: a, body: "hi"}
        expect:
          status: 200
          headers:
            equal: {x-amz-server-side-encryption-aws-kms-key-id: abc}
"""


def _cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False)


def _text(markup: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))


def test_run_report_links_sources_and_spells_absent_once(tmp_path: Path) -> None:
    (tmp_path / "extra.yaml").write_text(CASE)
    proc = _cli("run", "--extra-cases", "extra.yaml", "--select", "tmp.* or tag:bucket-keys", "--without", "kms-admin",
                "--report-dir", "r", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "header x-amz-server-side-encryption-aws-kms-key-id: expected 'abc', got (absent)" in proc.stdout
    page = (tmp_path / "r" / "aws.html").read_text()
    assert ('source: <a href="https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html" '
            'rel="noreferrer">') in page
    assert "None" not in _text(page) and "null" not in _text(page).replace("null check", "")
    assert "got (absent)" in page and '<td class="act">(absent)</td>' in page
    junit_text = (tmp_path / "r" / "aws.junit.xml").read_text()
    assert "got (absent)" in junit_text and "got None" not in junit_text
    section = page[page.index('id="not-applicable"'):]
    section = section[:section.index("</section>")]
    na = [c for c in json.loads((tmp_path / "r" / "aws.json").read_text())["cases"] if c["outcome"] == "na"]
    assert f"Not applicable ({len(na)})" in section and len(na) >= 10
    row = _text(section)
    assert f"kms-admin {len(na)} left out with --without kms-admin" in row, row[:500]


def _info(results: list[CaseResult], **kwargs: object) -> RunInfo:
    return RunInfo("aws", "https://s3.example.com", ["kms"], results, "t", 1.0, **kwargs)  # type: ignore[arg-type]


def test_not_applicable_groups_without_a_case_list_and_interrupted_banner() -> None:
    results = [CaseResult(f"c{i}", "t", "PutObject", "f.yaml", i, Outcome.NA,
                          reason="kms-admin: no KMS API found at https://s3.example.com; give --kms-endpoint URL")
               for i in range(3)]
    results.append(CaseResult("d", "t", "PutObject", "f.yaml", 9, Outcome.NA, reason="profile aws lacks: x-acme"))
    page = html.render(_info(results, interrupted=True))
    section = _text(page[page.index('id="not-applicable"'):])
    assert "Not applicable (4)" in section
    assert "- 3 kms-admin: no KMS API found at https://s3.example.com; give --kms-endpoint URL" in section
    assert "- 1 profile aws lacks: x-acme" in section
    assert 'id="interrupted"' in page and "after 4 of 4 cases" in _text(page) and "· interrupted" in page


def test_failure_lines_use_one_spelling_of_absent() -> None:
    mismatch = Mismatch("header x-amz-server-side-encryption", "AES256", None, check="headers.x")
    result = CaseResult("c", "t", "PutObject", "f.yaml", 1, Outcome.FAILED, reason="step s: ...",
                        steps=[StepResult("s", mismatches=[mismatch])])
    info = _info([result])
    text = console.render_summary(info)
    assert "step s: header x-amz-server-side-encryption: expected 'AES256', got (absent)" in text
    page = html.render(info)
    assert '<p class="reason">step s: header x-amz-server-side-encryption: expected &#x27;AES256&#x27;, got ' \
           "(absent)</p>" in page
    assert "null" not in page and "None" not in _text(page)
    assert b"got (absent)" in junit.render(info)


def test_validate_paths_include_extra_cases(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(CASE)
    (tmp_path / "bad.yaml").write_text(CASE.replace("tmp.absent-header", "tmp.typo").replace(
        "operation: PutObject", "operation: PutObject\n    requires: [kms-admn]"))
    proc = _cli("validate", "good.yaml", "--extra-cases", "bad.yaml", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown capability 'kms-admn'" in proc.stderr, proc.stderr
    assert _cli("validate", "good.yaml", cwd=tmp_path).returncode == 0
