"""PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption: the core stores the configuration;
mockserver.sse.bucket_config parses, validates and renders it."""
from __future__ import annotations

from mockserver.access import require_bucket, signature_version
from mockserver.datapath.bodies import read_checked_body
from mockserver.errors import invalid_request
from mockserver.http import RequestContext, Response, xml_response
from mockserver.routing import route
from mockserver.sse.bucket_config import (
    BucketEncryption,
    configuration_not_found,
    default_bucket_encryption,
    parse_bucket_encryption,
    render_bucket_encryption,
)


def require_sigv4(ctx: RequestContext) -> None:
    """The encryption configuration operations require Signature Version 4 (PutBucketEncryption reference:
    "This operation requires AWS Signature Version 4")."""
    if signature_version(ctx) == 2:
        raise invalid_request("The authorization mechanism you have provided is not supported. "
                              "Please use AWS4-HMAC-SHA256.")


@route("PUT", "bucket", query="encryption", operation="PutBucketEncryption")
async def put_bucket_encryption(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)          # NoSuchBucket / AccessDenied before the body is looked at
    require_sigv4(ctx)
    dialect = ctx.state.dialect
    body = await read_checked_body(ctx, required=True, md5_only=dialect.requires_content_md5)
    config = parse_bucket_encryption(body, dialect)
    config.explicit = True
    bucket.encryption = config.to_json()
    await ctx.state.storage.save_bucket(bucket)
    return Response(200)


@route("GET", "bucket", query="encryption", operation="GetBucketEncryption")
async def get_bucket_encryption(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    require_sigv4(ctx)
    if bucket.encryption is None:
        raise configuration_not_found(bucket.name)
    return xml_response(render_bucket_encryption(BucketEncryption.from_json(bucket.encryption)))


@route("DELETE", "bucket", query="encryption", operation="DeleteBucketEncryption")
async def delete_bucket_encryption(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    require_sigv4(ctx)
    default = default_bucket_encryption(ctx.state.dialect)
    bucket.encryption = default.to_json() if default is not None else None
    await ctx.state.storage.save_bucket(bucket)
    return Response(204)
