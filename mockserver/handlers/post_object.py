"""POST Object: browser form upload (multipart/form-data, read by mockserver.formdata while it streams) authorised
by a signed policy document."""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from mockserver import xmlio
from mockserver.access import require_bucket
from mockserver.auth import verify_post_policy
from mockserver.checksums import RequestIntegrity
from mockserver.datapath.write import write_object
from mockserver.errors import (
    access_denied,
    invalid_argument,
    precondition_failed,
)
from mockserver.formdata import FormReader, header_params, one_value_per_field
from mockserver.http import RequestContext, Response, xml_response
from mockserver.objectmeta import check_key, checksum_headers, object_attributes, quoted
from mockserver.routing import route
from mockserver.sse.bucket_config import bucket_encryption


@route("POST", "bucket", operation="PostObject")
async def post_object(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx, owner_only=False)
    content_type = ctx.headers.get("content-type", "")
    params = header_params(content_type, "content-type")
    boundary = params.get_param("boundary", header="content-type")
    if params.get_content_type() != "multipart/form-data" or not isinstance(boundary, str) or not boundary:
        raise precondition_failed("Bucket POST must be of the enclosure-type multipart/form-data")
    reader = FormReader(ctx.body_chunks(), boundary)
    form, file_headers = await reader.fields()
    fields = one_value_per_field(form)          # the one parsed form: the policy check and the write read it
    lowered = {k.lower(): v for k, v in fields.items()}
    if "key" not in lowered:
        raise invalid_argument("Bucket POST must contain a field named 'key'.  If it is specified, please check the "
                               "order of the fields.", "key", "")
    if file_headers is None:
        raise invalid_argument("POST requires exactly one file upload per request.", "file", "0")
    key = lowered["key"].replace("${filename}", file_headers.get("filename", ""))
    check_key(key)
    state = ctx.state
    now = datetime.now(UTC)
    # The file size is known only after the file has streamed: check everything else now, the size before commit.
    account = verify_post_policy(fields, None, state.accounts, state.region, now, bucket.name)
    if account.account_id != bucket.owner_id:
        raise access_denied()
    ctx.account = account
    attr_source = {k: v for k, v in lowered.items() if k.startswith("x-amz-meta-") or k in (
        "cache-control", "content-disposition", "content-encoding", "expires", "x-amz-storage-class",
        "x-amz-website-redirect-location", "x-amz-tagging")}
    attr_source["content-type"] = lowered.get("content-type") or file_headers.get("content-type") or ""
    attrs = object_attributes(attr_source)
    integrity = RequestIntegrity({k: v for k, v in lowered.items() if k == "content-md5"
                                  or k.startswith("x-amz-checksum-")})
    plan = state.encryption.plan_write(operation="PostObject", headers=lowered,
                                       bucket_encryption=bucket_encryption(bucket), account_id=account.account_id,
                                       secure=ctx.secure, bucket=bucket.name, key=key,
                                       signature_version=2 if "awsaccesskeyid" in lowered else 4)

    def check(size: int) -> None:
        verify_post_policy(fields, size, state.accounts, state.region, now, bucket.name)

    version = await write_object(ctx, bucket, key, reader.file(), plan, attrs, integrity=integrity, algorithm=None,
                                 check=check)
    location = f"/{bucket.name}/{quote(key)}"
    headers = {"etag": quoted(version.etag), "location": location}
    if bucket.versioning is not None:
        headers["x-amz-version-id"] = version.version_id
    headers.update(plan.response_headers)
    headers.update(checksum_headers(version))
    redirect = lowered.get("success_action_redirect") or lowered.get("redirect")
    if redirect:
        sep = "&" if "?" in redirect else "?"
        headers["location"] = (f"{redirect}{sep}bucket={quote(bucket.name)}&key={quote(key)}"
                               f"&etag={quote(quoted(version.etag))}")
        return Response(303, headers)
    status = lowered.get("success_action_status", "204")
    if status == "201":
        body = xmlio.render("PostResponse", [("Location", location), ("Bucket", bucket.name), ("Key", key),
                                             ("ETag", quoted(version.etag))], namespace=False)
        return xml_response(body, 201, headers)
    return Response(200 if status == "200" else 204, headers)
