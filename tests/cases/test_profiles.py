"""Every shipped profile validates against the profile schema and matches the mock server dialect name."""
from __future__ import annotations

import pytest

from conformance.profile import load_profile

from .conftest import PROFILE_NAMES


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_shipped_profile_validates(name):
    profile = load_profile(name)
    assert profile.name == name
    assert profile.region == "us-east-1"
    assert profile.dialect == name
    assert "kms" in profile.capabilities


def test_eras_and_vendors_differ_only_in_profiles():
    caps = {name: load_profile(name).capabilities for name in PROFILE_NAMES}
    assert "default-encryption" in caps["aws"] and "default-encryption" in caps["aws-2023"]
    assert "default-encryption" not in caps["aws-legacy"]
    assert "sse-c-blocked-by-default" in caps["aws"] and "sse-c-blocked-by-default" not in caps["aws-2023"]
    assert "content-md5-required" in caps["qstorage"] and "dsse" not in caps["qstorage"]
    assert "sse-s3" not in caps["yandex"] and "bucket-keys" not in caps["yandex"]
