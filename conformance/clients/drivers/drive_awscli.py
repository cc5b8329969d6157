"""Driver: the AWS CLI v1 (PyPI awscli), run through its own entry point (awscli.clidriver) in this process so
that botocore event hooks on its session record the wire; `aws s3` for transfers, `aws s3api` where the SSE
fields or exact keys are needed."""
from __future__ import annotations

import contextlib
import io
import json
import os
from typing import Any

import driverkit as kit
from awscli.clidriver import create_clidriver


def aws(job: dict[str, Any], *args: str) -> str:
    os.environ.update({
        "AWS_ACCESS_KEY_ID": job["access_key"], "AWS_SECRET_ACCESS_KEY": job["secret_key"],
        "AWS_DEFAULT_REGION": job["region"], "AWS_CONFIG_FILE": os.path.join(job["workdir"], "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(job["workdir"], "no-credentials"),
    })
    os.environ.pop("AWS_PROFILE", None)
    if job.get("ca_file"):
        os.environ["AWS_CA_BUNDLE"] = job["ca_file"]
    driver = create_clidriver()
    pending: dict[str, Any] = {}

    def before_send(request: Any, **_: Any) -> None:
        pending["entry"] = kit.record_request(request.method, request.url, request.headers, request.body)

    def after_call(http_response: Any, **_: Any) -> None:
        content = b"" if http_response.status_code < 300 else http_response.content
        kit.record_response(http_response.status_code, http_response.headers, content, pending.get("entry"))

    driver.session.register("before-send.s3", before_send)
    driver.session.register("after-call.s3", after_call)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = driver.main([*args, "--endpoint-url", job["endpoint"]])
    if code != 0:
        raise RuntimeError(f"aws {' '.join(args[:2])} exited {code}: {err.getvalue().strip()[-500:]}")
    return out.getvalue()


def url(job: dict[str, Any], key: str | None = None) -> str:
    return f"s3://{job['bucket']}/{key if key is not None else job['key']}"


def cp_round_trip(job: dict[str, Any]) -> dict[str, Any]:
    aws(job, "s3", "cp", job["payload"], url(job))
    out = os.path.join(job["workdir"], "download.bin")
    aws(job, "s3", "cp", url(job), out)
    return {"sha256": kit.file_sha256(out), "size": os.path.getsize(out)}


def s3api_put_get(job: dict[str, Any], *extra: str) -> dict[str, Any]:
    put = json.loads(aws(job, "s3api", "put-object", "--bucket", job["bucket"], "--key", job["key"],
                         "--body", job["payload"], *extra) or "{}")
    out = os.path.join(job["workdir"], "download.bin")
    read = [a for a in extra if a.startswith(("--sse-customer", "fileb://")) or a == "AES256"] \
        if "--sse-customer-key" in extra else []
    got = json.loads(aws(job, "s3api", "get-object", "--bucket", job["bucket"], "--key", job["key"], *read, out))
    sse = ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "SSECustomerAlgorithm", "SSECustomerKeyMD5")
    return {"sse": {k: put[k] for k in sse if k in put}, "get_sse": {k: got[k] for k in sse if k in got},
            "sha256": kit.file_sha256(out), "size": os.path.getsize(out)}


def listing(job: dict[str, Any]) -> dict[str, Any]:
    answer = json.loads(aws(job, "s3api", "list-objects-v2", "--bucket", job["bucket"], "--prefix", job["prefix"])
                        or "{}")
    return {"keys": [item["Key"] for item in answer.get("Contents", [])]}


def ranged(job: dict[str, Any]) -> dict[str, Any]:
    out = os.path.join(job["workdir"], "range.bin")
    start, end = job["range"]
    aws(job, "s3api", "get-object", "--bucket", job["bucket"], "--key", job["key"], "--range",
        f"bytes={start}-{end}", out)
    return {"sha256": kit.file_sha256(out), "size": os.path.getsize(out)}


def copy(job: dict[str, Any]) -> dict[str, Any]:
    aws(job, "s3", "cp", url(job, job["source"]), url(job))
    out = os.path.join(job["workdir"], "download.bin")
    aws(job, "s3", "cp", url(job), out)
    return {"sha256": kit.file_sha256(out)}


def sse_c(job: dict[str, Any]) -> dict[str, Any]:
    import base64
    keyfile = os.path.join(job["workdir"], "sse-c.key")
    with open(keyfile, "wb") as handle:
        handle.write(base64.b64decode(job["sse_c_key"]))
    return s3api_put_get(job, "--sse-customer-algorithm", "AES256", "--sse-customer-key", f"fileb://{keyfile}")


def presigned_get(job: dict[str, Any]) -> dict[str, Any]:
    link = aws(job, "s3", "presign", url(job)).strip()
    return kit.presigned_download(link, job)


def checksums(job: dict[str, Any]) -> dict[str, Any]:
    observed = cp_round_trip(job)
    head = json.loads(aws(job, "s3api", "head-object", "--bucket", job["bucket"], "--key", job["key"],
                          "--checksum-mode", "ENABLED"))
    observed["head_checksums"] = {k: v for k, v in head.items() if k.startswith("Checksum")}
    return observed


def delete(job: dict[str, Any]) -> dict[str, Any]:
    aws(job, "s3", "rm", url(job))
    return {}


def create(job: dict[str, Any]) -> dict[str, Any]:
    aws(job, "s3", "mb", f"s3://{job['bucket']}")
    return {}


def not_presign_put(job: dict[str, Any]) -> dict[str, Any]:
    raise kit.NotApplicable("`aws s3 presign` makes GET URLs only")


SCENARIOS = {
    "create-bucket": create,
    "put-get": cp_round_trip,
    "multipart": cp_round_trip,
    "ranged-get": ranged,
    "copy": copy,
    "list": listing,
    "delete": delete,
    "sse-s3": lambda job: s3api_put_get(job, "--server-side-encryption", "AES256"),
    "sse-kms": lambda job: s3api_put_get(job, "--server-side-encryption", "aws:kms", "--ssekms-key-id",
                                         job["kms_key_id"]),
    "sse-kms-bucket-key": lambda job: s3api_put_get(job, "--server-side-encryption", "aws:kms", "--ssekms-key-id",
                                                    job["kms_key_id"], "--bucket-key-enabled"),
    "sse-c": sse_c,
    "presigned-get": presigned_get,
    "presigned-put": not_presign_put,
    "checksums": checksums,
    "empty-object": cp_round_trip,
    "unicode-key": lambda job: {**cp_round_trip(job), **listing(job)},
}

if __name__ == "__main__":
    kit.main(SCENARIOS)
