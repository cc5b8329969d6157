"""storage/keypayload.py: a key log record's payload reads back as exactly the documents ObjectVersion.to_json()
gives, on many shapes of versions (SSE-S3 / SSE-KMS with and without bucket keys and contexts / DSSE / SSE-C plans,
plans and checksums that cannot be packed, multipart parts, inline and blob single parts, delete markers, non-ASCII
and surrogate keys and metadata, upload ids, odd floats); payloads written as JSON text by earlier versions still
read; a payload naming any global is refused."""
from __future__ import annotations

import base64
import json
import math
import random

import pytest

from mockserver.storage import keypayload
from mockserver.storage.base import ObjectVersion, Part
from mockserver.storage.keylog import encode_record, parse_records, payload_of

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


def _documents(versions: list[ObjectVersion]) -> list[dict]:
    return [v.to_json() for v in versions]


def test_payload_reads_back_as_the_versions_documents():
    rng = random.Random(15)
    for _ in range(3000):
        version = _version(rng)
        payload = keypayload.encode([version])
        assert payload[:1] == b"\x80"
        assert keypayload.documents(payload) == [version.to_json()]
        # the documents, through JSON as they were stored before, load as the same version
        assert ObjectVersion.from_json(json.loads(json.dumps(version.to_json()))) == version


def test_several_versions_in_one_payload_load_as_they_were():
    rng = random.Random(16)
    for _ in range(500):
        versions = [_version(rng) for _ in range(rng.randint(1, 4))]
        documents = keypayload.documents(keypayload.encode(versions))
        assert documents == _documents(versions)
        assert [ObjectVersion.from_json(d) for d in documents] == versions


def test_payload_is_smaller_than_its_json():
    rng = random.Random(17)
    for _ in range(200):
        version = _version(rng)
        if type(version._parts) is bytes and len(version._parts) > 1000:
            text = json.dumps([version.to_json()], separators=(",", ":")).encode()
            assert len(keypayload.encode([version])) < len(text)


def test_json_payloads_of_earlier_versions_still_read():
    rng = random.Random(18)
    for _ in range(300):
        versions = [_version(rng) for _ in range(rng.randint(1, 3))]
        text = json.JSONEncoder(separators=(",", ":")).encode(_documents(versions)).encode()
        assert keypayload.documents(text) == _documents(versions)


def test_odd_floats_and_values_round_trip():
    rng = random.Random(3)
    for stamp in [math.inf, -0.0, 1e300, 5e-324]:
        version = _version(rng).replace(last_modified=stamp)
        assert keypayload.documents(keypayload.encode([version])) == [version.to_json()]
    nan = _version(rng).replace(last_modified=math.nan)
    assert math.isnan(keypayload.documents(keypayload.encode([nan]))[0]["last_modified"])


def test_a_record_carries_the_payload_unchanged():
    rng = random.Random(4)
    version = _version(rng)
    payload = keypayload.encode([version])
    record = encode_record(7, "b", version.key, payload)
    records, used, damaged = parse_records(record, 0)
    assert (len(records), used, damaged) == (1, len(record), False)
    assert keypayload.documents(payload_of(record, 0, len(record))) == [version.to_json()]


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_a_payload_naming_a_global_is_refused(capsys):
    import pickle
    for hostile in [pickle.dumps((1, [_Evil()]), 5), pickle.dumps((1, [ObjectVersion]), 5)]:
        with pytest.raises(ValueError, match="not a payload of this server"):
            keypayload.documents(hostile)
    assert "pwned" not in capsys.readouterr().out


def test_unreadable_payloads_are_value_errors():
    import pickle
    good = keypayload.encode([_version(random.Random(5))])
    for bad in [good[:len(good) // 2], b"\x80\x05junk", pickle.dumps((2, []), 5), pickle.dumps((1, [(1, 2)]), 5),
                pickle.dumps("text", 5)]:
        with pytest.raises(ValueError):
            keypayload.documents(bad)


def test_a_log_of_json_records_loads_and_newer_pickled_records_win(tmp_path):
    """A data dir whose key log an earlier version wrote (JSON payloads) loads whole; records this version adds
    (pickled) win by generation."""
    import asyncio

    from mockserver.storage.disk import DiskJournal
    from mockserver.storage.keylog import KeyLog

    rng = random.Random(6)
    old = {f"k{i}": [_version(rng).replace(key=f"k{i}")] for i in range(30)}
    log = KeyLog(str(tmp_path / "meta" / "log"))
    log.append([("b", key, encode_record(g + 1, "b", key, json.JSONEncoder(separators=(",", ":")).encode(
        _documents(versions)).encode()), False) for g, (key, versions) in enumerate(old.items())])
    log.close()
    journal = DiskJournal(str(tmp_path))
    _buckets, keys, _uploads = journal.load()
    assert {k: vs for b, k, vs in keys} == old
    newer = {f"k{i}": [_version(rng).replace(key=f"k{i}")] for i in range(0, 30, 3)}

    async def write() -> None:
        for key, versions in newer.items():
            await journal.save_key("b", key, versions)
    asyncio.run(write())
    journal.log.close()
    _buckets, keys, _uploads = DiskJournal(str(tmp_path)).load()
    assert {k: vs for b, k, vs in keys} == {**old, **newer}


def test_an_unreadable_record_stops_the_start_with_a_message_and_changes_nothing(tmp_path, capsys):
    """A record whose payload this version cannot read (a newer version's, say) stops the server before anything
    is removed (its key's blobs would otherwise look unreferenced): a message naming the record, exit status 1."""
    from mockserver.server import main
    from mockserver.storage.disk import DataDirError, DiskJournal
    from mockserver.storage.keylog import KeyLog

    log = KeyLog(str(tmp_path / "meta" / "log"))
    good = keypayload.encode([_version(random.Random(7)).replace(key="fine")])
    log.append([("b", "fine", encode_record(1, "b", "fine", good), False),
                ("b", "odd", encode_record(2, "b", "odd", b"\x80\x05future"), False)])
    log.close()
    blob = tmp_path / "blobs" / "ab" / ("ab" * 16)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"data")

    def files() -> dict[str, bytes]:      # (the constructors may add their empty directories)
        return {str(p): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    before = files()
    with pytest.raises(DataDirError, match="key 'odd'"):
        DiskJournal(str(tmp_path)).load()
    assert main(["--data-dir", str(tmp_path), "--port", "0"]) == 1
    assert "the key log record of key 'odd'" in capsys.readouterr().err
    assert files() == before
