"""jsontext.version_text / versions_payload give, byte for byte, the text the generic encoder gives for
ObjectVersion.to_json() (the key log's record payload): on many shapes of versions (SSE-S3 / SSE-KMS with and
without bucket keys and contexts / DSSE / SSE-C plans, checksums, multipart parts, inline and blob single parts,
delete markers, non-ASCII and surrogate keys and metadata, upload ids, odd floats)."""
from __future__ import annotations

import base64
import json
import math
import random

from mockserver.storage import jsontext
from mockserver.storage.base import ObjectVersion, Part

KEYS = ["k", "obj/1", "AAAA", "é/ü/日本", "emoji-😀", "sur\udcff", "quote\"back\\slash", "ctl\x01\n\t", "/", "x" * 300]


def _b64(rng: random.Random, n: int) -> str:
    return base64.b64encode(bytes(rng.randrange(256) for _ in range(n))).decode()


def _sse(rng: random.Random, bucket: str, key: str) -> dict:
    binding = {"id": _b64(rng, 12), "bucket": bucket, "key": key}
    mode = rng.choice(["sse-s3", "sse-kms", "dsse-kms", "sse-c", "none", "odd"])
    if mode == "none":
        return {}
    if mode == "odd":
        return {"v": rng.choice([1, 2]), "mode": "x" * rng.choice([39, 41]), "alg": None, "bind": binding,
                "extra": rng.choice(["AAA=", "not base64", "é", 3.5, [1, "two"], {"n": key}]), "wrapped": _b64(rng, 60)}
    meta: dict = {"v": 1, "mode": mode, "alg": rng.choice(["AES256", None]) if mode == "sse-s3" else None,
                  "bind": binding}
    if mode == "sse-s3":
        meta["wrapped"] = _b64(rng, 60)
    elif mode == "sse-c":
        meta["ssec"] = {"salt": _b64(rng, 16), "hmac": _b64(rng, 32)}
        if rng.random() < 0.3:
            meta["ssec"]["md5"] = _b64(rng, 16)
        meta["wrapped"] = _b64(rng, 60)
    else:
        arn = "arn:aws:kms:us-east-1:123456789012:key/" + rng.choice(["1234abcd-12ab-34cd-56ef-1234567890ab", "é"])
        meta.update({"alg": "aws:kms" if mode == "sse-kms" else "aws:kms:dsse", "kms_key": arn,
                     "kms_account": "123456789012", "bk": rng.random() < 0.5})
        user = rng.choice([{}, {"a": "b"}, {"dépôt": key, "n": "ü" * 3}])
        if meta["bk"]:
            meta["ctx"] = {**user, "aws:s3:arn": f"arn:aws:s3:::{bucket}"}
            meta["kms_ctx"] = {"aws:s3:arn": f"arn:aws:s3:::{bucket}"}
        else:
            meta["ctx"] = {**user, "aws:s3:arn": f"arn:aws:s3:::{bucket}/{key}"}
        meta["kms_blob"] = _b64(rng, rng.choice([150, 184]))
        meta["wrapped"] = _b64(rng, 60)
        if mode == "dsse-kms":
            meta["outer"] = _b64(rng, 60)
    return meta


def _checksum(rng: random.Random) -> dict | None:
    choice = rng.randrange(5)
    if choice == 0:
        return None
    algorithm = rng.choice(["crc32", "crc32c", "crc64nvme", "sha1", "sha256"])
    value = _b64(rng, {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}[algorithm])
    if choice == 1:
        value = rng.choice(["AAA", "not base64", "é"])
    return {"algorithm": algorithm, "value": value, "type": rng.choice(["FULL_OBJECT", "COMPOSITE"])}


def _version(rng: random.Random) -> ObjectVersion:
    key = rng.choice(KEYS)
    bucket = rng.choice(["b1", "bucket-é"])
    stamp = rng.choice([1700000000.123456, 1.0, 0.0, 1e-7, 1e22, 1733400000.0 + rng.random(), 5])
    size = rng.choice([0, 1, 1024, 5 * 1024 * 1024 + 1])
    etag = rng.choice([_b64(rng, 16) and bytes(rng.randrange(256) for _ in range(16)).hex(),
                       "0" * 32 + "-3", "", "ABCDEF" * 5 + "00", "not-hex-é"])
    checksum = _checksum(rng)
    delete_marker = rng.random() < 0.15
    metadata = rng.choice([{}, {}, {"a": "1"}, {"naïve": "café", "x": "\udcff"}, {"k": "v" * 200, "e": ""}])
    headers = rng.choice([{}, {}, {"cache-control": "no-cache"}, {"content-disposition": 'attachment; n="é"'}])
    multipart = False
    parts: list[Part] | None
    shape = rng.randrange(5)
    sums = {checksum["algorithm"]: checksum["value"]} if checksum else {}
    if delete_marker or shape == 0:
        parts = None
    elif shape == 1:        # a single inline part that repeats the version (kept compactly)
        parts = [Part(1, "", size, etag, dict(sums), stamp, bytes(rng.randrange(256) for _ in range(rng.choice([0, 5, 1052]))))]
    elif shape == 2:        # a single blob part that repeats the version
        parts = [Part(1, bytes(rng.randrange(256) for _ in range(16)).hex(), size, etag, dict(sums), stamp)]
    elif shape == 3:        # a single part that does not repeat the version
        parts = [Part(rng.choice([1, 2]), "", size + rng.choice([0, 1]), etag, rng.choice([{}, {"crc32": "AAAAAA=="}]),
                      stamp + rng.choice([0, 1]), rng.choice([None, b"abc"]))]
    else:                   # multipart
        multipart = True
        parts = [Part(n, rng.choice(["", "ab" * 16]), rng.choice([5 << 20, 7]), bytes(16).hex(),
                      rng.choice([{}, {"crc32": "AAAAAA==", "sha256": _b64(rng, 32)}]), stamp,
                      rng.choice([None, b"\x00\xff"])) for n in range(1, rng.randint(2, 4))]
    return ObjectVersion(
        key=key, version_id=rng.choice(["null", _b64(rng, 24).replace("+", "-").replace("/", "_")]),
        last_modified=stamp, owner_id=rng.choice(["owner", "o" * 64, "é"]), delete_marker=delete_marker,
        size=0 if delete_marker else size, etag=etag,
        content_type=rng.choice(["binary/octet-stream", "text/plain; charset=utf-8", "ü/x"]),
        headers=headers, metadata=metadata, storage_class=rng.choice(["STANDARD", "GLACIER"]), checksum=checksum,
        sse={} if delete_marker else _sse(rng, bucket, key), parts=parts, multipart=multipart,
        tagging_count=rng.choice([0, 0, 3]), upload_id=rng.choice([None, None, "upload-é"]) if multipart else None)


def _generic(versions: list[ObjectVersion]) -> bytes:
    return json.JSONEncoder(separators=(",", ":")).encode([v.to_json() for v in versions]).encode()


def test_version_text_is_the_generic_encoding():
    rng = random.Random(15)
    for _ in range(3000):
        version = _version(rng)
        assert jsontext.version_text(version) == json.dumps(version.to_json(), separators=(",", ":"))


def test_versions_payload_is_the_generic_encoding():
    rng = random.Random(16)
    for _ in range(500):
        versions = [_version(rng) for _ in range(rng.randint(1, 4))]
        payload = jsontext.versions_payload(versions)
        assert payload == _generic(versions)
        assert [ObjectVersion.from_json(d) for d in json.loads(payload)] == versions


def test_odd_floats_and_values_fall_back_to_the_generic_encoder():
    for value in [math.inf, -math.inf, math.nan, 1e300, -0.0, True, False, None, 10**30, "é", {"a": [1, 2.5]}]:
        assert jsontext.value_text(value) == json.dumps(value, separators=(",", ":"))
    rng = random.Random(3)
    version = _version(rng).replace(last_modified=math.inf)
    assert jsontext.version_text(version) == json.dumps(version.to_json(), separators=(",", ":"))
