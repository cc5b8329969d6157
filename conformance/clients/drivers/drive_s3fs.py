"""Driver: s3fs (fsspec on aiobotocore) in its default configuration, SSE through s3_additional_kwargs (its
documented way); aiobotocore's event hooks record the wire."""
from __future__ import annotations

import base64
import os
from typing import Any

import driverkit as kit
import s3fs


def filesystem(job: dict[str, Any], **additional: Any) -> Any:
    # the region as a user sets it: s3fs would send a region given in client_kwargs as the LocationConstraint
    os.environ["AWS_DEFAULT_REGION"] = job["region"]
    fs = s3fs.S3FileSystem(key=job["access_key"], secret=job["secret_key"], endpoint_url=job["endpoint"],
                           client_kwargs={"verify": job.get("ca_file") or True},
                           s3_additional_kwargs=additional or None, skip_instance_cache=True)
    fs.connect()
    pending: dict[str, Any] = {}

    def before_send(request: Any, **_: Any) -> None:
        pending["entry"] = kit.record_request(request.method, request.url, request.headers, request.body)

    def after_call(http_response: Any, **_: Any) -> None:
        kit.record_response(http_response.status_code, http_response.headers, b"", pending.get("entry"))

    fs.s3.meta.events.register("before-send.s3", before_send)
    fs.s3.meta.events.register("after-call.s3", after_call)
    return fs


def path(job: dict[str, Any], key: str | None = None) -> str:
    return f"{job['bucket']}/{key if key is not None else job['key']}"


def put_get(job: dict[str, Any], **additional: Any) -> dict[str, Any]:
    fs = filesystem(job, **additional)
    fs.put_file(job["payload"], path(job))
    data = fs.cat_file(path(job))
    return {"sha256": kit.sha256(data), "size": len(data)}


def multipart(job: dict[str, Any]) -> dict[str, Any]:
    fs = filesystem(job)
    fs.put_file(job["payload"], path(job))
    out = os.path.join(job["workdir"], "download.bin")
    fs.get_file(path(job), out)
    return {"sha256": kit.file_sha256(out), "size": os.path.getsize(out)}


def ranged(job: dict[str, Any]) -> dict[str, Any]:
    start, end = job["range"]
    data = filesystem(job).cat_file(path(job), start=start, end=end + 1)
    return {"sha256": kit.sha256(data), "size": len(data)}


def copy(job: dict[str, Any]) -> dict[str, Any]:
    fs = filesystem(job)
    fs.copy(path(job, job["source"]), path(job))
    data = fs.cat_file(path(job))
    return {"sha256": kit.sha256(data)}


def listing(job: dict[str, Any]) -> dict[str, Any]:
    found = filesystem(job).find(path(job, job["prefix"]))
    prefix = job["bucket"] + "/"
    return {"keys": [p[len(prefix):] for p in found]}


def delete(job: dict[str, Any]) -> dict[str, Any]:
    filesystem(job).rm_file(path(job))
    return {}


def create(job: dict[str, Any]) -> dict[str, Any]:
    filesystem(job).mkdir(job["bucket"])
    return {}


def presigned(method: str) -> Any:
    def run(job: dict[str, Any]) -> dict[str, Any]:
        link = filesystem(job).url(path(job), expires=600,
                                   client_method="get_object" if method == "GET" else "put_object")
        if method == "GET":
            return kit.presigned_download(link, job)
        return kit.presigned_upload(link, job)
    return run


def empty(job: dict[str, Any]) -> dict[str, Any]:
    fs = filesystem(job)
    fs.pipe_file(path(job), b"")
    data = fs.cat_file(path(job))
    return {"sha256": kit.sha256(data), "size": len(data)}


SCENARIOS = {
    "create-bucket": create,
    "put-get": put_get,
    "multipart": multipart,
    "ranged-get": ranged,
    "copy": copy,
    "list": listing,
    "delete": delete,
    "sse-s3": lambda job: put_get(job, ServerSideEncryption="AES256"),
    "sse-kms": lambda job: put_get(job, ServerSideEncryption="aws:kms", SSEKMSKeyId=job["kms_key_id"]),
    "sse-kms-bucket-key": lambda job: put_get(job, ServerSideEncryption="aws:kms", SSEKMSKeyId=job["kms_key_id"],
                                              BucketKeyEnabled=True),
    "sse-c": lambda job: put_get(job, SSECustomerAlgorithm="AES256",
                                 SSECustomerKey=base64.b64decode(job["sse_c_key"])),
    "presigned-get": presigned("GET"),
    "presigned-put": presigned("PUT"),
    "checksums": put_get,
    "empty-object": empty,
    "unicode-key": lambda job: {**put_get(job), **listing(job)},
}

if __name__ == "__main__":
    kit.main(SCENARIOS)
