"""PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects."""
from __future__ import annotations

from mockserver import xmlio
from mockserver.access import requester, require_bucket, signature_version
from mockserver.checksums import RequestIntegrity
from mockserver.datapath.bodies import read_checked_body
from mockserver.datapath.plaintext import plaintext_stream, read_small
from mockserver.datapath.write import DEFAULT_CHECKSUM, write_object
from mockserver.errors import (
    S3Error,
    invalid_argument,
    invalid_part_number,
    invalid_range,
    invalid_request,
    malformed_xml,
    no_such_key,
    not_implemented,
    precondition_failed,
)
from mockserver.http import RequestContext, Response, xml_response
from mockserver.httpdates import http_date, parse_http_date
from mockserver.numbers import parse_digits, parse_saturated
from mockserver.objectmeta import (
    check_key,
    checksum_headers,
    object_attributes,
    object_response_headers,
    quoted,
    require_content_length,
)
from mockserver.routing import route
from mockserver.sse.bucket_config import bucket_encryption
from mockserver.sse.service import SSE_C
from mockserver.storage.base import NULL_VERSION, Bucket, ObjectVersion, new_version_id, now
from mockserver.versions import plausible_version_id, resolve_version, version_header

RESPONSE_OVERRIDES = {"response-content-type": "content-type", "response-content-language": "content-language",
                      "response-expires": "expires", "response-cache-control": "cache-control",
                      "response-content-disposition": "content-disposition",
                      "response-content-encoding": "content-encoding"}
MAX_DELETE_OBJECTS = 1000
SMALL_BODY = 64 * 1024      # GET bodies up to this size are decrypted inline and sent in one piece


def _etag_matches(header: str, etag: str) -> bool:
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.strip('"') == etag:
            return True
    return False


def check_write_conditions(ctx: RequestContext, bucket: Bucket, key: str) -> None:
    """Conditional writes: If-None-Match: * (create only) and If-Match (replace only that ETag)."""
    if_none_match = ctx.headers.get("if-none-match")
    if_match = ctx.headers.get("if-match")
    if if_none_match is None and if_match is None:
        return
    latest = ctx.state.storage.latest(bucket.name, key)
    exists = latest is not None and not latest.delete_marker
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise not_implemented(header="If-None-Match")
        if exists:
            raise precondition_failed("If-None-Match")
    if if_match is not None:
        if not exists:
            raise no_such_key(key)
        if not _etag_matches(if_match, latest.etag):  # type: ignore[union-attr]
            raise precondition_failed("If-Match")


def _ssec_multipart_default_checksum(version: ObjectVersion) -> bool:
    """An SSE-C multipart object completed without a checksum algorithm: GET with x-amz-checksum-mode ENABLED names
    no checksum (recorded: LocalStack test_multipart_upload_sse_c, get-obj-sse-c; botocore sent the mode). Single-part
    SSE-C objects do (test_put_object_default_checksum_with_sse_c), as do SSE-KMS multipart objects
    (test_s3_multipart_upload_sse, get-obj)."""
    checksum = version.checksum or {}
    return (version.multipart and version.sse.get("mode") == SSE_C
            and (checksum.get("algorithm"), checksum.get("type")) == (DEFAULT_CHECKSUM, "FULL_OBJECT"))

@route("PUT", "object", operation="PutObject")
async def put_object(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    key = ctx.key
    assert key is not None
    check_key(key)
    require_content_length(ctx)
    integrity = RequestIntegrity(ctx.headers)
    attrs = object_attributes(ctx.headers)
    check_write_conditions(ctx, bucket, key)
    state = ctx.state
    plan = state.encryption.plan_write(operation="PutObject", headers=ctx.headers,
                                       bucket_encryption=bucket_encryption(bucket), account_id=requester(ctx),
                                       secure=ctx.secure, bucket=bucket.name, key=key,
                                       signature_version=signature_version(ctx))
    version = await write_object(ctx, bucket, key, ctx.body_chunks(), plan, attrs, integrity=integrity,
                                 algorithm=None, trailers=ctx.trailers)
    headers = {"etag": quoted(version.etag)}
    headers.update(version_header(bucket, version.version_id))
    headers.update(plan.response_headers)
    headers.update(checksum_headers(version))
    return Response(200, headers)


# ----- GET / HEAD -----
def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """One byte range of `size` bytes as (start, end) inclusive; None when the header is to be ignored
    (syntax S3 does not serve, such as several ranges); 416 when no byte of it exists."""
    spec = value.strip()
    if not spec.startswith("bytes="):
        return None
    ranges = spec[6:].split(",")
    if len(ranges) != 1:
        return None
    first, dash, last = ranges[0].strip().partition("-")
    if not dash:
        return None
    # ASCII digits only (mockserver/numbers.py); any number of digits, larger values saturate (beyond any object)
    if first == "":
        length = parse_saturated(last)
        if length is None:
            return None
        if length == 0 or size == 0:
            raise invalid_range(value, size)
        return max(0, size - length), size - 1
    start, end_given = parse_saturated(first), parse_saturated(last) if last else None
    if start is None or (last and end_given is None):
        return None
    end = end_given if end_given is not None else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise invalid_range(value, size)
    return start, min(end, size - 1)


def _part_number(ctx: RequestContext) -> int | None:
    raw = ctx.query.get("partNumber")
    if raw is None:
        return None
    if "range" in ctx.headers:
        raise invalid_request("Cannot specify both Range header and partNumber query parameter")
    number = parse_digits(raw)
    if number is None or not 1 <= number <= 10000:
        raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", raw)
    return number


def _read_conditions(ctx: RequestContext, version: ObjectVersion) -> Response | None:
    """If-Match / If-Unmodified-Since (412) and If-None-Match / If-Modified-Since (304)."""
    h = ctx.headers
    if_match = h.get("if-match")
    if if_match is not None and not _etag_matches(if_match, version.etag):
        raise precondition_failed("If-Match")
    if if_match is None and "if-unmodified-since" in h:
        since = parse_http_date(h["if-unmodified-since"])
        if since is not None and int(version.last_modified) > since:
            raise precondition_failed("If-Unmodified-Since")
    not_modified = False
    if_none_match = h.get("if-none-match")
    if if_none_match is not None:
        not_modified = _etag_matches(if_none_match, version.etag)
    elif "if-modified-since" in h:
        since = parse_http_date(h["if-modified-since"])
        not_modified = since is not None and int(version.last_modified) <= since
    if not_modified:
        return Response(304, {"etag": quoted(version.etag), "last-modified": http_date(version.last_modified)})
    return None


async def _get_or_head(ctx: RequestContext, operation: str) -> Response:
    bucket = require_bucket(ctx)
    key = ctx.key
    assert key is not None
    part_number = _part_number(ctx)
    version = resolve_version(ctx, bucket, key)
    state = ctx.state
    keys = state.encryption.open_read(operation=operation, meta=version.sse, headers=ctx.headers,
                                      account_id=requester(ctx), secure=ctx.secure,
                                      signature_version=signature_version(ctx))
    not_modified = _read_conditions(ctx, version)
    if not_modified is not None:
        return not_modified
    headers = object_response_headers(bucket, version, keys.response_headers)
    size = version.size
    start, end, status = 0, size - 1, 200
    whole = True
    if part_number is not None:
        if version.multipart:
            if part_number > len(version.parts):
                raise invalid_part_number(part_number, len(version.parts))
            start = sum(p.size for p in version.parts[: part_number - 1])
            end = start + version.parts[part_number - 1].size - 1
            headers["x-amz-mp-parts-count"] = str(len(version.parts))
        elif part_number != 1:
            raise invalid_part_number(part_number, 1)
        if size > 0:
            status = 206
            whole = not version.multipart
    elif "range" in ctx.headers:
        wanted = parse_range(ctx.headers["range"], size)
        if wanted is not None:
            start, end = wanted
            status = 206
            whole = False
    if status == 206:
        headers["content-range"] = f"bytes {start}-{end}/{size}"
    headers["content-length"] = str(max(0, end - start + 1))
    if ctx.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
        if whole and not _ssec_multipart_default_checksum(version):
            headers.update(checksum_headers(version))
        elif part_number is not None and version.checksum and version.checksum["type"] == "COMPOSITE":
            part = version.parts[part_number - 1]
            algorithm = version.checksum["algorithm"]
            if algorithm in part.checksums:
                headers[f"x-amz-checksum-{algorithm}"] = part.checksums[algorithm]
                headers["x-amz-checksum-type"] = "COMPOSITE"
    if not RESPONSE_OVERRIDES.keys().isdisjoint(ctx.query):      # (one C call when none is given)
        for param, header in RESPONSE_OVERRIDES.items():
            if param in ctx.query:
                headers[header] = ctx.query[param]
    if operation == "HeadObject" or end < start:
        return Response(status, headers)
    storage = state.storage
    if end - start < SMALL_BODY:
        return Response(status, headers, read_small(storage, keys, version.parts, start, end))
    blobs = [p.blob for p in version.parts]
    storage.acquire(blobs)
    return Response(status, headers, plaintext_stream(storage, keys, version.parts, start, end),
                    on_close=lambda: storage.release(blobs))


@route("GET", "object", operation="GetObject")
async def get_object(ctx: RequestContext) -> Response:
    return await _get_or_head(ctx, "GetObject")


@route("HEAD", "object", operation="HeadObject")
async def head_object(ctx: RequestContext) -> Response:
    return await _get_or_head(ctx, "HeadObject")


# ----- DELETE -----
async def delete_one(ctx: RequestContext, bucket: Bucket, key: str, version_id: str | None) -> dict[str, str]:
    """Delete a key (or one version); returns the response facts: version id and delete-marker flag."""
    storage = ctx.state.storage
    if version_id is not None:
        if not plausible_version_id(version_id):
            raise invalid_argument("Invalid version id specified", "versionId", version_id)
        removed = await storage.delete_version(bucket.name, key, version_id)
        result = {"version_id": version_id}
        if removed is not None and removed.delete_marker:
            result["delete_marker"] = "true"
        return result
    if bucket.versioning is None:
        await storage.delete_version(bucket.name, key, NULL_VERSION)
        return {}
    marker_id = new_version_id() if bucket.versioning == "Enabled" else NULL_VERSION
    marker = ObjectVersion(key=key, version_id=marker_id, last_modified=now(),
                           owner_id=ctx.account_id or bucket.owner_id, delete_marker=True, etag="")
    await storage.put_version(bucket.name, marker)
    return {"version_id": marker_id, "delete_marker": "true"}


@route("DELETE", "object", operation="DeleteObject")
async def delete_object(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    assert ctx.key is not None
    result = await delete_one(ctx, bucket, ctx.key, ctx.query.get("versionId"))
    headers = {}
    if "version_id" in result:
        headers["x-amz-version-id"] = result["version_id"]
    if "delete_marker" in result:
        headers["x-amz-delete-marker"] = "true"
    return Response(204, headers)


@route("POST", "bucket", query="delete", operation="DeleteObjects")
async def delete_objects(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    body = await read_checked_body(ctx, required=True)
    root = xmlio.parse(body, "Delete")
    quiet_text = (xmlio.only_child_text(root, "Quiet") or "false").strip().lower()
    if quiet_text not in ("true", "false", "1", "0"):      # xs:boolean
        raise malformed_xml()
    quiet = quiet_text in ("true", "1")
    objects = xmlio.children(root, "Object")
    if not objects or len(objects) > MAX_DELETE_OBJECTS:
        raise malformed_xml()
    # The whole document is validated before the first deletion: a malformed entry must not leave the
    # entries before it deleted.
    targets = [(xmlio.only_child_text(obj, "Key"), xmlio.only_child_text(obj, "VersionId")) for obj in objects]
    if any(key is None for key, _ in targets):
        raise malformed_xml()
    items: list[tuple[str, xmlio.Node]] = []
    for key, version_id in targets:
        assert key is not None
        try:
            result = await delete_one(ctx, bucket, key, version_id)
        except S3Error as error:
            items.append(("Error", [("Key", key), ("VersionId", version_id), ("Code", error.code),
                                    ("Message", error.message)]))
            continue
        if quiet:
            continue
        entry: list[tuple[str, xmlio.Node]] = [("Key", key)]
        if version_id is not None:
            entry.append(("VersionId", version_id))
            if result.get("delete_marker"):
                entry.append(("DeleteMarker", True))
                entry.append(("DeleteMarkerVersionId", version_id))
        elif result.get("delete_marker"):
            entry.append(("DeleteMarker", True))
            entry.append(("DeleteMarkerVersionId", result["version_id"]))
        items.append(("Deleted", entry))
    return xml_response(xmlio.render("DeleteResult", items))
