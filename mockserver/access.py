"""Who is asking and whether they may: the request's bucket (existence, expected owner, ownership), the
requester's account id and signature version."""
from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver.errors import access_denied, no_such_bucket
from mockserver.storage.base import Bucket

if TYPE_CHECKING:
    from mockserver.http import RequestContext


def require_bucket(ctx: RequestContext, *, owner_only: bool = True) -> Bucket:
    """The request's bucket, checked for existence, x-amz-expected-bucket-owner and ownership (no bucket
    policies in the mock: only the owner account may use a bucket)."""
    assert ctx.bucket is not None
    bucket = ctx.state.storage.get_bucket(ctx.bucket)
    if bucket is None:
        raise no_such_bucket(ctx.bucket)
    expected = ctx.headers.get("x-amz-expected-bucket-owner")
    if expected is not None and expected != bucket.owner_id:
        raise access_denied()
    if owner_only and (ctx.account is None or ctx.account.account_id != bucket.owner_id):
        raise access_denied()
    return bucket


def requester(ctx: RequestContext) -> str:
    """Account id of the authenticated requester (handlers call it after require_bucket's owner check)."""
    if ctx.account is None:
        raise access_denied()
    return ctx.account.account_id


def signature_version(ctx: RequestContext) -> int:
    """SigV2 / SigV4 of the request, as the encryption service wants it (SSE-KMS requires SigV4); anonymous
    requests count as SigV4."""
    version = ctx.auth.signature_version if ctx.auth is not None else 4
    return version if version in (2, 4) else 4
