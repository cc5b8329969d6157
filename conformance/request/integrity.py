"""Content-MD5 and x-amz-checksum-* values, deliberately wrong or malformed ones included."""
from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

from awscrt import checksums as crt_checksums

ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")
MALFORMED_MD5 = "not-a-valid-md5!"          # not base64 at all
MALFORMED_CHECKSUM = "not*a*checksum"       # not base64 at all


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def md5_b64(data: bytes) -> str:
    return b64(hashlib.md5(data).digest())


def content_md5(body: bytes, mode: str) -> str | None:
    """auto: correct; wrong: well-formed MD5 of different bytes; malformed: not an MD5 at all; none: None."""
    if mode == "none":
        return None
    if mode == "auto":
        return md5_b64(body)
    if mode == "wrong":
        return md5_b64(body + b"\x00wrong")
    if mode == "malformed":
        return MALFORMED_MD5
    raise ValueError(f"content_md5 mode {mode!r}")


def checksum_digest(algorithm: str, data: bytes) -> bytes:
    if algorithm == "crc32":
        return zlib.crc32(data).to_bytes(4, "big")
    if algorithm == "crc32c":
        return crt_checksums.crc32c(data).to_bytes(4, "big")
    if algorithm == "crc64nvme":
        return crt_checksums.crc64nvme(data).to_bytes(8, "big")
    if algorithm == "sha1":
        return hashlib.sha1(data).digest()
    if algorithm == "sha256":
        return hashlib.sha256(data).digest()
    raise ValueError(f"unknown checksum algorithm {algorithm!r}")


def checksum_value(algorithm: str, data: bytes, mode: str = "auto") -> str:
    if mode == "auto":
        return b64(checksum_digest(algorithm, data))
    if mode == "wrong":
        return b64(checksum_digest(algorithm, data + b"\x00wrong"))
    if mode == "malformed":
        return MALFORMED_CHECKSUM
    raise ValueError(f"checksum mode {mode!r}")


def checksum_header(algorithm: str) -> str:
    return f"x-amz-checksum-{algorithm}"


@functools.lru_cache(maxsize=1)
def _s3_operations() -> dict[str, Any]:
    import botocore

    model = Path(botocore.__file__).parent / "data" / "s3" / "2006-03-01" / "service-2.json.gz"
    try:
        with gzip.open(model, "rt", encoding="utf-8") as handle:
            return dict(json.load(handle)["operations"])
    except (OSError, ValueError, KeyError):
        plain = model.with_suffix("")
        return dict(json.loads(plain.read_text(encoding="utf-8"))["operations"]) if plain.exists() else {}


@functools.lru_cache(maxsize=1)
def operations_requiring_integrity() -> frozenset[str]:
    """Operations botocore's S3 model marks as needing Content-MD5 or a checksum (httpChecksumRequired /
    requestChecksumRequired): these get Content-MD5 by default."""
    names = set()
    for name, op in _s3_operations().items():
        checksum = op.get("httpChecksum", {})
        if op.get("httpChecksumRequired") or checksum.get("requestChecksumRequired"):
            names.add(name)
    return frozenset(names)


@functools.lru_cache(maxsize=1)
def _routes() -> list[tuple[str, bool, bool, frozenset[str], str]]:
    """(method, needs bucket, needs key, literal query keys, operation) from the model's requestUri."""
    routes = []
    for name, op in _s3_operations().items():
        http = op.get("http", {})
        path, _, query = http.get("requestUri", "/").partition("?")
        literal = frozenset(part.split("=", 1)[0] for part in query.split("&")
                            if part and "{" not in part and not part.startswith("x-id="))
        routes.append((http.get("method", ""), "{Bucket}" in path, "{Key+}" in path, literal, name))
    return routes


def infer_operation(method: str, bucket: bool, key: bool, query_keys: set[str]) -> str | None:
    """The S3 operation a raw request corresponds to (most specific subresource match), e.g.
    PUT /bucket?encryption -> PutBucketEncryption; None when nothing in the model fits."""
    best: tuple[int, str] | None = None
    for route_method, needs_bucket, needs_key, literal, name in _routes():
        if route_method != method or needs_bucket != bucket or needs_key != key or not literal <= query_keys:
            continue
        if best is None or len(literal) > best[0]:
            best = (len(literal), name)
    return best[1] if best else None
