"""Hostile XML on every XML-taking operation: 400 MalformedXML (or MaxMessageLengthExceeded), nothing stored,
nothing configured, no entity expanded, and the server keeps serving."""
from __future__ import annotations

import base64
import hashlib
import time

import pytest

from .conftest import assert_s3_error

SSE_CONFIG = ("<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>{}"
              "</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>")
LAUGHS = ('<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10)))
BODIES = {
    "billion-laughs": f'<?xml version="1.0"?><!DOCTYPE c [{LAUGHS}]>{SSE_CONFIG.format("&l9;")}'.encode(),
    "external-entity": (b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
                        + SSE_CONFIG.format("&e;").encode()),
    "external-dtd": b'<?xml version="1.0"?><!DOCTYPE c SYSTEM "http://127.0.0.1:9/evil.dtd">'
                    + SSE_CONFIG.format("AES256").encode(),
    "parameter-entity": (b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]>'
                         + SSE_CONFIG.format("AES256").encode()),
    "harmless-dtd": b'<?xml version="1.0"?><!DOCTYPE c [<!ELEMENT c ANY>]>' + SSE_CONFIG.format("AES256").encode(),
    "deep-nesting": b"<a>" * 50_000 + b"</a>" * 50_000,
    "non-utf8": SSE_CONFIG.format("AES\xe9256").encode("latin-1"),
    "utf16-declared-utf8": '<?xml version="1.0" encoding="UTF-8"?>\ufeff<a/>'.encode("utf-16"),
    "empty": b"",
    "whitespace": b" \r\n\t ",
    "truncated": SSE_CONFIG.format("AES256").encode()[:-20],
    "two-roots": SSE_CONFIG.format("AES256").encode() * 2,
    "nul-byte": SSE_CONFIG.format("AES\x00256").encode(),
    "binary": bytes(range(256)),
}
OVERSIZED = b"<ServerSideEncryptionConfiguration><!--" + b"x" * (5 * 1024 * 1024) + b"--></ServerSideEncryptionConfiguration>"
OPERATIONS = ["PutBucketEncryption", "PutBucketVersioning", "DeleteObjects", "CompleteMultipartUpload", "CreateBucket"]


def md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def target(operation: str, s3, bucket: str, case: str) -> tuple[str, str]:
    if operation == "PutBucketEncryption":
        return "PUT", f"/{bucket}?encryption"
    if operation == "PutBucketVersioning":
        return "PUT", f"/{bucket}?versioning"
    if operation == "DeleteObjects":
        return "POST", f"/{bucket}?delete"
    if operation == "CompleteMultipartUpload":
        upload = s3.create_multipart_upload(Bucket=bucket, Key="victim")["UploadId"]
        s3.upload_part(Bucket=bucket, Key="victim", UploadId=upload, PartNumber=1, Body=b"part")
        return "POST", f"/{bucket}/victim?uploadId={upload}"
    return "PUT", f"/{bucket}-{case.replace('-', '')[:20]}"


def snapshot(s3, bucket: str) -> tuple:
    return (s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"],
            s3.get_bucket_versioning(Bucket=bucket).get("Status"))


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("case", sorted(BODIES))
def test_hostile_xml_is_malformed_xml(wire, s3, victim, operation, case):
    body = BODIES[case]
    before = snapshot(s3, victim.bucket)
    method, path = target(operation, s3, victim.bucket, case)
    started = time.monotonic()
    reply = wire.send(method, path, [("Content-MD5", md5(body))], body)
    assert time.monotonic() - started < 5, "the parser spent seconds on the document"
    if operation == "CreateBucket" and not body.strip(b" \r\n\t"):
        # No CreateBucketConfiguration at all is a valid CreateBucket; whitespace alone is treated the same way.
        assert reply.status == 200, reply
        return
    assert_s3_error(reply, 400, "MalformedXML")
    assert b"lollol" not in reply.body and b"localhost" not in reply.body
    victim.assert_intact()
    assert snapshot(s3, victim.bucket) == before
    if operation == "CreateBucket":
        assert wire.send("HEAD", path).status == 404


@pytest.mark.parametrize("operation", OPERATIONS)
def test_oversized_xml_body_is_refused(wire, s3, victim, operation):
    before = snapshot(s3, victim.bucket)
    method, path = target(operation, s3, victim.bucket, "oversized")
    reply = wire.send(method, path, [("Content-MD5", md5(OVERSIZED))], OVERSIZED)
    assert_s3_error(reply, 400, "MaxMessageLengthExceeded")
    victim.assert_intact()
    assert snapshot(s3, victim.bucket) == before
