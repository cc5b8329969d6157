"""SigV4 through botocore's signers, checked against AWS's published vectors."""
import datetime as dt
from unittest import mock

import pytest

from conformance.request import signing

# AWS "Signature Version 4 test suite" credentials (service "service", us-east-1, 2015-08-30T12:36:00Z)
SUITE_KEYS = signing.Keys("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
# Amazon S3 API reference examples (sig-v4-header-based-auth, sigv4-query-string-auth, sigv4-streaming)
S3_KEYS = signing.Keys("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def frozen(year, month, day, hour=0, minute=0):
    moment = dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).replace(tzinfo=None)
    return mock.patch("botocore.auth.get_current_datetime", return_value=moment)


@pytest.mark.parametrize("url,expected", [
    # get-vanilla
    ("https://example.amazonaws.com/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    # get-vanilla-query-order-key-case: parameters are sorted before signing
    ("https://example.amazonaws.com/?Param2=value2&Param1=value1",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
])
def test_sigv4_test_suite_vectors(url, expected):
    with frozen(2015, 8, 30, 12, 36):
        signed = signing.sign_v4_generic("GET", url, [("Host", "example.amazonaws.com")], b"", SUITE_KEYS,
                                         "us-east-1", "service")
    authorization = dict(signed.headers)["Authorization"]
    assert authorization == ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                             f"SignedHeaders=host;x-amz-date, Signature={expected}")


def test_s3_get_object_example_header_auth():
    """S3 API reference, 'Example: GET Object' (Range bytes=0-9, empty payload hash)."""
    with frozen(2013, 5, 24):
        signed = signing.sign_v4("GET", "https://examplebucket.s3.amazonaws.com/test.txt",
                                 [("Range", "bytes=0-9")], b"", S3_KEYS, "us-east-1", EMPTY_SHA256)
    assert signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    assert "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date" in dict(signed.headers)["Authorization"]
    assert signed.scope == "20130524/us-east-1/s3/aws4_request"


def test_s3_presigned_url_example():
    """S3 API reference, presigned GET of examplebucket/test.txt valid for 86400 s."""
    with frozen(2013, 5, 24):
        signed = signing.presign_v4("GET", "https://examplebucket.s3.amazonaws.com/test.txt", [], S3_KEYS,
                                    "us-east-1", expires=86400)
    assert signed.url == (
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")


def test_bad_signature_is_well_formed_but_different():
    with frozen(2013, 5, 24):
        good = signing.sign_v4("GET", "https://examplebucket.s3.amazonaws.com/test.txt", [("Range", "bytes=0-9")],
                               b"", S3_KEYS, "us-east-1", EMPTY_SHA256)
    bad = signing.corrupt_signature(good)
    assert bad.signature != good.signature and len(bad.signature) == 64
    assert int(bad.signature, 16) >= 0
    assert f"Signature={bad.signature}" in dict(bad.headers)["Authorization"]
    assert good.signature not in dict(bad.headers)["Authorization"]


def test_sigv2_header_has_the_hmac_v1_form():
    signed = signing.sign_v2("GET", "https://examplebucket.s3.amazonaws.com/photos/puppy.jpg", [], S3_KEYS)
    headers = dict(signed.headers)
    assert headers["Authorization"].startswith("AWS AKIAIOSFODNN7EXAMPLE:")
    assert "Date" in headers
