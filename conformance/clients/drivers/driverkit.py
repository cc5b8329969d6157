"""Shared by the Python drivers (run with the client's own interpreter, so nothing here imports the project):
read the job from stdin, run one scenario, print one JSON line: {"observed": {...}} or {"error": "..."} or
{"na": "..."}, with the wire exchanges captured so far."""
from __future__ import annotations

import hashlib
import json
import ssl
import sys
import traceback
from collections.abc import Callable
from typing import Any

BODY_PREFIX = 2048
WIRE: list[dict[str, Any]] = []


class NotApplicable(Exception):
    pass


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def body_text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, str):
        return body[:BODY_PREFIX]
    if isinstance(body, (bytes, bytearray)):
        return bytes(body[:BODY_PREFIX]).decode("utf-8", "replace")
    return f"<{type(body).__name__} stream>"


def text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def record_request(method: str, url: str, headers: Any, body: Any = None) -> dict[str, Any]:
    entry = {"request": {"method": method, "url": url, "headers": {text(k): text(v) for k, v in dict(headers).items()},
                         "body": body_text(body)}, "response": None}
    WIRE.append(entry)
    return entry


def record_response(status: int, headers: Any, body: Any = None, entry: dict[str, Any] | None = None) -> None:
    target = entry if entry is not None else (WIRE[-1] if WIRE else record_request("?", "?", {}))
    target["response"] = {"status": status, "headers": {text(k): text(v) for k, v in dict(headers).items()},
                          "body": body_text(body)}


def http(method: str, url: str, ca_file: str | None, data: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    """A plain HTTP(S) request (presigned URLs) through http.client, which adds no header of its own beyond Host,
    Accept-Encoding and Content-Length (urllib would add a Content-Type that a SigV2 presigned PUT signs as
    empty); recorded on the wire log."""
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(parts.netloc, timeout=60,
                                                                             context=context)
    else:
        connection = http.client.HTTPConnection(parts.netloc, timeout=60)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    entry = record_request(method, url, headers or {}, data)
    try:
        connection.request(method, target, body=data, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        record_response(response.status, dict(response.getheaders()), body if response.status >= 300 else b"",
                        entry)
        return response.status, body, dict(response.getheaders())
    finally:
        connection.close()


def main(scenarios: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
    job = json.loads(sys.stdin.read())
    handler = scenarios.get(job["scenario"])
    out: dict[str, Any]
    try:
        if handler is None:
            raise NotApplicable(f"the driver has no scenario {job['scenario']}")
        out = {"observed": handler(job)}
    except NotApplicable as exc:
        out = {"na": str(exc)}
    except Exception as exc:  # noqa: BLE001 - any client error is the scenario's answer; the last frames help
        frames = traceback.extract_tb(exc.__traceback__)[-2:]
        where = "; ".join(f"{f.name}:{f.lineno}" for f in frames)
        out = {"error": f"{type(exc).__name__}: {str(exc)[:600]} (at {where})"}
    out["wire"] = WIRE[-6:]
    sys.stdout.write("\n" + json.dumps(out) + "\n")


SSE_HEADERS = {
    "x-amz-server-side-encryption": "ServerSideEncryption",
    "x-amz-server-side-encryption-aws-kms-key-id": "SSEKMSKeyId",
    "x-amz-server-side-encryption-bucket-key-enabled": "BucketKeyEnabled",
    "x-amz-server-side-encryption-customer-algorithm": "SSECustomerAlgorithm",
    "x-amz-server-side-encryption-customer-key-md5": "SSECustomerKeyMD5",
}


def sse_from_headers(headers: Any) -> dict[str, str]:
    """The SSE response fields a client exposes as raw HTTP headers, under botocore's names."""
    lowered = {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
    return {name: lowered[header] for header, name in SSE_HEADERS.items() if header in lowered}


def checksums_from_headers(headers: Any) -> dict[str, str]:
    lowered = {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
    names = {"crc32": "ChecksumCRC32", "crc32c": "ChecksumCRC32C", "crc64nvme": "ChecksumCRC64NVME",
             "sha1": "ChecksumSHA1", "sha256": "ChecksumSHA256"}
    return {names[k[15:]]: v for k, v in lowered.items() if k.startswith("x-amz-checksum-") and k[15:] in names}


def presigned_download(link: str, job: dict[str, Any]) -> dict[str, Any]:
    """GET a presigned link the client made: status, SHA-256 and size of what came back (the presigned-get scenario)."""
    status, body, _ = http("GET", link, job.get("ca_file"))
    return {"status": status, "sha256": sha256(body), "size": len(body)}


def presigned_upload(link: str, job: dict[str, Any]) -> dict[str, Any]:
    """PUT the scenario's payload to a presigned link the client made: the status (the presigned-put scenario)."""
    with open(job["payload"], "rb") as handle:
        status, _, _ = http("PUT", link, job.get("ca_file"), data=handle.read())
    return {"status": status}
