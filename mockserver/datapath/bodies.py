"""Small request bodies (XML documents) read whole and checked against Content-MD5 / x-amz-checksum-*."""
from __future__ import annotations

import hashlib

from mockserver.checksums import RequestIntegrity, new_digest
from mockserver.errors import missing_integrity_header
from mockserver.http import RequestContext


async def read_checked_body(ctx: RequestContext, *, required: bool, md5_only: bool = False) -> bytes:
    """The body, verified against the integrity headers sent. `required`: the operation needs Content-MD5 or a
    checksum (botocore's requestChecksumRequired); `md5_only`: only Content-MD5 satisfies that requirement."""
    integrity = RequestIntegrity(ctx.headers)
    if required:
        satisfied = integrity.content_md5 is not None if md5_only else integrity.has_any
        if not satisfied:
            raise missing_integrity_header()
    body = await ctx.read_body()
    md5 = hashlib.md5(body).digest() if integrity.content_md5 is not None else None
    checksum = None
    if integrity.algorithm is not None:
        d = new_digest(integrity.algorithm)
        d.update(body)
        checksum = d.digest()
    integrity.verify(md5, checksum, ctx.trailers())
    return body
