"""Console failure lines (through the CLI, a subprocess, against the built-in mock server) show the status,
the S3 error code and message, and the mismatched header or element."""
from __future__ import annotations

import subprocess
import sys

import pytest

CASES = """\
cases:
  - id: demo.status
    title: A missing key read as if it existed
    operation: GetObject
    source: {document: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html", quote: "q"}
    tags: [demo]
    steps:
      - name: get
        request: {method: GET, bucket: "${bucket}", key: missing}
        expect: {status: 200}
  - id: demo.header
    title: SSE-S3 answered as if it were SSE-KMS
    operation: PutObject
    source: {document: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html", quote: "q"}
    tags: [demo]
    steps:
      - name: put
        request: {method: PUT, bucket: "${bucket}", key: k, body: {text: x},
                  headers: {x-amz-server-side-encryption: AES256}}
        expect:
          status: 200
          headers: {equal: {x-amz-server-side-encryption: "aws:kms"}}
  - id: demo.code
    title: The wrong error code
    operation: GetObject
    source: {document: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html", quote: "q"}
    tags: [demo]
    steps:
      - name: get
        request: {method: GET, bucket: "${bucket}", key: missing}
        expect: {status: 404, error: {code: NoSuchBucket}}
"""


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("failure-lines")
    (folder / "demo.yaml").write_text(CASES)
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--cases", str(folder / "demo.yaml"),
                           "--report-dir", str(folder / "r")], cwd=folder, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    return proc.stdout.splitlines()


def _block(lines: list[str], case_id: str) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith(f"FAILED {case_id} "))
    block = []
    for line in lines[start + 1:]:
        if not line.startswith("    "):
            break
        block.append(line.strip())
    return block


def test_status_line_carries_the_s3_error(output: list[str]) -> None:
    assert _block(output, "demo.status") == [
        'step get: status: expected 200, got 404 NoSuchKey "The specified key does not exist."']


def test_header_mismatch_names_the_header(output: list[str]) -> None:
    assert _block(output, "demo.header") == [
        "step put: header x-amz-server-side-encryption: expected 'aws:kms', got 'AES256'"]


def test_error_code_mismatch_shows_the_answer(output: list[str]) -> None:
    assert _block(output, "demo.code") == [
        "step get: error code: expected 'NoSuchBucket', got 'NoSuchKey'",
        'step get: the endpoint answered 404 NoSuchKey "The specified key does not exist."']


def test_summary_line_stays_last(output: list[str]) -> None:
    assert output[-1].startswith("0 passed, 3 failed, 0 not applicable")
