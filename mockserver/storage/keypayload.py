"""The payload of a key log record (storage/keylog.py): one object key's versions.

Written as a pickle (protocol 5) of `(FORMAT, [version, ...])`, each version a tuple of its compact fields
(ObjectVersion's slots, see base.py): the inline body and the packed binary values stay bytes (JSON held them as
base64 text, a third larger), and a packed SSE plan or checksum (records.Template) is written as its template's
shape (layout keys, constants, where each binary value lies in the version's bytes), made once per template. A 1 KiB
SSE-S3 object's record is ~1.3 KB instead of ~2.2 KB of JSON, and encoding it is one C call over a tuple instead of
building text piece by piece (a journal write per disk PUT).

Read back as the JSON document `ObjectVersion.to_json()` gives (`documents()`), so loading goes through the same
`ObjectVersion.from_json` as before; records written as JSON text (earlier versions of this server) are read too:
a JSON payload begins with "[", a pickle with its protocol opcode 0x80. tests/mockserver/test_keypayload.py checks
`documents(encode(v)) == [v.to_json() for v in versions]` on many shapes.

Why pickle, not JSON or marshal: the standard library's binary serializer whose format is kept readable across
Python releases (marshal's is not promised to be); it is read with an Unpickler that refuses every global, so a
payload can only ever produce tuples, lists, dicts, strings, numbers, bytes, booleans and None.
"""
from __future__ import annotations

import binascii
import io
import json
import pickle
from typing import Any

from mockserver.storage.base import ObjectVersion
from mockserver.storage.records import Template, thaw

FORMAT = 1
_PROTOCOL = 5
_b64 = binascii.b2a_base64

# A template's shape, pickled, by template (templates are bounded, records.MAX_TEMPLATES, and live as long as the
# process): a version carries it as bytes, which the pickler copies (pickling the shape's tuples each time cost more
# than the rest of the payload).
_shapes: dict[Template, bytes] = {}
# ... and read back, by those bytes (bounded: past the bound a shape is unpickled each time, correct, only slower).
_read_shapes: dict[bytes, tuple[Any, ...]] = {}
_READ_SHAPES_MAX = 4096


def _shape(template: Template) -> tuple[Any, ...]:
    """(layout keys, entries): an entry ("c", constant), ("k",) the object's key, ("b", start, end) bytes of the
    version's `_bin` (base64 text in the document), ("n", shape) a nested mapping."""
    cls, items = template.spec
    entries: list[tuple[Any, ...]] = []
    for kind, a, b in items:
        if kind == "c":
            entries.append(("c", a))
        elif kind == "k":
            entries.append(("k",))
        elif kind == "b":
            entries.append(("b", int(a), int(b)))
        else:
            entries.append(("n", _shape(a)))
    return (tuple(cls._keys), tuple(entries))


def _mapping(value: Any) -> Any:
    """An SSE plan / checksum as written: its template's pickled shape (bytes), a plain dict, or None (empty)."""
    if type(value) is Template:
        shape = _shapes.get(value)
        if shape is None:
            shape = _shapes[value] = pickle.dumps(_shape(value), _PROTOCOL)
        return shape
    return thaw(value) if value else None


def _parts(parts: Any) -> Any:
    """A single part kept compactly (inline bytes, blob id, None) as it is; a list of Parts as field tuples."""
    if type(parts) is not list:
        return parts
    return [(p.number, p.blob, p.size, p.etag, thaw(p.checksums) if p.checksums else None, p.last_modified, p.inline)
            for p in parts]


def encode(versions: list[ObjectVersion]) -> bytes:
    """The record payload of a key's versions (not empty: an empty list is a tombstone, no payload)."""
    out = []
    for v in versions:
        a = v._attrs
        out.append((v.key, v.version_id, v.last_modified, v.size, a[0], a[1], a[2],
                    thaw(a[3]) if a[3] else None, thaw(a[4]) if a[4] else None, a[5], a[6], a[7], a[8],
                    v._etag, v._bin, _mapping(v._sse), _mapping(v._checksum), _parts(v._parts)))
    return pickle.dumps((FORMAT, out), _PROTOCOL)


class _Values(pickle.Unpickler):
    """Builds built-in values only: any global (a class, a function) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"key log payload names {module}.{name}: not a payload of this server")


def _text(data: bytes) -> str:
    return _b64(data, newline=False).decode("ascii")


def _read_shape(pickled: bytes) -> tuple[Any, ...]:
    shape = _read_shapes.get(pickled)
    if shape is None:
        shape = _Values(io.BytesIO(pickled)).load()
        if type(shape) is not tuple:
            raise ValueError("a template's shape is not a tuple")
        if len(_read_shapes) < _READ_SHAPES_MAX:
            _read_shapes[pickled] = shape
    return shape


def _document(shape: tuple[Any, ...], data: bytes, same: str | None) -> dict[str, Any]:
    keys, entries = shape
    built: dict[str, Any] = {}
    for name, entry in zip(keys, entries, strict=True):
        kind = entry[0]
        if kind == "c":
            built[name] = entry[1]
        elif kind == "k":
            built[name] = same
        elif kind == "b":
            built[name] = _text(data[entry[1]:entry[2]])
        else:
            built[name] = _document(entry[1], data, same)
    return built


def _version_document(fields: tuple[Any, ...]) -> dict[str, Any]:
    """The document `ObjectVersion.to_json()` gave for the version these fields were written from."""
    (key, version_id, last_modified, size, owner_id, delete_marker, content_type, headers, metadata, storage_class,
     multipart, tagging_count, upload_id, etag, data, sse, checksum, parts) = fields
    if etag is None:
        etag = data[:16].hex()
    if type(sse) is bytes:
        sse = _document(_read_shape(sse), data, key)
    elif sse is None:
        sse = {}
    if type(checksum) is bytes:
        checksum = _document(_read_shape(checksum), data, None)
    if type(parts) is list:
        part_list = [{"number": number, "blob": blob, "size": part_size, "etag": part_etag,
                      "checksums": sums if sums else {}, "last_modified": stamp,
                      "inline": None if inline is None else _text(inline)}
                     for number, blob, part_size, part_etag, sums, stamp, inline in parts]
    elif parts is None:
        part_list = []
    else:
        inline = type(parts) is bytes
        part_list = [{"number": 1, "blob": "" if inline else parts, "size": size, "etag": etag,
                      "checksums": {checksum["algorithm"]: checksum["value"]} if checksum else {},
                      "last_modified": last_modified, "inline": _text(parts) if inline else None}]
    document = {"key": key, "version_id": version_id, "last_modified": last_modified, "owner_id": owner_id,
                "delete_marker": delete_marker, "size": size, "etag": etag, "content_type": content_type,
                "headers": headers if headers else {}, "metadata": metadata if metadata else {},
                "storage_class": storage_class, "checksum": checksum, "sse": sse, "parts": part_list,
                "multipart": multipart, "tagging_count": tagging_count}
    if upload_id is not None:
        document["upload_id"] = upload_id
    return document


def documents(payload: bytes) -> list[dict[str, Any]]:
    """The versions' documents (ObjectVersion.to_json() each) of a record's payload, pickled or JSON text.
    Raises ValueError for a payload neither of them can read."""
    if payload[:1] == b"[":
        return json.loads(payload)  # type: ignore[no-any-return]
    try:
        format_, versions = _Values(io.BytesIO(payload)).load()
        if format_ != FORMAT:
            raise ValueError(f"payload format {format_!r}")
        return [_version_document(fields) for fields in versions]
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, KeyError, IndexError) as error:
        raise ValueError(f"unreadable key log payload: {error}") from error
