"""FastStartCycle's response header checks (coalescing.py): translate with unmatched_bytes finds exactly what
uvicorn's header regexes find."""
from __future__ import annotations

import random

from uvicorn.protocols.http.httptools_impl import HEADER_RE, HEADER_VALUE_RE

from mockserver.coalescing import unmatched_bytes


def test_translate_finds_what_the_regexes_find():
    rng = random.Random(7)
    for pattern in (HEADER_RE, HEADER_VALUE_RE):
        ok = unmatched_bytes(pattern)
        for b in range(256):
            assert bool(bytes([b]).translate(None, ok)) == bool(pattern.search(bytes([b])))
        for _ in range(2000):
            data = bytes(rng.choice(b"abcXYZ-09 \t:\x00\x7f\x80\xff,\"") for _ in range(rng.randint(0, 12)))
            assert bool(data.translate(None, ok)) == bool(pattern.search(data))
