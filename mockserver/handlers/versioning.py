"""PutBucketVersioning, GetBucketVersioning."""
from __future__ import annotations

from mockserver import xmlio
from mockserver.access import require_bucket
from mockserver.datapath.bodies import read_checked_body
from mockserver.errors import illegal_versioning_configuration, malformed_xml, not_implemented
from mockserver.http import RequestContext, Response, xml_response
from mockserver.routing import route

STATUSES = ("Enabled", "Suspended")


@route("PUT", "bucket", query="versioning", operation="PutBucketVersioning")
async def put_bucket_versioning(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    body = await read_checked_body(ctx, required=True)
    root = xmlio.parse(body, "VersioningConfiguration")
    status = xmlio.only_child_text(root, "Status")
    mfa = xmlio.only_child_text(root, "MfaDelete")
    if status is not None and status not in STATUSES or mfa is not None and mfa not in ("Enabled", "Disabled"):
        raise malformed_xml()
    if status is None and mfa is None:
        # Recorded (LocalStack test_bucket_versioning_crud, put-versioning-empty): boto3's
        # VersioningConfiguration={} puts <VersioningConfiguration/> on the wire and AWS answers 400
        # IllegalVersioningConfigurationException. (MfaDelete without Status is unrecorded: accepted as before.)
        raise illegal_versioning_configuration()
    if mfa == "Enabled":
        # MFA delete needs x-amz-mfa devices the mock does not have: say so instead of pretending.
        raise not_implemented("MFA Delete is not implemented by this server")
    if status is not None and status != bucket.versioning:
        bucket.versioning = status
        await ctx.state.storage.save_bucket(bucket)
    return Response(200)


@route("GET", "bucket", query="versioning", operation="GetBucketVersioning")
async def get_bucket_versioning(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)
    items = [("Status", bucket.versioning)] if bucket.versioning else []
    return xml_response(xmlio.render("VersioningConfiguration", items))
