"""ListObjectsV2, ListObjects (v1), ListObjectVersions."""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from mockserver import xmlio
from mockserver.access import require_bucket
from mockserver.errors import invalid_argument
from mockserver.http import RequestContext, Response, xml_response
from mockserver.httpdates import iso8601
from mockserver.objectmeta import quoted
from mockserver.queryparams import key_encoder, parse_max
from mockserver.routing import route
from mockserver.storage.base import BucketIndex, ObjectVersion, Storage

MAX_KEYS = 1000


def _owner(owner_id: str) -> list[tuple[str, xmlio.Node]]:
    return [("ID", owner_id), ("DisplayName", owner_id)]


def _checksum_fields(v: ObjectVersion) -> list[tuple[str, xmlio.Node]]:
    if not v.checksum:
        return []
    return [("ChecksumAlgorithm", v.checksum["algorithm"].upper()), ("ChecksumType", v.checksum["type"])]


def _paging_fields(q: dict[str, str], enc: Callable[[str], str], max_keys: int, delimiter: str,
                   truncated: bool) -> list[tuple[str, xmlio.Node]]:
    """MaxKeys, Delimiter, IsTruncated and EncodingType: in this order in all three listings."""
    items: list[tuple[str, xmlio.Node]] = [("MaxKeys", max_keys)]
    if delimiter:
        items.append(("Delimiter", enc(delimiter)))
    items.append(("IsTruncated", truncated))
    if "encoding-type" in q:
        items.append(("EncodingType", "url"))
    return items


def _contents(v: ObjectVersion, enc: Callable[[str], str], owner: bool) -> list[tuple[str, xmlio.Node]]:
    entry: list[tuple[str, xmlio.Node]] = [("Key", enc(v.key)), ("LastModified", iso8601(v.last_modified)),
                                           ("ETag", quoted(v.etag))]
    entry += _checksum_fields(v)
    entry += [("Size", v.size), ("StorageClass", v.storage_class)]
    if owner:
        entry.append(("Owner", _owner(v.owner_id)))
    return entry


def walk(storage: Storage, bucket: str, prefix: str, delimiter: str, after: str | None, max_keys: int
         ) -> tuple[list[ObjectVersion | str], bool]:
    """Current objects (not delete markers) and common prefixes after `after`, at most max_keys in all.
    Returns the entries (ObjectVersion or common-prefix str) and whether the listing was truncated.
    Cost: a bisect to the start, one step per entry returned (plus delete markers passed over), and a bisect over
    each common prefix's keys; never a scan of the bucket."""
    index = storage.index[bucket]
    keys, entries = index.sorted_keys, index.entries
    out: list[ObjectVersion | str] = []
    i = index.position(prefix, after)
    if delimiter and after and after.endswith(delimiter) and after.startswith(prefix):
        i = index.skip_prefix(after, i)     # a previous page ended on this common prefix
    while i < len(keys):
        key = keys[i]
        if not key.startswith(prefix):
            break
        entry = entries[key]
        # a key with several versions holds their list; a key with one version holds it itself
        latest: ObjectVersion = entry[0] if type(entry) is list else entry  # type: ignore[assignment]
        if latest.delete_marker:
            i += 1
            continue
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                if len(out) >= max_keys:
                    return out, True
                common = key[: cut + len(delimiter)]
                out.append(common)
                i = index.skip_prefix(common, i + 1)
                continue
        if len(out) >= max_keys:
            return out, True
        out.append(latest)
        i += 1
    return out, False


def _entries(out: list[ObjectVersion | str], enc: Callable[[str], str], owner: bool) -> list[tuple[str, xmlio.Node]]:
    items: list[tuple[str, xmlio.Node]] = [("Contents", _contents(e, enc, owner)) for e in out
                                           if isinstance(e, ObjectVersion)]
    items += [("CommonPrefixes", [("Prefix", enc(e))]) for e in out if isinstance(e, str)]
    return items


def _last_name(out: list[ObjectVersion | str]) -> str | None:
    if not out:
        return None
    last = out[-1]
    return last if isinstance(last, str) else last.key


@route("GET", "bucket", operation="ListObjects")
async def list_objects(ctx: RequestContext) -> Response:
    if ctx.query.get("list-type") == "2":
        return await list_objects_v2(ctx)
    bucket = require_bucket(ctx)
    q = ctx.query
    enc = key_encoder(ctx.query)
    prefix, delimiter, marker = q.get("prefix", ""), q.get("delimiter", ""), q.get("marker", "")
    max_keys = parse_max(ctx.query, "max-keys", MAX_KEYS, MAX_KEYS)
    out, truncated = walk(ctx.state.storage, bucket.name, prefix, delimiter, marker or None, max_keys)
    items: list[tuple[str, xmlio.Node]] = [("Name", bucket.name), ("Prefix", enc(prefix)), ("Marker", enc(marker))]
    if truncated:
        items.append(("NextMarker", enc(_last_name(out) or "")))
    items += _paging_fields(q, enc, max_keys, delimiter, truncated)
    items += _entries(out, enc, owner=True)
    return xml_response(xmlio.render("ListBucketResult", items))


def _token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode("utf-8", "surrogatepass")).decode()


def _untoken(token: str) -> str:
    # validate=True: the lenient decoder dropped characters outside the alphabet, so garbage (%FF%FE) decoded to
    # "" and silently restarted the listing from the first key.
    try:
        name = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode("utf-8", "surrogatepass")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        name = ""
    if not name:
        raise invalid_argument("The continuation token provided is incorrect", "continuation-token", token)
    return name


async def list_objects_v2(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    q = ctx.query
    enc = key_encoder(ctx.query)
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    start_after = q.get("start-after")
    token = q.get("continuation-token")
    if token is not None and token == "":
        raise invalid_argument("The continuation token provided is incorrect", "continuation-token", token)
    max_keys = parse_max(ctx.query, "max-keys", MAX_KEYS, MAX_KEYS)
    after = _untoken(token) if token is not None else (start_after or None)
    out, truncated = walk(ctx.state.storage, bucket.name, prefix, delimiter, after, max_keys)
    fetch_owner = q.get("fetch-owner", "").lower() == "true"
    items: list[tuple[str, xmlio.Node]] = [("Name", bucket.name), ("Prefix", enc(prefix)), ("KeyCount", len(out))]
    items += _paging_fields(q, enc, max_keys, delimiter, truncated)
    if token is not None:
        items.append(("ContinuationToken", token))
    if truncated:
        items.append(("NextContinuationToken", _token(_last_name(out) or "")))
    if start_after is not None:
        items.append(("StartAfter", enc(start_after)))
    items += _entries(out, enc, owner=fetch_owner)
    return xml_response(xmlio.render("ListBucketResult", items))


def walk_versions(index: BucketIndex, prefix: str, delimiter: str, key_marker: str, version_marker: str,
                  max_keys: int) -> tuple[list[tuple[str, bool, ObjectVersion]], list[str], bool, str | None,
                                          str | None]:
    """ListObjectVersions' page: (key, is latest, version) entries, common prefixes, whether truncated, and the
    next key and version markers. Seeks to the key marker by bisect; never scans the bucket."""
    found: list[tuple[str, bool, ObjectVersion]] = []
    prefixes: list[str] = []
    count = 0
    truncated = False
    next_key = next_version = None
    keys = index.sorted_keys
    # Start at the key marker (its own versions after the version marker, else the keys after it); a key marker
    # that is a common prefix (a previous page ended on it) skips the keys under it.
    i = index.position(prefix, key_marker or None)
    if key_marker and version_marker and key_marker >= prefix and i > 0 and keys[i - 1] == key_marker:
        i -= 1
    if delimiter and key_marker.endswith(delimiter):
        i = index.skip_prefix(key_marker, i)
    while i < len(keys):
        key = keys[i]
        if not key.startswith(prefix):
            break
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                if count >= max_keys:
                    truncated = True
                    break
                common = key[: cut + len(delimiter)]
                prefixes.append(common)
                count += 1
                next_key, next_version = common, None
                i = index.skip_prefix(common, i + 1)
                continue
        i += 1
        skipping = key == key_marker and bool(version_marker)
        for n, v in enumerate(index.versions[key]):
            if skipping:
                if v.version_id == version_marker:
                    skipping = False
                continue
            if count >= max_keys:
                truncated = True
                break
            found.append((key, n == 0, v))
            count += 1
            next_key, next_version = key, v.version_id
        if truncated:
            break
    return found, prefixes, truncated, next_key, next_version


@route("GET", "bucket", query="versions", operation="ListObjectVersions")
async def list_object_versions(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    q = ctx.query
    enc = key_encoder(ctx.query)
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker, version_marker = q.get("key-marker", ""), q.get("version-id-marker", "")
    if version_marker and not key_marker:
        raise invalid_argument("A version-id marker cannot be specified without a key marker.", "version-id-marker",
                               version_marker)
    max_keys = parse_max(ctx.query, "max-keys", MAX_KEYS, MAX_KEYS)
    found, prefixes, truncated, next_key, next_version = walk_versions(
        ctx.state.storage.index[bucket.name], prefix, delimiter, key_marker, version_marker, max_keys)
    entries: list[tuple[str, xmlio.Node]] = []
    for key, latest, v in found:
        if v.delete_marker:
            entries.append(("DeleteMarker", [("Key", enc(key)), ("VersionId", v.version_id),
                                             ("IsLatest", latest), ("LastModified", iso8601(v.last_modified)),
                                             ("Owner", _owner(v.owner_id))]))
        else:
            entry: list[tuple[str, xmlio.Node]] = [
                ("Key", enc(key)), ("VersionId", v.version_id), ("IsLatest", latest),
                ("LastModified", iso8601(v.last_modified)), ("ETag", quoted(v.etag)), ("Size", v.size),
                ("StorageClass", v.storage_class), ("Owner", _owner(v.owner_id))]
            entry += _checksum_fields(v)
            entries.append(("Version", entry))
    items: list[tuple[str, xmlio.Node]] = [("Name", bucket.name), ("Prefix", enc(prefix)),
                                           ("KeyMarker", enc(key_marker)), ("VersionIdMarker", version_marker)]
    if truncated:
        items.append(("NextKeyMarker", enc(next_key or "")))
        if next_version is not None:
            items.append(("NextVersionIdMarker", next_version))
    items += _paging_fields(q, enc, max_keys, delimiter, truncated)
    items += entries
    items += [("CommonPrefixes", [("Prefix", enc(p))]) for p in prefixes]
    return xml_response(xmlio.render("ListVersionsResult", items))
