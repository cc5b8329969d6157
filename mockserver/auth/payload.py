"""Whole-payload verifiers with the decoder interface (feed -> pieces to pass on, finish -> raise or not)."""
from __future__ import annotations

import hashlib
from collections.abc import Callable

from mockserver.auth import errors

UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_ECDSA = ("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER")
STREAMING = (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER)
_HEX = frozenset("0123456789abcdef")


def is_sha256_hex(value: str) -> bool:
    return len(value) == 64 and set(value.lower()) <= _HEX


class Sha256Verifier:
    """x-amz-content-sha256 = hex digest: hash while streaming, compare at the end."""

    def __init__(self, expected: str) -> None:
        self.expected = expected.lower()
        self._hash = hashlib.sha256()

    def feed(self, data: bytes) -> list[bytes]:
        self._hash.update(data)
        return [data]

    def finish(self) -> None:
        computed = self._hash.hexdigest()
        if computed != self.expected:
            raise errors.content_sha256_mismatch(self.expected, computed)


class DeferredSignatureVerifier:
    """KMS requests sign the body hash without sending x-amz-content-sha256: the signature is checked once
    the (small) body has been read."""

    def __init__(self, verify: Callable[[str], None]) -> None:
        self._verify = verify
        self._hash = hashlib.sha256()

    def feed(self, data: bytes) -> list[bytes]:
        self._hash.update(data)
        return [data]

    def finish(self) -> None:
        self._verify(self._hash.hexdigest())
