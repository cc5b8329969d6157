"""boto3 with its default configuration, over HTTPS (aws-chunked + CRC32 trailer) and plain HTTP."""
from __future__ import annotations

import hashlib
import uuid

from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from tests.clients.conftest import MIB

CONFIG = Config(connect_timeout=20, read_timeout=60, retries={"max_attempts": 1})


def test_boto3_round_trip(s3_mock_server, payloads, scheme, tmp_path):
    s3 = s3_mock_server.client(plain=scheme == "http", config=CONFIG)
    bucket = f"boto3-{scheme}-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    wire: list[dict] = []
    s3.meta.events.register("before-send.s3.PutObject", lambda request, **_: wire.append(dict(request.headers)))

    small = payloads["small"].read_bytes()
    s3.put_object(Bucket=bucket, Key="dir/small ü.bin", Body=small)
    if scheme == "https":
        assert wire[0]["Content-Encoding"] == b"aws-chunked" or wire[0]["Content-Encoding"] == "aws-chunked"
        assert "x-amz-checksum-crc32" in str(wire[0].get("X-Amz-Trailer"))
    assert s3.get_object(Bucket=bucket, Key="dir/small ü.bin")["Body"].read() == small

    large = payloads["large"]
    s3.upload_file(str(large), bucket, "large.bin", Config=TransferConfig(multipart_threshold=5 * MIB,
                                                                           multipart_chunksize=5 * MIB))
    head = s3.head_object(Bucket=bucket, Key="large.bin")
    assert head["ContentLength"] == large.stat().st_size
    assert head["ETag"].strip('"').endswith("-3")
    target = tmp_path / "large.out"
    s3.download_file(bucket, "large.bin", str(target))
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(large.read_bytes()).digest()

    s3.copy_object(Bucket=bucket, Key="copy.bin", CopySource={"Bucket": bucket, "Key": "dir/small ü.bin"})
    assert s3.get_object(Bucket=bucket, Key="copy.bin")["Body"].read() == small
    ranged = s3.get_object(Bucket=bucket, Key="large.bin", Range="bytes=100-199")["Body"].read()
    assert ranged == large.read_bytes()[100:200]

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["copy.bin", "dir/small ü.bin", "large.bin"]
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.delete_bucket(Bucket=bucket)
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_boto3_alt_account_is_denied_on_main_bucket(s3_mock_server):
    main = s3_mock_server.client(config=CONFIG)
    alt = s3_mock_server.client(account="alt", config=CONFIG)
    bucket = f"owned-{uuid.uuid4().hex[:8]}"
    main.create_bucket(Bucket=bucket)
    try:
        alt.get_bucket_encryption(Bucket=bucket)
        raise AssertionError("alt account read the main account's bucket configuration")
    except alt.exceptions.ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied"
