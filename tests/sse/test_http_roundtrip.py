"""Every SSE mode through boto3 against the running mock server (HTTPS, so SSE-C is allowed), plus the embedded
KMS through boto3's kms client, the KMS metrics endpoint and the data-directory search for plaintext and keys."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Iterator

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from mockserver.server import running_server

MIB = 1024 * 1024


def _clients(srv) -> tuple:
    creds = srv.credentials["main"]
    kw = {"endpoint_url": srv.endpoint, "region_name": srv.region, "aws_access_key_id": creds["access_key"],
              "aws_secret_access_key": creds["secret_key"], "verify": srv.ca_file}
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
    return boto3.client("s3", config=cfg, **kw), boto3.client("kms", config=cfg, **kw)


@pytest.fixture(scope="module")
def server() -> Iterator:
    with running_server(dialect="aws-2023", tls=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def s3(server):
    return _clients(server)[0]


@pytest.fixture(scope="module")
def kms(server):
    return _clients(server)[1]


@pytest.fixture
def bucket(s3) -> str:
    name = f"sse-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def cmk(kms) -> dict:
    key = kms.create_key(Description="roundtrip")["KeyMetadata"]
    kms.create_alias(AliasName=f"alias/rt-{uuid.uuid4().hex[:8]}", TargetKeyId=key["KeyId"])
    return key


def ssec(key: bytes) -> dict:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def copy_ssec(key: bytes) -> dict:
    return {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": key}


def modes(cmk_arn: str, customer_key: bytes) -> dict[str, dict]:
    return {
        "sse-s3": {"ServerSideEncryption": "AES256"},
        "kms": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": cmk_arn},
        "kms-managed": {"ServerSideEncryption": "aws:kms"},
        "kms-bucket-key": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": cmk_arn, "BucketKeyEnabled": True},
        "dsse": {"ServerSideEncryption": "aws:kms:dsse", "SSEKMSKeyId": cmk_arn},
        "sse-c": ssec(customer_key),
    }


def read_args(mode: str, customer_key: bytes) -> dict:
    return ssec(customer_key) if mode == "sse-c" else {}


MODES = ["sse-s3", "kms", "kms-managed", "kms-bucket-key", "dsse", "sse-c"]


def check_sse(resp: dict, mode: str, cmk_arn: str) -> None:
    if mode == "sse-c":
        assert resp["SSECustomerAlgorithm"] == "AES256" and "ServerSideEncryption" not in resp
        return
    expected = {"sse-s3": "AES256", "dsse": "aws:kms:dsse"}.get(mode, "aws:kms")
    assert resp["ServerSideEncryption"] == expected
    if mode in ("kms", "kms-bucket-key", "dsse"):
        assert resp["SSEKMSKeyId"] == cmk_arn
    if mode == "kms-managed":
        assert resp["SSEKMSKeyId"].startswith("arn:aws:kms:us-east-1:111122223333:key/")
    assert resp.get("BucketKeyEnabled", False) is (mode == "kms-bucket-key")


# ---- KMS API through boto3 ----------------------------------------------------------------------------
def test_kms_client_lifecycle(kms) -> None:
    key = kms.create_key(Description="life")["KeyMetadata"]
    alias = f"alias/life-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"] == key["Arn"]
    assert key["KeyId"] in [k["KeyId"] for k in kms.list_keys()["Keys"]]
    assert alias in [a["AliasName"] for a in kms.list_aliases(KeyId=key["KeyId"])["Aliases"]]
    dk = kms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256", EncryptionContext={"a": "b"})
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"a": "b"})["Plaintext"] == dk["Plaintext"]
    enc = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret")
    assert kms.decrypt(CiphertextBlob=enc["CiphertextBlob"])["Plaintext"] == b"secret"
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"a": "c"})
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(kms.exceptions.DisabledException):
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    kms.enable_key(KeyId=key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(kms.exceptions.NotFoundException) as err:
        kms.describe_key(KeyId="fake-key-id")
    assert err.value.response["Error"]["Message"] == "Invalid keyId 'fake-key-id'"


# ---- object round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_put_get_head_ranged(s3, bucket: str, cmk: dict, mode: str) -> None:
    customer_key = os.urandom(32)
    data = os.urandom(600_000)
    put = s3.put_object(Bucket=bucket, Key="obj", Body=data, **modes(cmk["Arn"], customer_key)[mode])
    check_sse(put, mode, cmk["Arn"])
    got = s3.get_object(Bucket=bucket, Key="obj", **read_args(mode, customer_key))
    assert got["Body"].read() == data
    check_sse(got, mode, cmk["Arn"])
    check_sse(s3.head_object(Bucket=bucket, Key="obj", **read_args(mode, customer_key)), mode, cmk["Arn"])
    for start, end in ((0, 0), (262_143, 262_145), (100, 599_999), (599_990, 599_999)):
        part = s3.get_object(Bucket=bucket, Key="obj", Range=f"bytes={start}-{end}", **read_args(mode, customer_key))
        assert part["Body"].read() == data[start:end + 1]


@pytest.mark.parametrize("mode", MODES)
def test_multipart(s3, bucket: str, cmk: dict, mode: str) -> None:
    customer_key = os.urandom(32)
    args = modes(cmk["Arn"], customer_key)[mode]
    create = s3.create_multipart_upload(Bucket=bucket, Key="mp", **args)
    check_sse(create, mode, cmk["Arn"])
    part_args = read_args(mode, customer_key)
    chunks = [os.urandom(5 * MIB), os.urandom(123_457)]
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        up = s3.upload_part(Bucket=bucket, Key="mp", UploadId=create["UploadId"], PartNumber=number, Body=chunk,
                            **part_args)
        parts.append({"PartNumber": number, "ETag": up["ETag"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=create["UploadId"],
                                        MultipartUpload={"Parts": parts})
    if mode != "sse-c":
        check_sse(done, mode, cmk["Arn"])
    data = b"".join(chunks)
    assert s3.get_object(Bucket=bucket, Key="mp", **part_args)["Body"].read() == data
    start, end = 5 * MIB - 10, 5 * MIB + 10          # across the part boundary
    ranged = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={start}-{end}", **part_args)
    assert ranged["Body"].read() == data[start:end + 1]


def test_multipart_ssec_part_rules(s3, bucket: str) -> None:
    key = os.urandom(32)
    create = s3.create_multipart_upload(Bucket=bucket, Key="mp", **ssec(key))
    with pytest.raises(ClientError) as err:
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=create["UploadId"], PartNumber=1, Body=b"x")
    assert err.value.response["Error"]["Code"] == "InvalidRequest"
    with pytest.raises(ClientError) as err:
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=create["UploadId"], PartNumber=1, Body=b"x",
                       **ssec(os.urandom(32)))
    assert err.value.response["Error"]["Message"] == ("The provided encryption parameters did not match the ones "
                                                      "used originally.")


@pytest.mark.parametrize("src_mode,dst_mode", [("sse-s3", "kms"), ("kms", "sse-c"), ("sse-c", "sse-s3"),
                                               ("sse-c", "sse-c"), ("dsse", "kms-bucket-key"), ("kms-bucket-key", "dsse")])
def test_copy_between_modes(s3, bucket: str, cmk: dict, src_mode: str, dst_mode: str) -> None:
    src_key, dst_key = os.urandom(32), os.urandom(32)
    data = os.urandom(300_000)
    s3.put_object(Bucket=bucket, Key="src", Body=data, **modes(cmk["Arn"], src_key)[src_mode])
    source_args = copy_ssec(src_key) if src_mode == "sse-c" else {}
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                            **source_args, **modes(cmk["Arn"], dst_key)[dst_mode])
    check_sse(copied, dst_mode, cmk["Arn"])
    assert s3.get_object(Bucket=bucket, Key="dst", **read_args(dst_mode, dst_key))["Body"].read() == data
    if dst_mode == "sse-c" and src_mode == "sse-c":
        with pytest.raises(ClientError) as err:
            s3.get_object(Bucket=bucket, Key="dst", **ssec(src_key))
        assert err.value.response["Error"]["Code"] == "AccessDenied"


def test_upload_part_copy_from_ssec_source(s3, bucket: str, cmk: dict) -> None:
    src_key = os.urandom(32)
    data = os.urandom(5 * MIB + 1000)
    s3.put_object(Bucket=bucket, Key="src", Body=data, **ssec(src_key))
    create = s3.create_multipart_upload(Bucket=bucket, Key="mp", ServerSideEncryption="aws:kms", SSEKMSKeyId=cmk["Arn"])
    part = s3.upload_part_copy(Bucket=bucket, Key="mp", UploadId=create["UploadId"], PartNumber=1,
                               CopySource={"Bucket": bucket, "Key": "src"}, **copy_ssec(src_key))
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=create["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == data and got["SSEKMSKeyId"] == cmk["Arn"]


def test_kms_context_names_the_object_or_bucket(server, s3, bucket: str, cmk: dict) -> None:
    # Not echoed when the request sent no context (AWS recordings: LocalStack test_s3_sse_default_kms_key,
    # test_s3_sse_bucket_key_default); echoed as sent, without the aws:s3:arn S3 adds, when it sent one
    # (minio/minio#11415). KMS sees the request's pairs plus aws:s3:arn, the object ARN, or the bucket ARN with a
    # bucket key (S3 User Guide, UsingKMSEncryption, with its CloudTrail records): the metrics hook shows it.
    put = s3.put_object(Bucket=bucket, Key="ctx/none", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=cmk["Arn"])
    assert "SSEKMSEncryptionContext" not in put
    sent = base64.b64encode(json.dumps({"team": "a"}).encode()).decode()
    put = s3.put_object(Bucket=bucket, Key="ctx/obj", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=cmk["Arn"],
                        SSEKMSEncryptionContext=sent)
    assert json.loads(base64.b64decode(put["SSEKMSEncryptionContext"])) == {"team": "a"}
    put = s3.put_object(Bucket=bucket, Key="ctx/bk", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=cmk["Arn"],
                        BucketKeyEnabled=True, SSEKMSEncryptionContext=sent)
    assert json.loads(base64.b64decode(put["SSEKMSEncryptionContext"])) == {"team": "a"}
    seen = [call["context"] for call in requests.get(f"{server.endpoint}/_mockserver/metrics", verify=server.ca_file,
                                                     timeout=10).json()["kms_contexts"][cmk["Arn"]]["GenerateDataKey"]]
    assert {"aws:s3:arn": f"arn:aws:s3:::{bucket}/ctx/none"} in seen
    assert {"team": "a", "aws:s3:arn": f"arn:aws:s3:::{bucket}/ctx/obj"} in seen
    assert {"aws:s3:arn": f"arn:aws:s3:::{bucket}"} in seen                  # the bucket key's data key
    put = s3.put_object(Bucket=bucket, Key="ctx/bk-none", Body=b"x", ServerSideEncryption="aws:kms",
                        SSEKMSKeyId=cmk["Arn"], BucketKeyEnabled=True)
    assert "SSEKMSEncryptionContext" not in put
    mpu = s3.create_multipart_upload(Bucket=bucket, Key="ctx/mpu", ServerSideEncryption="aws:kms")
    assert "SSEKMSEncryptionContext" not in mpu
    s3.abort_multipart_upload(Bucket=bucket, Key="ctx/mpu", UploadId=mpu["UploadId"])
    copy = s3.copy_object(Bucket=bucket, Key="ctx/copy", CopySource={"Bucket": bucket, "Key": "ctx/none"},
                          ServerSideEncryption="aws:kms")
    assert "SSEKMSEncryptionContext" not in copy


def test_disabled_key_blocks_get(s3, kms, bucket: str) -> None:
    key = kms.create_key()["KeyMetadata"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"data", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    kms.disable_key(KeyId=key["KeyId"])
    try:
        with pytest.raises(ClientError) as err:
            s3.get_object(Bucket=bucket, Key="k")
        assert err.value.response["Error"]["Code"] == "KMS.DisabledException"
        assert err.value.response["Error"]["Message"] == f"{key['Arn']} is disabled."
    finally:
        kms.enable_key(KeyId=key["KeyId"])


def test_bucket_key_metrics(server, s3, kms, bucket: str) -> None:
    with_bk = kms.create_key()["KeyMetadata"]
    without = kms.create_key()["KeyMetadata"]
    for i in range(60):
        s3.put_object(Bucket=bucket, Key=f"bk/{i}", Body=b"x", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=with_bk["Arn"], BucketKeyEnabled=True)
        s3.put_object(Bucket=bucket, Key=f"plain/{i}", Body=b"x", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=without["Arn"])
    metrics = requests.get(f"{server.endpoint}/_mockserver/metrics", verify=server.ca_file, timeout=10).json()
    assert metrics["kms"][with_bk["Arn"]]["GenerateDataKey"] <= 2
    assert metrics["kms"][without["Arn"]]["GenerateDataKey"] == 60


def test_sse_c_over_plain_http_rejected() -> None:
    with running_server(dialect="aws-2023", tls=True, plain_http_too=True) as srv:
        creds = srv.credentials["main"]
        plain = boto3.client("s3", endpoint_url=srv.plain_endpoint, region_name=srv.region,
                             aws_access_key_id=creds["access_key"], aws_secret_access_key=creds["secret_key"],
                             config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
        plain.create_bucket(Bucket="plain-http-bucket")
        with pytest.raises(ClientError) as err:
            plain.put_object(Bucket="plain-http-bucket", Key="k", Body=b"x", **ssec(os.urandom(32)))
        assert err.value.response["Error"]["Code"] == "InvalidRequest"
        assert err.value.response["Error"]["Message"] == ("Requests specifying Server Side Encryption with Customer "
                                                          "provided keys must be made over a secure connection.")


def test_aws_dialect_blocks_sse_c_until_unblocked() -> None:
    with running_server(dialect="aws", tls=True) as srv:
        s3, _ = _clients(srv)
        s3.create_bucket(Bucket="blocked-bucket")
        enc = s3.get_bucket_encryption(Bucket="blocked-bucket")["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert enc["BlockedEncryptionTypes"]["EncryptionType"] == ["SSE-C"]
        key = os.urandom(32)
        with pytest.raises(ClientError) as err:
            s3.put_object(Bucket="blocked-bucket", Key="k", Body=b"x", **ssec(key))
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        s3.put_bucket_encryption(Bucket="blocked-bucket", ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]})
        s3.put_object(Bucket="blocked-bucket", Key="k", Body=b"x", **ssec(key))
        assert s3.get_object(Bucket="blocked-bucket", Key="k", **ssec(key))["Body"].read() == b"x"


# ---- at rest ------------------------------------------------------------------------------------------
def test_data_dir_holds_no_plaintext_and_no_keys(tmp_path) -> None:
    marker = hashlib.sha256(b"plaintext marker").digest() * 4          # 128 recognisable bytes
    data = marker * 4096                                                 # 512 KiB
    customer_keys = [os.urandom(32) for _ in range(3)]
    with running_server(dialect="aws-2023", tls=True, data_dir=str(tmp_path)) as srv:
        s3, kms = _clients(srv)
        s3.create_bucket(Bucket="at-rest-bucket")
        key = kms.create_key()["KeyMetadata"]
        for i, ck in enumerate(customer_keys):
            s3.put_object(Bucket="at-rest-bucket", Key=f"ssec-{i}", Body=data, **ssec(ck))
        s3.put_object(Bucket="at-rest-bucket", Key="sse-s3", Body=data)
        s3.put_object(Bucket="at-rest-bucket", Key="kms", Body=data, ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=key["Arn"])
        s3.put_object(Bucket="at-rest-bucket", Key="dsse", Body=data, ServerSideEncryption="aws:kms:dsse")
        create = s3.create_multipart_upload(Bucket="at-rest-bucket", Key="mp", **ssec(customer_keys[0]))
        up = s3.upload_part(Bucket="at-rest-bucket", Key="mp", UploadId=create["UploadId"], PartNumber=1, Body=data,
                            **ssec(customer_keys[0]))
        s3.complete_multipart_upload(Bucket="at-rest-bucket", Key="mp", UploadId=create["UploadId"],
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": up["ETag"]}]})
        assert s3.get_object(Bucket="at-rest-bucket", Key="ssec-1", **ssec(customer_keys[1]))["Body"].read() == data
    needles = [marker[:32], marker[40:72]]
    for ck in customer_keys:
        needles += [ck, base64.b64encode(ck), base64.b64encode(ck)[:24]]
    files = [os.path.join(d, f) for d, _, names in os.walk(tmp_path) for f in names]
    assert len(files) >= 5
    for path in files:
        with open(path, "rb") as f:
            content = f.read()
        for needle in needles:
            assert needle not in content, f"{path} holds plaintext or a customer key"


def test_data_dir_restart_keeps_every_mode_readable(tmp_path) -> None:
    data = os.urandom(300_000)
    customer_key = os.urandom(32)
    with running_server(dialect="aws-2023", tls=True, data_dir=str(tmp_path)) as srv:
        s3, kms = _clients(srv)
        s3.create_bucket(Bucket="restart-bucket")
        key = kms.create_key()["KeyMetadata"]
        all_modes = modes(key["Arn"], customer_key)
        for mode in MODES:
            s3.put_object(Bucket="restart-bucket", Key=mode, Body=data, **all_modes[mode])
    with running_server(dialect="aws-2023", tls=True, data_dir=str(tmp_path)) as srv:
        s3, kms = _clients(srv)
        assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["Arn"] == key["Arn"]
        for mode in MODES:
            got = s3.get_object(Bucket="restart-bucket", Key=mode, **read_args(mode, customer_key))
            assert got["Body"].read() == data, mode
            check_sse(got, mode, key["Arn"])
