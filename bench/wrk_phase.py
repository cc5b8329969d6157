"""Small-request phases: a fixed stream of pre-signed raw HTTP requests, replayed by wrk (keep-alive) through a
generated Lua script; results from wrk's done() hook."""
from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ENCRYPTION_XML = (b'<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>'
                  b"<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
                  b"</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>")


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def presigned_raw(server, method: str, path: str, headers: dict[str, str] | None = None,
                  body: bytes = b"") -> bytes:
    """One raw HTTP/1.1 request whose URL carries a SigV4 query signature covering `headers`."""
    headers = dict(headers or {})
    request = AWSRequest(method=method, url=server.endpoint + path, headers=dict(headers))
    S3SigV4QueryAuth(Credentials(server.access_key, server.secret_key), "s3", "us-east-1", expires=3600).add_auth(
        request)
    split = urlsplit(request.url)
    lines = [f"{method} {split.path}?{split.query} HTTP/1.1", f"Host: {split.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# Phases the null app (bench/nullapp.py, the framework ceiling) also serves: it discards the PUT bodies and answers
# GET with 1 KiB of zeros (?size=1024, the stored object's size), HEAD with that length.
NULL_PHASES = ("put-1k-sse", "get-1k", "head")


def phase_requests(server, phase: str, bucket: str) -> list[bytes]:
    if getattr(server, "name", None) == "null" and phase in ("get-1k", "head"):
        return [presigned_raw(server, "GET" if phase == "get-1k" else "HEAD", f"/{bucket}/object-1k?size=1024")]
    if phase == "put-1k-sse":
        body = (b"0123456789abcdef" * 64)
        return [presigned_raw(server, "PUT", f"/{bucket}/put-{i}", {"x-amz-server-side-encryption": "AES256"}, body)
                for i in range(32)]
    if phase == "get-1k":
        return [presigned_raw(server, "GET", f"/{bucket}/object-1k")]
    if phase == "head":
        return [presigned_raw(server, "HEAD", f"/{bucket}/object-1k")]
    if phase == "bucket-encryption":
        md5 = base64.b64encode(hashlib.md5(ENCRYPTION_XML).digest()).decode()
        return [presigned_raw(server, "PUT", f"/{bucket}?encryption", {"Content-MD5": md5}, ENCRYPTION_XML),
                presigned_raw(server, "GET", f"/{bucket}?encryption")]
    raise ValueError(phase)


def _lua_string(data: bytes) -> str:
    out = []
    for byte in data:
        ch = chr(byte)
        out.append(ch if 32 <= byte < 127 and ch not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


LUA_TAIL = """
local i = 0
request = function()
  i = i % #reqs + 1
  return reqs[i]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def _parse(output: str) -> Result:
    for line in output.splitlines():
        if line.startswith("RESULT "):
            count, duration_us, p50_us, p99_us, non_2xx, errors = map(int, line.split()[1:])
            return Result(count, duration_us / 1e6, p50_us / 1000, p99_us / 1000, non_2xx, errors)
    raise RuntimeError(f"load generator gave no result: {output}")


def run_load(requests: list[bytes], connections: int, seconds: int, work_dir: str, tag: str) -> Result:
    """wrk for everything but HEAD (wrk would wait for a HEAD response's body); bench/aioload.py for HEAD."""
    if requests[0].startswith(b"HEAD "):
        return run_aioload(requests, connections, seconds, work_dir, tag)
    return run_wrk(requests, connections, seconds, work_dir, tag)


def run_aioload(requests: list[bytes], connections: int, seconds: int, work_dir: str, tag: str) -> Result:
    path = os.path.join(work_dir, f"{tag}.requests")
    with open(path, "wb") as handle:
        handle.write(b"\0".join(requests))
    host, port = requests[0].split(b"\r\n")[1].split(b": ", 1)[1].decode().rsplit(":", 1)
    cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "aioload.py"), host, port,
           str(connections), str(seconds), path]
    return _parse(subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=seconds + 60).stdout)


def run_wrk(requests: list[bytes], connections: int, seconds: int, work_dir: str, tag: str) -> Result:
    script = os.path.join(work_dir, f"{tag}.lua")
    with open(script, "w") as handle:
        handle.write("reqs = {" + ",\n".join(_lua_string(r) for r in requests) + "}\n" + LUA_TAIL)
    threads = 1 if connections == 1 else 2
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s", "-s", script,
           "http://" + requests[0].split(b"\r\n")[1].split(b": ", 1)[1].decode()]
    return _parse(subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=seconds + 60).stdout)
