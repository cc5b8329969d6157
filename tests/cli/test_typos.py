"""Typos are errors (through the CLI, a subprocess): an unknown capability in a case or a profile and a
profile deviation that matches no case make `validate` exit 2 with `file:line:`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CASE = """\
cases:
  - id: vendor.typo
    title: A case
    operation: PutObject
    source: {{document: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html", quote: "q"}}
    tags: [vendor]
    requires: [{requires}]
    steps:
      - request: {{method: PUT, bucket: "${{bucket}}", key: k, body: {{text: x}}}}
        expect: {{status: 200}}
        variants:
          - when: {{lacks: {lacks}}}
            expect: {{status: 200}}
"""

PROFILE = """\
name: vendor
region: us-east-1
capabilities: [kms, {capability}]
vars: {{sse_s3: AES256, sse_kms: "aws:kms", sse_dsse: "aws:kms:dsse", kms_key_prefix: "", default_sse: AES256}}
deviations:
  {deviation}: "known"
"""


def _cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


def _write(tmp_path: Path, requires: str = "kms", lacks: str = "sse-c", capability: str = "sse-c",
           deviation: str = "vendor.typo") -> tuple[Path, Path]:
    case = tmp_path / "cases" / "vendor.yaml"
    case.parent.mkdir(exist_ok=True)
    case.write_text(CASE.format(requires=requires, lacks=lacks))
    profile = tmp_path / "vendor-profile.yaml"
    profile.write_text(PROFILE.format(capability=capability, deviation=deviation))
    return case, profile


def test_clean_vendor_files_validate(tmp_path: Path) -> None:
    case, profile = _write(tmp_path, requires="x-acme-lock")          # x-: a vendor's own capability
    proc = _cli("validate", "--profile", str(profile), "--cases", str(case.parent), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_unknown_required_capability_is_an_error_with_its_line(tmp_path: Path) -> None:
    case, profile = _write(tmp_path, requires="kms-admn")
    proc = _cli("validate", "--profile", str(profile), "--cases", str(case.parent), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{case}:7: case vendor.typo requires: unknown capability 'kms-admn'; did you mean 'kms-admin'?" \
        in proc.stderr
    listing = _cli("list", "--cases", str(case.parent), cwd=tmp_path)          # run/list refuse it too
    assert listing.returncode == 2 and "kms-admn" in listing.stderr


def test_unknown_capability_in_a_variant_condition(tmp_path: Path) -> None:
    case, profile = _write(tmp_path, lacks="sse-cc")
    proc = _cli("validate", "--profile", str(profile), "--cases", str(case.parent), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{case}:12: case vendor.typo when.lacks: unknown capability 'sse-cc'" in proc.stderr


def test_unknown_capability_in_a_profile(tmp_path: Path) -> None:
    case, profile = _write(tmp_path, capability="bucket-key")
    proc = _cli("validate", "--profile", str(profile), "--cases", str(case.parent), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{profile}:3: capabilities: unknown capability 'bucket-key'; did you mean 'bucket-keys'?" in proc.stderr
    run = _cli("run", "--profile", str(profile), "--cases", str(case.parent), cwd=tmp_path)
    assert run.returncode == 2 and "bucket-key" in run.stderr


def test_deviation_matching_no_case(tmp_path: Path) -> None:
    case, profile = _write(tmp_path, deviation="vendor.tpyo")
    proc = _cli("validate", "--profile", str(profile), "--cases", str(case.parent), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{profile}:6: deviations: 'vendor.tpyo' matches no case; did you mean 'vendor.typo'?" in proc.stderr


@pytest.mark.parametrize("deviation", ["vendor.*", "sse-c.put-get-roundtrip"])
def test_deviation_globs_and_bundled_case_ids_are_fine(tmp_path: Path, deviation: str) -> None:
    case, profile = _write(tmp_path, deviation=f'"{deviation}"')
    proc = _cli("validate", "--profile", str(profile), "--cases", str(case.parent), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_unknown_capability_flag_is_a_usage_error(tmp_path: Path) -> None:
    proc = _cli("run", "--capability", "sse-cc", "--select", "id:none", cwd=tmp_path)
    assert proc.returncode == 2 and "--capability: unknown capability 'sse-cc'" in proc.stderr
