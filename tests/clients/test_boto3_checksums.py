"""boto3 (current, default configuration) round-trips an object with each checksum algorithm it can compute, over
HTTPS (aws-chunked with the checksum as a trailer) and plain HTTP (the checksum as a header), single-part and
multipart, and reads the checksum back with checksum mode (botocore validates the body against it)."""
from __future__ import annotations

import base64
import uuid

import pytest
from botocore import httpchecksum
from botocore.config import Config

from conformance.request import integrity

CONFIG = Config(connect_timeout=20, read_timeout=60, retries={"max_attempts": 1})
# botocore computes every algorithm of the model but MD5 (httpchecksum._CHECKSUM_CLS; the xxHash family and the
# CRC32C/CRC64NVME through awscrt).
BOTO3_ALGORITHMS = [a for a in integrity.ALGORITHMS if a in httpchecksum._CHECKSUM_CLS]
NEW = ["sha512", "xxhash64", "xxhash3", "xxhash128"]


def test_boto3_computes_the_2026_algorithms_but_md5():
    assert set(NEW) <= set(BOTO3_ALGORITHMS)
    assert "md5" not in BOTO3_ALGORITHMS


@pytest.fixture
def s3(s3_mock_server, scheme):
    client = s3_mock_server.client(plain=scheme == "http", config=CONFIG)
    bucket = f"sums-{scheme}-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


@pytest.mark.parametrize("algorithm", BOTO3_ALGORITHMS)
def test_boto3_put_get_with_each_algorithm(s3, scheme, algorithm):
    client, bucket = s3
    name = algorithm.upper()
    member = f"Checksum{name}"
    wire: list[dict] = []
    client.meta.events.register("before-send.s3.PutObject", lambda request, **_: wire.append(dict(request.headers)))
    body = b"checksummed " * 5000
    expected = integrity.checksum_value(algorithm, body)
    put = client.put_object(Bucket=bucket, Key="obj", Body=body, ChecksumAlgorithm=name)
    assert put[member] == expected
    sent = {str(k).lower(): v.decode() if isinstance(v, bytes) else v for k, v in wire[0].items()}
    if scheme == "https":
        assert sent["x-amz-trailer"] == f"x-amz-checksum-{algorithm}"
    else:
        assert sent[f"x-amz-checksum-{algorithm}"] == expected
    got = client.get_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got[member] == expected and got["ChecksumType"] == "FULL_OBJECT"
    assert client.head_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")[member] == expected
    attrs = client.get_object_attributes(Bucket=bucket, Key="obj", ObjectAttributes=["Checksum"])
    assert attrs["Checksum"][member] == expected


@pytest.mark.parametrize("algorithm", NEW)
def test_boto3_multipart_with_each_2026_algorithm(s3, algorithm):
    client, bucket = s3
    name = algorithm.upper()
    member = f"Checksum{name}"
    parts_data = [b"p" * (5 * 1024 * 1024), b"last part"]
    upload = client.create_multipart_upload(Bucket=bucket, Key="mpu", ChecksumAlgorithm=name)
    assert upload["ChecksumAlgorithm"] == name and upload["ChecksumType"] == "COMPOSITE"
    parts = []
    for number, data in enumerate(parts_data, 1):
        part = client.upload_part(Bucket=bucket, Key="mpu", UploadId=upload["UploadId"], PartNumber=number, Body=data,
                                  ChecksumAlgorithm=name)
        assert part[member] == integrity.checksum_value(algorithm, data)
        parts.append({"PartNumber": number, "ETag": part["ETag"], member: part[member]})
    done = client.complete_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload["UploadId"],
                                            MultipartUpload={"Parts": parts})
    raw = b"".join(integrity.checksum_digest(algorithm, d) for d in parts_data)
    composite = base64.b64encode(integrity.checksum_digest(algorithm, raw)).decode() + "-2"
    assert done[member] == composite and done["ChecksumType"] == "COMPOSITE"
    got = client.get_object(Bucket=bucket, Key="mpu", ChecksumMode="ENABLED")   # composite: botocore skips validation
    assert got["Body"].read() == b"".join(parts_data)
    assert got[member] == composite


def test_boto3_md5_checksum_given_by_the_caller(s3):
    """botocore cannot compute MD5 (FlexibleChecksumError) but sends a value the caller gives."""
    client, bucket = s3
    body = b"md5 checksummed"
    value = integrity.checksum_value("md5", body)
    put = client.put_object(Bucket=bucket, Key="md5", Body=body, ChecksumMD5=value)
    assert put["ChecksumMD5"] == value
    head = client.head_object(Bucket=bucket, Key="md5", ChecksumMode="ENABLED")
    assert head["ChecksumMD5"] == value
    with pytest.raises(client.exceptions.ClientError) as error:
        client.put_object(Bucket=bucket, Key="md5-bad", Body=body, ChecksumMD5=integrity.checksum_value("md5", b"x"))
    assert error.value.response["Error"]["Code"] == "BadDigest"
