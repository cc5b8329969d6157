"""Helpers shared by the operation handlers: bucket access, stored object headers, dates, SSE plumbing."""
from __future__ import annotations

import functools
import time
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from mockserver.errors import (
    S3Error,
    access_denied,
    invalid_argument,
    method_not_allowed,
    no_such_bucket,
    no_such_key,
    no_such_version,
)
from mockserver.numbers import INT32_MAX, parse_signed
from mockserver.sse.config import BucketEncryption
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
SSE_REQUEST_PREFIXES = ("x-amz-server-side-encryption", "x-amz-server-side-encryption-customer-")


def require_bucket(ctx: RequestContext, *, owner_only: bool = True) -> Bucket:
    """The request's bucket, checked for existence, x-amz-expected-bucket-owner and ownership (no bucket
    policies in the mock: only the owner account may use a bucket)."""
    assert ctx.bucket is not None
    bucket = ctx.state.storage.get_bucket(ctx.bucket)
    if bucket is None:
        raise no_such_bucket(ctx.bucket)
    expected = ctx.headers.get("x-amz-expected-bucket-owner")
    if expected is not None and expected != bucket.owner_id:
        raise access_denied()
    if owner_only and (ctx.account is None or ctx.account.account_id != bucket.owner_id):
        raise access_denied()
    return bucket


def requester(ctx: RequestContext) -> str:
    """Account id of the authenticated requester (handlers call it after require_bucket's owner check)."""
    if ctx.account is None:
        raise access_denied()
    return ctx.account.account_id


def signature_version(ctx: RequestContext) -> int:
    """SigV2 / SigV4 of the request, as the encryption service wants it (SSE-KMS requires SigV4)."""
    version = getattr(ctx.auth, "signature_version", 4)
    return version if version in (2, 4) else 4


def bucket_encryption(bucket: Bucket) -> BucketEncryption | None:
    return BucketEncryption.from_json(bucket.encryption) if bucket.encryption is not None else None


def require_content_length(ctx: RequestContext) -> None:
    """PutObject / UploadPart bodies must announce their length (AWS: 411 MissingContentLength)."""
    if "content-length" not in ctx.headers and "transfer-encoding" not in ctx.headers:
        raise S3Error("MissingContentLength", "You must provide the Content-Length HTTP header.", 411)


def check_key(key: str) -> None:
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", "Your key is too long", 400,
                      {"Size": str(size), "MaxSizeAllowed": str(MAX_KEY_BYTES)})


# ----- dates -----
_date_cache: list[Any] = [0, ""]


def http_date_now() -> str:
    now = int(time.time())
    if now != _date_cache[0]:
        _date_cache[0] = now
        _date_cache[1] = formatdate(now, usegmt=True)
    return _date_cache[1]


def http_date(ts: float) -> str:
    return _http_date(int(ts))


@functools.lru_cache(maxsize=4096)
def _http_date(seconds: int) -> str:
    return formatdate(seconds, usegmt=True)


def iso8601(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def parse_http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def quoted(etag: str) -> str:
    return f'"{etag}"'


# ----- stored object attributes -----
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
        raise S3Error("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.", 400,
                      {"Size": str(size), "MaxSizeAllowed": str(MAX_METADATA_BYTES)})
    entity = {name: headers[name] for name in ENTITY_HEADERS if name in headers}
    encoding = entity.get("content-encoding")
    if encoding is not None:
        # aws-chunked is transfer framing, not part of the stored object's encoding.
        kept = [e.strip() for e in encoding.split(",") if e.strip() and e.strip().lower() != "aws-chunked"]
        if kept:
            entity["content-encoding"] = ",".join(kept)
        else:
            del entity["content-encoding"]
    storage_class = headers.get("x-amz-storage-class", "STANDARD")
    if storage_class not in STORAGE_CLASSES:
        raise S3Error("InvalidStorageClass", "The storage class you specified is not valid", 400,
                      {"StorageClassRequested": storage_class})
    tagging = headers.get("x-amz-tagging")
    tag_count = len([t for t in tagging.split("&") if t]) if tagging else 0
    return {"content_type": headers.get("content-type") or "binary/octet-stream", "headers": entity,
            "metadata": metadata, "storage_class": storage_class, "tagging_count": tag_count}


def object_response_headers(bucket: Bucket, version: ObjectVersion, sse_headers: dict[str, str]) -> dict[str, str]:
    """GET/HEAD headers describing a stored version (without Content-Length / Content-Range)."""
    h = {"last-modified": http_date(version.last_modified), "etag": quoted(version.etag),
         "content-type": version.content_type, "accept-ranges": "bytes"}
    h.update(version.headers)
    for name, value in version.metadata.items():
        h[META_PREFIX + name] = value
    if version.storage_class != "STANDARD":
        h["x-amz-storage-class"] = version.storage_class
    if version.tagging_count:
        h["x-amz-tagging-count"] = str(version.tagging_count)
    if bucket.versioning is not None:
        h["x-amz-version-id"] = version.version_id
    h.update(sse_headers)
    return h


def version_header(bucket: Bucket, version_id: str) -> dict[str, str]:
    """x-amz-version-id on write responses: only for buckets that have had versioning configured."""
    if bucket.versioning is None:
        return {}
    return {"x-amz-version-id": version_id}


def parse_max(ctx: RequestContext, name: str, default: int, upper: int) -> int:
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return default
    value = parse_signed(raw, INT32_MAX)      # ASCII digits within a 32-bit integer, as the message says
    if value is None:
        raise invalid_argument(f"Provided {name} not an integer or within integer range", name, raw)
    if value < 0:
        raise invalid_argument(f"Argument {name} must be an integer between 0 and 2147483647", name, raw)
    return min(value, upper)


def plausible_version_id(version_id: str) -> bool:
    return version_id == "null" or (len(version_id) == 32 and all(c.isalnum() or c in "-_" for c in version_id))


def resolve_version(ctx: RequestContext, bucket: Bucket, key: str, *, version_id: str | None = None) -> ObjectVersion:
    """The version a GET/HEAD/copy source names: ?versionId or the latest. Delete markers answer as S3 does
    (404 NoSuchKey for the latest, 405 MethodNotAllowed when named), with x-amz-delete-marker."""
    storage = ctx.state.storage
    if version_id is None:
        version_id = ctx.query.get("versionId")
    if version_id is not None:
        if version_id == "":
            raise invalid_argument("Version id cannot be the empty string", "versionId", "")
        version = storage.get_version(bucket.name, key, version_id)
        if version is None:
            if not plausible_version_id(version_id):
                raise invalid_argument("Invalid version id specified", "versionId", version_id)
            raise no_such_version(key, version_id)
        if version.delete_marker:
            error = method_not_allowed(ctx.method, "DeleteMarker")
            error.headers = {"x-amz-delete-marker": "true", "x-amz-version-id": version.version_id,
                             "last-modified": http_date(version.last_modified)}
            raise error
        return version
    version = storage.latest(bucket.name, key)
    if version is None:
        raise no_such_key(key)
    if version.delete_marker:
        error = no_such_key(key)
        error.headers = {"x-amz-delete-marker": "true"}
        if bucket.versioning is not None:
            error.headers["x-amz-version-id"] = version.version_id
        raise error
    return version
