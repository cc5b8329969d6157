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

try:                    # OpenSSL's HMAC, which hmac.new wraps for a named digest (one Python layer less per call)
    from _hashlib import hmac_new as _openssl_hmac
except ImportError:     # pragma: no cover - a Python built without OpenSSL's hashes
    _openssl_hmac = None  # type: ignore[assignment]

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@lru_cache(maxsize=512)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.digest(("AWS4" + secret).encode("utf-8"), date.encode("utf-8"), "sha256")
    key = hmac.digest(key, region.encode("utf-8"), "sha256")
    key = hmac.digest(key, service.encode("utf-8"), "sha256")
    return hmac.digest(key, b"aws4_request", "sha256")


@lru_cache(maxsize=512)
def _keyed_hmac(key: bytes) -> Any:
    """An HMAC-SHA256 object keyed with `key` and fed nothing: sign() copies it (OpenSSL's HMAC_CTX copy) instead
    of keying a new one per signature. A signing key signs every request of its day (cached like signing_key)."""
    if _openssl_hmac is not None:
        return _openssl_hmac(key, digestmod="sha256")
    return hmac.new(key, digestmod="sha256")


def sign(key: bytes, string_to_sign: str) -> str:
    """hex(HMAC-SHA256(key, string_to_sign))."""
    mac = _keyed_hmac(key).copy()
    mac.update(string_to_sign.encode("utf-8"))
    return mac.hexdigest()  # type: ignore[no-any-return]


def request_string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def chunk_string_to_sign(amz_date: str, scope: str, previous_signature: str, chunk_sha256: str) -> str:
    return f"{ALGORITHM}-PAYLOAD\n{amz_date}\n{scope}\n{previous_signature}\n{EMPTY_SHA256}\n{chunk_sha256}"


def trailer_string_to_sign(amz_date: str, scope: str, previous_signature: str, trailer_sha256: str) -> str:
    return f"{ALGORITHM}-TRAILER\n{amz_date}\n{scope}\n{previous_signature}\n{trailer_sha256}"


def signatures_equal(expected: str, provided: str) -> bool:
    if expected.isascii() and provided.isascii():      # (compare_digest takes ASCII text as it is)
        return hmac.compare_digest(expected, provided)
    return hmac.compare_digest(expected.encode("ascii", "replace"), provided.encode("ascii", "replace"))
