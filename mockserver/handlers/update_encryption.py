"""UpdateObjectEncryption (`PUT /{Bucket}/{Key+}?encryption`, January 2026): an SSE-S3 or SSE-KMS object becomes
SSE-KMS under the key the request names, optionally with a bucket key, without its data being rewritten: the
object's data key is unwrapped and wrapped again (envelope encryption), every other property of the version
(metadata, storage class, ETag, checksums, dates, version id) stays as it was.

Sources: botocore's S3 model (operation UpdateObjectEncryption, its documentation, shapes ObjectEncryption and
SSEKMSEncryption with the KMSKeyArn pattern) and AWS's API page. The error messages below are the ones the
operation's documentation lists ("Depending on the reason for the error, you might receive one of the following
messages"), verbatim as the API page renders them ("AWS" where the model spells out "Amazon Web Services"),
typo included. Which request triggers which of them is read from the same list; the
order the checks run in is not documented (bucket, signature, body, version, source, key here). Element names of
a DSSE-KMS or SSE-C target (`DSSE-KMS`, `SSE-C`) are not in the model: the mock reads them as that documented
reason, any other element as "a valid new encryption type" (unproven)."""
from __future__ import annotations

import re

from mockserver import xmlio
from mockserver.access import requester, require_bucket, signature_version
from mockserver.datapath.bodies import read_checked_body
from mockserver.dialects import DSSE_KMS, SSE_KMS, SSE_S3
from mockserver.errors import access_denied, invalid_request
from mockserver.http import RequestContext, Response
from mockserver.routing import route
from mockserver.versions import resolve_version

MSG_UNENCRYPTED = ("The UpdateObjectEncryption operation doesn't supported unencrypted source objects. Only source "
                   "objects encrypted with SSE-S3 or SSE-KMS are supported.")
MSG_SOURCE_TYPE = ("The UpdateObjectEncryption operation doesn't support source objects with the encryption type "
                   "DSSE-KMS or SSE-C. Only source objects encrypted with SSE-S3 or SSE-KMS are supported.")
MSG_TARGET_TYPE = ("The UpdateObjectEncryption operation doesn't support updating the encryption type to DSSE-KMS or "
                   "SSE-C. Modify the request to specify SSE-KMS for the updated encryption type, and then try again.")
MSG_SIGV4 = ("Requests that modify an object encryption configuration require AWS Signature "
             "Version 4. Modify the request to use AWS Signature Version 4, and then try again.")
MSG_NEED_TYPE = ("Requests that modify an object encryption configuration require a valid new encryption type. "
                 "Valid values are SSEKMS. Modify the request to specify SSE-KMS for the updated encryption type, "
                 "and then try again.")
MSG_NEED_ARN = ("Requests that modify an object's encryption type to SSE-KMS require an AWS KMS key "
                "Amazon Resource Name (ARN). Modify the request to specify a KMS key ARN, and then try again.")
MSG_BAD_ARN = ("Requests that modify an object's encryption type to SSE-KMS require a valid AWS KMS "
               "key Amazon Resource Name (ARN). Confirm that you have a correctly formatted KMS key ARN in your "
               "request, and then try again.")
MSG_BUCKET_KEY = ("The BucketKeyEnabled value isn't valid. Valid values are true or false. Modify the request to "
                  "specify a valid value, and then try again.")
MSG_KEY_ACCOUNT = ("The AWS KMS key in the request must be owned by the same account as the bucket. "
                   "Modify the request to specify a KMS key from the same account, and then try again.")

# botocore's NonEmptyKmsKeyArnString (min 20, max 2048 characters); a key id or an alias is not an ARN.
KEY_ARN = re.compile(r"arn:aws[a-zA-Z0-9-]*:kms:([a-z0-9-]+):([0-9]{12}):key/[a-zA-Z0-9-]+")
_UNSUPPORTED_TARGETS = ("DSSE-KMS", "SSE-C")


def parse_object_encryption(body: bytes) -> tuple[str, bool]:
    """The ObjectEncryption document -> (KMS key ARN, BucketKeyEnabled). Raises S3Error."""
    root = xmlio.parse(body, "ObjectEncryption")
    members = [el for el in root if isinstance(el.tag, str)]
    names = [xmlio.local_name(el) for el in members]
    if any(name in _UNSUPPORTED_TARGETS for name in names):
        raise invalid_request(MSG_TARGET_TYPE)
    if names != ["SSE-KMS"]:          # none, SSE-S3, anything else, or more than one (a union: exactly one)
        raise invalid_request(MSG_NEED_TYPE)
    sse_kms = members[0]
    arn = xmlio.only_child_text(sse_kms, "KMSKeyArn")
    bucket_key_text = xmlio.only_child_text(sse_kms, "BucketKeyEnabled")
    if arn is None or not arn.strip():
        raise invalid_request(MSG_NEED_ARN)
    if not (20 <= len(arn) <= 2048) or KEY_ARN.fullmatch(arn) is None:
        raise invalid_request(MSG_BAD_ARN)
    if bucket_key_text is None:
        bucket_key = False            # "If this value isn't specified, it defaults to false."
    elif bucket_key_text in ("true", "false"):
        bucket_key = bucket_key_text == "true"
    else:
        raise invalid_request(MSG_BUCKET_KEY)
    return arn, bucket_key


@route("PUT", "object", query="encryption", operation="UpdateObjectEncryption")
async def update_object_encryption(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)          # NoSuchBucket, x-amz-expected-bucket-owner, AccessDenied
    assert ctx.key is not None
    if signature_version(ctx) == 2:
        raise invalid_request(MSG_SIGV4)
    body = await read_checked_body(ctx, required=True)    # requestChecksumRequired: Content-MD5 or a checksum
    arn, bucket_key = parse_object_encryption(body)
    version = resolve_version(ctx, bucket, ctx.key)       # NoSuchKey, NoSuchVersion, delete markers
    meta = version.sse
    mode = meta.get("mode")
    if mode in (DSSE_KMS, "sse-c"):
        raise invalid_request(MSG_SOURCE_TYPE)
    if mode not in (SSE_S3, SSE_KMS) or not meta.get("alg"):
        raise invalid_request(MSG_UNENCRYPTED)            # objects that report no SSE (before 2023, vendors)
    account_id = requester(ctx)
    match = KEY_ARN.fullmatch(arn)
    assert match is not None
    if match.group(2) != bucket.owner_id:
        raise access_denied(MSG_KEY_ACCOUNT)
    new_meta = ctx.state.encryption.update_encryption(meta=meta, account_id=account_id, key_arn=arn,
                                                      bucket_key=bucket_key, bucket=bucket.name, key=ctx.key)
    await ctx.state.storage.replace_version(bucket.name, version.replace(sse=new_meta))
    return Response(200)
