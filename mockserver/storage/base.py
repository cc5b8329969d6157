"""Storage model and index shared by the memory and disk backends.

The index (buckets, object versions, multipart uploads) lives in memory in both backends and is mutated on
the event loop thread only. Backends differ in where blob bytes go (BlobStore) and whether metadata changes
are written down (Journal). Object keys never name files: blobs have random ids, keys live in metadata.
"""
from __future__ import annotations

import base64
import bisect
import errno
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol, Self

from mockserver.errors import S3Error, internal_error, no_such_bucket
from mockserver.storage import crashpoints
from mockserver.storage.annotations import AnnotationStore
from mockserver.storage.records import EMPTY, Template, compact_mapping, freeze, pack, share, thaw

log = logging.getLogger("mockserver")

NULL_VERSION = "null"


def new_version_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(24)).decode()


def new_blob_id() -> str:
    return os.urandom(16).hex()


def preadv_full(fd: int, view: memoryview, offset: int) -> int:
    """Fills `view` from `offset` of `fd` (fewer bytes only at the end of the file); no allocation per read."""
    done = 0
    while done < len(view):
        n = os.preadv(fd, [view[done:]], offset + done)
        if n == 0:
            break
        done += n
    return done


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names (dataclasses.fields() rebuilds its tuple on every call: twice per journal write)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    return names


class _Record:
    """JSON form of a flat dataclass: its fields as they are."""

    __slots__ = ()        # slotted subclasses get no __dict__ / __weakref__ through this base

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _field_names(type(self))}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(**data)


@dataclass
class Bucket(_Record):
    name: str
    owner_id: str
    region: str
    created: float
    versioning: str | None = None                 # None (never enabled) | "Enabled" | "Suspended"
    encryption: dict[str, Any] | None = None      # BucketEncryption.to_json(); None: no configuration


@dataclass(slots=True)
class Part(_Record):
    """One stored blob of an object or an upload: `size` plaintext bytes, encrypted on disk."""
    number: int
    blob: str
    size: int
    etag: str                                       # hex, no quotes
    checksums: Mapping[str, str] = field(default_factory=lambda: EMPTY)   # algorithm -> base64 (records.Record)
    last_modified: float = 0.0
    inline: bytes | None = None      # small blobs: the stored bytes live in the metadata (base64 in JSON), blob == ""

    def __post_init__(self) -> None:
        self.checksums = freeze(self.checksums) if type(self.checksums) is dict else self.checksums or EMPTY

    def to_json(self) -> dict[str, Any]:
        data = _Record.to_json(self)
        data["checksums"] = thaw(self.checksums)
        if self.inline is not None:
            data["inline"] = base64.b64encode(self.inline).decode()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Part:
        data = dict(data)
        if data.get("inline") is not None:
            data["inline"] = base64.b64decode(data["inline"])
        return cls(**data)


_ATTRS = ("owner_id", "delete_marker", "content_type", "headers", "metadata", "storage_class", "multipart",
          "tagging_count", "upload_id")
_SHARED_ATTRS_MAX = 4096
_shared_attrs: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _attrs(owner_id: str, delete_marker: bool, content_type: str, headers: Mapping[str, str],
           metadata: Mapping[str, str], storage_class: str, multipart: bool, tagging_count: int,
           upload_id: str | None) -> tuple[Any, ...]:
    """The fields objects mostly have in common, as one tuple: one shared tuple for every object without headers,
    metadata or upload id that has the same owner, content type, storage class, tag count and flags (bounded:
    past _SHARED_ATTRS_MAX combinations each object gets its own tuple, correct, only larger)."""
    headers = compact_mapping(headers)
    metadata = compact_mapping(metadata)
    if headers is EMPTY and metadata is EMPTY and upload_id is None:
        shared_key = (owner_id, delete_marker, content_type, storage_class, multipart, tagging_count)
        found = _shared_attrs.get(shared_key)
        if found is not None:
            return found
        made = (share(owner_id), delete_marker, share(content_type), EMPTY, EMPTY, share(storage_class), multipart,
                tagging_count, None)
        if len(_shared_attrs) < _SHARED_ATTRS_MAX:
            _shared_attrs[shared_key] = made
        return made
    return (share(owner_id), delete_marker, share(content_type), headers, metadata, share(storage_class), multipart,
            tagging_count, upload_id)


# The last version whose packed SSE plan / checksum was unpacked, and the Record: a request (or a listing entry)
# reads its version's plan and checksum a few times, unpacked once.
_last_sse: tuple[Any, Any] = (None, None)
_last_checksum: tuple[Any, Any] = (None, None)
_part_sums: dict[Template, Callable[[bytes], Mapping[str, str]] | None] = {}


def _part_sums_maker(checksum: Template) -> Callable[[bytes], Mapping[str, str]] | None:
    """For a packed checksum: a function making its single part's checksums ({algorithm: value}) from the
    version's bytes, without a base64 round trip; None if the template has no constant algorithm."""
    bounds = checksum.value_bounds("value")
    try:
        algorithm = checksum.constant("algorithm")
    except (KeyError, ValueError):
        return None
    if bounds is None or type(algorithm) is not str:
        return None
    cls = freeze({algorithm: "x"}).__class__
    if cls is dict:
        return None
    start, end = bounds
    return lambda data: cls(data[start:end])  # type: ignore[no-any-return]


def _compact_etag(etag: str) -> str | bytes:
    """A plain MD5-shaped ETag (32 lowercase hex digits) as its 16 bytes; any other ETag (multipart "<hex>-N") as
    it is."""
    if len(etag) == 32:
        try:
            raw = bytes.fromhex(etag)
        except ValueError:
            return etag
        if raw.hex() == etag:
            return raw
    return etag


class ObjectVersion:
    """One version of a key, as the index keeps it (memory per stored object). The fields are those of the
    dataclass it was (same constructor, attributes, equality and JSON documents), stored compactly:
    - owner, delete marker flag, content type, headers, metadata, storage class, multipart flag, tag count and
      upload id live in one tuple that objects with the same values share (`_attrs`);
    - a plain ETag is kept as its 16 bytes (`etag` gives the hex text);
    - the SSE plan and checksum are read-only records.Record mappings (binary values stored as bytes);
    - a single part that only repeats the version (part 1, the version's size, ETag, time and checksum: every
      PutObject / CopyObject / POST object) is not kept as a Part in a list: `_parts` holds its inline bytes (or
      its blob id), and `parts` builds the one-item list on access. Other versions keep their list of Parts.
    Stored versions are replaced (`replace()`), never edited."""

    __slots__ = ("_attrs", "_bin", "_checksum", "_etag", "_parts", "_sse", "key", "last_modified", "size",
                 "version_id")

    key: str
    version_id: str
    last_modified: float
    size: int

    def __init__(self, key: str, version_id: str, last_modified: float, owner_id: str, delete_marker: bool = False,
                 size: int = 0, etag: str = "", content_type: str = "binary/octet-stream",
                 headers: Mapping[str, str] = EMPTY, metadata: Mapping[str, str] = EMPTY,
                 storage_class: str = "STANDARD", checksum: Mapping[str, str] | None = None,
                 sse: Mapping[str, Any] = EMPTY, parts: list[Part] | None = None, multipart: bool = False,
                 tagging_count: int = 0, upload_id: str | None = None, single_part: bytes | str | None = None) -> None:
        """`single_part`: instead of `parts`, the inline bytes or the blob id of a single part that only repeats
        the version (part 1, the version's size, ETag, time and checksum), kept as _compact_parts keeps it."""
        self.key = key
        self.version_id = NULL_VERSION if version_id == NULL_VERSION else version_id
        self.last_modified = last_modified
        self.size = size
        self._attrs = _attrs(owner_id, delete_marker, content_type, headers, metadata, storage_class, multipart,
                             tagging_count, upload_id)
        self._pack(etag, sse, checksum)
        self._parts = single_part if single_part is not None else self._compact_parts(parts or [], etag)

    def _pack(self, etag: str, sse: Mapping[str, Any], checksum: Mapping[str, str] | None) -> None:
        """The ETag, SSE plan and checksum: their binary values in one bytes (`_bin`: the ETag's 16 bytes first
        when it is a plain MD5-shaped one, `_etag` None), the plans as shared records.pack() templates; what
        cannot be packed as a Record (and the ETag as text)."""
        out = bytearray()
        compact = _compact_etag(etag)
        if type(compact) is bytes:
            out += compact
            self._etag: str | None = None
        else:
            self._etag = etag
        self._sse: Mapping[str, Any] | Template = EMPTY
        if sse:
            size = len(out)
            template = pack(sse, self.key, out)
            if template is None:
                del out[size:]
                self._sse = freeze(sse, self.key) if type(sse) is dict else sse
            else:
                self._sse = template
        self._checksum: Mapping[str, str] | Template | None = None
        if checksum:
            size = len(out)
            template = pack(checksum, None, out)
            if template is None:
                del out[size:]
                self._checksum = freeze(checksum) if type(checksum) is dict else checksum
            else:
                self._checksum = template
        self._bin = bytes(out) if out else None

    @property
    def sse(self) -> Mapping[str, Any]:                     # EncryptionService plan.meta
        sse = self._sse
        if type(sse) is not Template:
            return sse  # type: ignore[return-value]
        global _last_sse
        last = _last_sse
        if last[0] is self:
            return last[1]  # type: ignore[no-any-return]
        record = sse.build(self._bin, self.key)
        _last_sse = (self, record)
        return record  # type: ignore[no-any-return]

    @property
    def checksum(self) -> Mapping[str, str] | None:         # {"algorithm", "value", "type"}
        checksum = self._checksum
        if type(checksum) is not Template:
            return checksum  # type: ignore[return-value]
        global _last_checksum
        last = _last_checksum
        if last[0] is self:
            return last[1]  # type: ignore[no-any-return]
        record = checksum.build(self._bin, None)
        _last_checksum = (self, record)
        return record  # type: ignore[no-any-return]

    def _compact_parts(self, parts: list[Part], etag: str) -> list[Part] | bytes | str | None:
        if not parts:
            return None
        if len(parts) == 1 and not self._attrs[6]:
            p = parts[0]
            if (p.number == 1 and p.size == self.size and p.etag == etag
                    and p.last_modified == self.last_modified and p.checksums == self._part_checksums()):
                if p.inline is not None:
                    if not p.blob:
                        return p.inline
                elif p.blob:
                    return p.blob
        for p in parts:       # equal values of the parts and the version: one object each
            if p.etag is not etag and p.etag == etag:
                p.etag = etag
            if p.size is not self.size and p.size == self.size:
                p.size = self.size
            if p.last_modified is not self.last_modified and p.last_modified == self.last_modified:
                p.last_modified = self.last_modified
        return list(parts)

    def _part_checksums(self) -> Mapping[str, str]:
        """The checksums of a single part that repeats the version: its algorithm and value."""
        checksum = self._checksum
        if type(checksum) is Template:
            make = _part_sums.get(checksum)
            if make is None:
                make = _part_sums[checksum] = _part_sums_maker(checksum)
            if make is not None:
                return make(self._bin)  # type: ignore[arg-type]
        checksum = self.checksum
        return freeze({checksum["algorithm"]: checksum["value"]}) if checksum else EMPTY

    @property
    def etag(self) -> str:                  # hex (or "<hex>-N"), no quotes
        etag = self._etag
        return self._bin[:16].hex() if etag is None else etag  # type: ignore[index]

    @property
    def parts(self) -> list[Part]:
        """Blobs in order; len > 1 or multipart=True for multipart objects. A fresh list for a single part kept
        compactly (the list is not the version's: editing it changes nothing)."""
        parts = self._parts
        if type(parts) is list:
            return parts
        if parts is None:
            return []
        part = object.__new__(Part)         # the fields as Part() would set them, without its checks (known good)
        part.number = 1
        part.size = self.size
        part.etag = self.etag
        part.checksums = self._part_checksums()
        part.last_modified = self.last_modified
        if type(parts) is bytes:
            part.blob, part.inline = "", parts
        else:
            part.blob, part.inline = parts, None  # type: ignore[assignment]
        return [part]

    def blob_ids(self) -> list[str]:
        """Ids of the blobs in the blob store this version uses (not its inline ones)."""
        parts = self._parts
        if type(parts) is list:
            return [p.blob for p in parts if p.blob]
        return [parts] if type(parts) is str else []

    @property
    def owner_id(self) -> str:
        return self._attrs[0]  # type: ignore[no-any-return]

    @property
    def delete_marker(self) -> bool:
        return self._attrs[1]  # type: ignore[no-any-return]

    @property
    def content_type(self) -> str:
        return self._attrs[2]  # type: ignore[no-any-return]

    @property
    def headers(self) -> Mapping[str, str]:        # stored entity headers (cache-control, ...)
        return self._attrs[3]  # type: ignore[no-any-return]

    @property
    def metadata(self) -> Mapping[str, str]:       # x-amz-meta-<name> -> value
        return self._attrs[4]  # type: ignore[no-any-return]

    @property
    def storage_class(self) -> str:
        return self._attrs[5]  # type: ignore[no-any-return]

    @property
    def multipart(self) -> bool:
        return self._attrs[6]  # type: ignore[no-any-return]

    @property
    def tagging_count(self) -> int:
        return self._attrs[7]  # type: ignore[no-any-return]

    @property
    def upload_id(self) -> str | None:             # CompleteMultipartUpload: the upload this version completed
        return self._attrs[8]  # type: ignore[no-any-return]

    def _fields(self) -> dict[str, Any]:
        """The fields in the dataclass's order (parts as Parts)."""
        return {"key": self.key, "version_id": self.version_id, "last_modified": self.last_modified,
                "owner_id": self.owner_id, "delete_marker": self.delete_marker, "size": self.size,
                "etag": self.etag, "content_type": self.content_type, "headers": self.headers,
                "metadata": self.metadata, "storage_class": self.storage_class, "checksum": self.checksum,
                "sse": self.sse, "parts": self.parts, "multipart": self.multipart,
                "tagging_count": self.tagging_count, "upload_id": self.upload_id}

    def replace(self, **changes: Any) -> ObjectVersion:
        """A copy with `changes` (as dataclasses.replace)."""
        return ObjectVersion(**{**self._fields(), **changes})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObjectVersion):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]    # unhashable, as the dataclass was

    def __repr__(self) -> str:
        return "ObjectVersion(" + ", ".join(f"{k}={v!r}" for k, v in self._fields().items()) + ")"

    def to_json(self) -> dict[str, Any]:
        """The dataclass's fields in its order, mappings as plain dicts, upload_id only when set. Read from the
        compact fields directly (a journal write per disk PUT): a single part kept compactly is written as its
        Part.to_json() would be, without building the Part."""
        attrs = self._attrs
        headers, metadata = attrs[3], attrs[4]
        checksum = thaw(self.checksum)
        parts = self._parts
        if type(parts) is list:
            part_list = [p.to_json() for p in parts]
        elif parts is None:
            part_list = []
        else:
            inline = type(parts) is bytes
            part_list = [{"number": 1, "blob": "" if inline else parts, "size": self.size, "etag": self.etag,
                          "checksums": {checksum["algorithm"]: checksum["value"]} if checksum else {},
                          "last_modified": self.last_modified,
                          "inline": base64.b64encode(parts).decode() if inline else None}]  # type: ignore[arg-type]
        data = {"key": self.key, "version_id": self.version_id, "last_modified": self.last_modified,
                "owner_id": attrs[0], "delete_marker": attrs[1], "size": self.size, "etag": self.etag,
                "content_type": attrs[2], "headers": thaw(headers) if headers else {},
                "metadata": thaw(metadata) if metadata else {}, "storage_class": attrs[5], "checksum": checksum,
                "sse": thaw(self.sse), "parts": part_list, "multipart": attrs[6], "tagging_count": attrs[7]}
        if attrs[8] is not None:
            data["upload_id"] = attrs[8]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObjectVersion:
        data = dict(data)
        data["parts"] = cls.shared_parts(data, data.get("parts", []), Part.from_json)
        return cls(**data)

    @staticmethod
    def shared_parts(data: dict[str, Any], parts: list[dict[str, Any]],
                     make: Callable[[dict[str, Any]], Part]) -> list[Part]:
        """Parts from their dicts, given the version's own objects for equal values (see _compact_parts) before
        they are frozen: loading a document costs no second pass."""
        checksum = data.get("checksum")
        algorithm = checksum.get("algorithm") if checksum and len(parts) == 1 else None
        etag, size, stamp = data.get("etag"), data.get("size"), data.get("last_modified")
        built = []
        for p in parts:
            p = dict(p)
            if p.get("etag") == etag:
                p["etag"] = etag
            if p.get("size") == size:
                p["size"] = size
            if p.get("last_modified") == stamp:
                p["last_modified"] = stamp
            if algorithm is not None and checksum is not None:
                sums = p.get("checksums")
                if sums and sums.get(algorithm) == checksum.get("value"):
                    p["checksums"] = {**sums, algorithm: checksum["value"]}
            built.append(make(p))
        return built


@dataclass
class Upload:
    upload_id: str
    bucket: str
    key: str
    initiated: float
    owner_id: str
    content_type: str = "binary/octet-stream"
    headers: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    metadata: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    storage_class: str = "STANDARD"
    checksum_algorithm: str | None = None
    checksum_type: str | None = None
    sse: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    tagging_count: int = 0
    parts: dict[int, Part] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = compact_mapping(self.headers)
        self.metadata = compact_mapping(self.metadata)
        self.sse = freeze(self.sse, self.key) if type(self.sse) is dict else self.sse or EMPTY

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["headers"] = thaw(self.headers)
        data["metadata"] = thaw(self.metadata)
        data["sse"] = thaw(self.sse)
        data["parts"] = [p.to_json() for p in self.parts.values()]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Upload:
        data = dict(data)
        data["parts"] = {p["number"]: Part.from_json(p) for p in data.get("parts", [])}
        return cls(**data)


class BlobWriter(Protocol):
    """Receives the stored (encrypted) bytes of one blob. Blocking: call from a worker thread.
    After commit(), `inline` holds the bytes when the store keeps this blob in the metadata instead."""
    blob_id: str
    inline: bytes | None

    def write(self, data: bytes | memoryview) -> None: ...   # must not keep a reference to `data`
    def commit(self) -> None: ...            # durable once this returns
    def abort(self) -> None: ...


class BlobReader(Protocol):
    def read(self, offset: int, length: int) -> bytes: ...
    def readinto(self, offset: int, view: memoryview) -> int: ...   # fewer than len(view) only at the end
    def close(self) -> None: ...


class InlineReader:
    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, offset: int, length: int) -> bytes:
        return self._data[offset:offset + length]

    def readinto(self, offset: int, view: memoryview) -> int:
        piece = memoryview(self._data)[offset:offset + len(view)]
        view[:len(piece)] = piece
        return len(piece)

    def close(self) -> None:
        return None


class BlobStore(Protocol):
    def writer(self) -> BlobWriter: ...
    def reader(self, blob_id: str) -> BlobReader: ...
    def delete(self, blob_id: str) -> None: ...
    def existing(self) -> set[str]: ...


class Journal(Protocol):
    """Durable record of the index (disk backend). Each call writes the object's current state."""

    async def save_bucket(self, bucket: Bucket) -> None: ...
    async def delete_bucket(self, name: str) -> None: ...
    async def save_key(self, bucket: str, key: str, versions: list[ObjectVersion]) -> None: ...
    async def save_upload(self, upload: Upload) -> None: ...
    async def save_part(self, upload: Upload, number: int) -> None: ...   # the part's current state (or absence)
    async def delete_upload(self, upload_id: str) -> None: ...
    def forget_uploads(self, upload_ids: list[str]) -> None: ...
    def load(self) -> tuple[list[Bucket], list[tuple[str, str, list[ObjectVersion]]], list[Upload]]: ...
    async def flush(self) -> None: ...


class NoJournal:
    """Memory backend: nothing to write down."""

    async def save_bucket(self, bucket: Bucket) -> None:
        return None

    async def delete_bucket(self, name: str) -> None:
        return None

    async def save_key(self, bucket: str, key: str, versions: list[ObjectVersion]) -> None:
        return None

    async def save_upload(self, upload: Upload) -> None:
        return None

    async def save_part(self, upload: Upload, number: int) -> None:
        return None

    async def delete_upload(self, upload_id: str) -> None:
        return None

    def forget_uploads(self, upload_ids: list[str]) -> None:
        return None

    def load(self) -> tuple[list[Bucket], list[tuple[str, str, list[ObjectVersion]]], list[Upload]]:
        return [], [], []

    async def flush(self) -> None:
        return None


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None: no such string, every
    string from `prefix` on starts with it). Lets a listing jump over a common prefix in one bisect."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            return prefix[:-1] + chr(last + 1)
        prefix = prefix[:-1]
    return None


class Versions(Mapping[str, list["ObjectVersion"]]):
    """A bucket's keys -> their versions, newest first (BucketIndex.versions): a read-only view of the index's
    entries, where a key with one version holds that version itself, not a one-item list (memory per stored
    object); its list is made on access."""

    __slots__ = ("_entries",)

    def __init__(self, entries: dict[str, ObjectVersion | list[ObjectVersion]]) -> None:
        self._entries = entries

    def __getitem__(self, key: str) -> list[ObjectVersion]:
        entry = self._entries[key]
        return entry if type(entry) is list else [entry]  # type: ignore[list-item]

    def get(self, key: str, default: Any = None) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return default
        return entry if type(entry) is list else [entry]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class BucketIndex:
    """Keys of one bucket: versions newest first, plus a sorted key list for listings (kept sorted by bisect:
    a listing page seeks in O(log n) and never scans or sorts the bucket). `entries` maps a key to its only
    version, or to the list of its versions when it has more than one; `versions` is the view that always gives
    lists."""

    __slots__ = ("entries", "sorted_keys", "versions")

    def __init__(self) -> None:
        self.entries: dict[str, ObjectVersion | list[ObjectVersion]] = {}
        self.versions = Versions(self.entries)
        self.sorted_keys: list[str] = []

    def latest(self, key: str) -> ObjectVersion | None:
        entry = self.entries.get(key)
        if type(entry) is list:
            return entry[0]
        return entry  # type: ignore[return-value]

    def all_versions(self) -> Iterator[ObjectVersion]:
        for entry in self.entries.values():
            if type(entry) is list:
                yield from entry
            else:
                yield entry  # type: ignore[misc]

    def set(self, key: str, versions: list[ObjectVersion]) -> None:
        if versions:
            if key not in self.entries:
                keys = self.sorted_keys
                if not keys or keys[-1] < key:
                    keys.append(key)          # ascending writes (and loading) append without a search
                else:
                    bisect.insort(keys, key)
            self.entries[key] = versions[0] if len(versions) == 1 else list(versions)
        elif key in self.entries:
            del self.entries[key]
            i = bisect.bisect_left(self.sorted_keys, key)
            if i < len(self.sorted_keys) and self.sorted_keys[i] == key:
                del self.sorted_keys[i]

    def load(self, entries: list[tuple[str, list[ObjectVersion]]]) -> None:
        """Bulk insert at start-up: one sort instead of an insort per key."""
        for key, versions in entries:
            if versions:
                self.entries[key] = versions[0] if len(versions) == 1 else versions
        self.sorted_keys = sorted(self.entries)

    def position(self, prefix: str, after: str | None) -> int:
        """Index in sorted_keys of the first key >= prefix and > after."""
        if after is None or after < prefix:
            return bisect.bisect_left(self.sorted_keys, prefix)
        return bisect.bisect_right(self.sorted_keys, after)

    def skip_prefix(self, common: str, i: int) -> int:
        """Index of the first key from `i` on that does not start with `common`."""
        end = prefix_end(common)
        return len(self.sorted_keys) if end is None else bisect.bisect_left(self.sorted_keys, end, i)

    def keys_from(self, prefix: str, after: str | None) -> Iterator[str]:
        """Sorted keys starting with prefix, strictly after `after`."""
        keys = self.sorted_keys
        i = self.position(prefix, after)
        while i < len(keys):
            k = keys[i]
            i += 1
            if not k.startswith(prefix):
                return
            yield k


class Storage:
    """The index plus a blob store and a journal. All mutating methods are coroutines run on the loop."""

    def __init__(self, blobs: BlobStore, journal: Journal | None = None) -> None:
        self.blobs = blobs
        self.journal: Journal = journal or NoJournal()
        # A journal that writes a key's record at once (disk without fsync) as a plain call: put_version needs no
        # coroutine for it. Queued journals (fsync) are awaited.
        self._write_key_now: Callable[[str, str, list[ObjectVersion]], None] | None = (
            None if getattr(self.journal, "queued", True) else getattr(self.journal, "write_key", None))
        self.buckets: dict[str, Bucket] = {}
        self.index: dict[str, BucketIndex] = {}
        self.uploads: dict[str, Upload] = {}
        # upload id -> (bucket, key, version id, ETag) of completed uploads: a repeated Complete answers as the first did
        self.completed_uploads: dict[str, tuple[str, str, str, str]] = {}
        self._readers: dict[str, int] = {}
        self._doomed: set[str] = set()
        self._load()
        self.annotations = AnnotationStore(self)     # after the versions they belong to

    def _load(self) -> None:
        buckets, keys, uploads = self.journal.load()
        for b in buckets:
            self.buckets[b.name] = b
            self.index[b.name] = BucketIndex()
        per_bucket: dict[str, list[tuple[str, list[ObjectVersion]]]] = {}
        for bucket, key, versions in keys:
            if bucket in self.index:
                per_bucket.setdefault(bucket, []).append((key, versions))
        for bucket, entries in per_bucket.items():
            self.index[bucket].load(entries)
        for u in uploads:
            if u.bucket in self.buckets:
                self.uploads[u.upload_id] = u
        self._settle_completions()
        # Blobs no metadata refers to are leftovers of writes interrupted before their commit.
        referenced = {b for idx in self.index.values() for v in idx.all_versions() for b in v.blob_ids()}
        referenced |= {p.blob for u in self.uploads.values() for p in u.parts.values()}
        for blob in self.blobs.existing() - referenced:
            self.blobs.delete(blob)

    def _settle_completions(self) -> None:
        """CompleteMultipartUpload commits when the object version naming its upload is down; removing the upload
        record follows. A kill -9 between the two leaves both: the upload is finished here, its record removed
        (and its part blobs the object does not use are freed by the sweep after this), and a repeated Complete is
        answered as the first was, across restarts too."""
        stale = []
        for bucket, idx in self.index.items():
            for v in idx.all_versions():
                if v.upload_id is None:
                    continue
                self.completed_uploads[v.upload_id] = (bucket, v.key, v.version_id, v.etag)
                if v.upload_id in self.uploads:
                    stale.append(v.upload_id)
        for upload_id in stale:
            del self.uploads[upload_id]
        if stale:
            log.warning("finished %d multipart upload(s) completed before an interrupted shutdown", len(stale))
            self.journal.forget_uploads(stale)

    async def _persist(self, what: str, write: Awaitable[None], undo: Callable[[], None]) -> None:
        """A metadata write; on failure (full disk, I/O error) the in-memory change is undone with `undo` (nothing
        failed becomes visible) and the client gets InternalError, logged in one line."""
        try:
            await write
        except OSError as error:
            undo()
            raise storage_failure(what, error) from None

    # ----- buckets -----
    def get_bucket(self, name: str) -> Bucket | None:
        return self.buckets.get(name)

    async def save_bucket(self, bucket: Bucket) -> None:
        previous = self.buckets.get(bucket.name)
        if previous is None:
            self.index[bucket.name] = BucketIndex()
        self.buckets[bucket.name] = bucket

        def undo() -> None:
            if self.buckets.get(bucket.name) is not bucket:
                return
            if previous is not None:
                self.buckets[bucket.name] = previous
            elif not self.index[bucket.name].entries:
                del self.buckets[bucket.name]
                del self.index[bucket.name]

        await self._persist("bucket", self.journal.save_bucket(bucket), undo)

    def bucket_is_empty(self, name: str) -> bool:
        return not self.index[name].entries

    async def delete_bucket(self, name: str) -> None:
        for upload in [u for u in self.uploads.values() if u.bucket == name]:
            await self.delete_upload(upload.upload_id)
        bucket = self.buckets.pop(name, None)
        index = self.index.pop(name, None)

        def undo() -> None:
            if bucket is not None and index is not None and name not in self.buckets:
                self.buckets[name] = bucket
                self.index[name] = index

        await self._persist("bucket", self.journal.delete_bucket(name), undo)

    # ----- objects -----
    def versions(self, bucket: str, key: str) -> list[ObjectVersion]:
        return self.index[bucket].versions.get(key, [])

    def latest(self, bucket: str, key: str) -> ObjectVersion | None:
        return self.index[bucket].latest(key)

    def get_version(self, bucket: str, key: str, version_id: str) -> ObjectVersion | None:
        for v in self.index[bucket].versions.get(key, ()):
            if v.version_id == version_id:
                return v
        return None

    async def put_version(self, bucket: str, version: ObjectVersion, owns_blobs: bool = True) -> None:
        """Make `version` the newest; a "null" version replaces the previous null version (whose blobs are freed
        once the metadata change is durable). If this fails, the version's blobs are freed when `owns_blobs` (a new
        body); CompleteMultipartUpload passes False: they still belong to the upload."""
        idx = self.index.get(bucket)
        if idx is None:      # the bucket was deleted while this write streamed its body
            if owns_blobs:
                self.free_blobs(version.blob_ids())
            raise no_such_bucket(bucket)
        current = idx.versions.get(version.key, [])
        replaced = [v for v in current if v.version_id == version.version_id]
        versions = [version] + [v for v in current if v.version_id != version.version_id]
        idx.set(version.key, versions)
        if type(self.journal) is NoJournal:     # memory: nothing written down, nothing can fail (no coroutines)
            self._after_put(bucket, replaced)
            for v in replaced:
                if self.annotations.has_version(bucket, v.key, v.version_id):
                    await self.annotations.drop_version(bucket, v.key, v.version_id)
            return

        def undo() -> None:
            now_versions = [v for v in idx.versions.get(version.key, []) if v is not version]
            ids = {v.version_id for v in now_versions}
            back = [v for v in replaced if v.version_id not in ids]
            idx.set(version.key, back + now_versions)

        write_now = self._write_key_now
        try:
            if write_now is not None:
                try:
                    write_now(bucket, version.key, versions)
                except OSError as error:
                    undo()
                    raise storage_failure("object", error) from None
            else:
                await self._persist("object", self.journal.save_key(bucket, version.key, versions), undo)
        except S3Error:
            await self._free_failed(version.blob_ids() if owns_blobs else [],
                                    lambda: self.journal.save_key(bucket, version.key, idx.versions.get(version.key, [])))
            raise
        self._after_put(bucket, replaced)
        for v in replaced:                  # a null version overwritten: its annotations went with it
            if self.annotations.has_version(bucket, v.key, v.version_id):
                await self.annotations.drop_version(bucket, v.key, v.version_id)

    def _after_put(self, bucket: str, replaced: list[ObjectVersion]) -> None:
        """put_version once the change is written down: the replaced versions' blobs are freed."""
        crashpoints.crash_at("version.saved")
        self.free_blobs([b for v in replaced for b in v.blob_ids()])

    async def replace_version(self, bucket: str, version: ObjectVersion) -> None:
        """Put `version` in the place of the stored version with its id (same blobs, new metadata: e.g.
        UpdateObjectEncryption's re-wrapped key); the order of versions does not change."""
        idx = self.index[bucket]
        current = idx.versions.get(version.key, [])
        versions = [version if v.version_id == version.version_id else v for v in current]
        idx.set(version.key, versions)

        def undo() -> None:
            now = idx.versions.get(version.key, [])
            if any(v is version for v in now):
                idx.set(version.key, [next((o for o in current if o.version_id == v.version_id), v)
                                      if v is version else v for v in now])

        await self._persist("object", self.journal.save_key(bucket, version.key, versions), undo)

    async def _free_failed(self, blobs: list[str], rewrite: Callable[[], Awaitable[None]]) -> None:
        """Frees the blobs of a write whose metadata write failed. Unqueued journals (memory; disk without fsync:
        each write is done before the next starts) left the document as it was. A queued journal (fsync) may
        have a later write of the same document, serialised with the failed change, still to come: the document is
        written once more from the restored state first, and if that fails too, the blobs stay (the sweep at the
        next start frees blobs no metadata names)."""
        if getattr(self.journal, "queued", False):
            try:
                await rewrite()
            except OSError:
                return
        self.free_blobs(blobs)

    async def delete_version(self, bucket: str, key: str, version_id: str) -> ObjectVersion | None:
        idx = self.index[bucket]
        current = idx.versions.get(key, [])
        removed = next((v for v in current if v.version_id == version_id), None)
        if removed is None:
            return None
        versions = [v for v in current if v.version_id != version_id]
        idx.set(key, versions)

        def undo() -> None:
            now_versions = idx.versions.get(key, [])
            if all(v.version_id != version_id for v in now_versions):
                position = current.index(removed)
                idx.set(key, now_versions[:position] + [removed] + now_versions[position:])

        await self._persist("object", self.journal.save_key(bucket, key, versions), undo)
        self.free_blobs(removed.blob_ids())
        await self.annotations.drop_version(bucket, key, version_id)
        return removed

    def keys_from(self, bucket: str, prefix: str, after: str | None) -> Iterator[str]:
        return self.index[bucket].keys_from(prefix, after)

    # ----- uploads -----
    async def save_upload(self, upload: Upload) -> None:
        previous = self.uploads.get(upload.upload_id)
        self.uploads[upload.upload_id] = upload

        def undo() -> None:
            if self.uploads.get(upload.upload_id) is upload:
                if previous is None:
                    del self.uploads[upload.upload_id]
                else:
                    self.uploads[upload.upload_id] = previous

        await self._persist("upload", self.journal.save_upload(upload), undo)

    async def put_part(self, upload: Upload, part: Part) -> None:
        """Make `part` the upload's part of its number; the blob it replaces is freed once that is durable. On a
        failed write the previous part stays and the new blob is freed."""
        old = upload.parts.get(part.number)
        upload.parts[part.number] = part

        def undo() -> None:
            if upload.parts.get(part.number) is part:
                if old is None:
                    del upload.parts[part.number]
                else:
                    upload.parts[part.number] = old

        try:
            await self._persist("upload", self.journal.save_part(upload, part.number), undo)
        except S3Error:
            async def rewrite() -> None:
                if self.uploads.get(upload.upload_id) is upload:       # not aborted or completed meanwhile
                    await self.journal.save_part(upload, part.number)

            await self._free_failed([part.blob], rewrite)
            raise
        crashpoints.crash_at("upload.saved")
        if old is not None:
            self.free_blobs([old.blob])

    async def delete_upload(self, upload_id: str, free_parts: bool = True) -> None:
        upload = self.uploads.pop(upload_id, None)

        def undo() -> None:
            if upload is not None and upload_id not in self.uploads:
                self.uploads[upload_id] = upload

        await self._persist("upload", self.journal.delete_upload(upload_id), undo)
        if upload is not None and free_parts:
            # Never a blob an object version uses (completion hands an upload's parts to its object).
            idx = self.index.get(upload.bucket)
            owned = {b for v in (idx.versions.get(upload.key, []) if idx is not None else []) for b in v.blob_ids()}
            self.free_blobs([p.blob for p in upload.parts.values() if p.blob not in owned])

    # ----- blobs -----
    def new_blob(self) -> BlobWriter:
        return self.blobs.writer()

    def reader(self, part: Part) -> BlobReader:
        if part.inline is not None:
            return InlineReader(part.inline)
        return self.blobs.reader(part.blob)

    @staticmethod
    def stored_part(writer: BlobWriter, number: int, size: int, etag: str, checksums: Mapping[str, str],
                    last_modified: float) -> Part:
        """The Part record of a committed blob (inline or in the blob store)."""
        if writer.inline is not None:
            return Part(number, "", size, etag, checksums, last_modified, writer.inline)
        return Part(number, writer.blob_id, size, etag, checksums, last_modified)

    def acquire(self, blob_ids: list[str]) -> None:
        """Keep blobs alive while a response streams them (a concurrent overwrite frees them later)."""
        for b in blob_ids:
            if b:
                self._readers[b] = self._readers.get(b, 0) + 1

    def release(self, blob_ids: list[str]) -> None:
        for b in blob_ids:
            if not b:
                continue
            n = self._readers.get(b, 0) - 1
            if n > 0:
                self._readers[b] = n
                continue
            self._readers.pop(b, None)
            if b in self._doomed:
                self._doomed.discard(b)
                self.blobs.delete(b)

    def free_blobs(self, blob_ids: list[str]) -> None:
        for b in blob_ids:
            if not b:
                continue            # inline blob: gone with its metadata
            if self._readers.get(b):
                self._doomed.add(b)
            else:
                self.blobs.delete(b)

    async def flush(self) -> None:
        await self.journal.flush()

    def close(self) -> None:
        """At a clean shutdown, after flush(): a disk journal writes its index cache (a faster next start)."""
        write_cache = getattr(self.journal, "write_cache", None)
        if write_cache is not None:
            write_cache((bucket, key, versions) for bucket, idx in self.index.items()
                        for key, versions in idx.versions.items())


def now() -> float:
    return time.time()


def storage_failure(what: str, error: OSError) -> S3Error:
    """A storage write that failed (full disk, I/O error): one log line, no traceback, and S3's InternalError
    for the client."""
    name = errno.errorcode.get(error.errno or 0, "") if error.errno else ""
    log.error("storage write failed (%s): %s%s", what, f"{name} " if name else "", error.strerror or error)
    return internal_error()
