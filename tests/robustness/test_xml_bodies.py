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
LAUGHS = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
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


def delete_document(entries: list[str], extra: str = "") -> bytes:
    return ("<Delete>" + extra + "".join(f"<Object>{e}</Object>" for e in entries) + "</Delete>").encode()


@pytest.mark.parametrize("body", [
    delete_document(["<Key>victim</Key>", "<VersionId>x</VersionId>"]),
    delete_document(["<Key>victim</Key>"], "<Quiet>maybe</Quiet>"),
    delete_document(["<Key>victim</Key>"] * 1001),
    b"<Delete></Delete>",
    delete_document(["<Key>no-such-key</Key><Key>victim</Key>"]),
    delete_document(["<Key>victim</Key>"], "<Quiet>false</Quiet><Quiet>true</Quiet>"),
], ids=["entry-without-key-after-valid-one", "quiet-not-boolean", "1001-objects", "no-objects", "two-keys-in-entry",
        "two-quiet"])
def test_delete_objects_validates_everything_before_deleting(wire, victim, body):
    """A malformed DeleteObjects document deletes nothing (an entry without Key once failed the request only
    after the entries before it were deleted)."""
    reply = wire.send("POST", f"/{victim.bucket}?delete", [("Content-MD5", md5(body))], body)
    assert_s3_error(reply, 400, "MalformedXML")
    victim.assert_intact()


def test_delete_objects_without_integrity_header(wire, victim):
    body = delete_document(["<Key>victim</Key>"])
    reply = wire.send("POST", f"/{victim.bucket}?delete", [], body)
    assert_s3_error(reply, 400, "InvalidRequest")
    victim.assert_intact()


@pytest.fixture
def upload(s3, victim):
    upload_id = s3.create_multipart_upload(Bucket=victim.bucket, Key=victim.key)["UploadId"]
    first = s3.upload_part(Bucket=victim.bucket, Key=victim.key, UploadId=upload_id, PartNumber=1,
                           Body=b"a" * 5 * 1024 * 1024)["ETag"]
    second = s3.upload_part(Bucket=victim.bucket, Key=victim.key, UploadId=upload_id, PartNumber=2,
                            Body=b"b")["ETag"]
    return upload_id, first, second


def complete_document(parts) -> bytes:
    return ("<CompleteMultipartUpload>" + "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
                                                  for n, e in parts) + "</CompleteMultipartUpload>").encode()


@pytest.mark.parametrize(("parts", "code"), [
    (lambda a, b: [(2, b), (1, a)], "InvalidPartOrder"),
    (lambda a, b: [(1, a), (1, a)], "InvalidPartOrder"),
    (lambda a, b: [(1, '"00000000000000000000000000000000"')], "InvalidPart"),
    (lambda a, b: [(1, a), (3, b)], "InvalidPart"),
    (lambda a, b: [(-1, a)], "MalformedXML"),
    (lambda a, b: [("x", a)], "MalformedXML"),
    (lambda a, b: [(99999999999999999999, a)], ("InvalidPart", "InvalidArgument")),
    (lambda a, b: [(i, a) for i in range(1, 10002)], ("InvalidPart", "MalformedXML", "InvalidArgument")),
    (lambda a, b: [], "MalformedXML"),
    (lambda a, b: [("1</PartNumber><PartNumber>2", a)], "MalformedXML"),
    (lambda a, b: [(1, f"{a}</ETag><ETag>{b}")], "MalformedXML"),
], ids=["out-of-order", "duplicate", "unknown-etag", "missing-part", "negative", "not-a-number", "huge-number",
        "10001-parts", "no-parts", "two-part-numbers", "two-etags"])
def test_complete_multipart_upload_semantics(wire, victim, upload, parts, code):
    upload_id, first, second = upload
    body = complete_document(parts(first, second))
    reply = wire.send("POST", f"{victim.path}?uploadId={upload_id}", [], body)
    assert_s3_error(reply, 400, code)
    victim.assert_intact()
    # The upload is still there and can be completed properly afterwards.
    good = complete_document([(1, first), (2, second)])
    assert wire.send("POST", f"{victim.path}?uploadId={upload_id}", [], good).status == 200


@pytest.mark.parametrize("body", [
    b"<VersioningConfiguration><Status>Enabled</Status><Status>Suspended</Status></VersioningConfiguration>",
    b"<VersioningConfiguration><Status>Maybe</Status></VersioningConfiguration>",
    b"<VersioningConfiguration><Status>Enabled</Status><MfaDelete>x</MfaDelete></VersioningConfiguration>",
    (b"<VersioningConfiguration><MfaDelete>Disabled</MfaDelete><MfaDelete>Disabled</MfaDelete>"
     b"</VersioningConfiguration>"),
], ids=["two-statuses", "unknown-status", "bad-mfa-delete", "two-mfa-delete"])
def test_versioning_schema(wire, s3, victim, body):
    reply = wire.send("PUT", f"/{victim.bucket}?versioning", [("Content-MD5", md5(body))], body)
    assert_s3_error(reply, 400, "MalformedXML")
    assert s3.get_bucket_versioning(Bucket=victim.bucket).get("Status") is None
