"""Fast raw-HTTP helpers for the benchmarks: a SigV4 query presigner (the signing key derived once, so 100k
requests sign in about a second; botocore's presigner takes ~20x longer) and a keep-alive asyncio client that
reads status, headers and body. Test-harness code: it signs only simple paths (no characters needing escapes
other than those quote() handles)."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from urllib.parse import quote

REGION = "us-east-1"


class Presigner:
    def __init__(self, host: str, access_key: str, secret_key: str, expires: int = 3600) -> None:
        self.host = host
        self.access_key = access_key
        self.amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        day = self.amz_date[:8]
        key = ("AWS4" + secret_key).encode()
        for part in (day, REGION, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self._key = key
        self._scope = f"{day}/{REGION}/s3/aws4_request"
        self._expires = str(expires)

    def target(self, method: str, path: str, query: dict[str, str] | None = None,
               headers: dict[str, str] | None = None) -> str:
        """`path?query` carrying a SigV4 query signature (UNSIGNED-PAYLOAD; signed headers: host and the x-amz-*
        headers given)."""
        signed = {"host": self.host}
        signed.update({k.lower(): v.strip() for k, v in (headers or {}).items() if k.lower().startswith("x-amz-")})
        names = sorted(signed)
        params = dict(query or {})
        params.update({"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": f"{self.access_key}/{self._scope}",
                       "X-Amz-Date": self.amz_date, "X-Amz-Expires": self._expires,
                       "X-Amz-SignedHeaders": ";".join(names)})
        canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                                   for k, v in sorted(params.items()))
        canonical_path = quote(path, safe="/-_.~")
        canonical = "\n".join([method, canonical_path, canonical_query]
                              + [f"{n}:{signed[n]}" for n in names] + ["", ";".join(names), "UNSIGNED-PAYLOAD"])
        to_sign = "\n".join(["AWS4-HMAC-SHA256", self.amz_date, self._scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        signature = hmac.new(self._key, to_sign.encode(), hashlib.sha256).hexdigest()
        return f"{canonical_path}?{canonical_query}&X-Amz-Signature={signature}"

    def raw(self, method: str, path: str, query: dict[str, str] | None = None, headers: dict[str, str] | None = None,
            body: bytes = b"") -> bytes:
        lines = [f"{method} {self.target(method, path, query, headers)} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method in ("PUT", "POST"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive connection; request() returns (status, body)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes, timeout: float = 60) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        assert self.reader is not None
        self.writer.write(raw)
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        status = int(head[9:12])
        length, close, chunked = 0, False, False
        for line in head.split(b"\r\n")[1:]:
            lower = line.lower()
            if lower.startswith(b"content-length:"):
                length = int(line[15:])
            elif lower.startswith(b"connection:") and b"close" in lower:
                close = True
            elif lower.startswith(b"transfer-encoding:") and b"chunked" in lower:
                chunked = True
        body = b""
        if not raw.startswith(b"HEAD "):
            if chunked:
                pieces = []
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                    data = await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
                    pieces.append(data[:-2])
                body = b"".join(pieces)
            elif length:
                body = await asyncio.wait_for(self.reader.readexactly(length), timeout)
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
