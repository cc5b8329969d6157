"""Driver: obstore (Python bindings of the Rust object_store crate) in its default configuration; SSE through
the store's own settings (server_side_encryption, sse_kms_key_id, sse_bucket_key_enabled,
sse_customer_key_base64). The CA comes through SSL_CERT_FILE. obstore has no request hook: the error text is
what the report shows."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import driverkit as kit
import obstore
from obstore.store import S3Store


def store(job: dict[str, Any], **config: Any) -> Any:
    if job.get("ca_file"):
        os.environ["SSL_CERT_FILE"] = job["ca_file"]
    return S3Store(job["bucket"], endpoint=job["endpoint"], region=job["region"],
                   access_key_id=job["access_key"], secret_access_key=job["secret_key"],
                   client_options={"allow_http": job["endpoint"].startswith("http://")}, **config)


def put_get(job: dict[str, Any], **config: Any) -> dict[str, Any]:
    s = store(job, **config)
    obstore.put(s, job["key"], Path(job["payload"]))
    data = bytes(obstore.get(s, job["key"]).bytes())
    return {"sha256": kit.sha256(data), "size": len(data)}


def ranged(job: dict[str, Any]) -> dict[str, Any]:
    start, end = job["range"]
    data = bytes(obstore.get_range(store(job), job["key"], start=start, end=end + 1))
    return {"sha256": kit.sha256(data), "size": len(data)}


def copy(job: dict[str, Any]) -> dict[str, Any]:
    s = store(job)
    obstore.copy(s, job["source"], job["key"])
    data = bytes(obstore.get(s, job["key"]).bytes())
    return {"sha256": kit.sha256(data)}


def listing(job: dict[str, Any]) -> dict[str, Any]:
    keys = [item["path"] for batch in obstore.list(store(job), prefix=job["prefix"]) for item in batch]
    return {"keys": keys}


def delete(job: dict[str, Any]) -> dict[str, Any]:
    obstore.delete(store(job), job["key"])
    return {}


def presigned(method: str) -> Any:
    def run(job: dict[str, Any]) -> dict[str, Any]:
        link = obstore.sign(store(job), method, job["key"], timedelta(minutes=10))
        if method == "GET":
            return kit.presigned_download(link, job)
        return kit.presigned_upload(link, job)
    return run


def empty(job: dict[str, Any]) -> dict[str, Any]:
    s = store(job)
    obstore.put(s, job["key"], b"")
    data = bytes(obstore.get(s, job["key"]).bytes())
    return {"sha256": kit.sha256(data), "size": len(data)}


def no_create(job: dict[str, Any]) -> dict[str, Any]:
    raise kit.NotApplicable("object_store has no bucket creation")


SCENARIOS = {
    "create-bucket": no_create,
    "put-get": put_get,
    "multipart": put_get,
    "ranged-get": ranged,
    "copy": copy,
    "list": listing,
    "delete": delete,
    "sse-s3": lambda job: put_get(job, server_side_encryption="AES256"),
    "sse-kms": lambda job: put_get(job, server_side_encryption="aws:kms", sse_kms_key_id=job["kms_key_id"]),
    "sse-kms-bucket-key": lambda job: put_get(job, server_side_encryption="aws:kms",
                                              sse_kms_key_id=job["kms_key_id"], sse_bucket_key_enabled=True),
    "sse-c": lambda job: put_get(job, server_side_encryption="sse-c", sse_customer_key_base64=job["sse_c_key"]),
    "presigned-get": presigned("GET"),
    "presigned-put": presigned("PUT"),
    "checksums": put_get,
    "empty-object": empty,
    "unicode-key": lambda job: {**put_get(job), **listing(job)},
}

if __name__ == "__main__":
    kit.main(SCENARIOS)
