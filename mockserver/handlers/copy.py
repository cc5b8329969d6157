"""CopyObject, and the copy-source handling UploadPartCopy shares."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from mockserver import xmlio
from mockserver.checksums import XML_NAMES, normalise_algorithm
from mockserver.errors import (
    S3Error,
    access_denied,
    invalid_argument,
    invalid_request,
    no_such_bucket,
    precondition_failed,
)
from mockserver.handlers.common import (
    bucket_encryption,
    check_key,
    iso8601,
    object_attributes,
    parse_http_date,
    requester,
    require_bucket,
    resolve_version,
    signature_version,
    version_header,
)
from mockserver.handlers.streams import plaintext_stream
from mockserver.http import RequestContext, Response, xml_response
from mockserver.routing import route
from mockserver.storage.base import Bucket, ObjectVersion

_SELF_COPY = ("This copy request is illegal because it is trying to copy an object to itself without changing the "
              "object's metadata, storage class, website redirect location or encryption attributes.")


@dataclass
class CopySource:
    bucket: Bucket
    version: ObjectVersion
    keys: Any                      # ObjectKeys of the source
    named_version: bool            # the request named a versionId


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """x-amz-copy-source: [/]bucket/key[?versionId=id], URL-encoded."""
    path, _, query = value.partition("?")
    version_id = None
    if query:
        name, _, raw = query.partition("=")
        if name != "versionId":
            raise invalid_argument("Unsupported copy source parameter.", "x-amz-copy-source", value)
        version_id = unquote(raw)
    path = unquote(path)
    path = path.removeprefix("/")
    bucket, slash, key = path.partition("/")
    if not bucket or not slash or not key:
        raise invalid_argument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                               "x-amz-copy-source", value)
    return bucket, key, version_id


def _copy_conditions(ctx: RequestContext, version: ObjectVersion) -> None:
    h = ctx.headers
    if_match = h.get("x-amz-copy-source-if-match")
    if if_match is not None and if_match.strip().strip('"') not in (version.etag, "*"):
        raise precondition_failed("x-amz-copy-source-If-Match")
    if_none_match = h.get("x-amz-copy-source-if-none-match")
    if if_none_match is not None and if_none_match.strip().strip('"') in (version.etag, "*"):
        raise precondition_failed("x-amz-copy-source-If-None-Match")
    if if_match is None and "x-amz-copy-source-if-unmodified-since" in h:
        since = parse_http_date(h["x-amz-copy-source-if-unmodified-since"])
        if since is not None and int(version.last_modified) > since:
            raise precondition_failed("x-amz-copy-source-If-Unmodified-Since")
    if if_none_match is None and "x-amz-copy-source-if-modified-since" in h:
        since = parse_http_date(h["x-amz-copy-source-if-modified-since"])
        if since is not None and int(version.last_modified) <= since:
            raise precondition_failed("x-amz-copy-source-If-Modified-Since")


def open_copy_source(ctx: RequestContext, operation: str) -> CopySource:
    bucket_name, key, version_id = parse_copy_source(ctx.headers["x-amz-copy-source"])
    storage = ctx.state.storage
    bucket = storage.get_bucket(bucket_name)
    if bucket is None:
        raise no_such_bucket(bucket_name)
    expected = ctx.headers.get("x-amz-source-expected-bucket-owner")
    if expected is not None and expected != bucket.owner_id:
        raise access_denied()
    if ctx.account is None or ctx.account.account_id != bucket.owner_id:
        raise access_denied()
    try:
        version = resolve_version(ctx, bucket, key, version_id=version_id)
    except S3Error as error:
        if error.code == "MethodNotAllowed":      # a delete marker named as copy source
            raise invalid_request("The source of a copy request may not specifically refer to a delete marker "
                                  "by version id.") from None
        raise
    keys = ctx.state.encryption.open_read(operation=operation, meta=version.sse, headers=ctx.headers,
                                          account_id=requester(ctx), secure=ctx.secure, copy_source=True,
                                          signature_version=signature_version(ctx))
    _copy_conditions(ctx, version)
    return CopySource(bucket, version, keys, version_id is not None)


def source_stream(ctx: RequestContext, source: CopySource, start: int, end: int):
    """Plaintext of the source range; its blobs stay alive until the stream is closed."""
    storage = ctx.state.storage
    blobs = [p.blob for p in source.version.parts]
    storage.acquire(blobs)

    async def stream():
        try:
            async for chunk in plaintext_stream(storage, source.keys, source.version.parts, start, end):
                yield chunk
        finally:
            storage.release(blobs)

    return stream()


def _is_self_copy(ctx: RequestContext, source: CopySource, bucket: Bucket, key: str, directive: str,
                  dest_sse: dict[str, Any]) -> bool:
    """Copying the current version onto itself while changing nothing S3 counts: metadata (REPLACE),
    storage class, website redirect, encryption (mode, algorithm, KMS key, bucket key).
    Also allowed (AWS recordings, LocalStack test_s3_copy_object_in_place_with_encryption and
    test_copy_in_place_with_bucket_encryption): any request naming x-amz-server-side-encryption (AES256 onto an
    AES256 object), and any copy in a bucket with an explicit (PutBucketEncryption) default encryption."""
    if source.bucket.name != bucket.name or source.version.key != key:
        return False
    if ctx.state.storage.latest(bucket.name, key) is not source.version:
        return False
    h = ctx.headers
    if directive == "REPLACE" or "x-amz-website-redirect-location" in h:
        return False
    if "x-amz-server-side-encryption" in h:
        return False
    if bucket.encryption is not None and bucket.encryption.get("explicit"):
        return False
    if h.get("x-amz-storage-class", source.version.storage_class) != source.version.storage_class:
        return False
    return not ctx.state.encryption.encryption_changed(source.version.sse, dest_sse)


@route("PUT", "object", header="x-amz-copy-source", operation="CopyObject")
async def copy_object(ctx: RequestContext) -> Response:
    from mockserver.handlers.writes import write_object

    bucket = require_bucket(ctx)
    key = ctx.key
    assert key is not None
    check_key(key)
    directive = ctx.headers.get("x-amz-metadata-directive", "COPY").strip().upper()
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Unknown metadata directive.", "x-amz-metadata-directive",
                               ctx.headers["x-amz-metadata-directive"])
    algorithm = normalise_algorithm(ctx.headers.get("x-amz-checksum-algorithm"))
    source = open_copy_source(ctx, "CopyObject")
    src = source.version
    if directive == "REPLACE":
        attrs = object_attributes(ctx.headers)
    else:
        attrs = object_attributes({k: v for k, v in ctx.headers.items() if not k.startswith("x-amz-meta-")})
        attrs.update(content_type=src.content_type, headers=dict(src.headers), metadata=dict(src.metadata))
        if "x-amz-website-redirect-location" in ctx.headers:
            attrs["headers"]["x-amz-website-redirect-location"] = ctx.headers["x-amz-website-redirect-location"]
    if ctx.headers.get("x-amz-tagging-directive", "COPY").upper() == "COPY":
        attrs["tagging_count"] = src.tagging_count
    if algorithm is None and src.checksum:
        algorithm = src.checksum["algorithm"]
    plan = ctx.state.encryption.plan_write(operation="CopyObject", headers=ctx.headers,
                                           bucket_encryption=bucket_encryption(bucket), account_id=requester(ctx),
                                           secure=ctx.secure, bucket=bucket.name, key=key,
                                           signature_version=signature_version(ctx))
    if _is_self_copy(ctx, source, bucket, key, directive, plan.meta):
        raise invalid_request(_SELF_COPY)
    body = source_stream(ctx, source, 0, src.size - 1)
    try:
        version = await write_object(ctx, bucket, key, body, plan, attrs, integrity=None, algorithm=algorithm)
    finally:
        await body.aclose()
    items: list[tuple[str, xmlio.Node]] = [("ETag", f'"{version.etag}"'),
                                          ("LastModified", iso8601(version.last_modified))]
    if version.checksum:
        items.append((XML_NAMES[version.checksum["algorithm"]], version.checksum["value"]))
        items.append(("ChecksumType", version.checksum["type"]))
    headers = dict(version_header(bucket, version.version_id))
    if source.bucket.versioning is not None:
        headers["x-amz-copy-source-version-id"] = src.version_id
    headers.update(plan.response_headers)
    return xml_response(xmlio.render("CopyObjectResult", items), headers=headers)
