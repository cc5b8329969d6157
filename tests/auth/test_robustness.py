"""Malformed authentication input gives S3 errors (4xx/403), never another exception."""
from __future__ import annotations

import pytest

from mockserver.auth import IncomingRequest, authenticate
from mockserver.auth.aws_chunked import AwsChunkedDecoder
from mockserver.errors import S3Error
from tests.auth.helpers import ACCOUNTS, REGION, decode, now

V4 = "AWS4-HMAC-SHA256 "
CRED = "Credential=AKIAMOCKMAIN00000001/20260101/us-east-1/s3/aws4_request"
AUTHORIZATIONS = [
    "", " ", "AWS4-HMAC-SHA256", V4, V4 + "Credential=", V4 + CRED, V4 + CRED + ", SignedHeaders=, Signature=x",
    V4 + "Credential=/////, SignedHeaders=host, Signature=00", V4 + "Credential=ä/ö/ü/s3/aws4_request, "
    "SignedHeaders=host, Signature=\u00ff", V4 + "=,=,=", "AWS ", "AWS :", "AWS AK:", "AWS :sig", "AWS AKIAMOCKMAIN00000001:\u00e9",
    "AWS4-ECDSA-P256-SHA256 Credential=x", "Basic dXNlcjpwYXNz", "AWS4-HMAC-SHA256 Credential=AKIAMOCKMAIN00000001/"
    "20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
]
QUERIES = [
    "X-Amz-Algorithm=", "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Signature=%zz&X-Amz-Credential=%",
    ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&X-Amz-Date=x&X-Amz-Expires=-5&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=0"),
    ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAMOCKMAIN00000001%2F20260101%2Fus-east-1%2Fs3%2F"
    "aws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=1e5&X-Amz-SignedHeaders=host&X-Amz-Signature=0"),
    "AWSAccessKeyId=AKIAMOCKMAIN00000001&Signature=x&Expires=never", "AWSAccessKeyId=&Signature=&Expires=1",
    "%%%&&&===", "a=%E2%82", "\u00ff=\u00ff",
]
DATES = [("x-amz-date", "garbage"), ("x-amz-date", "20261399T999999Z"), ("date", "not a date"), ("date", "")]


def assert_s3_error_or_result(req: IncomingRequest) -> None:
    try:
        authenticate(req, ACCOUNTS, REGION, now())
    except S3Error as error:
        assert 400 <= error.status < 600 and error.status != 500, error


@pytest.mark.parametrize("authorization", AUTHORIZATIONS)
@pytest.mark.parametrize("date", DATES + [None])
def test_garbage_authorization_headers(authorization, date):
    headers = [("host", "x"), ("authorization", authorization), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]
    if date is not None:
        headers.append(date)
    assert_s3_error_or_result(IncomingRequest("PUT", "/b/k", "", headers, False))


@pytest.mark.parametrize("query", QUERIES)
def test_garbage_query_authentication(query):
    assert_s3_error_or_result(IncomingRequest("GET", "/b/%zz/\u00e9", query, [("host", "x")], False))


@pytest.mark.parametrize("body", [b"-1\r\nabc\r\n", b"0x10\r\n", b"ffffffffffffffffff\r\n", b"\xff\xfe\r\n",
                                  b"10;chunk-signature\r\n", b"3\r\nabcdef\r\n", b"0\r\nno-colon\r\n\r\n",
                                  b"3\r\nabc\r\n0\r\n\r\ntrailing garbage", b"\r\n" * 10, b"a" * 10000])
def test_garbage_chunked_bodies(body):
    decoder = AwsChunkedDecoder(None, ["x-amz-checksum-crc32"], 3, signed_trailer=False)
    with pytest.raises(S3Error) as caught:
        decoder.feed(body)
        decoder.finish()
    assert caught.value.status in (400, 411)


def test_garbage_chunked_body_through_decode_body():
    headers = [("host", "x"), ("content-encoding", "aws-chunked"), ("x-amz-decoded-content-length", "5"),
               ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")]
    result = authenticate(IncomingRequest("PUT", "/b/k", "", headers, False), ACCOUNTS, REGION, now())
    with pytest.raises(S3Error):
        decode(result, [b"5\r\nab", b"\x00\x01\x02zzzz\r\n"])
