"""Writes tests/mockserver/data/legacy-datadir.tar.gz: a --data-dir written by an earlier version of the mock server
(the one importable when this runs), for test_legacy_datadir.py (a data dir written before must still load).

    PYTHONPATH=<checkout of the earlier version> .venv/bin/python tests/mockserver/data/make_legacy_datadir.py

The archive in the repository was made at commit a6b9b4f (before the compact in-memory records). Bodies are
derived from the key names (body_of in test_legacy_datadir.py); what the test expects is written beside them in
expected.json inside the archive.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import tarfile
import tempfile

from mockserver.server import running_server

HERE = os.path.dirname(os.path.abspath(__file__))
BUCKET = "legacy"
VERSIONED = "legacy-versions"
SSEC_KEY = bytes(range(32))


def body_of(key: str, size: int) -> bytes:
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def ssec(key: bytes = SSEC_KEY) -> dict[str, str]:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(key).decode(),
            "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode()}


def main() -> int:
    import mockserver

    print("writing with", mockserver.__file__, file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        expected: dict = {"objects": {}, "versions": [], "upload": {}}
        with running_server(data_dir=data_dir, allow_sse_c_over_http=True) as srv:
            s3 = srv.client()
            kms = srv.client("kms")
            s3.create_bucket(Bucket=BUCKET)
            s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [{   # allows SSE-C
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]})
            key_arn = kms.create_key()["KeyMetadata"]["Arn"]
            objects = [
                ("small-sse-s3", 1024, {"ServerSideEncryption": "AES256", "Metadata": {"colour": "blue"},
                                        "CacheControl": "max-age=60", "ContentType": "text/plain"}),
                ("blob-sse-s3", 20000, {"ServerSideEncryption": "AES256", "ChecksumAlgorithm": "SHA256"}),
                ("no-sse", 100, {}),
                ("kms-context", 3000, {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn,
                                       "SSEKMSEncryptionContext": base64.b64encode(
                                           json.dumps({"team": "a"}).encode()).decode()}),
                ("kms-bucket-key", 500, {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn,
                                         "BucketKeyEnabled": True}),
                ("dsse", 700, {"ServerSideEncryption": "aws:kms:dsse", "SSEKMSKeyId": key_arn}),
                ("sse-c", 900, ssec()),
                ("dir/ünïcødé", 10, {"ServerSideEncryption": "AES256"}),
            ]
            for key, size, extra in objects:
                s3.put_object(Bucket=BUCKET, Key=key, Body=body_of(key, size), **extra)
                head = s3.head_object(Bucket=BUCKET, Key=key, **({k: v for k, v in extra.items() if k.startswith(
                    "SSECustomer")}), ChecksumMode="ENABLED")
                expected["objects"][key] = {
                    "size": size, "etag": head["ETag"], "sse": head.get("ServerSideEncryption"),
                    "kms_key": head.get("SSEKMSKeyId"), "bucket_key": head.get("BucketKeyEnabled", False),
                    "metadata": head.get("Metadata", {}), "content_type": head.get("ContentType"),
                    "cache_control": head.get("CacheControl"), "ssec": key == "sse-c",
                    "checksum_sha256": head.get("ChecksumSHA256"), "checksum_crc64": head.get("ChecksumCRC64NVME"),
                    "last_modified": head["LastModified"].isoformat()}
            # A completed multipart upload (one part, SSE-KMS) and one still open with a part.
            uid = s3.create_multipart_upload(Bucket=BUCKET, Key="mp-done", ServerSideEncryption="aws:kms",
                                             SSEKMSKeyId=key_arn)["UploadId"]
            part = s3.upload_part(Bucket=BUCKET, Key="mp-done", UploadId=uid, PartNumber=1,
                                  Body=body_of("mp-done", 4000))
            done = s3.complete_multipart_upload(Bucket=BUCKET, Key="mp-done", UploadId=uid, MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
            expected["objects"]["mp-done"] = {"size": 4000, "etag": done["ETag"], "sse": "aws:kms",
                                              "kms_key": key_arn, "bucket_key": False, "metadata": {},
                                              "ssec": False, "parts": 1}
            uid = s3.create_multipart_upload(Bucket=BUCKET, Key="mp-open", ChecksumAlgorithm="CRC32")["UploadId"]
            part = s3.upload_part(Bucket=BUCKET, Key="mp-open", UploadId=uid, PartNumber=1,
                                  Body=body_of("mp-open", 3000), ChecksumAlgorithm="CRC32")
            expected["upload"] = {"key": "mp-open", "upload_id": uid, "etag": part["ETag"],
                                  "checksum_crc32": part["ChecksumCRC32"]}
            # A versioned bucket: two versions and a delete marker.
            s3.create_bucket(Bucket=VERSIONED)
            s3.put_bucket_versioning(Bucket=VERSIONED, VersioningConfiguration={"Status": "Enabled"})
            for i in range(2):
                v = s3.put_object(Bucket=VERSIONED, Key="v", Body=body_of(f"v{i}", 50 + i))["VersionId"]
                expected["versions"].append({"version_id": v, "body_key": f"v{i}", "size": 50 + i})
            expected["delete_marker"] = s3.delete_object(Bucket=VERSIONED, Key="v")["VersionId"]
            expected["kms_key_arn"] = key_arn
        with open(os.path.join(tmp, "expected.json"), "w") as f:
            json.dump(expected, f, indent=1, sort_keys=True)
        with tarfile.open(os.path.join(HERE, "legacy-datadir.tar.gz"), "w:gz") as tar:
            tar.add(data_dir, arcname="data")
            tar.add(os.path.join(tmp, "expected.json"), arcname="expected.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
