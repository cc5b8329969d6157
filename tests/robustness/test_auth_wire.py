"""Malformed presigned URLs and Authorization headers over real HTTP: AWS's code for each, never the object."""
from __future__ import annotations

import re

import pytest

from .conftest import assert_s3_error

QUERY_ERROR = "AuthorizationQueryParametersError"


def replace_param(target: str, name: str, value: str | None) -> str:
    if value is None:
        return re.sub(rf"&?{name}=[^&]*", "", target)
    return re.sub(rf"({name}=)[^&]*", lambda m: m.group(1) + value, target)


@pytest.mark.parametrize(("name", "value", "status", "code"), [
    ("X-Amz-Date", "garbage", 400, QUERY_ERROR), ("X-Amz-Date", "", 400, QUERY_ERROR),
    ("X-Amz-Date", "20261399T999999Z", 400, QUERY_ERROR), ("X-Amz-Date", "20991231T000000Z", 400, QUERY_ERROR),
    ("X-Amz-Date", None, 400, QUERY_ERROR),
    ("X-Amz-Expires", "-1", 400, QUERY_ERROR), ("X-Amz-Expires", "abc", 400, QUERY_ERROR),
    ("X-Amz-Expires", "1.5", 400, QUERY_ERROR), ("X-Amz-Expires", "604801", 400, QUERY_ERROR),
    ("X-Amz-Expires", "9" * 40, 400, QUERY_ERROR), ("X-Amz-Expires", "", 400, QUERY_ERROR),
    ("X-Amz-Expires", "0", 403, "AccessDenied"),
    ("X-Amz-Algorithm", "AWS4-HMAC-SHA512", 400, QUERY_ERROR), ("X-Amz-Credential", "x", 400, QUERY_ERROR),
    ("X-Amz-Credential", "%FF%FE", 400, QUERY_ERROR),
    ("X-Amz-Signature", "zz", 403, "SignatureDoesNotMatch"), ("X-Amz-Signature", "", 400, QUERY_ERROR),
    ("X-Amz-Signature", None, 400, QUERY_ERROR), ("X-Amz-SignedHeaders", "", 403, "AccessDenied"),
    ("X-Amz-SignedHeaders", "x-amz-date", 403, "AccessDenied"),     # host unsigned: HeadersNotSigned
])
def test_malformed_presigned_url(wire, victim, name, value, status, code):
    target = replace_param(wire.presigned_target("GET", victim.path), name, value)
    reply = wire.send("GET", target, sign=False, content_length=None)
    assert_s3_error(reply, status, code)
    assert victim.body not in reply.body


def test_presigned_put_with_malformed_expiry_stores_nothing(wire, victim):
    target = replace_param(wire.presigned_target("PUT", victim.path), "X-Amz-Expires", "abc")
    reply = wire.send("PUT", target, body=b"replacement", sign=False)
    assert_s3_error(reply, 400, QUERY_ERROR)
    victim.assert_intact()


MALFORMED = "AuthorizationHeaderMalformed"


@pytest.mark.parametrize(("mutate", "status", "code"), [
    (lambda a: "", 400, "InvalidArgument"),
    (lambda a: "AWS4-HMAC-SHA256", 400, "InvalidArgument"),
    (lambda a: "Bearer token", 400, "InvalidArgument"),
    (lambda a: a.replace("Credential=", "Cred="), 400, MALFORMED),
    (lambda a: re.sub(r"SignedHeaders=[^,]*, ", "", a), 400, MALFORMED),
    (lambda a: re.sub(r", Signature=.*", "", a), 400, MALFORMED),
    (lambda a: a.replace("/aws4_request", ""), 400, MALFORMED),
    (lambda a: a.replace("/s3/", "/ec2/"), 400, MALFORMED),
    (lambda a: a.replace("aws4_request", "aws5_request"), 400, MALFORMED),
    (lambda a: re.sub(r"Credential=(\w+)/\d{8}/", r"Credential=\1/20000101/", a), 400, MALFORMED),
    (lambda a: a.replace("us-east-1", "mars-1"), 400, MALFORMED),
    (lambda a: "AWS4-HMAC-SHA256 Credential=" + "a/" * 3000, 400, MALFORMED),
    (lambda a: re.sub(r"Credential=\w+/", "Credential=AKIAUNKNOWN000000000/", a), 403, "InvalidAccessKeyId"),
    (lambda a: re.sub(r"Signature=\w+", "Signature=ab", a), 403, "SignatureDoesNotMatch"),
    (lambda a: a + "\u00e9", 403, "SignatureDoesNotMatch"),
    (lambda a: a.replace(", ", ",, "), 403, "SignatureDoesNotMatch"),
    (lambda a: a + ", Signature=00", 403, "SignatureDoesNotMatch"),
    (lambda a: "AWS AKIAMOCKMAIN00000001", 400, "InvalidArgument"),
    (lambda a: "AWS AKIAMOCKMAIN00000001:abc=", 403, "SignatureDoesNotMatch"),
], ids=["empty", "scheme-only", "bearer", "no-credential", "no-signed-headers", "no-signature", "credential-4-parts",
        "wrong-service", "wrong-terminal", "credential-date-mismatch", "wrong-region", "huge", "unknown-key",
        "short-signature", "non-ascii", "empty-component", "duplicate-signature", "sigv2-no-colon", "sigv2-bad"])
def test_malformed_authorization_header(wire, victim, mutate, status, code):
    headers = wire.signed_headers("PUT", victim.path, [("Host", f"{wire.host}:{wire.port}")], b"replacement")
    authorization = next(v for n, v in headers if n == "Authorization")
    headers = [(n, v) for n, v in headers if n != "Authorization"] + [("Authorization", mutate(authorization))]
    reply = wire.send("PUT", victim.path, headers, b"replacement", sign=False)
    assert_s3_error(reply, status, code)
    victim.assert_intact()


@pytest.mark.parametrize("header", ["Authorization", "X-Amz-Date", "x-amz-content-sha256"])
def test_duplicated_auth_headers(wire, victim, header):
    headers = wire.signed_headers("PUT", victim.path, [("Host", f"{wire.host}:{wire.port}")], b"replacement")
    value = next(v for n, v in headers if n.lower() == header.lower())
    reply = wire.send("PUT", victim.path, headers + [(header, value)], b"replacement", sign=False)
    assert 400 <= reply.status < 500 and reply.code is not None, reply
    victim.assert_intact()


@pytest.mark.parametrize("value", ["garbage", "", "20000101T000000Z"])
def test_malformed_x_amz_date(wire, victim, value):
    headers = wire.signed_headers("PUT", victim.path, [("Host", f"{wire.host}:{wire.port}")], b"replacement")
    headers = [(n, v) for n, v in headers if n != "X-Amz-Date"] + [("X-Amz-Date", value)]
    reply = wire.send("PUT", victim.path, headers, b"replacement", sign=False)
    assert_s3_error(reply, (400, 403), ("AccessDenied", MALFORMED))
    victim.assert_intact()
