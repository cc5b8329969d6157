"""Duplicate and malformed headers: two SSE or Content-MD5 headers, bad base64 in Content-MD5, SSE-C keys and the
SSE-KMS encryption context (bad base64, not JSON, not an object, nested too deep), response-header injection."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest

from .conftest import assert_s3_error

BODY = b"replacement bytes"
KEY = bytes([0xFB, 0xFF]) * 16            # base64 has '+' and '/': the URL-safe alphabet differs


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def md5_b64(data: bytes) -> str:
    return b64(hashlib.md5(data).digest())


SSE_C_ALGORITHM = ("x-amz-server-side-encryption-customer-algorithm", "AES256")


def sse_c(key: str, md5: str) -> list[tuple[str, str]]:
    return [SSE_C_ALGORITHM, ("x-amz-server-side-encryption-customer-key", key),
            ("x-amz-server-side-encryption-customer-key-MD5", md5)]


def kms_context(value: str) -> list[tuple[str, str]]:
    return [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-context", value)]


BAD_CONTEXT = "The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string holding JSON"
CASES = {
    "two-sse-headers-same": ([("x-amz-server-side-encryption", "AES256")] * 2, "InvalidArgument", None),
    "two-sse-headers-different": ([("x-amz-server-side-encryption", "AES256"),
                                   ("x-amz-server-side-encryption", "aws:kms")], "InvalidArgument", None),
    "two-content-md5": ([("Content-MD5", md5_b64(BODY))] * 2, "InvalidDigest", None),
    "content-md5-not-base64": ([("Content-MD5", "!!not base64!!")], "InvalidDigest", None),
    "content-md5-too-short": ([("Content-MD5", b64(b"abc"))], "InvalidDigest", None),
    "content-md5-hex": ([("Content-MD5", hashlib.md5(BODY).hexdigest())], "InvalidDigest", None),
    "content-md5-wrong": ([("Content-MD5", md5_b64(b"other"))], "BadDigest", None),
    "two-checksums-same-algorithm": ([("x-amz-checksum-crc32", "AAAAAA==")] * 2, "InvalidRequest", None),
    "checksum-not-base64": ([("x-amz-checksum-crc32", "%%%")], "InvalidRequest", None),
    "two-storage-classes": ([("x-amz-storage-class", "STANDARD"), ("x-amz-storage-class", "GLACIER")],
                            "InvalidStorageClass", None),
    "bucket-key-not-boolean": ([("x-amz-server-side-encryption", "aws:kms"),
                                ("x-amz-server-side-encryption-bucket-key-enabled", "maybe")], "InvalidArgument", None),
    "sse-c-key-not-base64": (sse_c("!!!", md5_b64(KEY)), "InvalidArgument",
                             "The secret key was invalid for the specified algorithm."),
    "sse-c-key-url-safe-base64": (sse_c(base64.urlsafe_b64encode(KEY).decode(), md5_b64(KEY)), "InvalidArgument",
                                  "The secret key was invalid for the specified algorithm."),
    "sse-c-key-unpadded": (sse_c(b64(KEY).rstrip("="), md5_b64(KEY)), "InvalidArgument",
                           "The secret key was invalid for the specified algorithm."),
    "sse-c-key-empty": (sse_c("", ""), "InvalidArgument", "The secret key was invalid for the specified algorithm."),
    "sse-c-key-md5-not-base64": (sse_c(b64(KEY), "%%%"), "InvalidArgument",
                                 "The calculated MD5 hash of the key did not match the hash that was provided."),
    "sse-c-two-keys": ([SSE_C_ALGORITHM, ("x-amz-server-side-encryption-customer-key", b64(KEY)),
                        ("x-amz-server-side-encryption-customer-key", b64(KEY)),
                        ("x-amz-server-side-encryption-customer-key-MD5", md5_b64(KEY))], "InvalidArgument", None),
    "sse-c-two-algorithms": ([SSE_C_ALGORITHM, *sse_c(b64(KEY), md5_b64(KEY))], "InvalidEncryptionAlgorithmError",
                             None),
    "context-not-base64": (kms_context("!!!"), "InvalidArgument", BAD_CONTEXT),
    "context-not-json": (kms_context(b64(b"not json")), "InvalidArgument", BAD_CONTEXT),
    "context-json-list": (kms_context(b64(b"[1, 2]")), "InvalidArgument", BAD_CONTEXT),
    "context-json-string": (kms_context(b64(b'"a"')), "InvalidArgument", BAD_CONTEXT),
    "context-nested-object": (kms_context(b64(b'{"a": {"b": "c"}}')), "InvalidArgument", BAD_CONTEXT),
    "context-number-value": (kms_context(b64(b'{"a": 1}')), "InvalidArgument", BAD_CONTEXT),
    "context-not-utf8": (kms_context(b64(b'{"a": "\xff"}')), "InvalidArgument", BAD_CONTEXT),
    "context-deeply-nested": (kms_context(b64(b"[" * 2400 + b"]" * 2400)), "InvalidArgument", BAD_CONTEXT),
    "context-deeply-nested-object": (kms_context(b64(b"{\"\":" * 1050 + b"1" + b"}" * 1050)), "InvalidArgument",
                                     BAD_CONTEXT),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_headers(wire, sse_c_victim, case):
    headers, code, message = CASES[case]
    reply = wire.send("PUT", sse_c_victim.path, headers, BODY)
    assert_s3_error(reply, 400, code)
    if message is not None:
        assert reply.field("Message").startswith(message), reply
    sse_c_victim.assert_intact()


@pytest.mark.parametrize("case", ["sse-c-key-not-base64", "sse-c-key-md5-not-base64", "sse-c-two-keys"])
def test_malformed_sse_c_on_read(wire, sse_c_victim, s3, case):
    """The same headers on GET of an SSE-C object: an error, never the bytes."""
    key = b"k" * 32
    s3.put_object(Bucket=sse_c_victim.bucket, Key="ssec", Body=b"plaintext-xyz", SSECustomerAlgorithm="AES256",
                  SSECustomerKey=key)
    headers, _, _ = CASES[case]
    reply = wire.send("GET", f"/{sse_c_victim.bucket}/ssec", headers, content_length=None)
    assert 400 <= reply.status < 500 and reply.code is not None, reply
    assert b"plaintext-xyz" not in reply.body


def test_context_beyond_the_header_limit(wire, sse_c_victim):
    """S3 limits a request's headers to 8 KB; the mock once stored a 180 KB context and echoed it back as a
    response header no HTTP client would read."""
    value = b64(json.dumps({f"k{i}": "v" * 64 for i in range(2000)}).encode())
    reply = wire.send("PUT", sse_c_victim.path, kms_context(value), BODY)
    assert_s3_error(reply, 400, "RequestHeaderSectionTooLarge")
    assert reply.field("MaxSizeAllowed") == "8192"
    sse_c_victim.assert_intact()


@pytest.mark.parametrize("headers", [
    [("x-amz-meta-big", "a" * 1_000_000)],
    [(f"x-amz-meta-h{i}", "v") for i in range(5000)],
    [("Cookie", "c" * 9000)],
], ids=["one-huge-header", "many-headers", "unsigned-huge-header"])
def test_header_section_too_large(wire, victim, headers):
    reply = wire.send("PUT", victim.path, headers, BODY)
    assert_s3_error(reply, 400, "RequestHeaderSectionTooLarge")
    victim.assert_intact()


def test_header_section_just_under_the_limit(wire, victim):
    """2 KB of user metadata (S3's own limit) in a request well under 8 KB is an ordinary PUT."""
    reply = wire.send("PUT", victim.path, [("x-amz-meta-m", "m" * 2000)], BODY)
    assert reply.status == 200, reply


@pytest.mark.parametrize(("query", "header"), [
    ("response-content-disposition=a%0D%0ASet-Cookie%3A%20x%3D1", "Content-Disposition"),
    ("response-content-type=text%2Fplain%0D%0AX-Injected%3A%201", "Content-Type"),
    ("response-cache-control=%00%01%7F", "Cache-Control"),
])
def test_response_header_injection(wire, victim, query, header):
    reply = wire.send("GET", f"{victim.path}?{query}", content_length=None)
    assert reply.status == 200 and reply.body == victim.body
    assert reply.headers.get("Set-Cookie") is None and reply.headers.get("X-Injected") is None
    assert "\r" not in reply.headers[header] and "\n" not in reply.headers[header]


COPY_SSE_C = "x-amz-copy-source-server-side-encryption-customer-"
OTHER_KEY = b"j" * 32


@pytest.mark.parametrize(("headers", "status", "code"), [
    ([(COPY_SSE_C + "algorithm", "AES256"), (COPY_SSE_C + "key", "!!!"), (COPY_SSE_C + "key-MD5", md5_b64(KEY))],
     400, "InvalidArgument"),
    ([(COPY_SSE_C + "algorithm", "AES256"), (COPY_SSE_C + "key", b64(KEY)), (COPY_SSE_C + "key-MD5", "%%")],
     400, "InvalidArgument"),
    ([(COPY_SSE_C + "key", b64(KEY)), (COPY_SSE_C + "key-MD5", md5_b64(KEY))], 400, "InvalidArgument"),
    ([(COPY_SSE_C + "algorithm", "rot13"), (COPY_SSE_C + "key", b64(KEY)), (COPY_SSE_C + "key-MD5", md5_b64(KEY))],
     400, "InvalidEncryptionAlgorithmError"),
    ([(COPY_SSE_C + "algorithm", "AES256"), (COPY_SSE_C + "key", b64(OTHER_KEY)),
      (COPY_SSE_C + "key-MD5", md5_b64(OTHER_KEY))], 403, "AccessDenied"),
    ([], 400, "InvalidRequest"),
], ids=["key-not-base64", "md5-not-base64", "no-algorithm", "bad-algorithm", "wrong-key", "no-key"])
def test_malformed_copy_source_sse_c(wire, s3, sse_c_victim, headers, status, code):
    s3.put_object(Bucket=sse_c_victim.bucket, Key="ssec-source", Body=b"plaintext-xyz",
                  SSECustomerAlgorithm="AES256", SSECustomerKey=KEY)
    reply = wire.send("PUT", sse_c_victim.path, [("x-amz-copy-source", f"/{sse_c_victim.bucket}/ssec-source"),
                                                 *headers])
    assert_s3_error(reply, status, code)
    sse_c_victim.assert_intact()


@pytest.mark.parametrize(("headers", "code"), [
    ([], "InvalidRequest"),
    (sse_c("!!", md5_b64(KEY)), "InvalidArgument"),
    (sse_c(b64(OTHER_KEY), md5_b64(OTHER_KEY)), "InvalidRequest"),
], ids=["no-key", "key-not-base64", "other-key"])
def test_malformed_sse_c_on_upload_part(wire, s3, sse_c_victim, headers, code):
    upload = s3.create_multipart_upload(Bucket=sse_c_victim.bucket, Key=sse_c_victim.key, SSECustomerAlgorithm="AES256",
                                        SSECustomerKey=KEY)["UploadId"]
    reply = wire.send("PUT", f"{sse_c_victim.path}?partNumber=1&uploadId={upload}", headers, b"part")
    assert_s3_error(reply, 400, code)
    parts = s3.list_parts(Bucket=sse_c_victim.bucket, Key=sse_c_victim.key, UploadId=upload).get("Parts", [])
    assert parts == []
    sse_c_victim.assert_intact()
