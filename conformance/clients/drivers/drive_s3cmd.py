"""Driver: s3cmd (its console script from its own venv) with a config file naming the endpoint, signature v4,
the CA, and nothing else changed from its defaults; each command line and its answer is the wire log (s3cmd has
no request hook)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from typing import Any

import driverkit as kit

S3CMD = os.path.join(os.path.dirname(sys.executable), "s3cmd")


def config(job: dict[str, Any]) -> str:
    scheme, host = job["endpoint"].split("://", 1)
    host = host.rstrip("/")
    lines = ["[default]", f"access_key = {job['access_key']}", f"secret_key = {job['secret_key']}",
             f"host_base = {host}", f"host_bucket = {host}", f"bucket_location = {job['region']}",
             "signature_v2 = False", f"use_https = {scheme == 'https'}", f"signurl_use_https = {scheme == 'https'}",
             f"ca_certs_file = {job.get('ca_file') or ''}",
             "progress_meter = False"]
    path = os.path.join(job["workdir"], "s3cfg")
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def s3cmd(job: dict[str, Any], *args: str) -> str:
    command = [sys.executable, S3CMD, "-c", config(job), *args]
    entry = kit.record_request("s3cmd", " ".join(args), {})
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    kit.record_response(done.returncode, {}, (done.stderr + done.stdout)[-2048:], entry)
    if done.returncode != 0:
        raise RuntimeError(f"s3cmd {' '.join(args[:1])} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout


def url(job: dict[str, Any], key: str | None = None) -> str:
    return f"s3://{job['bucket']}/{key if key is not None else job['key']}"


def info_sse(job: dict[str, Any]) -> dict[str, str]:
    """`s3cmd info` prints an `SSE:` line (and the KMS key id, where any)."""
    out = s3cmd(job, "info", url(job))
    found = {}
    match = re.search(r"^\s*SSE:\s*(\S+)", out, re.MULTILINE)
    if match and match.group(1).lower() != "none":
        found["ServerSideEncryption"] = match.group(1)
    match = re.search(r"^\s*SSE KMS key id:\s*(\S+)", out, re.MULTILINE | re.IGNORECASE)
    if match:
        found["SSEKMSKeyId"] = match.group(1)
    return found


def put_get(job: dict[str, Any], *extra: str) -> dict[str, Any]:
    s3cmd(job, "put", *extra, job["payload"], url(job))
    out = os.path.join(job["workdir"], "download.bin")
    s3cmd(job, "get", "--force", url(job), out)
    observed = {"sha256": kit.file_sha256(out), "size": os.path.getsize(out)}
    if extra:
        observed["get_sse"] = info_sse(job)
    return observed


def listing(job: dict[str, Any]) -> dict[str, Any]:
    out = s3cmd(job, "ls", "--recursive", f"s3://{job['bucket']}/{job['prefix']}")
    marker = f"s3://{job['bucket']}/"
    return {"keys": [line.split(marker, 1)[1] for line in out.splitlines() if marker in line]}


def presigned_get(job: dict[str, Any]) -> dict[str, Any]:
    link = s3cmd(job, "signurl", url(job), f"{int(time.time()) + 600}").strip()
    return kit.presigned_download(link, job)


def simple(*args: str) -> Any:
    def run(job: dict[str, Any]) -> dict[str, Any]:
        s3cmd(job, *[a.format(**job) for a in args])
        return {}
    return run


def copy(job: dict[str, Any]) -> dict[str, Any]:
    s3cmd(job, "cp", url(job, job["source"]), url(job))
    out = os.path.join(job["workdir"], "download.bin")
    s3cmd(job, "get", "--force", url(job), out)
    return {"sha256": kit.file_sha256(out)}


SCENARIOS = {
    "create-bucket": simple("mb", "s3://{bucket}"),
    "put-get": put_get,
    "multipart": put_get,
    "copy": copy,
    "list": listing,
    "delete": lambda job: simple("del", url(job))(job),
    "sse-s3": lambda job: put_get(job, "--server-side-encryption"),
    "sse-kms": lambda job: put_get(job, "--server-side-encryption", f"--server-side-encryption-kms-id={job['kms_key_id']}"),
    "presigned-get": presigned_get,
    "checksums": put_get,
    "empty-object": put_get,
    "unicode-key": lambda job: {**put_get(job), **listing(job)},
}

if __name__ == "__main__":
    kit.main(SCENARIOS)
