"""Driver: minio-py in its default configuration (the CA comes through SSL_CERT_FILE, which minio's default
urllib3 pool reads); its HTTP trace (trace_on) is the wire log."""
from __future__ import annotations

import base64
import io
import os
import re
from datetime import timedelta
from typing import Any

import driverkit as kit
from minio import Minio
from minio.commonconfig import CopySource
from minio.sse import SseCustomerKey, SseKMS, SseS3

TRACE = io.StringIO()


def client(job: dict[str, Any]) -> Minio:
    scheme, host = job["endpoint"].split("://", 1)
    if job.get("ca_file"):
        os.environ["SSL_CERT_FILE"] = job["ca_file"]
    mc = Minio(host.rstrip("/"), access_key=job["access_key"], secret_key=job["secret_key"],
               secure=scheme == "https", region=job["region"])
    mc.trace_on(TRACE)
    return mc


def trace_to_wire() -> None:
    """minio's trace: '---------START-HTTP---------' blocks with the request line, headers and the response."""
    for block in TRACE.getvalue().split("---------START-HTTP---------")[1:]:
        request_part, _, response_part = block.partition("HTTP/1.1 ")
        first = request_part.strip().splitlines()[0] if request_part.strip() else ""
        method, _, path = first.partition(" ")
        headers = dict(re.findall(r"^([\w-]+): (.*)$", request_part, re.MULTILINE))
        entry = kit.record_request(method, path.replace(" HTTP/1.1", ""), headers)
        status = int(response_part[:3]) if response_part[:3].isdigit() else 0
        kit.record_response(status, dict(re.findall(r"^([\w-]+): (.*)$", response_part, re.MULTILINE)),
                            response_part.split("\n\n", 1)[1][:2048] if "\n\n" in response_part else "", entry)


def read(mc: Minio, job: dict[str, Any], key: str | None = None, **extra: Any) -> dict[str, Any]:
    response = mc.get_object(job["bucket"], key or job["key"], **extra)
    try:
        data = response.read()
        return {"sha256": kit.sha256(data), "size": len(data), "get_sse": kit.sse_from_headers(response.headers)}
    finally:
        response.close()
        response.release_conn()


def put_get(job: dict[str, Any], sse: Any = None, read_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    mc = client(job)
    result = mc.fput_object(job["bucket"], job["key"], job["payload"], sse=sse)
    return {"sse": kit.sse_from_headers(result.http_headers), "checksums":
            kit.checksums_from_headers(result.http_headers), **read(mc, job, **(read_extra or {}))}


def multipart(job: dict[str, Any]) -> dict[str, Any]:
    mc = client(job)
    mc.fput_object(job["bucket"], job["key"], job["payload"])
    out = os.path.join(job["workdir"], "download.bin")
    mc.fget_object(job["bucket"], job["key"], out)
    return {"sha256": kit.file_sha256(out), "size": os.path.getsize(out)}


def listing(job: dict[str, Any]) -> dict[str, Any]:
    return {"keys": [o.object_name for o in client(job).list_objects(job["bucket"], prefix=job["prefix"],
                                                                       recursive=True)]}


def sse_c(job: dict[str, Any]) -> dict[str, Any]:
    key = SseCustomerKey(base64.b64decode(job["sse_c_key"]))
    return put_get(job, sse=key, read_extra={"ssec": key})


def presigned_get(job: dict[str, Any]) -> dict[str, Any]:
    link = client(job).presigned_get_object(job["bucket"], job["key"], expires=timedelta(minutes=10))
    return kit.presigned_download(link, job)


def presigned_put(job: dict[str, Any]) -> dict[str, Any]:
    link = client(job).presigned_put_object(job["bucket"], job["key"], expires=timedelta(minutes=10))
    return kit.presigned_upload(link, job)


def empty(job: dict[str, Any]) -> dict[str, Any]:
    mc = client(job)
    mc.put_object(job["bucket"], job["key"], io.BytesIO(b""), 0)
    return read(mc, job)


def create(job: dict[str, Any]) -> dict[str, Any]:
    client(job).make_bucket(job["bucket"])
    return {}


def ranged(job: dict[str, Any]) -> dict[str, Any]:
    start, end = job["range"]
    return read(client(job), job, offset=start, length=end - start + 1)


def copy(job: dict[str, Any]) -> dict[str, Any]:
    mc = client(job)
    mc.copy_object(job["bucket"], job["key"], CopySource(job["bucket"], job["source"]))
    return read(mc, job)


def delete(job: dict[str, Any]) -> dict[str, Any]:
    client(job).remove_object(job["bucket"], job["key"])
    return {}


SCENARIOS = {
    "create-bucket": create,
    "put-get": put_get,
    "multipart": multipart,
    "ranged-get": ranged,
    "copy": copy,
    "list": listing,
    "delete": delete,
    "sse-s3": lambda job: put_get(job, sse=SseS3()),
    "sse-kms": lambda job: put_get(job, sse=SseKMS(job["kms_key_id"], {})),
    "sse-c": sse_c,
    "presigned-get": presigned_get,
    "presigned-put": presigned_put,
    "checksums": put_get,
    "empty-object": empty,
    "unicode-key": lambda job: {**put_get(job), **listing(job)},
}


def run(job: dict[str, Any]) -> dict[str, Any]:
    try:
        return SCENARIOS[job["scenario"]](job)
    finally:
        trace_to_wire()


if __name__ == "__main__":
    kit.main({name: run for name in SCENARIOS})
