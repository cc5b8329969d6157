"""CopyObject (the copy source, shared with UploadPartCopy, is mockserver.copysource; the annotations it copies,
handlers/annotations.AnnotationCopy)."""
from __future__ import annotations

from typing import Any

from mockserver import xmlio
from mockserver.access import requester, require_bucket, signature_version
from mockserver.checksums import XML_NAMES, normalise_algorithm
from mockserver.copysource import CopySource, open_copy_source, source_stream
from mockserver.datapath.write import write_object
from mockserver.errors import invalid_argument, invalid_request
from mockserver.handlers.annotations import AnnotationCopy, annotation_directive
from mockserver.http import RequestContext, Response, xml_response
from mockserver.httpdates import iso8601
from mockserver.objectmeta import check_key, object_attributes
from mockserver.routing import route
from mockserver.sse.bucket_config import bucket_encryption
from mockserver.storage.base import Bucket
from mockserver.versions import version_header

_SELF_COPY = ("This copy request is illegal because it is trying to copy an object to itself without changing the "
              "object's metadata, storage class, website redirect location or encryption attributes.")


def _is_self_copy(ctx: RequestContext, source: CopySource, bucket: Bucket, key: str, directive: str,
                  dest_sse: dict[str, Any]) -> bool:
    """Copying the current version onto itself while changing nothing S3 counts: metadata (REPLACE),
    storage class, website redirect, encryption (mode, algorithm, KMS key, bucket key).
    Also allowed (AWS recordings, LocalStack test_s3_copy_object_in_place_with_encryption and
    test_copy_in_place_with_bucket_encryption): any request naming x-amz-server-side-encryption (AES256 onto an
    AES256 object) or x-amz-storage-class (the same class), and any copy in a bucket with an explicit
    (PutBucketEncryption) default encryption."""
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
    if "x-amz-storage-class" in h:
        # Naming a storage class allows the copy even when it is the object's own (recorded: LocalStack
        # test_s3_copy_object_in_place_storage_class, StorageClass STANDARD onto a STANDARD object; and
        # test_s3_copy_object_in_place, copy-object-in-place-with-storage-class, with ChecksumAlgorithm SHA256 too).
        return False
    return not ctx.state.encryption.encryption_changed(source.version.sse, dest_sse)


@route("PUT", "object", header="x-amz-copy-source", operation="CopyObject")
async def copy_object(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    key = ctx.key
    assert key is not None
    check_key(key)
    directive = ctx.headers.get("x-amz-metadata-directive", "COPY").strip().upper()
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Unknown metadata directive.", "x-amz-metadata-directive",
                               ctx.headers["x-amz-metadata-directive"])
    annotations = annotation_directive(ctx)
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
    copying = AnnotationCopy.prepare(ctx, annotations, source.bucket.name, src, plan.meta)
    body = source_stream(ctx, source, 0, src.size - 1)
    try:
        version = await write_object(ctx, bucket, key, body, plan, attrs, integrity=None, algorithm=algorithm)
    finally:
        await body.aclose()
    await copying.apply(ctx, bucket, version)
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
