"""Bucket Key reuse bounds (mockserver/sse/bucketkeys.py)."""
from __future__ import annotations

import os

from mockserver.sse import bucketkeys
from mockserver.sse.bucketkeys import BucketKeyCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_reused_within_window_renewed_after_it() -> None:
    clock, calls = Clock(), []

    def generate() -> tuple[bytes, bytes]:
        calls.append(1)
        return os.urandom(32), os.urandom(40)

    cache = BucketKeyCache(clock)
    first = cache.for_write("acct", "bucket", "arn:k", generate)
    clock.now += bucketkeys.REUSE_SECONDS - 1
    assert cache.for_write("acct", "bucket", "arn:k", generate) is first
    assert cache.for_write("acct", "other-bucket", "arn:k", generate) is not first
    assert cache.for_write("acct", "bucket", "arn:other", generate) is not first
    assert len(calls) == 3
    clock.now += 2
    renewed = cache.for_write("acct", "bucket", "arn:k", generate)
    assert renewed is not first and len(calls) == 4
    # Objects written under the old bucket key stay readable: its plaintext is still in the read cache.
    assert cache.plaintext_for(first.blob, lambda: b"not called") == first.plaintext


def test_renewed_after_object_budget() -> None:
    calls = []

    def generate() -> tuple[bytes, bytes]:
        calls.append(1)
        return os.urandom(32), os.urandom(40)

    cache = BucketKeyCache(Clock())
    for _ in range(bucketkeys.REUSE_OBJECTS + 1):
        cache.for_write("a", "b", "k", generate)
    assert len(calls) == 2


def test_read_cache_is_bounded() -> None:
    cache = BucketKeyCache(Clock())
    for i in range(bucketkeys.READ_CACHE_ENTRIES + 10):
        cache.plaintext_for(str(i).encode(), lambda i=i: str(i).encode())
    decrypted = []
    assert cache.plaintext_for(b"0", lambda: decrypted.append(1) or b"0") == b"0"
    assert decrypted == [1]
