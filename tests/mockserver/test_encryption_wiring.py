"""Bucket encryption configuration endpoints and the object paths' use of the EncryptionService: SSE-S3,
SSE-KMS (ETag not the MD5, key ARN echoed), SSE-C (key required on read), copies and multipart under SSE."""
from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from mockserver.server import RunningServer, running_server
from tests.mockserver.conftest import Raw, client_error, error_of

CONFIG = (b'<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>'
          b"<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
          b"<BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>")


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server(dialect="aws-2023", allow_sse_c_over_http=True) as srv:
        yield srv


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_bucket_encryption_roundtrip(s3, bucket):
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/some-key"},
        "BucketKeyEnabled": True}]})
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == "alias/some-key"
    assert rule["BucketKeyEnabled"] is True
    assert s3.delete_bucket_encryption(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_bucket_encryption(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_put_bucket_encryption_integrity_and_order(raw: Raw, bucket):
    r = raw("PUT", f"/{bucket}", query="encryption", body=CONFIG)
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidRequest"
    assert error_of(r)["Message"] == "Missing required header for this request: Content-Md5."
    r = raw("PUT", f"/{bucket}", query="encryption", body=CONFIG, headers={"Content-MD5": md5_b64(b"other")})
    assert r.status_code == 400 and error_of(r)["Code"] == "BadDigest"
    # NoSuchBucket comes before any look at the body (here: malformed and without Content-MD5).
    r = raw("PUT", "/no-such-bucket-enc", query="encryption", body=b"<not-xml")
    assert r.status_code == 404 and error_of(r)["Code"] == "NoSuchBucket"
    r = raw("PUT", f"/{bucket}", query="encryption", body=b"<ServerSideEncryptionConfiguration>",
            headers={"Content-MD5": md5_b64(b"<ServerSideEncryptionConfiguration>")})
    assert r.status_code == 400 and error_of(r)["Code"] == "MalformedXML"
    r = raw("PUT", f"/{bucket}", query="encryption", body=CONFIG, headers={"Content-MD5": md5_b64(CONFIG)})
    assert r.status_code == 200


def test_bucket_encryption_other_account(s3_alt, raw, bucket):
    for call in (lambda: s3_alt.get_bucket_encryption(Bucket=bucket),
                 lambda: s3_alt.delete_bucket_encryption(Bucket=bucket)):
        with pytest.raises(ClientError) as e:
            call()
        assert client_error(e.value)[:2] == (403, "AccessDenied")
    r = raw("PUT", f"/{bucket}", query="encryption", body=CONFIG, headers={"Content-MD5": md5_b64(CONFIG)},
            account="alt")
    assert r.status_code == 403


def test_sse_kms_object(s3, bucket, server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    body = os.urandom(3000)
    put = s3.put_object(Bucket=bucket, Key="kms", Body=body, ServerSideEncryption="aws:kms",
                        SSEKMSKeyId=key["KeyId"])
    assert put["SSEKMSKeyId"] == key["Arn"]
    assert put["ETag"] != f'"{hashlib.md5(body).hexdigest()}"' and len(put["ETag"]) == 34
    got = s3.get_object(Bucket=bucket, Key="kms", Range="bytes=100-199")
    assert got["Body"].read() == body[100:200] and got["SSEKMSKeyId"] == key["Arn"]
    copied = s3.copy_object(Bucket=bucket, Key="as-s3", CopySource={"Bucket": bucket, "Key": "kms"},
                            ServerSideEncryption="AES256")
    assert copied["ServerSideEncryption"] == "AES256"
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="as-s3")["Body"].read() == body


def test_sse_c_object(s3, raw, bucket):
    key = os.urandom(32)
    sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    body = os.urandom(5000)
    put = s3.put_object(Bucket=bucket, Key="c", Body=body, **sse_c)
    assert put["SSECustomerAlgorithm"] == "AES256" and "ServerSideEncryption" not in put
    assert s3.get_object(Bucket=bucket, Key="c", **sse_c)["Body"].read() == body
    r = raw("GET", f"/{bucket}/c")
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidRequest"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=os.urandom(32))
    assert client_error(e.value)[:2] == (403, "AccessDenied")
    s3.copy_object(Bucket=bucket, Key="c2", CopySource={"Bucket": bucket, "Key": "c"},
                   CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=key)
    assert s3.get_object(Bucket=bucket, Key="c2")["Body"].read() == body


def test_sse_c_multipart(s3, bucket):
    key = os.urandom(32)
    sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", **sse_c)["UploadId"]
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(100)]
    done = []
    for n, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=n, Body=data, **sse_c)
        done.append({"PartNumber": n, "ETag": r["ETag"]})
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=3, Body=b"x")
    assert client_error(e.value)[:2] == (400, "InvalidRequest")
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": done})
    assert s3.get_object(Bucket=bucket, Key="mp", **sse_c)["Body"].read() == b"".join(parts)


def test_bucket_default_kms_applies(s3, bucket, raw):
    r = raw("PUT", f"/{bucket}", query="encryption", body=CONFIG, headers={"Content-MD5": md5_b64(CONFIG)})
    assert r.status_code == 200
    put = s3.put_object(Bucket=bucket, Key="d", Body=b"default")
    assert put["ServerSideEncryption"] == "aws:kms" and put["BucketKeyEnabled"] is True
    assert s3.get_object(Bucket=bucket, Key="d")["Body"].read() == b"default"
