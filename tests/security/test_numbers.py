"""Numbers in requests are ASCII digits (any length, no crash): Unicode digits ('²', '٣') and
numbers of more than 4,300 digits get AWS's errors, never a 500; KMS JSON of the wrong types gets KMS JSON
errors, never S3 XML."""
from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from tests.robustness.wire import Reply, Wire

HUGE = "9" * 5000


@pytest.fixture(scope="module")
def wire(server: Any) -> Wire:
    return Wire(server.endpoint, server.credentials, server.region)


@pytest.fixture
def obj(s3: Any, bucket: str) -> str:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"0123456789")
    return f"/{bucket}/obj"


@pytest.fixture
def upload(s3: Any, bucket: str) -> tuple[str, str]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mpu")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload_id, PartNumber=1, Body=b"part")
    return f"/{bucket}/mpu", upload_id


def s3_error(reply: Reply, status: int, code: str) -> None:
    assert (reply.status, reply.code) == (status, code), reply


@pytest.mark.parametrize("value", ["bytes=0-\u00b2", "bytes=\u00b2-", "bytes=-\u00b2", "bytes=0-\u00b9"])
def test_range_with_unicode_digits_is_ignored(wire: Wire, obj: str, value: str) -> None:
    reply = wire.send("GET", obj, [("Range", value)])
    assert (reply.status, reply.body) == (200, b"0123456789"), reply


def test_range_with_huge_numbers(wire: Wire, obj: str) -> None:
    reply = wire.send("GET", obj, [("Range", "bytes=2-" + HUGE)])
    assert (reply.status, reply.body) == (206, b"23456789"), reply
    s3_error(wire.send("GET", obj, [("Range", f"bytes={HUGE}-")]), 416, "InvalidRange")
    assert wire.send("GET", obj, [("Range", "bytes=-" + HUGE)]).status == 206


@pytest.mark.parametrize("value", ["%C2%B2", "%D9%A3", HUGE])
def test_part_number_query(wire: Wire, obj: str, upload: tuple[str, str], value: str) -> None:
    s3_error(wire.send("GET", f"{obj}?partNumber={value}"), 400, "InvalidArgument")
    path, upload_id = upload
    s3_error(wire.send("PUT", f"{path}?partNumber={value}&uploadId={upload_id}", body=b"x"), 400, "InvalidArgument")


@pytest.mark.parametrize("value", ["%C2%B2", "%D9%A3", HUGE])
def test_part_number_marker(wire: Wire, upload: tuple[str, str], value: str) -> None:
    path, upload_id = upload
    s3_error(wire.send("GET", f"{path}?uploadId={upload_id}&part-number-marker={value}"), 400, "InvalidArgument")


@pytest.mark.parametrize("value", ["%D9%A3", HUGE])
def test_max_keys(wire: Wire, bucket: str, value: str) -> None:
    s3_error(wire.send("GET", f"/{bucket}?max-keys={value}"), 400, "InvalidArgument")


@pytest.mark.parametrize(("number", "code"), [("\u00b2", "MalformedXML"), ("\u0663", "MalformedXML"),
                                              (HUGE, "InvalidPart")])
def test_complete_part_number(wire: Wire, upload: tuple[str, str], number: str, code: str) -> None:
    path, upload_id = upload
    body = (f"<CompleteMultipartUpload><Part><PartNumber>{number}</PartNumber><ETag>\"x\"</ETag></Part>"
            "</CompleteMultipartUpload>").encode()
    s3_error(wire.send("POST", f"{path}?uploadId={upload_id}", body=body), 400, code)


@pytest.mark.parametrize("value", ["bytes=0-\u00b2", "bytes=\u00b2-1", "bytes=0-" + HUGE])
def test_copy_source_range(wire: Wire, obj: str, upload: tuple[str, str], value: str) -> None:
    path, upload_id = upload
    reply = wire.send("PUT", f"{path}?partNumber=2&uploadId={upload_id}",
                      [("x-amz-copy-source", obj), ("x-amz-copy-source-range", value)])
    s3_error(reply, 400, "InvalidArgument")


@pytest.mark.parametrize("value", ["\u00b2", "\u00b3", HUGE])
def test_decoded_content_length(wire: Wire, bucket: str, value: str) -> None:
    body = b"3\r\nabc\r\n0\r\n\r\n"
    reply = wire.send("PUT", f"/{bucket}/chunked", [("Content-Encoding", "aws-chunked"),
                                                    ("x-amz-decoded-content-length", value)],
                      body, payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert 400 <= reply.status < 500 and reply.code is not None, reply


def _kms(wire: Wire, operation: str, document: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    body = json.dumps(document).encode()
    request = AWSRequest(method="POST", url=wire.endpoint + "/", data=body,
                         headers={"X-Amz-Target": f"TrentService.{operation}",
                                  "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(wire.keys(), "kms", wire.region).add_auth(request)
    reply = wire.send("POST", "/", list(request.headers.items()), body, sign=False)
    return reply.status, json.loads(reply.body), reply.headers.get("content-type", "")


@pytest.mark.parametrize(("operation", "document", "message"), [
    ("ListAliases", {"KeyId": {"a": 1}}, "Start of structure or map found where not expected."),
    ("Decrypt", {"CiphertextBlob": "AAAA", "KeyId": 5}, "NUMBER_VALUE can not be converted to a String"),
    ("GenerateDataKey", {"KeyId": "alias/x", "KeySpec": ["AES_256"]}, "Start of list found where not expected"),
    ("DescribeKey", {"KeyId": True}, "TRUE_VALUE can not be converted to a String"),
    ("GenerateDataKey", {"KeyId": "alias/x", "NumberOfBytes": "32"},
     "STRING_VALUE can not be converted to an Integer"),
    ("CreateKey", {"KeySpec": {"x": 1}}, "Start of structure or map found where not expected."),
])
def test_kms_json_wrong_types(wire: Wire, operation: str, document: dict[str, Any], message: str) -> None:
    status, answer, content_type = _kms(wire, operation, document)
    assert (status, answer, content_type) == (400, {"__type": "SerializationException", "message": message},
                                              "application/x-amz-json-1.1")


@pytest.mark.parametrize("expires", ["99999999999999999999", HUGE, "%C2%B2"])
def test_sigv2_presigned_expires(wire: Wire, obj: str, expires: str) -> None:
    access_key = wire.credentials["main"]["access_key"]
    reply = wire.send("GET", f"{obj}?AWSAccessKeyId={access_key}&Expires={expires}&Signature=x", sign=False,
                      content_length=None)
    assert reply.status == 403 and reply.code in ("SignatureDoesNotMatch", "AccessDenied"), reply


@pytest.mark.parametrize("expires", [HUGE, "-" + HUGE, "%C2%B2"])
def test_sigv4_presigned_expires(wire: Wire, obj: str, expires: str) -> None:
    target = wire.presigned_target("GET", obj)
    start = target.index("X-Amz-Expires=") + len("X-Amz-Expires=")
    end = target.index("&", start) if "&" in target[start:] else len(target)
    reply = wire.send("GET", target[:start] + expires + target[end:], sign=False, content_length=None)
    assert reply.status == 400 and reply.code == "AuthorizationQueryParametersError", reply
