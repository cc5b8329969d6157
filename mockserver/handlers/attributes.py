"""GetObjectAttributes."""
from __future__ import annotations

from mockserver import xmlio
from mockserver.access import requester, require_bucket, signature_version
from mockserver.checksums import XML_NAMES
from mockserver.errors import invalid_argument
from mockserver.http import RequestContext, Response, xml_response
from mockserver.httpdates import http_date
from mockserver.numbers import INT32_MAX, parse_digits
from mockserver.routing import route
from mockserver.versions import resolve_version

ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")


def _int_header(ctx: RequestContext, name: str, default: int) -> int:
    raw = ctx.headers.get(name)
    if raw is None:
        return default
    value = parse_digits(raw.strip(), INT32_MAX)
    if value is None:
        raise invalid_argument(f"Provided {name} not an integer or within integer range", name, raw)
    return value


@route("GET", "object", query="attributes", operation="GetObjectAttributes")
async def get_object_attributes(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    assert ctx.key is not None
    raw = ctx.headers.get("x-amz-object-attributes", "")
    wanted = {a.strip() for a in raw.split(",") if a.strip()}
    if not wanted or not wanted <= set(ATTRIBUTES):
        raise invalid_argument("Invalid attribute name specified.", "x-amz-object-attributes", raw)
    version = resolve_version(ctx, bucket, ctx.key)
    ctx.state.encryption.open_read(operation="GetObjectAttributes", meta=version.sse, headers=ctx.headers,
                                   account_id=requester(ctx), secure=ctx.secure,
                                   signature_version=signature_version(ctx))
    items: list[tuple[str, xmlio.Node]] = []
    if "ETag" in wanted:
        items.append(("ETag", version.etag))
    if "Checksum" in wanted and version.checksum:
        # A COMPOSITE value is named without its "-<parts>" suffix here (recorded: LocalStack
        # test_complete_multipart_parts_checksum_composite[CRC32], get-object-attrs: 5FRUiw==, not 5FRUiw==-3).
        value = version.checksum["value"]
        if version.checksum["type"] == "COMPOSITE":
            value = value.rsplit("-", 1)[0]
        items.append(("Checksum", [(XML_NAMES[version.checksum["algorithm"]], value),
                                   ("ChecksumType", version.checksum["type"])]))
    if "ObjectParts" in wanted and version.multipart:
        max_parts = min(_int_header(ctx, "x-amz-max-parts", 1000), 1000)
        marker = _int_header(ctx, "x-amz-part-number-marker", 0)
        parts = [p for i, p in enumerate(version.parts, 1) if i > marker]
        shown = parts[:max_parts]
        algorithm = version.checksum["algorithm"] if version.checksum else None
        part_items: list[tuple[str, xmlio.Node]] = [
            ("PartsCount", len(version.parts)), ("PartNumberMarker", marker),
            ("NextPartNumberMarker", marker + len(shown)), ("MaxParts", max_parts),
            ("IsTruncated", len(parts) > len(shown))]
        for i, p in enumerate(shown, marker + 1):
            entry: list[tuple[str, xmlio.Node]] = [("PartNumber", i), ("Size", p.size)]
            if algorithm and algorithm in p.checksums:
                entry.append((XML_NAMES[algorithm], p.checksums[algorithm]))
            part_items.append(("Part", entry))
        items.append(("ObjectParts", part_items))
    if "StorageClass" in wanted:
        items.append(("StorageClass", version.storage_class))
    if "ObjectSize" in wanted:
        items.append(("ObjectSize", version.size))
    headers = {"last-modified": http_date(version.last_modified)}
    if bucket.versioning is not None:
        headers["x-amz-version-id"] = version.version_id
    return xml_response(xmlio.render("GetObjectAttributesResponse", items), headers=headers)
