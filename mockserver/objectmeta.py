"""What a write request sets on an object and what a read answers about it: key and metadata limits, Content-Type,
entity headers, user metadata, storage class, tag count; the headers of GET/HEAD and the checksum headers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.errors import invalid_storage_class, key_too_long, metadata_too_large, missing_content_length
from mockserver.httpdates import http_date
from mockserver.storage.base import Bucket, ObjectVersion

if TYPE_CHECKING:
    from mockserver.http import RequestContext

MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048
ENTITY_HEADERS = ("cache-control", "content-disposition", "content-encoding", "content-language", "expires",
                  "x-amz-website-redirect-location")
STORAGE_CLASSES = frozenset({"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
                             "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE"})
META_PREFIX = "x-amz-meta-"


def require_content_length(ctx: RequestContext) -> None:
    """PutObject / UploadPart bodies must announce their length (AWS: 411 MissingContentLength)."""
    if "content-length" not in ctx.headers and "transfer-encoding" not in ctx.headers:
        raise missing_content_length()


def check_key(key: str) -> None:
    if len(key) * 4 <= MAX_KEY_BYTES:   # a code point is at most 4 bytes in UTF-8 (3 for a lone surrogate)
        return
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise key_too_long(size, MAX_KEY_BYTES)


def quoted(etag: str) -> str:
    return f'"{etag}"'


def object_attributes(headers: dict[str, str]) -> dict[str, Any]:
    """Content-Type, entity headers, user metadata, storage class and tag count a write request sets."""
    metadata: dict[str, str] = {}
    size = 0
    for name, value in headers.items():
        if name.startswith(META_PREFIX):
            short = name[len(META_PREFIX):]
            metadata[short] = value
            size += len(short) + len(value)
    if size > MAX_METADATA_BYTES:
        raise metadata_too_large(size, MAX_METADATA_BYTES)
    entity = {}
    for name in ENTITY_HEADERS:         # (a loop: a comprehension is a function call of its own)
        if name in headers:
            entity[name] = headers[name]
    encoding = entity.get("content-encoding")
    if encoding is not None:
        # aws-chunked is transfer framing, not part of the stored object's encoding.
        # The rest is kept as sent: botocore appends ",aws-chunked" to "deflate, gzip" and the object keeps
        # "deflate, gzip" (ceph/s3-tests test_object_content_encoding_aws_chunked, not fails_on_aws).
        kept = ",".join(e for e in encoding.split(",") if e.strip() and e.strip().lower() != "aws-chunked").strip()
        if kept:
            entity["content-encoding"] = kept
        else:
            del entity["content-encoding"]
    storage_class = headers.get("x-amz-storage-class", "STANDARD")
    if storage_class not in STORAGE_CLASSES:
        raise invalid_storage_class(storage_class)
    tagging = headers.get("x-amz-tagging")
    tag_count = len([t for t in tagging.split("&") if t]) if tagging else 0
    return {"content_type": headers.get("content-type") or "binary/octet-stream", "headers": entity,
            "metadata": metadata, "storage_class": storage_class, "tagging_count": tag_count}


def object_response_headers(bucket: Bucket, version: ObjectVersion, sse_headers: dict[str, str]) -> dict[str, str]:
    """GET/HEAD headers describing a stored version (without Content-Length / Content-Range)."""
    h = {"last-modified": http_date(version.last_modified), "etag": quoted(version.etag),
         "content-type": version.content_type, "accept-ranges": "bytes"}
    headers = version.headers
    if headers:                         # (most objects have none: no update() of an empty read-only mapping)
        h.update(headers)
    metadata = version.metadata
    if metadata:
        for name, value in metadata.items():
            h[META_PREFIX + name] = value
    if version.storage_class != "STANDARD":
        h["x-amz-storage-class"] = version.storage_class
    if version.tagging_count:
        h["x-amz-tagging-count"] = str(version.tagging_count)
    if bucket.versioning is not None:
        h["x-amz-version-id"] = version.version_id
    h.update(sse_headers)
    return h


def checksum_headers(version: ObjectVersion) -> dict[str, str]:
    checksum = version.checksum
    if not checksum:
        return {}
    return {f"x-amz-checksum-{checksum['algorithm']}": checksum["value"], "x-amz-checksum-type": checksum["type"]}
