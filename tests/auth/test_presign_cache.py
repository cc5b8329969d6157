"""The presigned query caches (auth/presign.py _parsed_query, _checked_query) keep pure results only: a request that repeats a
cached URL is still checked for its time, its headers, its path, its method and its signature."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from mockserver.auth import authenticate, presign
from mockserver.errors import S3Error
from tests.auth.helpers import ACCOUNTS, REGION, now, presigned_request

URL = "http://127.0.0.1:9000/bucket/key"


@pytest.fixture(autouse=True)
def _empty_cache():
    presign._PARSED_QUERIES.clear()
    presign._CHECKED.clear()
    yield
    presign._PARSED_QUERIES.clear()
    presign._CHECKED.clear()


def test_a_cached_query_still_expires():
    request = presigned_request("GET", URL, expires=60)
    assert authenticate(request, ACCOUNTS, REGION, now()).account is not None
    assert request.query_string in presign._PARSED_QUERIES
    with pytest.raises(S3Error) as info:
        authenticate(request, ACCOUNTS, REGION, now() + timedelta(seconds=120))
    assert info.value.code == "AccessDenied"


@pytest.mark.parametrize("change", [
    {"raw_path": "/bucket/other"},
    {"method": "PUT"},
])
def test_a_cached_query_does_not_carry_its_signature_to_another_request(change):
    request = presigned_request("GET", URL)
    authenticate(request, ACCOUNTS, REGION, now())
    with pytest.raises(S3Error) as info:
        authenticate(replace(request, **change), ACCOUNTS, REGION, now())
    assert info.value.code == "SignatureDoesNotMatch"


def test_a_cached_query_still_checks_the_signed_headers():
    request = presigned_request("GET", URL)
    authenticate(request, ACCOUNTS, REGION, now())
    other_host = replace(request, headers=[("host", "127.0.0.1:9001")])
    with pytest.raises(S3Error) as info:
        authenticate(other_host, ACCOUNTS, REGION, now())
    assert info.value.code == "SignatureDoesNotMatch"
    unsigned = replace(request, headers=[*request.headers, ("x-amz-meta-a", "b")])
    with pytest.raises(S3Error) as info:
        authenticate(unsigned, ACCOUNTS, REGION, now())
    assert info.value.code == "AccessDenied"


def test_a_refused_query_is_refused_again():
    request = presigned_request("GET", URL)
    broken = replace(request, query_string=request.query_string.replace("X-Amz-Expires=3600", "X-Amz-Expires=x"))
    for _ in range(2):
        with pytest.raises(S3Error) as info:
            authenticate(broken, ACCOUNTS, REGION, now())
        assert info.value.code == "AuthorizationQueryParametersError"


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(presign, "_PARSED_QUERIES_MAX", 3)
    for i in range(10):
        presign._parsed_query(f"X-Amz-Date={i}")
        assert len(presign._PARSED_QUERIES) <= 3
    assert "X" * 5000 not in presign._PARSED_QUERIES
    presign._parsed_query("X" * 5000)
    assert "X" * 5000 not in presign._PARSED_QUERIES


def test_a_checked_query_is_checked_again_for_another_region_or_service():
    request = presigned_request("GET", URL)
    authenticate(request, ACCOUNTS, REGION, now())
    with pytest.raises(S3Error) as info:
        authenticate(request, ACCOUNTS, "eu-west-1", now())
    assert info.value.code == "AuthorizationQueryParametersError"
    with pytest.raises(S3Error) as info:
        authenticate(request, ACCOUNTS, REGION, now(), "kms")
    assert info.value.code == "InvalidSignatureException"
    assert authenticate(request, ACCOUNTS, REGION, now()).account is not None


def test_an_unknown_key_is_refused_whatever_is_cached():
    request = presigned_request("GET", URL)
    authenticate(request, ACCOUNTS, REGION, now())
    with pytest.raises(S3Error) as info:
        authenticate(request, type(ACCOUNTS)([]), REGION, now())
    assert info.value.code == "InvalidAccessKeyId"


def test_a_url_dated_in_year_9999_is_refused_not_crashed():
    """X-Amz-Date in 9999 plus X-Amz-Expires runs past datetime's range: refused as not yet valid (403), not a
    500 (the expiry moment is taken as datetime's last)."""
    request = presigned_request("GET", URL, expires=604800)
    stamp = dict(p.split("=", 1) for p in request.query_string.split("&"))["X-Amz-Date"]
    query = request.query_string.replace(stamp, "99991231T235959Z").replace(stamp[:8], "99991231")
    with pytest.raises(S3Error) as info:
        authenticate(replace(request, query_string=query), ACCOUNTS, REGION, now())
    assert info.value.code == "AccessDenied"
    assert "not yet valid" in info.value.message
