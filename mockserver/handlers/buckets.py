"""ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation."""
from __future__ import annotations

import ipaddress

from mockserver import xmlio
from mockserver.access import require_bucket
from mockserver.errors import (
    access_denied,
    bucket_already_exists,
    bucket_already_owned_by_you,
    bucket_not_empty,
    bucket_operation_aborted,
    illegal_location_constraint,
    invalid_bucket_name,
    invalid_location_constraint,
)
from mockserver.http import RequestContext, Response, xml_response
from mockserver.httpdates import iso8601
from mockserver.routing import route
from mockserver.sse.bucket_config import default_bucket_encryption
from mockserver.storage.base import Bucket, now
from mockserver.xmltext import S3_NS, XML_DECLARATION

_BUCKET_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def valid_bucket_name(name: str) -> bool:
    """General purpose bucket naming rules (AWS user guide, "Bucket naming rules")."""
    if not 3 <= len(name) <= 63 or not set(name) <= _BUCKET_CHARS:
        return False
    if not (name[0].isalnum() and name[-1].isalnum()) or ".." in name:
        return False
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return False
    try:
        ipaddress.IPv4Address(name)
        return False
    except ValueError:
        return True


def _owner(ctx: RequestContext) -> list:
    assert ctx.account is not None
    return [("ID", ctx.account.account_id), ("DisplayName", ctx.account.name)]


@route("GET", "service", operation="ListBuckets")
async def list_buckets(ctx: RequestContext) -> Response:
    if ctx.account is None:
        raise access_denied()
    owned = sorted((b for b in ctx.state.storage.buckets.values() if b.owner_id == ctx.account.account_id),
                   key=lambda b: b.name)
    prefix = ctx.query.get("prefix", "")
    buckets: list[tuple[str, xmlio.Node]] = [("Bucket", [("Name", b.name), ("CreationDate", iso8601(b.created)), ("BucketRegion", b.region)])
               for b in owned if b.name.startswith(prefix)]
    items: list[tuple[str, xmlio.Node]] = [("Owner", _owner(ctx)), ("Buckets", buckets)]
    if "prefix" in ctx.query:
        items.append(("Prefix", prefix))
    return xml_response(xmlio.render("ListAllMyBucketsResult", items))


async def _location_constraint(ctx: RequestContext) -> str:
    body = await ctx.read_body()
    if not body.strip():
        return ctx.state.region
    root = xmlio.parse(body, "CreateBucketConfiguration")
    constraint = xmlio.child_text(root, "LocationConstraint")
    region = ctx.state.region
    if constraint is None:
        return region
    if constraint == "" or (constraint == "us-east-1" and region == "us-east-1"):
        raise invalid_location_constraint(constraint)
    if constraint != region:
        raise illegal_location_constraint(constraint)
    return constraint


@route("PUT", "bucket", operation="CreateBucket")
async def create_bucket(ctx: RequestContext) -> Response:
    assert ctx.bucket is not None
    if ctx.account is None:
        raise access_denied()
    if not valid_bucket_name(ctx.bucket):
        raise invalid_bucket_name(ctx.bucket)
    storage = ctx.state.storage
    existing = storage.get_bucket(ctx.bucket)
    if existing is not None:
        if existing.owner_id == ctx.account.account_id:
            raise bucket_already_owned_by_you(ctx.bucket)
        raise bucket_already_exists(ctx.bucket)
    region = await _location_constraint(ctx)
    if storage.get_bucket(ctx.bucket) is not None:      # created while this request read its body
        raise bucket_operation_aborted(ctx.bucket)
    default = default_bucket_encryption(ctx.state.dialect)
    bucket = Bucket(ctx.bucket, ctx.account.account_id, region, now(), None,
                    default.to_json() if default is not None else None)
    await storage.save_bucket(bucket)
    return Response(200, {"location": f"/{ctx.bucket}"})


@route("HEAD", "bucket", operation="HeadBucket")
async def head_bucket(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    return Response(200, {"x-amz-bucket-region": bucket.region, "x-amz-access-point-alias": "false",
                          "content-type": "application/xml"})


@route("DELETE", "bucket", operation="DeleteBucket")
async def delete_bucket(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    storage = ctx.state.storage
    if not storage.bucket_is_empty(bucket.name):
        raise bucket_not_empty(bucket.name)
    await storage.delete_bucket(bucket.name)
    return Response(204)


@route("GET", "bucket", query="location", operation="GetBucketLocation")
async def get_bucket_location(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    constraint = "" if bucket.region == "us-east-1" else bucket.region
    body = (f'{XML_DECLARATION}<LocationConstraint xmlns="{S3_NS}">{constraint}'
            "</LocationConstraint>").encode()
    return xml_response(body)

