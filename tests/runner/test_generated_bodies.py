"""Generated bodies: deterministic per (size, seed), kept for reuse within a bounded size."""
from __future__ import annotations

import hashlib
import random

from conformance.request import bodies


def test_same_bytes_as_before_and_reused():
    expected = random.Random(hashlib.sha256(b"s3-conformance:seed-x").digest()).randbytes(1000)
    first = bodies.generated(1000, "seed-x")
    assert first == expected
    assert bodies.generated(1000, "seed-x") is first
    assert bodies.generated(1000, "seed-y") != first


def test_the_cache_stays_bounded():
    for index in range(12):
        assert len(bodies.generated(5 * 1024 * 1024, f"big-{index}")) == 5 * 1024 * 1024
    assert bodies._cache_size <= bodies._CACHE_BYTES
    assert bodies._cache_size == sum(len(data) for data in bodies._cache.values())
