"""Compact in-memory records (mockserver/storage/records.py): read-only mappings equal to the dicts they replace,
the same JSON documents, and a bound on the bytes a stored small object costs."""
from __future__ import annotations

import base64
import copy
import json
import os
import pickle
import sys
from typing import Any

import pytest

from mockserver.storage import records
from mockserver.storage.base import ObjectVersion, Part
from mockserver.storage.records import EMPTY, Record, freeze, thaw


def test_record_behaves_as_the_dict() -> None:
    plain = {"v": 1, "mode": "sse-s3", "alg": "AES256", "bind": {"id": "x", "bucket": "b", "key": "k"},
             "wrapped": "w", "none": None}
    r = freeze(plain)
    assert isinstance(r, Record) and isinstance(r["bind"], Record)
    assert r == plain and plain == r and (r != plain) is False
    assert r != {**plain, "v": 2} and r != {"v": 1}
    assert list(r) == list(plain) and len(r) == len(plain)
    assert r["mode"] == "sse-s3" and r.get("alg") == "AES256" and r.get("missing") is None
    assert r.get("missing", 5) == 5 and r.get("none", 5) is None
    assert "bind" in r and "missing" not in r
    with pytest.raises(KeyError):
        r["missing"]
    assert dict(r)["bind"] == plain["bind"] and {**r}["v"] == 1
    assert next(iter(r.items())) == ("v", 1) and list(r.values())[-1] is None and list(r.keys()) == list(plain)
    assert thaw(r) == plain and type(thaw(r)["bind"]) is dict
    assert json.dumps(thaw(r)) == json.dumps(plain)
    assert repr(r) == repr(plain)
    with pytest.raises(TypeError):
        hash(r)
    with pytest.raises(TypeError):
        r["mode"] = "other"  # type: ignore[index]
    assert copy.deepcopy(r) is r and pickle.loads(pickle.dumps(r)) == plain
    assert freeze(r) is r and freeze({}) is EMPTY and freeze("s") == "s"


def test_same_layout_shares_one_class_and_constants() -> None:
    a = freeze({"algorithm": _fresh("crc32"), "value": "one", "type": _fresh("FULL_OBJECT")})
    b = freeze({"algorithm": _fresh("crc32"), "value": "two", "type": _fresh("FULL_OBJECT")})
    assert type(a) is type(b)
    assert a["algorithm"] is b["algorithm"] and a["type"] is b["type"]      # interned: one copy
    assert sys.getsizeof(a) < sys.getsizeof({"algorithm": 1, "value": 2, "type": 3}) / 2


def test_layouts_are_bounded(monkeypatch: Any) -> None:
    """Keys that come from requests (a user's encryption context) cannot make classes without end: past the bound
    a dict is kept, equal all the same."""
    monkeypatch.setattr(records, "MAX_LAYOUTS", len(records._layouts))
    plain = {f"user-key-{os.urandom(4).hex()}": "v"}
    kept = freeze(plain)
    assert type(kept) is dict and kept == plain


def _fresh(text: str) -> str:
    """A new string object equal to `text` (as parsed from a request; literals would be one shared constant)."""
    return "".join([text[:1], text[1:]])


def _stored(key: str, n: int) -> ObjectVersion:
    """An SSE-S3 object as datapath/write.py builds one (fresh strings each time, as from a request)."""
    stamp = 1.0 + n
    etag = os.urandom(16).hex()
    value = base64.b64encode(os.urandom(8)).decode()
    return ObjectVersion(
        key=key, version_id="null", last_modified=stamp, owner_id=_fresh("111122223333"), size=1024 + n,
        etag=etag, content_type=_fresh("binary/octet-stream"), headers={}, metadata={},
        storage_class=_fresh("STANDARD"), tagging_count=0,
        checksum={"algorithm": _fresh("crc64nvme"), "value": value, "type": _fresh("FULL_OBJECT")},
        sse={"v": 1, "mode": _fresh("sse-s3"), "alg": _fresh("AES256"),
             "bind": {"id": base64.b64encode(os.urandom(12)).decode(), "bucket": _fresh("bucket"), "key": _fresh(key)},
             "wrapped": base64.b64encode(os.urandom(60)).decode()},
        parts=[Part(1, "", 1024 + n, etag, {"crc64nvme": value}, stamp, os.urandom(1060))])


def _deep_size(obj: Any, seen: set[int]) -> int:
    stack, total = [obj], 0
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif not isinstance(o, (str, bytes, int, float, type(None))):
            for cls in type(o).__mro__:
                stack.extend(getattr(o, s) for s in getattr(cls, "__slots__", ()) if hasattr(o, s))
    return total


def test_stored_object_is_compact() -> None:
    """Bytes one more stored SSE-S3 object costs beyond its stored data (the deep size with what it shares with the
    objects before it counted once). Plain dicts cost 2,201 here; the records 986; the compact ObjectVersion (shared
    attributes tuple, no Part and list for a single part, binary values packed in one bytes) 347 (CPython 3.11)."""
    seen: set[int] = set()
    kept = [_stored("key-0", 0)]       # alive: ids in `seen` are not reused
    _deep_size(kept[0], seen)
    sizes = []
    for n in range(1, 4):
        kept.append(_stored(f"key-{n}", n))
        sizes.append(_deep_size(kept[-1], seen) - sys.getsizeof(kept[-1].parts[0].inline))
    v = _stored("key-9", 9)
    assert v.sse["bind"]["key"] is v.key and v.headers is EMPTY and v.metadata is EMPTY
    assert v.parts[0].last_modified is v.last_modified and v.parts[0].size is v.size
    assert v.parts[0].checksums == {"crc64nvme": v.checksum["value"]}  # type: ignore[index]
    assert type(v._parts) is bytes and v._parts is v.parts[0].inline          # the single part kept as its bytes
    assert v._etag is None and v.etag == v._bin[:16].hex()                    # the ETag's 16 bytes in _bin
    assert type(v._sse) is records.Template and v._sse is kept[1]._sse                    # one shared template
    assert type(v._checksum) is records.Template and v._checksum is kept[1]._checksum
    assert v._attrs is kept[1]._attrs                                          # one shared tuple
    assert len(v._bin) == 16 + 12 + 60 + 8        # ETag, binding id, wrapped key, CRC64NVME: all the rest is shared
    assert max(sizes) < 400, sizes


def test_binary_values_read_as_their_text() -> None:
    """Base64 values are stored as bytes and read back as the same text; text that is not canonical base64 stays
    text (a lossless round trip either way)."""
    wrapped = base64.b64encode(os.urandom(60)).decode()
    r = freeze({"v": 1, "wrapped": wrapped, "id": "not base64!", "value": "QQ", "kms_blob": "QUFB", "other": "QUFB"})
    assert r._0 == 1 and type(r._1) is bytes and r._2 == "not base64!" and r._3 == "QQ" and type(r._4) is bytes
    assert r._5 == "QUFB"                                     # not a binary key: kept as text
    assert r["wrapped"] == wrapped and r.get("wrapped") == wrapped and r["kms_blob"] == "QUFB"
    assert dict(r.items())["wrapped"] == wrapped and list(r.values())[1] == wrapped
    assert thaw(r) == {"v": 1, "wrapped": wrapped, "id": "not base64!", "value": "QQ", "kms_blob": "QUFB",
                       "other": "QUFB"}
    assert json.loads(json.dumps(thaw(r)))["wrapped"] == wrapped and r == thaw(r)


def test_single_part_kept_compactly_only_when_it_repeats_the_version() -> None:
    etag = os.urandom(16).hex()
    checksum = {"algorithm": "crc32", "value": "AAAAAA==", "type": "FULL_OBJECT"}
    same = ObjectVersion("k", "null", 2.0, "o", size=3, etag=etag, checksum=checksum,
                         parts=[Part(1, "blobid", 3, etag, {"crc32": "AAAAAA=="}, 2.0)])
    assert same._parts == "blobid" and same.blob_ids() == ["blobid"]
    assert same.parts == [Part(1, "blobid", 3, etag, {"crc32": "AAAAAA=="}, 2.0)]
    for other in (Part(2, "blobid", 3, etag, {"crc32": "AAAAAA=="}, 2.0), Part(1, "blobid", 4, etag, {}, 2.0),
                  Part(1, "blobid", 3, etag, {"crc32": "AAAAAA==", "crc64nvme": "AAAAAAAAAAA="}, 2.0),
                  Part(1, "blobid", 3, etag, {"crc32": "AAAAAA=="}, 1.0)):
        kept = ObjectVersion("k", "null", 2.0, "o", size=3, etag=etag, checksum=checksum, parts=[other])
        assert type(kept._parts) is list and kept.parts == [other] and kept.blob_ids() == ["blobid"]
    multipart = ObjectVersion("k", "null", 2.0, "o", size=3, etag=etag + "-1", checksum=checksum, multipart=True,
                              parts=[Part(1, "", 3, etag + "-1", {"crc32": "AAAAAA=="}, 2.0, b"abc")])
    assert type(multipart._parts) is list and multipart.blob_ids() == []
    marker = ObjectVersion("k", "v1", 2.0, "o", delete_marker=True)
    assert marker.parts == [] and marker.blob_ids() == [] and marker.etag == ""


def test_version_json_is_unchanged_and_replace_refreezes() -> None:
    v = _stored("k", 1)
    doc = v.to_json()
    assert type(doc["sse"]) is dict and type(doc["sse"]["bind"]) is dict and doc["headers"] == {}
    assert type(doc["parts"][0]["checksums"]) is dict
    again = ObjectVersion.from_json(json.loads(json.dumps(doc | {"parts": [
        p | {"inline": base64.b64encode(v.parts[0].inline).decode()} for p in doc["parts"]]})))
    assert again == v
    changed = v.replace(sse={"v": 1, "mode": "aws:kms", "ctx": {"a": "b"}})
    assert isinstance(changed.sse, Record) and changed.sse["ctx"] == {"a": "b"}
    assert v.sse["mode"] == "sse-s3" and changed.parts == v.parts and changed.etag == v.etag


def test_part_keeps_every_checksum() -> None:
    """A part with several checksums (a multipart part: its own algorithm and the default) keeps them all when the
    version shares the equal value."""
    part = Part(1, "", 10, "e", {"crc32": "a", "crc64nvme": "b"}, 1.0)
    v = ObjectVersion(key="k", version_id="null", last_modified=1.0, owner_id="o", size=10, etag="e-1",
                      checksum={"algorithm": "crc64nvme", "value": "b", "type": "FULL_OBJECT"}, parts=[part])
    assert dict(v.parts[0].checksums) == {"crc32": "a", "crc64nvme": "b"}


def test_packed_plans_read_as_the_dicts_they_were() -> None:
    """SSE plans and checksums whose values are shared constants, base64 or the object's key are packed (a shared
    template, their bytes in the version's one bytes); any other plan stays a Record. Either way the version reads,
    compares and serialises as the dicts it was given."""
    b64 = lambda n: base64.b64encode(os.urandom(n)).decode()
    bind = {"id": b64(12), "bucket": "bkt", "key": "k"}
    checksum = {"algorithm": "crc32", "value": b64(4), "type": "FULL_OBJECT"}
    plans = {
        "sse-c": {"v": 1, "mode": "sse-c", "alg": None, "bind": bind, "ssec": {"salt": b64(16), "hmac": b64(32)},
                  "wrapped": b64(60)},
        "kms": {"v": 1, "mode": "aws:kms", "alg": "aws:kms", "bind": bind, "kms_key": "arn:aws:kms:r:1:key/x",
                "kms_account": "1", "bk": False, "ctx": {"aws:s3:arn": "arn:aws:s3:::bkt/k"}, "kms_blob": b64(100),
                "wrapped": b64(60)},
        "odd": {"v": 1, "mode": "sse-s3", "alg": "AES256", "bind": bind, "wrapped": "not base64"},
    }
    packed = {"sse-c": True, "kms": False, "odd": False}
    for name, plan in plans.items():
        v = ObjectVersion("k", "null", 1.0, "o", size=1, etag=os.urandom(16).hex(), checksum=checksum, sse=plan)
        assert (type(v._sse) is records.Template) is packed[name], name
        assert v.sse == plan and thaw(v.sse) == plan and v.checksum == checksum and v.to_json()["sse"] == plan
        assert ObjectVersion.from_json(json.loads(json.dumps(v.to_json()))) == v
        assert v.replace(sse=v.sse) == v and v.replace(checksum=None).checksum is None
    multipart = ObjectVersion("k", "null", 1.0, "o", etag="abc-2", checksum=checksum, sse=plans["sse-c"])
    assert multipart.etag == "abc-2" and multipart.sse == plans["sse-c"] and multipart.checksum == checksum


def test_templates_are_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(records, "MAX_TEMPLATES", len(records._templates))
    plan = {"v": 987654321, "mode": "sse-s3", "alg": "AES256", "wrapped": "QUFB"}     # a layout never seen before
    v = ObjectVersion("k", "null", 1.0, "o", sse=plan)
    assert isinstance(v._sse, Record) and v.sse == plan


def _generic_json(v: ObjectVersion) -> dict[str, Any]:
    """ObjectVersion.to_json as it was written before its direct form: the fields, mappings thawed, the parts'
    own to_json, upload_id only when set."""
    data = v._fields()
    for name in ("headers", "metadata", "checksum", "sse"):
        data[name] = thaw(data[name])
    data["parts"] = [p.to_json() for p in v.parts]
    if data["upload_id"] is None:
        del data["upload_id"]
    return data


def test_version_json_is_the_generic_document() -> None:
    """to_json reads the compact fields directly; the document (and its key order, hence its bytes) is the one the
    generic form gives, for every shape: single part inline or in a blob, kept compactly or not, several parts,
    no part, no checksum, headers, metadata, upload id, a plan packed or not."""
    etag = os.urandom(16).hex()
    checksum = {"algorithm": "crc32", "value": "AAAAAA==", "type": "FULL_OBJECT"}
    plan = {"v": 1, "mode": "aws:kms", "alg": "aws:kms", "ctx": {"a": "b"}, "wrapped": "QUFB"}
    versions = [
        _stored("k", 1),
        ObjectVersion("k", "null", 2.0, "o", size=3, etag=etag, checksum=checksum,
                      parts=[Part(1, "blobid", 3, etag, {"crc32": "AAAAAA=="}, 2.0)]),
        ObjectVersion("k", "v1", 2.0, "o", size=3, etag=etag, checksum=checksum,
                      parts=[Part(1, "blobid", 3, etag, {"crc32": "AAAAAA==", "crc64nvme": "AAAAAAAAAAA="}, 2.0)]),
        ObjectVersion("k", "v2", 2.0, "o", size=3, etag=etag, checksum=None, headers={"cache-control": "x"},
                      metadata={"m": "v"}, sse=plan, parts=[Part(1, "", 3, etag, {}, 2.0, b"abc")]),
        ObjectVersion("k", "v3", 2.0, "o", size=6, etag=etag + "-2", checksum=checksum, multipart=True,
                      upload_id="up", tagging_count=2, content_type="text/plain", storage_class="GLACIER",
                      parts=[Part(1, "", 3, etag, {"crc32": "AAAAAA=="}, 2.0, b"abc"),
                             Part(2, "b2", 3, etag, {"crc32": "AAAAAA=="}, 2.0)]),
        ObjectVersion("k", "v4", 2.0, "o", delete_marker=True),
    ]
    for v in versions:
        doc = v.to_json()
        assert json.dumps(doc) == json.dumps(_generic_json(v)), v
        assert ObjectVersion.from_json(json.loads(json.dumps(doc))) == v


def test_records_of_one_layout_compare_by_value() -> None:
    """Two records of the same layout compare their values (binary ones as their text; nested records by value),
    as the dicts they stand for do."""
    value = base64.b64encode(os.urandom(8)).decode()
    a = freeze({"algorithm": "crc64nvme", "value": value, "nested": {"x": "1"}})
    b = freeze({"algorithm": "crc64nvme", "value": _fresh(value), "nested": {"x": _fresh("1")}})
    assert type(a) is type(b) and a == b and (a != b) is False and a == thaw(b)
    for changed in ({"value": base64.b64encode(os.urandom(8)).decode()}, {"algorithm": "crc32"},
                    {"nested": {"x": "2"}}, {"value": "not base64"}):
        c = freeze(thaw(a) | changed)
        assert type(c) is type(a) and c != a and (c == a) is False and (c == a) is (thaw(c) == thaw(a))
    as_text = type(a)("crc64nvme", value, a["nested"])     # the binary value held as its text: still equal
    assert a._raw(a) != as_text._raw(as_text) and a == as_text and as_text == a


def test_base64_text_is_b64encode_and_to_binary_gives_the_bytes_back_with_or_without_the_note():
    import base64 as _base64
    import os as _os

    from mockserver.storage import records as _records
    for size in (0, 1, 2, 3, 12, 16, 60):
        raw = _os.urandom(size)
        text = _records.base64_text(raw)
        assert text == _base64.b64encode(raw).decode()
        first = _records.to_binary(text)            # the noted bytes (a non-empty text)
        assert first == (raw if text else text)
        assert _records.to_binary(text) == first    # decoded this time: the same result
    for _ in range(2 * _records._MADE_MAX):         # texts made but never packed: bounded
        _records.base64_text(_os.urandom(12))
    assert len(_records._made) <= _records._MADE_MAX
