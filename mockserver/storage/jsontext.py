"""The JSON text of a stored version (the key log's record payload, --data-dir), built directly from the version's
compact fields: the same text, byte for byte, as the generic encoder gives for `ObjectVersion.to_json()` (compact
separators, ASCII escapes), without building the document's dicts first (a journal write per disk PUT).

Composition keeps the output identical by construction: every scalar is written as the C encoder writes it
(strings through the same `encode_basestring_ascii`, floats through float.__repr__, ints through int.__repr__), a
packed SSE plan or checksum (records.Template) through a function compiled once per template whose constants were
encoded by the generic encoder itself, and anything else (headers, metadata, a multipart object's parts, a plan
kept as a Record) through the generic encoder. tests/mockserver/test_jsontext.py compares both on many shapes.
"""
from __future__ import annotations

import binascii
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from mockserver.storage.base import ObjectVersion
from mockserver.storage.records import Template, thaw

_escape: Callable[[str], str] = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
_b64 = binascii.b2a_base64

# One encoder for every document (json.dumps with separators builds a JSONEncoder per call); same output.
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
# JSONEncoder.encode also makes a C encoder per call: made once here with the same arguments (no cycle check: a
# document is plain dicts and lists). json.encoder.c_make_encoder is None without the _json accelerator.
if json.encoder.c_make_encoder is not None:  # type: ignore[attr-defined]
    _c_encoder = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True)

    def encode(document: Any) -> str:
        """`document` (plain dicts, lists and scalars) as compact JSON text, as JSONEncoder(separators=(",", ":"))
        writes it."""
        return "".join(_c_encoder(document, 0))
else:  # pragma: no cover
    encode = _ENCODE  # type: ignore[assignment]


def value_text(value: Any) -> str:
    """One JSON value as the generic encoder writes it (mappings thawed first)."""
    kind = type(value)
    if kind is str:
        return _escape(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return encode(thaw(value)) if value else "{}"
    return encode(value)


def _template_text(template: Template) -> Callable[[bytes | None, str | None], str]:
    """The function giving the JSON text of `template.build(data, same)` (compiled once per template)."""
    function = _texts.get(template)
    if function is None:
        namespace: dict[str, Any] = {"b64": _b64, "escape": _escape, "value_text": value_text}
        source = f"def text(data, same):\n    return {_text_expression(template.spec, namespace)}\n"
        exec(source, namespace)  # noqa: S102 (generated from slice bounds and namespace names only)
        function = _texts[template] = namespace["text"]
    return function


_texts: dict[Template, Callable[[bytes | None, str | None], str]] = {}


def _text_expression(spec: tuple[Any, ...], namespace: dict[str, Any]) -> str:
    """An expression for the JSON text of the record `spec` describes: thaw() of the Record, encoded."""
    cls, items = spec
    pieces: list[str] = []
    for i, (key, (kind, a, b)) in enumerate(zip(cls._keys, items)):
        prefix = ("{" if i == 0 else ",") + _escape(key) + ":"
        if kind == "c":
            pieces.append(repr(prefix + encode(a)))
        elif kind == "b":       # thaw gives base64.b64encode(bytes).decode(): no character JSON escapes
            pieces += [repr(prefix + '"'), f"b64(data[{int(a)}:{int(b)}], newline=False).decode()", repr('"')]
        elif kind == "k":
            pieces += [repr(prefix), "value_text(same)"]
        else:
            pieces += [repr(prefix), f"({_text_expression(a.spec, namespace)})"]
    pieces.append(repr("}" if items else "{}"))
    return " + ".join(pieces)


def _plan_text(plan: Any, data: bytes | None, same: str | None) -> str:
    """An SSE plan's or a checksum's text: packed (a Template), a Record or dict, empty, or None."""
    if type(plan) is Template:
        return _template_text(plan)(data, same)
    if plan is None:
        return "null"
    return encode(thaw(plan)) if plan else "{}"


# The texts of the fields a shared attributes tuple holds, in the document's three runs ((owner, delete marker),
# (content type, headers, metadata, storage class), (multipart flag, tag count, upload id) and the closing brace),
# by the tuple's id (the tuple is kept with them, so the id stays its own). Bounded as the shared tuples are.
_attrs_texts: dict[int, tuple[tuple[Any, ...], str, str, str]] = {}
_ATTRS_TEXTS_MAX = 4096


def _attrs_text(attrs: tuple[Any, ...]) -> tuple[tuple[Any, ...], str, str, str]:
    found = _attrs_texts.get(id(attrs))
    if found is not None and found[0] is attrs:
        return found
    made = (attrs,
            ',"owner_id":' + value_text(attrs[0]) + ',"delete_marker":' + value_text(attrs[1]),
            ',"content_type":' + value_text(attrs[2]) + ',"headers":' + value_text(attrs[3])
            + ',"metadata":' + value_text(attrs[4]) + ',"storage_class":' + value_text(attrs[5]),
            ',"multipart":' + value_text(attrs[6]) + ',"tagging_count":' + value_text(attrs[7])
            + ("}" if attrs[8] is None else ',"upload_id":' + value_text(attrs[8]) + "}"))
    if not attrs[3] and not attrs[4] and attrs[8] is None and len(_attrs_texts) < _ATTRS_TEXTS_MAX:
        _attrs_texts[id(attrs)] = made      # a shared tuple (no per-object values): kept
    return made


def version_text(version: ObjectVersion) -> str:
    """`encode(version.to_json())`, built from the version's compact fields (see the module's docstring): its
    pieces joined once (the inline body's base64 is most of the text: not copied again per piece)."""
    _, owner, content, tail = _attrs_text(version._attrs)
    data = version._bin
    key = version.key
    etag = version.etag
    etag = _escape(etag) if type(etag) is str else value_text(etag)
    size = value_text(version.size)
    stamp = value_text(version.last_modified)
    version_id = version.version_id
    checksum = version._checksum
    pieces = ['{"key":', _escape(key) if type(key) is str else value_text(key),
              ',"version_id":', _escape(version_id) if type(version_id) is str else value_text(version_id),
              ',"last_modified":', stamp, owner, ',"size":', size, ',"etag":', etag, content,
              ',"checksum":', _plan_text(checksum, data, None), ',"sse":', _plan_text(version._sse, data, key),
              ',"parts":']
    parts = version._parts
    if type(parts) is list:
        pieces += ("[", ",".join([encode(p.to_json()) for p in parts]), "]")
    elif parts is None:
        pieces.append("[]")
    else:
        record = version.checksum if checksum is not None else None
        if not record:
            sums = "{}"
        elif type(record["algorithm"]) is str:
            sums = "{" + _escape(record["algorithm"]) + ":" + value_text(record["value"]) + "}"
        else:
            sums = encode({record["algorithm"]: record["value"]})
        if type(parts) is bytes:    # base64: no character JSON escapes
            pieces += ('[{"number":1,"blob":"","size":', size, ',"etag":', etag, ',"checksums":', sums,
                       ',"last_modified":', stamp, ',"inline":"', _b64(parts, newline=False).decode(), '"}]')
        else:
            pieces += ('[{"number":1,"blob":', value_text(parts), ',"size":', size, ',"etag":', etag,
                       ',"checksums":', sums, ',"last_modified":', stamp, ',"inline":null}]')
    pieces.append(tail)
    return "".join(pieces)


def versions_payload(versions: list[ObjectVersion]) -> bytes:
    """A key log record's payload: `encode([v.to_json() for v in versions])` as UTF-8 (ASCII: every other
    character is escaped)."""
    return ("[" + ",".join([version_text(v) for v in versions]) + "]").encode()
