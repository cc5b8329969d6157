"""Compact read-only mappings for the per-object records the index keeps in memory (memory per stored object).

A stored object's SSE plan (`ObjectVersion.sse`), checksum and per-part checksums were small dicts: 184 bytes each
in CPython 3.11, the SSE plan holding a second one (its key binding). `freeze()` turns such a dict into a
`Record`: an instance of a slots class made once per key layout (the keys are the class's, shared by every object
with that layout), 16 + 8 bytes per value plus the GC header: 40 bytes for one entry, 72 for five. Records are
Mappings (`[]`, `get`, `in`, `items()`, `dict(r)`, `{**r}`, `==` against dicts) and read-only: a stored object's
record is replaced, never edited. `thaw()` gives the plain dicts back for JSON, so documents on disk are as before.

Binary values are kept as bytes: a value under one of `BINARY_KEYS` (a wrapped data key, a binding id, a checksum,
a KMS ciphertext blob) that is canonical base64 text is stored decoded (a 60-byte wrapped key: 93 bytes instead of
129 as text) and given back as the same text on every read (`[]`, `get`, `items()`, `thaw`). Any other value,
including text that is not canonical base64, is kept as it is.

Layouts are bounded (`MAX_LAYOUTS`): keys that come from requests (a user's encryption context) could otherwise
make classes without end; past the bound a dict is kept as it is (correct, only larger). Short constant strings
(mode, algorithm names, checksum types, KMS key ARNs) are interned so objects share them.
"""
from __future__ import annotations

import binascii
import sys
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from operator import attrgetter
from types import MappingProxyType
from typing import Any, ClassVar

MAX_LAYOUTS = 512
_INTERN_MAX = 40          # values up to this length are interned (shared): modes, algorithms, account ids, ARNs

EMPTY: Mapping[str, Any] = MappingProxyType({})     # the one empty headers / metadata / checksums mapping

# Keys whose base64 text values are stored as bytes (see the module's docstring): SSE plans ("wrapped", "outer",
# "kms_blob", the binding's "id", SSE-C's "salt" / "hmac"), checksum records ("value") and per-part checksums
# (algorithm names).
BINARY_KEYS = frozenset({"wrapped", "outer", "kms_blob", "id", "salt", "hmac", "value",
                         "crc32", "crc32c", "crc64nvme", "sha1", "sha256", "sha512", "md5", "xxhash64", "xxhash3",
                         "xxhash128"})


# Base64 texts base64_text() made from bytes just now, by text: to_binary() of such a text gives those bytes back
# without decoding and encoding again (what it would compute: b2a_base64's output is canonical). A write makes its
# SSE plan's ids and wrapped keys and its checksum this way and packs them at once; an entry is consumed when used,
# and the table cleared when full (texts made but never packed).
_made: dict[str, bytes] = {}
_MADE_MAX = 64


def base64_text(raw: bytes) -> str:
    """base64.b64encode(raw).decode(), remembered for to_binary()."""
    text = binascii.b2a_base64(raw, newline=False).decode("ascii")
    if text:                            # to_binary keeps an empty text as it is
        if len(_made) >= _MADE_MAX:
            _made.clear()
        _made[text] = bytes(raw)
    return text


def to_binary(text: str) -> str | bytes:
    """`text` decoded when it is canonical base64 (encoding the bytes gives `text` back), else `text` itself."""
    made = _made.pop(text, None)
    if made is not None:
        return made
    if not text or len(text) % 4:
        return text
    # binascii directly (base64's wrappers cost more than the work): a lenient decode, then the re-encoding must
    # give `text` back, which only canonical base64 does (whatever a lenient decode skipped, it differs).
    try:
        raw = binascii.a2b_base64(text)
    except (binascii.Error, ValueError):     # ValueError: not ASCII
        return text
    return raw if binascii.b2a_base64(raw, newline=False) == text.encode("ascii") else text


def to_text(value: Any) -> Any:
    """A stored binary value as its base64 text again; anything else as it is."""
    # binascii directly: base64.b64encode's text without its wrapper (read per stored value on GET / HEAD)
    return binascii.b2a_base64(value, newline=False).decode() if type(value) is bytes else value


class Record(Mapping[str, Any]):
    """A read-only mapping whose keys are its class's `_keys`; values in slots `_0`, `_1`, ..."""

    __slots__ = ()
    _keys: ClassVar[tuple[str, ...]] = ()
    _slots: ClassVar[dict[str, str]] = {}
    _values: ClassVar[Any]          # staticmethod: record -> its values in key order (one C call)
    _raw: ClassVar[Any]             # staticmethod: record -> its stored values (binary ones as bytes)

    def __getitem__(self, name: str) -> Any:
        slot = self._slots.get(name)
        if slot is None:
            raise KeyError(name)
        value = getattr(self, slot)
        return to_text(value) if type(value) is bytes and name in BINARY_KEYS else value

    def get(self, name: str, default: Any = None) -> Any:
        slot = self._slots.get(name)
        if slot is None:
            return default
        value = getattr(self, slot)
        return to_text(value) if type(value) is bytes and name in BINARY_KEYS else value

    def __contains__(self, name: object) -> bool:
        return name in self._slots

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def keys(self) -> KeysView[str]:
        return KeysView(self)

    def values(self) -> ValuesView[Any]:
        return ValuesView(self)

    def items(self) -> ItemsView[str, Any]:
        return _Items(self)

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):       # one layout: the same keys in the same order (a PUT compares two)
            # Equal stored values are equal texts; else the texts decide (a binary value is normally bytes in both).
            return bool(self._raw(self) == other._raw(other) or self._values(self) == other._values(other))
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]    # unhashable, as the dict it stands for

    def __repr__(self) -> str:
        return repr(dict(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (freeze, (thaw(self),))

    def __copy__(self) -> Record:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Record:
        return self


class _Items(ItemsView[str, Any]):
    """items() of a Record: iterates (key, value) pairs without a lookup per key."""

    __slots__ = ()
    _mapping: Record

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        record = self._mapping
        return zip(record._keys, record._values(record))


_layouts: dict[tuple[str, ...], type[Record]] = {}


def _layout(keys: tuple[str, ...]) -> type[Record] | None:
    cls = _layouts.get(keys)
    if cls is None:
        if len(_layouts) >= MAX_LAYOUTS or not all(type(k) is str for k in keys):
            return None
        slots = tuple(f"_{i}" for i in range(len(keys)))
        keys = tuple(sys.intern(k) for k in keys)
        # A positional __init__ (compiled once per layout: slot names are _0, _1, ..., never the keys themselves)
        # makes building a record one call; attrgetter returns all values in one C call.
        namespace: dict[str, Any] = {}
        source = f"def __init__(self, {', '.join(slots)}):\n" + "".join(f"    self.{n} = {n}\n" for n in slots)
        exec(source, namespace)  # noqa: S102 (generated names only, as dataclasses does)
        getter = attrgetter(*slots)
        values = raw = getter if len(slots) > 1 else (lambda record: (getter(record),))
        binary = [i for i, k in enumerate(keys) if k in BINARY_KEYS]
        if binary:
            raw_values = values

            def values(record: Record, raw_values: Any = raw_values, binary: list[int] = binary) -> tuple[Any, ...]:
                got = list(raw_values(record))
                for i in binary:
                    if type(got[i]) is bytes:
                        got[i] = to_text(got[i])
                return tuple(got)
        cls = type("Record", (Record,), {"__slots__": slots, "_keys": keys, "_slots": dict(zip(keys, slots)),
                                         "__init__": namespace["__init__"], "_values": staticmethod(values),
                                         "_raw": staticmethod(raw)})
        _layouts[keys] = cls
    return cls


# Values of these keys repeat across objects (a mode, an algorithm, a KMS key, the bucket): one copy for all.
_SHARED_FIELDS = frozenset({"mode", "alg", "algorithm", "type", "kms_key", "kms_account", "bucket"})


def share(value: Any) -> Any:
    """A short string interned (one copy for every object that stores it); anything else as it is. For values
    that repeat across objects only: interning unique values would grow the interpreter's table instead."""
    if type(value) is str and len(value) <= _INTERN_MAX:
        return sys.intern(value)
    return value


def freeze(value: Any, same: str | None = None) -> Any:
    """`value` with its dicts (nested too) as Records, constant-like strings shared, and strings equal to `same`
    replaced by `same` itself (the object's own key, which the SSE binding repeats). Records, and anything that
    is not a dict, come back as they are."""
    if type(value) is not dict:
        return value
    if not value:
        return EMPTY
    cls = _layout(tuple(value))
    values = []
    for k, v in value.items():
        if type(v) is str:
            if v == same:
                v = same
            elif k in _SHARED_FIELDS and len(v) <= _INTERN_MAX:
                v = sys.intern(v)
            elif cls is not None and k in BINARY_KEYS:
                v = to_binary(v)
        elif type(v) is dict:
            v = freeze(v, same)
        values.append(v)
    if cls is None:
        return dict(zip(value, values))
    return cls(*values)


_SCALARS = frozenset({str, int, float, bool, type(None), bytes})


def thaw(value: Any) -> Any:
    """Plain dicts again (for JSON), nested too. Scalars skip the Mapping test (an ABC check per value)."""
    if isinstance(value, Record):
        return {k: v if type(v) in _SCALARS or not isinstance(v, Mapping) else thaw(v)
                for k, v in zip(value._keys, value._values(value))}
    if isinstance(value, Mapping):
        return {k: v if type(v) in _SCALARS or not isinstance(v, Mapping) else thaw(v) for k, v in value.items()}
    return value


def compact_mapping(value: Mapping[str, str] | None) -> Mapping[str, str]:
    """Headers / metadata as stored: the shared EMPTY when empty (no dict per object), else as given."""
    return value if value else EMPTY


# ----- packed records: one shared template per layout, an object's own values in one bytes -----
# A stored object's SSE plan and checksum mostly repeat across objects (mode, algorithm, bucket, checksum type) but
# for a few binary values (wrapped data key, binding id, checksum value) and the object's own key. `pack()` gives
# such a mapping as a Template (shared by every object whose mapping has the same layout, constants and binary
# value lengths) plus the binary values appended to a bytearray; `unpack()` builds the Record again. A mapping
# with any other value (a string that is neither a shared constant nor base64 nor the key: an encryption context
# naming the object, say) is not packed: it stays a Record.

class Template:
    """A packed mapping's shared part: its layout, constants and where its binary values lie in the object's
    bytes. `build(data, same)` makes the Record (compiled once per template: one call, no loop per value)."""

    __slots__ = ("build", "matches", "spec")

    def __init__(self, spec: tuple[Any, ...]) -> None:
        self.spec = spec            # (layout class, ((kind, a, b), ...)): kind "c" constant a, "k" the object's key,
        #                             "b" bytes a:b of the object's data, "n" a nested Template a
        namespace: dict[str, Any] = {}
        source = f"def build(data, same):\n    return {_expression(spec, namespace)}\n"
        exec(source, namespace)  # noqa: S102 (generated from slice bounds and namespace names only)
        self.build: Any = namespace["build"]
        # matches(value, same, out): whether pack(value, same, out) would give this template (then out holds the
        # binary values pack appends; else out may hold a part of them, which the caller drops).
        namespace = {"to_binary": to_binary}
        exec(_matcher_source(spec, namespace), namespace)  # noqa: S102 (generated as build is)
        self.matches: Any = namespace["matches"]

    def unpack(self, data: bytes | None, same: str | None) -> Record:
        return self.build(data, same)  # type: ignore[no-any-return]

    def value_bounds(self, name: str) -> tuple[int, int] | None:
        """Where the binary value of top-level `name` lies in the object's bytes (None: not a binary value)."""
        cls, spec = self.spec
        slot = cls._keys.index(name) if name in cls._keys else -1
        if slot < 0 or spec[slot][0] != "b":
            return None
        return spec[slot][1], spec[slot][2]

    def constant(self, name: str) -> Any:
        cls, spec = self.spec
        kind, value, _ = spec[cls._keys.index(name)]
        if kind != "c":
            raise KeyError(name)
        return value


def _expression(spec: tuple[Any, ...], namespace: dict[str, Any]) -> str:
    cls, items = spec
    name = f"c{len(namespace)}"
    namespace[name] = cls
    args = []
    for kind, a, b in items:
        if kind == "c":
            constant = f"c{len(namespace)}"
            namespace[constant] = a
            args.append(constant)
        elif kind == "b":
            args.append(f"data[{int(a)}:{int(b)}]")
        elif kind == "k":
            args.append("same")
        else:
            args.append(_expression(a.spec, namespace))
    return f"{name}({', '.join(args)})"


def _matcher_source(spec: tuple[Any, ...], namespace: dict[str, Any]) -> str:
    """Source of `matches(value, same, out)` for a template's spec: pack()'s decisions for each entry, in its order,
    checked against what the template holds (a dict with the layout's keys in order; nested dicts likewise)."""
    lines = ["def matches(value, same, out):", "    if type(value) is not dict:", "        return False"]
    _matcher_lines(spec, namespace, lines, "value", 1)
    lines.append("    return True")
    return "\n".join(lines) + "\n"


def _matcher_lines(spec: tuple[Any, ...], namespace: dict[str, Any], lines: list[str], var: str, depth: int) -> None:
    cls, items = spec
    pad = "    "
    v = f"v{depth}"
    for key, (kind, a, b) in zip(cls._keys, items):
        lines.append(f"{pad}{v} = {var}[{key!r}]")
        if kind == "k":                         # a text equal to the object's key
            lines += [f"{pad}if type({v}) is not str or {v} != same:", f"{pad}    return False"]
        elif kind == "c":
            constant = f"c{len(namespace)}"
            namespace[constant] = a
            if type(a) is str:                  # a shared constant text (not the key: that would be "k")
                lines += [f"{pad}if type({v}) is not str or {v} != {constant} or {v} == same:", f"{pad}    return False"]
            elif a is None:
                lines += [f"{pad}if {v} is not None:", f"{pad}    return False"]
            else:                               # int or bool: of the same type (True and 1 are other constants)
                kind_name = f"t{len(namespace)}"
                namespace[kind_name] = type(a)
                lines += [f"{pad}if type({v}) is not {kind_name} or {v} != {constant}:", f"{pad}    return False"]
        elif kind == "b":                       # binary: bytes, or canonical base64 text; its length and place
            lines += [f"{pad}if type({v}) is str:", f"{pad}    if {v} == same:", f"{pad}        return False"]
            if key in _SHARED_FIELDS:
                lines += [f"{pad}    if len({v}) <= {_INTERN_MAX}:", f"{pad}        return False"]
            lines += [f"{pad}    {v} = to_binary({v})", f"{pad}    if type({v}) is not bytes:", f"{pad}        return False",
                      f"{pad}elif type({v}) is not bytes:", f"{pad}    return False",
                      f"{pad}if len(out) != {int(a)} or len({v}) != {int(b) - int(a)}:", f"{pad}    return False",
                      f"{pad}out += {v}"]
        else:                                   # a nested template: a dict with its layout's keys in order
            keys = f"k{len(namespace)}"
            namespace[keys] = a.spec[0]._keys
            lines += [f"{pad}if type({v}) is not dict or tuple({v}) != {keys}:", f"{pad}    return False"]
            _matcher_lines(a.spec, namespace, lines, v, depth + 1)


MAX_TEMPLATES = 1024
_NONE_TYPE = type(None)
_templates: dict[tuple[Any, ...], Template] = {}


# The template pack() last gave a dict of each layout (by its keys): a write packs one plan after another of the same
# form, which that template's matches() recognises without building and hashing the shape (the same result).
_last_templates: dict[tuple[str, ...], Template] = {}


def pack(value: Mapping[str, Any], same: str | None, out: bytearray) -> Template | None:
    """The template of `value` (its binary values appended to `out`), or None when it cannot be packed (`out`
    then holds a partial write the caller drops)."""
    keys = tuple(value)
    last = _last_templates.get(keys)
    if last is not None:
        size = len(out)
        if last.matches(value, same, out):
            return last
        del out[size:]
    shared = _pack(value, keys, same, out)
    if shared is not None and type(value) is dict and len(_last_templates) < MAX_LAYOUTS:
        _last_templates[keys] = shared
    return shared


def _pack(value: Mapping[str, Any], keys: tuple[str, ...], same: str | None, out: bytearray) -> Template | None:
    cls = _layout(keys)
    if cls is None:
        return None
    # The shared key: each entry's (kind, type(a), a, b); constants by value and type (True and 1 are equal, not
    # the same constant); a nested template by identity (Templates hash and compare by identity, and live on in
    # _templates). The template's spec, (kind, a, b) per entry, is derived from it when the key is new.
    shape: list[tuple[str, type, Any, Any]] = []
    append = shape.append
    for k, v in (value.items() if type(value) is dict else zip(cls._keys, _raw_values(value))):
        if type(v) is str:
            if v == same:
                append(("k", _NONE_TYPE, None, None))
                continue
            if k in _SHARED_FIELDS and len(v) <= _INTERN_MAX:
                append(("c", str, sys.intern(v), None))
                continue
            if k not in BINARY_KEYS:
                return None
            v = to_binary(v)
            if type(v) is not bytes:
                return None
        if type(v) is bytes and k in BINARY_KEYS:
            start = len(out)
            out += v
            append(("b", int, start, len(out)))
        elif v is None or type(v) in (int, bool):
            append(("c", type(v), v, None))
        elif type(v) is dict or isinstance(v, Mapping):
            nested = pack(v, same, out)
            if nested is None:
                return None
            append(("n", Template, nested, None))
        else:
            return None
    key = (cls, tuple(shape))
    shared = _templates.get(key)
    if shared is None:
        if len(_templates) >= MAX_TEMPLATES:
            return None
        _templates[key] = shared = Template((cls, tuple((kind, a, b) for kind, _, a, b in shape)))
    return shared


def _raw_values(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """A Record's stored values (binary ones as bytes), or a mapping's values."""
    if isinstance(record, Record):
        return tuple(getattr(record, f"_{i}") for i in range(len(record._keys)))
    return tuple(record.values())


def unpack(template: Template, data: bytes | None, same: str | None) -> Record:
    """The Record `pack()` described."""
    return template.unpack(data, same)
