"""SigV4 primitives shared by header, presigned, chunk and POST-policy verification.

botocore only signs (it has no verifier), so the server side recomputes signatures here; the derivation
follows botocore.auth.SigV4Auth. The signing key is a hot path (four HMACs): cached per
(secret, date, region, service).
"""
from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Any

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_BLOCK = 64                                             # SHA-256's block size
_IPAD = bytes(b ^ 0x36 for b in range(256))             # translate tables: each key byte XOR the pad
_OPAD = bytes(b ^ 0x5C for b in range(256))


@lru_cache(maxsize=512)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.digest(("AWS4" + secret).encode("utf-8"), date.encode("utf-8"), "sha256")
    key = hmac.digest(key, region.encode("utf-8"), "sha256")
    key = hmac.digest(key, service.encode("utf-8"), "sha256")
    return hmac.digest(key, b"aws4_request", "sha256")


@lru_cache(maxsize=512)
def _hmac_pads(key: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256 (RFC 2104) of `key` up to its two padded-key blocks: SHA-256 states that sign() copies. A key
    signs every request of its day (signing_key is cached the same way); hmac.new set up OpenSSL's HMAC per call."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return (hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD)))


def sign(key: bytes, string_to_sign: str) -> str:
    """hex(HMAC-SHA256(key, string_to_sign)), the same digest as hmac.new(key, ..., "sha256")."""
    inner, outer = _hmac_pads(key)
    inner = inner.copy()
    inner.update(string_to_sign.encode("utf-8"))
    outer = outer.copy()
    outer.update(inner.digest())
    return outer.hexdigest()  # type: ignore[no-any-return]


def request_string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def chunk_string_to_sign(amz_date: str, scope: str, previous_signature: str, chunk_sha256: str) -> str:
    return f"{ALGORITHM}-PAYLOAD\n{amz_date}\n{scope}\n{previous_signature}\n{EMPTY_SHA256}\n{chunk_sha256}"


def trailer_string_to_sign(amz_date: str, scope: str, previous_signature: str, trailer_sha256: str) -> str:
    return f"{ALGORITHM}-TRAILER\n{amz_date}\n{scope}\n{previous_signature}\n{trailer_sha256}"


def signatures_equal(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii", "replace"), provided.encode("ascii", "replace"))
