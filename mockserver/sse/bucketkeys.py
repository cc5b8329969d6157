"""S3 Bucket Keys: one KMS data key per (account, bucket, KMS key), reused for a bounded time and count.

Each object still gets its own random data key, wrapped under the bucket key; so 1000 SSE-KMS PUTs with a
bucket key cost one GenerateDataKey (two when the reuse window rolls over), against 1000 without one.
Reads decrypt a bucket key blob once and keep the plaintext in a small bounded cache.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

REUSE_SECONDS = 600.0           # AWS describes bucket keys as time-limited; 10 minutes here
REUSE_OBJECTS = 100_000
READ_CACHE_ENTRIES = 1024


@dataclass
class BucketKey:
    plaintext: bytes
    blob: bytes                  # the KMS ciphertext blob stored in every object's metadata
    created: float
    uses: int = 0


class BucketKeyCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._write: dict[tuple[str, str, str], BucketKey] = {}
        self._read: OrderedDict[bytes, bytes] = OrderedDict()

    def for_write(self, account_id: str, bucket: str, key_arn: str,
                  generate: Callable[[], tuple[bytes, bytes]]) -> BucketKey:
        """The current bucket key, or a new one from `generate()` -> (plaintext, blob) when none is fresh."""
        ident = (account_id, bucket, key_arn)
        with self._lock:
            entry = self._write.get(ident)
            now = self._clock()
            if entry is None or now - entry.created >= REUSE_SECONDS or entry.uses >= REUSE_OBJECTS:
                plaintext, blob = generate()
                entry = BucketKey(plaintext, blob, now)
                self._write[ident] = entry
                self._remember(blob, plaintext)
            entry.uses += 1
            return entry

    def plaintext_for(self, blob: bytes, decrypt: Callable[[], bytes]) -> bytes:
        with self._lock:
            cached = self._read.get(blob)
            if cached is not None:
                self._read.move_to_end(blob)
                return cached
        plaintext = decrypt()
        with self._lock:
            self._remember(blob, plaintext)
        return plaintext

    def _remember(self, blob: bytes, plaintext: bytes) -> None:
        self._read[blob] = plaintext
        self._read.move_to_end(blob)
        while len(self._read) > READ_CACHE_ENTRIES:
            self._read.popitem(last=False)
