"""The dialect- and era-dependent part of the corpus passes against the built-in mock server under every shipped
profile (the mock starts in the profile's dialect). The full corpus run is `s3-conformance run --profile NAME`."""
from __future__ import annotations

import json

import pytest

from conformance import cli

from .conftest import CASES_DIR, PROFILE_NAMES

SELECTION = "tag:dialect or tag:era or tag:default-encryption"


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_dialect_and_era_cases_pass_on_the_mock(profile, tmp_path):
    code = cli.main(["run", "--profile", profile, "--cases", str(CASES_DIR), "--select", SELECTION,
                     "--report-dir", str(tmp_path), "--report-name", "r", "-n", "2"])
    report = json.loads((tmp_path / "r.json").read_text())
    failed = [c["id"] for c in report["cases"] if c["outcome"] in ("failed", "error")]
    assert failed == [] and code == 0
    assert report["summary"]["passed"] >= 5
