"""records.pack()'s fast path (the last template of a layout recognised by Template.matches) gives exactly what
the full pack gives: the same template (or None) and the same bytes appended."""
from __future__ import annotations

import base64
import random

import pytest

from mockserver.storage import records


@pytest.fixture(autouse=True)
def _own_tables(monkeypatch):
    """Template and layout tables of this test's own: the tables are bounded (MAX_TEMPLATES, MAX_LAYOUTS) and
    process-wide, so tests that ran before in the same worker (an in-process server fuzzed with many plan shapes)
    may have filled them, and pack() then rightly gives None."""
    monkeypatch.setattr(records, "_templates", {})
    monkeypatch.setattr(records, "_layouts", {})
    monkeypatch.setattr(records, "_last_templates", {})


def _value(rng: random.Random, key: str, depth: int = 0):
    choice = rng.randrange(12)
    if choice == 0:
        return key                                          # the object's key
    if choice == 1:
        return rng.choice(["sse-s3", "aws:kms", "AES256", "b1", "b2", key])
    if choice == 2:
        return base64.b64encode(bytes(rng.randrange(256) for _ in range(rng.choice([12, 12, 60, 8])))).decode()
    if choice == 3:
        return rng.choice(["AAAB", "AAA=", "AA==", "A===", "not base64!", "", "é" * 4])   # non-canonical or odd
    if choice == 4:
        return rng.choice([0, 1, 2, True, False, None])
    if choice == 5:
        return bytes(rng.randrange(256) for _ in range(rng.choice([12, 60])))
    if choice == 6 and depth == 0:
        return {k: _value(rng, key, 1) for k in rng.sample(["id", "bucket", "key"], rng.randint(1, 3))}
    if choice == 7:
        return "x" * rng.choice([39, 40, 41, 80])              # around the shared-constant length
    return rng.choice(["sse-s3", "FULL_OBJECT", "crc64nvme"])


def _as_read(value):
    """What a packed mapping reads back as: binary values as their base64 text."""
    if type(value) is dict:
        return {k: _as_read(v) for k, v in value.items()}
    return base64.b64encode(value).decode() if type(value) is bytes else value


NAMES = ["v", "mode", "alg", "bind", "wrapped", "algorithm", "value", "type", "bucket", "kms_key", "other"]


def test_the_fast_path_packs_what_the_full_pack_packs():
    rng = random.Random(11)
    layouts = [tuple(rng.sample(NAMES, rng.randint(1, 5))) for _ in range(12)]
    recognised = 0
    for _ in range(6000):
        keys = rng.choice(layouts)
        key = rng.choice(["k", "obj/1", "AAAA"])
        value = {k: _value(rng, key) for k in keys}
        same = rng.choice([key, None])
        prefix = bytes(rng.choice([0, 16]))
        fast_out = bytearray(prefix)
        last = records._last_templates.get(tuple(value))
        fast = records.pack(value, same, fast_out)
        recognised += fast is not None and fast is last
        saved = dict(records._last_templates)
        records._last_templates.clear()
        full_out = bytearray(prefix)
        full = records.pack(value, same, full_out)
        records._last_templates.clear()
        records._last_templates.update(saved)
        assert fast is full
        if full is not None:
            assert fast_out == full_out
            assert full.unpack(bytes(full_out), same) == _as_read(value)
    assert recognised > 20


def test_plans_of_one_form_take_the_fast_path():
    rng = random.Random(5)

    def b64(n: int) -> str:
        return base64.b64encode(bytes(rng.randrange(256) for _ in range(n))).decode()

    records._last_templates.clear()
    hits = 0
    for i in range(200):
        key = f"put-{i}"
        plan = {"v": 1, "mode": "sse-s3", "alg": "AES256", "bind": {"id": b64(12), "bucket": "bench", "key": key},
                "wrapped": b64(60)}
        last = records._last_templates.get(tuple(plan))
        out = bytearray(16)
        template = records.pack(plan, key, out)
        hits += template is last
        assert template is not None and template.unpack(bytes(out), key) == plan
    assert hits == 199
