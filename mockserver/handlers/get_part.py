"""GetPart (`GET /{Bucket}/{Key+}?part&uploadId=..&partNumber=..`, botocore 1.44, 2026): one part of an in-progress
multipart upload (the part's stored blob) or of a completed one (that part of the object version the upload made),
whole or a Range within it.

Sources: botocore's S3 model (operation GetPart, its members and errors), from which API_GetPart.html is generated.
Documented there: a part of an IN_PROGRESS or COMPLETED upload (x-amz-multipart-upload-status), the part's ETag,
its checksums with x-amz-checksum-mode, Content-Range "the portion of the part that was returned", the object's
version id, the SSE response headers, NoSuchBucket / NoSuchUpload / NoSuchPart ("Either the part has not been
uploaded, or the part number exceeds the number of parts in the completed object"), InvalidObjectState (403) for
completed objects in GLACIER, DEEP_ARCHIVE or INTELLIGENT_TIERING, a 400 for encryption request headers sent for
SSE-S3 / SSE-KMS / DSSE-KMS data, "SSE-C is not supported for GetPart", and that uploads completed with
non-consecutive part numbers are not supported.

Choices where the documentation is silent (nothing records GetPart: LocalStack's and ceph/s3-tests' suites have no
test of it, December 2026; the corpus marks these unproven):
- an SSE request header: GetObject's answer (400 InvalidArgument naming the header, from EncryptionService.open_read);
- an SSE-C upload or object, with or without the key: 400 InvalidRequest;
- an aborted upload, an id never issued, a completed upload whose object version is gone or was overwritten:
  NoSuchUpload (its model documentation: "the multipart upload might have been aborted");
- NoSuchPart's message: the first sentence of its model documentation;
- a completed upload with non-consecutive part numbers: 400 InvalidRequest naming GetObject;
- the whole part: 200 without Content-Range; a Range: 206 with `bytes a-b/<part size>`; a Range no byte of the part
  satisfies: 416 InvalidRange (as GetObject);
- x-amz-checksum-mode ENABLED: the part's checksum of the upload's algorithm (CRC64NVME when it named none), for the
  whole part only (like GetObject, no checksum for a Range);
- KMS: the data key is fetched (KMS Decrypt, or the bucket key) before the response starts, as for GetObject.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mockserver.access import requester, require_bucket, signature_version
from mockserver.datapath.plaintext import plaintext_stream, read_small
from mockserver.datapath.write import DEFAULT_CHECKSUM
from mockserver.errors import S3Error, invalid_argument, invalid_request, no_such_upload, s3_error
from mockserver.handlers.objects import SMALL_BODY, parse_range
from mockserver.http import RequestContext, Response
from mockserver.numbers import parse_digits
from mockserver.objectmeta import quoted
from mockserver.routing import route
from mockserver.sse.service import SSE_C
from mockserver.storage.base import Bucket, Part
from mockserver.versions import version_header

IN_PROGRESS, COMPLETED = "IN_PROGRESS", "COMPLETED"
# "For completed multipart uploads, GetPart doesn't support the GLACIER, DEEP_ARCHIVE, or INTELLIGENT_TIERING
# storage classes." (x-amz-storage-class of GetPartOutput)
ARCHIVED_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE", "INTELLIGENT_TIERING"})
MSG_SSE_C = "The GetPart operation does not support objects encrypted with customer-provided keys (SSE-C)."
MSG_NON_CONSECUTIVE = ("The GetPart operation does not support multipart uploads completed with non-consecutive "
                       "part numbers. Use GetObject instead.")
MSG_ARCHIVED = "The operation is not valid for the object's storage class"


@dataclass(frozen=True, slots=True)
class _Source:
    """What the request names: the upload's encryption, storage class, the part, and (completed) the version id."""
    status: str
    part: Part
    sse: Mapping[str, object]
    storage_class: str
    checksum_algorithm: str
    version_id: str | None


def _part_number(ctx: RequestContext) -> int:
    raw = ctx.query.get("partNumber", "")
    number = parse_digits(raw)
    if number is None or not 1 <= number <= 10000:
        raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", raw)
    return number


def no_such_part(upload_id: str, number: int) -> S3Error:
    return s3_error("NoSuchPart", fields={"UploadId": upload_id, "PartNumber": str(number)})


def _find(ctx: RequestContext, bucket: Bucket, number: int) -> _Source:
    """The part the request names, in progress or completed. Raises NoSuchUpload, NoSuchPart, InvalidObjectState."""
    storage = ctx.state.storage
    upload_id = ctx.query.get("uploadId", "")
    upload = storage.uploads.get(upload_id)
    if upload is not None and upload.bucket == bucket.name and upload.key == ctx.key:
        part = upload.parts.get(number)
        if part is None:
            raise no_such_part(upload_id, number)
        return _Source(IN_PROGRESS, part, upload.sse, upload.storage_class,
                       upload.checksum_algorithm or DEFAULT_CHECKSUM, None)
    done = storage.completed_uploads.get(upload_id)
    if done is None or done[0] != bucket.name or done[1] != ctx.key:
        raise no_such_upload(upload_id)
    version = storage.get_version(done[0], done[1], done[2])
    if version is None or version.upload_id != upload_id:
        raise no_such_upload(upload_id)          # the object version it made is deleted or overwritten
    if number > len(version.parts):
        raise no_such_part(upload_id, number)
    if [p.number for p in version.parts] != list(range(1, len(version.parts) + 1)):
        raise invalid_request(MSG_NON_CONSECUTIVE)
    if version.storage_class in ARCHIVED_CLASSES:
        raise s3_error("InvalidObjectState", MSG_ARCHIVED)
    algorithm = (version.checksum or {}).get("algorithm") or DEFAULT_CHECKSUM
    version_id = version.version_id if bucket.versioning is not None else None
    return _Source(COMPLETED, version.parts[number - 1], version.sse, version.storage_class, algorithm, version_id)


@route("GET", "object", query=("part", "uploadId"), operation="GetPart")
async def get_part(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx)          # NoSuchBucket, x-amz-expected-bucket-owner, AccessDenied
    number = _part_number(ctx)
    source = _find(ctx, bucket, number)
    if source.sse.get("mode") == SSE_C:
        raise invalid_request(MSG_SSE_C)
    state = ctx.state
    # SSE request headers (400), SSE-C headers for data that is not SSE-C, SigV4 for KMS, KMS key state and Decrypt.
    keys = state.encryption.open_read(operation="GetPart", meta=source.sse, headers=ctx.headers,
                                      account_id=requester(ctx), secure=ctx.secure,
                                      signature_version=signature_version(ctx))
    part = source.part
    headers = {"etag": quoted(part.etag), "accept-ranges": "bytes", "x-amz-multipart-upload-status": source.status}
    if source.version_id is not None:
        headers.update(version_header(bucket, source.version_id))
    if source.storage_class != "STANDARD":
        headers["x-amz-storage-class"] = source.storage_class
    headers.update(keys.response_headers)
    start, end, status = 0, part.size - 1, 200
    if "range" in ctx.headers:
        wanted = parse_range(ctx.headers["range"], part.size)
        if wanted is not None:
            start, end = wanted
            status = 206
            headers["content-range"] = f"bytes {start}-{end}/{part.size}"
    headers["content-length"] = str(max(0, end - start + 1))
    if (status == 200 and ctx.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
            and source.checksum_algorithm in part.checksums):
        headers[f"x-amz-checksum-{source.checksum_algorithm}"] = part.checksums[source.checksum_algorithm]
    if end < start:
        return Response(status, headers)
    storage = state.storage
    if end - start < SMALL_BODY:
        return Response(status, headers, read_small(storage, keys, [part], start, end))
    blobs = [part.blob]
    storage.acquire(blobs)
    return Response(status, headers, plaintext_stream(storage, keys, [part], start, end),
                    on_close=lambda: storage.release(blobs))
