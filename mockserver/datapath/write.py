"""Storing a whole object from a byte stream: PutObject, POST Object and CopyObject share this path; the
upload of a part (store_blob) shares its first half."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from mockserver.checksums import RequestIntegrity, decode_checksum_value, digest_of, random_etag
from mockserver.datapath.ingest import Ingested, commit, discard, ingest
from mockserver.datapath.workers import run_blocking
from mockserver.http import RequestContext
from mockserver.sse.service import StreamEncryptor, WritePlan
from mockserver.storage.base import BlobWriter, Bucket, ObjectVersion, now, storage_failure
from mockserver.storage.records import base64_text
from mockserver.versions import next_version_id

DEFAULT_CHECKSUM = "crc64nvme"     # S3 gives every new object a CRC64NVME checksum when none was sent
SMALL_BODY = 64 * 1024             # bodies up to this size are ingested by _ingest_small


async def _chained(held: list[bytes | memoryview], rest: AsyncIterator[bytes | memoryview]
                   ) -> AsyncIterator[bytes | memoryview]:
    for chunk in held:
        yield chunk
    async for chunk in rest:
        yield chunk


def _ingest_small(held: list[bytes | memoryview], size: int, writer: BlobWriter, encryptor: StreamEncryptor, *,
                  md5: bool, algorithms: set[str]) -> Ingested:
    """What ingest() computes and writes for a body that arrived whole and small: the digests, the MD5 and the
    encrypted blob (not committed), in one step."""
    data = held[0] if len(held) == 1 else b"".join(held)
    digests = {}
    for algorithm in algorithms:        # (a loop: a comprehension is a function call of its own)
        digests[algorithm] = digest_of(algorithm, data)
    md5_value = digest_of("md5", data) if md5 else None
    seal_whole = getattr(encryptor, "seal_whole", None)     # one chunk in one step (gcm_stream.ChunkedEncryptor)
    sealed = seal_whole(data) if seal_whole is not None else None
    if sealed is not None:
        writer.write(sealed)
    else:
        if size:
            out = encryptor.update(data)
            if out:
                writer.write(out)
        writer.write(encryptor.finalize())
    return Ingested(writer.blob_id, size, md5_value, digests)


async def ingest_body(body: AsyncIterator[bytes | memoryview], writer: BlobWriter, encryptor: StreamEncryptor, *,
                      md5: bool, algorithms: set[str]) -> Ingested:
    """ingest(), with a shortcut for a small PUT (most small-request CPU is per request): a body that ends
    within SMALL_BODY bytes is hashed, encrypted and written in one call, without ingest()'s streaming set-up;
    a longer one goes to ingest() whole (the pieces read so far first). Same results, same errors: on any error
    the writer is aborted and the error propagates."""
    chunks = body.__aiter__()
    held: list[bytes | memoryview] = []
    size = 0
    try:
        async for chunk in chunks:
            held.append(chunk)
            size += len(chunk)
            if size > SMALL_BODY:
                break
        else:
            return _ingest_small(held, size, writer, encryptor, md5=md5, algorithms=algorithms)
    except BaseException:
        await run_blocking(writer.abort)
        raise
    return await ingest(_chained(held, chunks), writer, encryptor, md5=md5, algorithms=algorithms)


def _trailer_verified_by_auth(ctx: RequestContext, integrity: RequestIntegrity | None) -> str | None:
    """The checksum algorithm whose aws-chunked trailer auth's decoder already computed and compared while
    decoding (STREAMING-*-TRAILER payloads): its value can be stored as sent instead of hashed a second time."""
    if integrity is None or integrity.trailer is None:
        return None
    mode = ctx.auth.payload_mode if ctx.auth is not None else ""
    return integrity.algorithm if mode.endswith("-TRAILER") else None


def _add_trailer_digest(digests: dict[str, bytes], algorithm: str | None, integrity: RequestIntegrity | None,
                       trailers: Mapping[str, str]) -> None:
    if algorithm is not None and integrity is not None and integrity.trailer is not None:
        value = trailers.get(integrity.trailer)
        if value is not None:
            digests[algorithm] = decode_checksum_value(algorithm, value)


async def store_blob(ctx: RequestContext, body: AsyncIterator[bytes | memoryview], plan: WritePlan, *, md5_etag: bool,
                     algorithms: set[str], integrity: RequestIntegrity | None, trailers: Callable[[], Mapping[str, str]],
                     check: Callable[[int], None] | None) -> tuple[BlobWriter, Ingested, str]:
    """Encrypt `body` into a new blob, computing `algorithms` (and MD5 when needed); commit it once it verifies
    against `integrity` and `check(size)`, else discard it. Returns the writer, what was read and the ETag (hex)."""
    state = ctx.state
    want_md5 = md5_etag or (integrity is not None and integrity.content_md5 is not None)
    writer = state.storage.new_blob()
    from_trailer = _trailer_verified_by_auth(ctx, integrity)
    try:
        got = await ingest_body(body, writer, plan.encryptor(), md5=want_md5,
                                algorithms=algorithms if from_trailer is None else algorithms - {from_trailer})
    except OSError as error:            # the blob store failed (full disk); ingest aborted the writer
        raise storage_failure("blob", error) from None
    try:
        _add_trailer_digest(got.digests, from_trailer, integrity, trailers())
        if integrity is not None:
            integrity.verify(got.md5, got.digests.get(integrity.algorithm or ""), trailers())
        if check is not None:
            check(got.size)
    except BaseException:
        await discard(writer)
        raise
    try:
        await commit(writer, state.durable)
    except OSError as error:
        await discard(writer)
        raise storage_failure("blob", error) from None
    etag = got.md5.hex() if md5_etag and got.md5 is not None else random_etag()
    return writer, got, etag


async def write_object(ctx: RequestContext, bucket: Bucket, key: str, body: AsyncIterator[bytes | memoryview], plan: WritePlan,
                       attrs: dict[str, Any], *, integrity: RequestIntegrity | None, algorithm: str | None,
                       trailers: Callable[[], Mapping[str, str]] = dict,
                       check: Callable[[int], None] | None = None) -> ObjectVersion:
    """Encrypt and store `body`; verify it against `integrity` (and `check(size)`) before committing; make it
    the key's newest version. A request rejected at any point leaves the stored data unchanged."""
    state = ctx.state
    algorithm = algorithm or (integrity.algorithm if integrity is not None else None) or DEFAULT_CHECKSUM
    writer, got, etag = await store_blob(ctx, body, plan, md5_etag=state.encryption.etag_is_md5(plan.meta),
                                         algorithms={algorithm}, integrity=integrity, trailers=trailers, check=check)
    checksum_value = base64_text(got.digests[algorithm])
    stamp = now()       # one time (one float) for the version and its part
    # The one part repeats the version (number 1, its size, ETag, time and checksum): given as the version keeps
    # it (its inline bytes or its blob id), without a Part built only to be compacted.
    single = writer.inline if writer.inline is not None else writer.blob_id or None
    version = ObjectVersion(
        key=key, version_id=next_version_id(bucket), last_modified=stamp, owner_id=bucket.owner_id,
        size=got.size, etag=etag, content_type=attrs["content_type"], headers=attrs["headers"],
        metadata=attrs["metadata"], storage_class=attrs["storage_class"], tagging_count=attrs["tagging_count"],
        checksum={"algorithm": algorithm, "value": checksum_value, "type": "FULL_OBJECT"}, sse=plan.meta,
        parts=None if single is not None else [
            state.storage.stored_part(writer, 1, got.size, etag, {algorithm: checksum_value}, stamp)],
        single_part=single,
    )
    await state.storage.put_version(bucket.name, version)
    return version
