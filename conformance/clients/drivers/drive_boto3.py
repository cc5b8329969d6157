"""Driver: boto3 (also aiobotocore-free botocore users), in its default configuration; botocore event hooks
record the wire."""
from __future__ import annotations

from typing import Any

import boto3
import driverkit as kit
from botocore.config import Config

SSE_FIELDS = ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "SSECustomerAlgorithm", "SSECustomerKeyMD5")
CHECKSUMS = ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1", "ChecksumSHA256", "ChecksumType")


def client(job: dict[str, Any]) -> Any:
    s3 = boto3.client("s3", endpoint_url=job["endpoint"], region_name=job["region"],
                      aws_access_key_id=job["access_key"], aws_secret_access_key=job["secret_key"],
                      verify=job.get("ca_file") or True, config=Config(signature_version="s3v4"))
    pending: dict[str, Any] = {}

    def before_send(request: Any, **_: Any) -> None:
        pending["entry"] = kit.record_request(request.method, request.url, request.headers, request.body)

    def after_call(http_response: Any, **_: Any) -> None:
        content = b"" if http_response.raw is not None and http_response.status_code < 300 else http_response.content
        kit.record_response(http_response.status_code, http_response.headers, content, pending.get("entry"))

    s3.meta.events.register("before-send.s3", before_send)
    s3.meta.events.register("after-call.s3", after_call)
    return s3


def pick(response: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: response[name] for name in names if name in response}


def get(s3: Any, job: dict[str, Any], key: str | None = None, **extra: Any) -> dict[str, Any]:
    response = s3.get_object(Bucket=job["bucket"], Key=key or job["key"], **extra)
    data = response["Body"].read()
    return {"sha256": kit.sha256(data), "size": len(data), "get_sse": pick(response, SSE_FIELDS),
            "content_range": response.get("ContentRange")}


def create_bucket(job: dict[str, Any]) -> dict[str, Any]:
    client(job).create_bucket(Bucket=job["bucket"])
    return {}


def put_get(job: dict[str, Any], **extra: Any) -> dict[str, Any]:
    s3 = client(job)
    with open(job["payload"], "rb") as body:
        put = s3.put_object(Bucket=job["bucket"], Key=job["key"], Body=body, **extra)
    return {"sse": pick(put, SSE_FIELDS), "checksums": pick(put, CHECKSUMS), **get(s3, job, **_read_extra(extra))}


def _read_extra(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if k.startswith("SSECustomer")}


def multipart(job: dict[str, Any]) -> dict[str, Any]:
    s3 = client(job)
    s3.upload_file(job["payload"], job["bucket"], job["key"])
    out = job["workdir"] + "/download.bin"
    s3.download_file(job["bucket"], job["key"], out)
    return {"sha256": kit.file_sha256(out)}


def ranged_get(job: dict[str, Any]) -> dict[str, Any]:
    start, end = job["range"]
    return get(client(job), job, Range=f"bytes={start}-{end}")


def copy(job: dict[str, Any]) -> dict[str, Any]:
    s3 = client(job)
    s3.copy_object(Bucket=job["bucket"], Key=job["key"], CopySource={"Bucket": job["bucket"], "Key": job["source"]})
    return get(s3, job)


def listing(job: dict[str, Any]) -> dict[str, Any]:
    response = client(job).list_objects_v2(Bucket=job["bucket"], Prefix=job["prefix"])
    return {"keys": [item["Key"] for item in response.get("Contents", [])]}


def delete(job: dict[str, Any]) -> dict[str, Any]:
    client(job).delete_object(Bucket=job["bucket"], Key=job["key"])
    return {}


def sse_c_key(job: dict[str, Any]) -> dict[str, Any]:
    import base64
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64decode(job["sse_c_key"])}


def presigned_get(job: dict[str, Any]) -> dict[str, Any]:
    url = client(job).generate_presigned_url("get_object", Params={"Bucket": job["bucket"], "Key": job["key"]},
                                             ExpiresIn=600)
    return kit.presigned_download(url, job)


def presigned_put(job: dict[str, Any]) -> dict[str, Any]:
    url = client(job).generate_presigned_url("put_object", Params={"Bucket": job["bucket"], "Key": job["key"]},
                                             ExpiresIn=600)
    return kit.presigned_upload(url, job)


def checksums(job: dict[str, Any]) -> dict[str, Any]:
    s3 = client(job)
    observed = put_get(job)
    head = s3.head_object(Bucket=job["bucket"], Key=job["key"], ChecksumMode="ENABLED")
    observed["head_checksums"] = pick(head, CHECKSUMS)
    return observed


SCENARIOS = {
    "create-bucket": create_bucket,
    "put-get": put_get,
    "multipart": multipart,
    "ranged-get": ranged_get,
    "copy": copy,
    "list": listing,
    "delete": delete,
    "sse-s3": lambda job: put_get(job, ServerSideEncryption="AES256"),
    "sse-kms": lambda job: put_get(job, ServerSideEncryption="aws:kms", SSEKMSKeyId=job["kms_key_id"]),
    "sse-kms-bucket-key": lambda job: put_get(job, ServerSideEncryption="aws:kms", SSEKMSKeyId=job["kms_key_id"],
                                              BucketKeyEnabled=True),
    "sse-c": lambda job: put_get(job, **sse_c_key(job)),
    "presigned-get": presigned_get,
    "presigned-put": presigned_put,
    "checksums": checksums,
    "empty-object": put_get,
    "unicode-key": lambda job: {**put_get(job), **listing(job)},
}

if __name__ == "__main__":
    kit.main(SCENARIOS)
