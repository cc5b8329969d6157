"""Object annotations (PutObjectAnnotation & co., botocore 1.44, 2026): named payloads of one object version.

An annotation belongs to one object version (bucket, key, version id). The parent is identified by a stamp
(its last-modified time and ETag) as well, so that an overwritten "null" version (same id, new object) does not
inherit the annotations of the one it replaced: an annotation whose stamp no longer matches is gone.

At rest an annotation is ciphertext (AES-256-GCM, the object body format of crypto.gcm_stream) under a data key of
its own, wrapped as a write of the parent's encryption would wrap it (handlers/annotations.py makes the plan); the
record keeps that plan's meta. Persisted with --data-dir as one journal document per annotation (DiskJournal's
"annotation" kind: written and removed like key documents, crash-safe the same way); a restart keeps them, and
documents of versions that no longer exist (a kill -9 between deleting a version and removing its annotations)
are removed at load. Deleting a version (Storage.delete_version, or a null version replaced by put_version)
removes its annotations.
"""
from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("mockserver")

VersionRef = tuple[str, str, str]        # bucket, key, version id


class ObjectVersion(Protocol):
    """What the store reads of storage.base.ObjectVersion (not imported: base imports this module)."""
    @property
    def last_modified(self) -> float: ...
    @property
    def etag(self) -> str: ...
    @property
    def delete_marker(self) -> bool: ...


class Storage(Protocol):
    """What the store uses of storage.base.Storage."""
    @property
    def journal(self) -> Any: ...
    @property
    def index(self) -> Mapping[str, Any]: ...

    def get_version(self, bucket: str, key: str, version_id: str) -> Any: ...


def parent_stamp(version: ObjectVersion) -> str:
    """What tells one object version from another stored later under the same version id ("null")."""
    return f"{version.last_modified!r}/{version.etag}"


@dataclass(frozen=True, slots=True)
class Annotation:
    name: str
    size: int                       # plaintext bytes
    etag: str                       # hex MD5 of the payload, unquoted
    last_modified: float
    checksum_algorithm: str         # lower case (checksums.ALGORITHMS)
    checksum: str                   # base64 value of that algorithm over the payload
    sse: Mapping[str, Any]          # EncryptionService plan meta of the annotation's own data key
    ciphertext: bytes
    parent: str                     # parent_stamp of the version it belongs to

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "etag": self.etag, "last_modified": self.last_modified,
                "checksum_algorithm": self.checksum_algorithm, "checksum": self.checksum, "sse": dict(self.sse),
                "ciphertext": base64.b64encode(self.ciphertext).decode(), "parent": self.parent}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Annotation:
        return cls(data["name"], int(data["size"]), data["etag"], float(data["last_modified"]),
                   data["checksum_algorithm"], data["checksum"], data["sse"],
                   base64.b64decode(data["ciphertext"]), data["parent"])


class AnnotationStore:
    """The annotations of every object version, in memory, written through the storage's journal when it has
    annotation documents (the disk journal); names are kept sorted per version on listing."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._by_version: dict[VersionRef, dict[str, Annotation]] = {}
        self._load()

    # ----- journal -----
    def _journal_save(self) -> Callable[..., Any] | None:
        return getattr(self._storage.journal, "save_annotation", None)

    def _load(self) -> None:
        load = getattr(self._storage.journal, "load_annotations", None)
        if load is None:
            return
        for document in load(self._belongs):
            ref = (document["bucket"], document["key"], document["version_id"])
            annotation = Annotation.from_json(document["annotation"])
            self._by_version.setdefault(ref, {})[annotation.name] = annotation

    def _belongs(self, document: Mapping[str, Any]) -> bool:
        """At load: whether a stored annotation's object version still exists (else its document is removed)."""
        try:
            bucket, key, version_id = document["bucket"], document["key"], document["version_id"]
            stamp = document["annotation"]["parent"]
        except (KeyError, TypeError):
            return False
        if bucket not in self._storage.index:
            return False
        version = self._storage.get_version(bucket, key, version_id)
        return version is not None and not version.delete_marker and parent_stamp(version) == stamp

    async def _write(self, ref: VersionRef, name: str, annotation: Annotation | None) -> None:
        save = self._journal_save()
        if save is None:
            return
        document = None if annotation is None else {"bucket": ref[0], "key": ref[1], "version_id": ref[2],
                                                     "annotation": annotation.to_json()}
        await save(ref[0], ref[1], ref[2], name, document)

    # ----- reads -----
    def of(self, version_ref: VersionRef, version: ObjectVersion) -> dict[str, Annotation]:
        """The annotations of `version` (stored under `version_ref`), name -> annotation; ones of a previous
        version stored under the same id are not returned."""
        found = self._by_version.get(version_ref)
        if not found:
            return {}
        stamp = parent_stamp(version)
        return {n: a for n, a in found.items() if a.parent == stamp}

    def sorted_names(self, version_ref: VersionRef, version: ObjectVersion, prefix: str, after: str | None
                     ) -> Iterator[Annotation]:
        """Annotations in name order (UTF-8 byte order, as S3 lists keys), names starting with `prefix`, after
        `after`."""
        current = self.of(version_ref, version)
        for name in sorted(current, key=lambda n: n.encode("utf-8", "surrogatepass")):
            if not name.startswith(prefix):
                continue
            if after is not None and name.encode("utf-8", "surrogatepass") <= after.encode("utf-8", "surrogatepass"):
                continue
            yield current[name]

    # ----- writes -----
    async def put(self, version_ref: VersionRef, annotation: Annotation) -> None:
        """Create or overwrite; on a failed journal write the previous state is restored and OSError raised."""
        # Annotations of a previous object stored under this version id are dropped first.
        for stale in [n for n, a in self._by_version.get(version_ref, {}).items() if a.parent != annotation.parent]:
            await self.delete(version_ref, stale)
        current = self._by_version.setdefault(version_ref, {})
        previous = current.get(annotation.name)
        current[annotation.name] = annotation
        try:
            await self._write(version_ref, annotation.name, annotation)
        except OSError:
            if current.get(annotation.name) is annotation:
                if previous is None:
                    del current[annotation.name]
                else:
                    current[annotation.name] = previous
            raise

    async def delete(self, version_ref: VersionRef, name: str) -> Annotation | None:
        current = self._by_version.get(version_ref)
        if not current or name not in current:
            return None
        removed = current.pop(name)
        if not current:
            del self._by_version[version_ref]
        try:
            await self._write(version_ref, name, None)
        except OSError:
            self._by_version.setdefault(version_ref, {}).setdefault(name, removed)
            raise
        return removed

    def has_version(self, bucket: str, key: str, version_id: str) -> bool:
        """Whether the object version has annotations (drop_version has work to do)."""
        return (bucket, key, version_id) in self._by_version

    async def drop_version(self, bucket: str, key: str, version_id: str) -> None:
        """The object version is gone: its annotations go with it. A failed removal is logged (the version is
        already deleted; the next start removes documents of versions that do not exist)."""
        ref = (bucket, key, version_id)
        for name in list(self._by_version.get(ref, {})):
            try:
                await self.delete(ref, name)
            except OSError as error:
                self._by_version.get(ref, {}).pop(name, None)
                log.error("could not remove an annotation of a deleted object version: %s", error)
        self._by_version.pop(ref, None)
