"""PutObject / GetObject / HeadObject / DeleteObject(s): ranges, conditionals, overrides, integrity headers,
unusual keys, and that a rejected request leaves stored data unchanged."""
from __future__ import annotations

import base64
import hashlib
import os
import zlib

import pytest
from awscrt import checksums as crt
from botocore.exceptions import ClientError

from tests.mockserver.conftest import client_error, error_of

BODY = bytes(range(256)) * 40   # 10240 bytes


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


CHECKSUMS = {
    "crc32": lambda d: b64(zlib.crc32(d).to_bytes(4, "big")),
    "crc32c": lambda d: b64(crt.crc32c(d).to_bytes(4, "big")),
    "crc64nvme": lambda d: b64(crt.crc64nvme(d).to_bytes(8, "big")),
    "sha1": lambda d: b64(hashlib.sha1(d).digest()),
    "sha256": lambda d: b64(hashlib.sha256(d).digest()),
}


def test_put_get_head_roundtrip(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="obj", Body=BODY, ContentType="text/plain",
                        Metadata={"colour": "blue"}, CacheControl="no-cache", ContentDisposition="inline")
    assert put["ETag"] == f'"{hashlib.md5(BODY).hexdigest()}"'
    assert put["ServerSideEncryption"] == "AES256"
    got = s3.get_object(Bucket=bucket, Key="obj")
    assert got["Body"].read() == BODY
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"colour": "blue"}
    assert got["CacheControl"] == "no-cache" and got["ContentDisposition"] == "inline"
    assert got["ETag"] == put["ETag"]
    head = s3.head_object(Bucket=bucket, Key="obj")
    assert head["ContentLength"] == len(BODY)
    assert "x-amz-version-id" not in head["ResponseMetadata"]["HTTPHeaders"]


def test_empty_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b"" and got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-0", 0, 0), ("bytes=10-19", 10, 19), ("bytes=10000-", 10000, 10239), ("bytes=-100", 10140, 10239),
    ("bytes=10200-999999", 10200, 10239), ("bytes=-999999", 0, 10239)])
def test_ranges(s3, bucket, header, start, end):
    s3.put_object(Bucket=bucket, Key="r", Body=BODY)
    got = s3.get_object(Bucket=bucket, Key="r", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == BODY[start:end + 1]
    assert got["ContentRange"] == f"bytes {start}-{end}/{len(BODY)}"
    assert got["ContentLength"] == end - start + 1


def test_range_across_encryption_chunks(s3, bucket):
    data = os.urandom(700 * 1024)
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    got = s3.get_object(Bucket=bucket, Key="big", Range="bytes=200000-600000")
    assert got["Body"].read() == data[200000:600001]


def test_unsatisfiable_range(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=BODY)
    r = raw("GET", f"/{bucket}/r", headers={"Range": "bytes=20000-"})
    assert r.status_code == 416
    err = error_of(r)
    assert err["Code"] == "InvalidRange" and err["Message"] == "The requested range is not satisfiable"
    assert err["ActualObjectSize"] == str(len(BODY)) and err["RangeRequested"] == "bytes=20000-"
    assert r.headers["Content-Range"] == f"bytes */{len(BODY)}"
    # Syntax S3 does not serve is ignored: the whole object comes back.
    r = raw("GET", f"/{bucket}/r", headers={"Range": "bytes=0-1,5-6"})
    assert r.status_code == 200 and r.content == BODY


def test_response_overrides(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    got = s3.get_object(Bucket=bucket, Key="o", ResponseContentType="image/png",
                        ResponseContentDisposition="attachment; filename=x.png", ResponseCacheControl="max-age=1",
                        ResponseContentLanguage="de", ResponseContentEncoding="identity",
                        ResponseExpires="Thu, 01 Dec 2030 16:00:00 GMT")
    assert got["ContentType"] == "image/png"
    assert got["ContentDisposition"] == "attachment; filename=x.png"
    assert got["CacheControl"] == "max-age=1" and got["ContentLanguage"] == "de"
    assert got["ContentEncoding"] == "identity"


def test_conditionals(raw, s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"cond")["ETag"]
    assert raw("GET", f"/{bucket}/c", headers={"If-Match": etag}).status_code == 200
    r = raw("GET", f"/{bucket}/c", headers={"If-Match": '"0000"'})
    assert r.status_code == 412 and error_of(r)["Code"] == "PreconditionFailed"
    r = raw("GET", f"/{bucket}/c", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["ETag"] == etag
    assert raw("GET", f"/{bucket}/c", headers={"If-None-Match": '"0000"'}).status_code == 200
    assert raw("HEAD", f"/{bucket}/c", headers={"If-Modified-Since": "Sun, 01 Jan 2090 00:00:00 GMT"}
               ).status_code == 304
    assert raw("GET", f"/{bucket}/c", headers={"If-Unmodified-Since": "Sun, 01 Jan 2000 00:00:00 GMT"}
               ).status_code == 412


def test_conditional_writes(raw, s3, bucket):
    assert raw("PUT", f"/{bucket}/w", headers={"If-None-Match": "*"}, body=b"1").status_code == 200
    r = raw("PUT", f"/{bucket}/w", headers={"If-None-Match": "*"}, body=b"2")
    assert r.status_code == 412
    assert s3.get_object(Bucket=bucket, Key="w")["Body"].read() == b"1"


def test_no_such_key_and_head_404(raw, bucket):
    r = raw("GET", f"/{bucket}/missing")
    assert r.status_code == 404
    err = error_of(r)
    assert err["Code"] == "NoSuchKey" and err["Key"] == "missing"
    r = raw("HEAD", f"/{bucket}/missing")
    assert r.status_code == 404 and r.content == b""


def test_content_md5(raw, s3, bucket):
    good = b64(hashlib.md5(b"abc").digest())
    assert raw("PUT", f"/{bucket}/m", headers={"Content-MD5": good}, body=b"abc").status_code == 200
    r = raw("PUT", f"/{bucket}/m", headers={"Content-MD5": "not base64!"}, body=b"xyz")
    assert r.status_code == 400 and error_of(r) | {} and error_of(r)["Code"] == "InvalidDigest"
    assert error_of(r)["Message"] == "The Content-MD5 you specified was invalid."
    r = raw("PUT", f"/{bucket}/m", headers={"Content-MD5": b64(b"short")}, body=b"xyz")
    assert error_of(r)["Code"] == "InvalidDigest"
    r = raw("PUT", f"/{bucket}/m", headers={"Content-MD5": good}, body=b"xyz")
    assert r.status_code == 400
    assert error_of(r)["Code"] == "BadDigest"
    assert error_of(r)["Message"] == "The Content-MD5 you specified did not match what we received."
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"abc"     # rejected PUTs changed nothing


@pytest.mark.parametrize("algorithm", sorted(CHECKSUMS))
def test_checksum_headers(raw, s3, bucket, algorithm):
    header = f"x-amz-checksum-{algorithm}"
    value = CHECKSUMS[algorithm](BODY)
    r = raw("PUT", f"/{bucket}/c", headers={header: value}, body=BODY)
    assert r.status_code == 200, r.text
    assert r.headers[header] == value
    head = raw("HEAD", f"/{bucket}/c", headers={"x-amz-checksum-mode": "ENABLED"})
    assert head.headers[header] == value and head.headers["x-amz-checksum-type"] == "FULL_OBJECT"
    assert header not in raw("HEAD", f"/{bucket}/c").headers
    r = raw("PUT", f"/{bucket}/c", headers={header: CHECKSUMS[algorithm](b"other")}, body=b"changed")
    assert r.status_code == 400
    assert error_of(r)["Code"] == "BadDigest"
    assert error_of(r)["Message"] == f"The {algorithm.upper()} you specified did not match the calculated checksum."
    r = raw("PUT", f"/{bucket}/c", headers={header: "@@@"}, body=b"changed")
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidRequest"
    assert error_of(r)["Message"] == f"Value for x-amz-checksum-{algorithm} header is invalid."
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == BODY


def test_multiple_checksum_headers(raw, bucket):
    r = raw("PUT", f"/{bucket}/two", headers={"x-amz-checksum-crc32": CHECKSUMS["crc32"](b"a"),
                                              "x-amz-checksum-sha1": CHECKSUMS["sha1"](b"a")}, body=b"a")
    assert r.status_code == 400
    assert error_of(r)["Message"] == ("Expecting a single x-amz-checksum- header. Multiple checksum Types are not "
                                      "allowed.")


def test_default_checksum_is_crc64nvme(raw, bucket):
    raw("PUT", f"/{bucket}/d", body=b"data")
    head = raw("HEAD", f"/{bucket}/d", headers={"x-amz-checksum-mode": "ENABLED"})
    assert head.headers["x-amz-checksum-crc64nvme"] == CHECKSUMS["crc64nvme"](b"data")


def test_boto3_checksum_roundtrip(s3, bucket):
    for algorithm in ("CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"):
        put = s3.put_object(Bucket=bucket, Key="b", Body=BODY, ChecksumAlgorithm=algorithm)
        got = s3.get_object(Bucket=bucket, Key="b", ChecksumMode="ENABLED")
        assert got["Body"].read() == BODY
        assert got[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"] == CHECKSUMS[algorithm.lower()](BODY)


@pytest.mark.parametrize("key", ["../../etc/passwd", "a/../../b", "/leading", "ünïcødé/ключ/鍵", "sp ace+plus%",
                                 "x" * 1024, "q?uery#frag", "tab\tnew"])
def test_unusual_keys(s3, bucket, key):
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert key in keys


def test_key_too_long(raw, bucket):
    r = raw("PUT", f"/{bucket}/" + "k" * 1025, body=b"x")
    assert r.status_code == 400 and error_of(r)["Code"] == "KeyTooLongError"


def test_metadata_too_large(raw, bucket):
    r = raw("PUT", f"/{bucket}/meta", headers={"x-amz-meta-big": "v" * 2100}, body=b"x")
    assert r.status_code == 400 and error_of(r)["Code"] == "MetadataTooLarge"


def test_delete_object_and_objects(s3, bucket):
    for k in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    assert s3.delete_object(Bucket=bucket, Key="a")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=bucket, Key="never")["ResponseMetadata"]["HTTPStatusCode"] == 204
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}, {"Key": "c"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["b", "c", "zz"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.put_object(Bucket=bucket, Key="q", Body=b"x")
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "q"}], "Quiet": True})
    assert "Deleted" not in quiet


def test_delete_objects_needs_integrity_header(raw, bucket):
    body = b"<Delete><Object><Key>a</Key></Object></Delete>"
    r = raw("POST", f"/{bucket}", query="delete", body=body)
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidRequest"
    assert error_of(r)["Message"] == "Missing required header for this request: Content-Md5."
    r = raw("POST", f"/{bucket}", query="delete", body=body, headers={"Content-MD5": b64(hashlib.md5(b"").digest())})
    assert r.status_code == 400 and error_of(r)["Code"] == "BadDigest"
    r = raw("POST", f"/{bucket}", query="delete", body=b"<Delete><Object>",
            headers={"Content-MD5": b64(hashlib.md5(b"<Delete><Object>").digest())})
    assert r.status_code == 400 and error_of(r)["Code"] == "MalformedXML"


def test_get_part_number_on_single_part_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="p", Body=BODY)
    got = s3.get_object(Bucket=bucket, Key="p", PartNumber=1)
    assert got["Body"].read() == BODY
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="p", PartNumber=2)
    assert client_error(e.value)[:2] == (416, "InvalidPartNumber")


def test_range_and_part_number_conflict(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="p", Body=BODY)
    r = raw("GET", f"/{bucket}/p", query="partNumber=1", headers={"Range": "bytes=0-1"})
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidRequest"


def test_storage_class_and_invalid(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="ia", Body=b"x", StorageClass="STANDARD_IA")
    assert s3.head_object(Bucket=bucket, Key="ia")["StorageClass"] == "STANDARD_IA"
    r = raw("PUT", f"/{bucket}/bad", headers={"x-amz-storage-class": "SHINY"}, body=b"x")
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidStorageClass"


def test_overwrite_replaces_content(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"first")
    s3.put_object(Bucket=bucket, Key="o", Body=b"second")
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == b"second"


def test_sdk_algorithm_without_checksum(raw, bucket):
    r = raw("PUT", f"/{bucket}/sdk", headers={"x-amz-sdk-checksum-algorithm": "CRC32"}, body=b"x")
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidRequest"
    r = raw("PUT", f"/{bucket}/sdk", headers={"x-amz-sdk-checksum-algorithm": "CRC32",
                                              "x-amz-checksum-crc32": CHECKSUMS["crc32"](b"x")}, body=b"x")
    assert r.status_code == 200


def test_header_injection_in_overrides_is_neutralised(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    got = s3.get_object(Bucket=bucket, Key="o", ResponseContentType="text/plain\r\nX-Evil: 1")
    headers = got["ResponseMetadata"]["HTTPHeaders"]
    assert "x-evil" not in headers and headers["content-type"].startswith("text/plain")
    assert got["Body"].read() == b"x"


def test_put_without_content_length(server, bucket):
    import socket

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    c = server.credentials["main"]
    request = AWSRequest(method="PUT", url=f"{server.endpoint}/{bucket}/nolen")
    S3SigV4Auth(Credentials(c["access_key"], c["secret_key"]), "s3", "us-east-1").add_auth(request)
    headers = {k: v for k, v in request.prepare().headers.items() if k.lower() != "content-length"}
    host, port = server.endpoint.split("//")[1].split(":")
    lines = [f"PUT /{bucket}/nolen HTTP/1.1", f"Host: {host}:{port}"] + [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 411"), reply[:200]
    assert b"<Code>MissingContentLength</Code>" in reply
