"""Deterministic crash injection for the durability tests: S3C_MOCK_CRASH_AT=<step> makes the server process
exit at once (os._exit(137), as a kill -9 would leave it) the first time the write path reaches that step.
Unset (the normal case) every hook is one comparison against None.

Every step, in the order a write reaches them (the one place they are listed; tests iterate over STEPS):
"""
from __future__ import annotations

import os

CRASH_ENV = "S3C_MOCK_CRASH_AT"
CRASH_STATUS = 137

STEPS: dict[str, str] = {
    # blob store (datapath: PutObject, CopyObject, UploadPart, UploadPartCopy; bodies over the inline limit)
    "blob.partial": "part of a blob's bytes are in its file; the blob is not committed",
    "blob.committed": "the blob file is complete (fsynced in fsync mode); no metadata names it yet",
    # metadata journal (<kind>: key = an object key's versions, upload = a multipart upload, bucket)
    "meta.key.partial": "a batch of key log records (a key's new document) is cut short (torn write)",
    "meta.key.written": "a batch of key log records is complete (fsynced in fsync mode); not yet acknowledged, "
                        "a key document of an earlier version not yet removed",
    "meta.upload.partial": "a new generation of an upload's document is cut short (torn write)",
    "meta.upload.written": "an upload's new document is complete; its previous generation is not yet removed",
    "meta.upload.removed": "an upload's document is removed (CompleteMultipartUpload, AbortMultipartUpload)",
    "meta.annotation.partial": "a new generation of an object annotation's document is cut short (torn write)",
    "meta.annotation.written": "an annotation's new document is complete; its previous generation is not yet removed",
    "meta.annotation.removed": "an annotation's document is removed (DeleteObjectAnnotation, its version deleted)",
    # key log compaction (storage/keylog.py), a step after a key write once the log holds mostly dead records
    "meta.compact.partial": "compaction: live records copied from the oldest segment are cut short (torn write)",
    "meta.compact.copied": "compaction: every live record of the oldest segment is copied (durable in fsync mode); "
                           "the segment is not yet removed",
    "meta.compact.removed": "compaction: the compacted segment is removed",
    # storage index (after the metadata is down, before what follows it)
    "version.saved": "an object version is durable; the blobs it replaced are not yet freed "
                     "(CompleteMultipartUpload: the upload record is not yet removed)",
    "upload.saved": "an upload's new part is durable; the part blob it replaced is not yet freed",
    "complete.upload-removed": "CompleteMultipartUpload: object and upload removal durable; unused parts not freed",
}

# Which steps each write operation passes through (with a body over the inline limit, replacing existing data).
OPERATION_STEPS: dict[str, tuple[str, ...]] = {
    "PutObject": ("blob.partial", "blob.committed", "meta.key.partial", "meta.key.written", "version.saved"),
    "CopyObject": ("blob.partial", "blob.committed", "meta.key.partial", "meta.key.written", "version.saved"),
    "UploadPart": ("blob.partial", "blob.committed", "meta.upload.partial", "meta.upload.written", "upload.saved"),
    "CompleteMultipartUpload": ("meta.key.partial", "meta.key.written", "version.saved", "meta.upload.removed",
                                "complete.upload-removed"),
}

_armed: str | None = os.environ.get(CRASH_ENV) or None
if _armed is not None and _armed not in STEPS:
    raise RuntimeError(f"{CRASH_ENV}={_armed!r} names no crash step; steps: {', '.join(STEPS)}")


def arm(step: str | None) -> None:
    """Arms `step` in this process (a forked test server; the environment is read once, at import)."""
    global _armed
    if step is not None and step not in STEPS:
        raise ValueError(f"no crash step {step!r}")
    _armed = step


def armed(step: str) -> bool:
    """True when the process is to die at `step` (for steps that first leave a torn write behind)."""
    return _armed is not None and _armed == step


def armed_any() -> bool:
    """True when a step is armed (a hot path then takes its slower way, with every hook)."""
    return _armed is not None


def crash_at(step: str) -> None:
    if _armed is not None and _armed == step:
        os._exit(CRASH_STATUS)
