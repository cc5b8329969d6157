"""The copy source of CopyObject and UploadPartCopy: x-amz-copy-source parsed, the source bucket and version
checked (ownership, delete markers, x-amz-copy-source-if-* conditions), its keys opened and its plaintext streamed."""
from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from urllib.parse import unquote

from mockserver.access import requester, signature_version
from mockserver.datapath.plaintext import plaintext_stream
from mockserver.errors import (
    S3Error,
    access_denied,
    invalid_argument,
    invalid_request,
    no_such_bucket,
    precondition_failed,
)
from mockserver.http import RequestContext
from mockserver.httpdates import parse_http_date
from mockserver.sse.service import ObjectKeys
from mockserver.storage.base import Bucket, ObjectVersion
from mockserver.versions import resolve_version


@dataclass
class CopySource:
    bucket: Bucket
    version: ObjectVersion
    keys: ObjectKeys               # the source's keys (SSE-C: the copy-source customer key)
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


def source_stream(ctx: RequestContext, source: CopySource, start: int, end: int) -> AsyncGenerator[bytes | memoryview, None]:
    """Plaintext of the source range; its blobs stay alive until the stream is closed."""
    storage = ctx.state.storage
    blobs = [p.blob for p in source.version.parts]
    storage.acquire(blobs)

    async def stream() -> AsyncGenerator[bytes | memoryview, None]:
        try:
            async for chunk in plaintext_stream(storage, source.keys, source.version.parts, start, end):
                yield chunk
        finally:
            storage.release(blobs)

    return stream()
