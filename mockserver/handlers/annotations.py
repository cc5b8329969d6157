"""Object annotations (botocore 1.44, 2026): PutObjectAnnotation, GetObjectAnnotation, ListObjectAnnotations and
DeleteObjectAnnotation on `/{Bucket}/{Key+}?annotation` (annotationName, versionId, annotation-prefix,
continuation-token, max-annotation-results). The store is mockserver/storage/annotations.py.

Sources: botocore's S3 model (the four operations, their members and errors; API_PutObjectAnnotation.html etc. are
generated from it) and the user guide page annotations-overview. Documented there: "An annotation is a named payload
of 1 byte to 1 MiB that you can associate with a specific object or object version. Each object can have up to 1,000
annotations."; names of 1 to 512 bytes that "cannot start with aws or s3 (case-insensitive)" and "can contain Unicode
letters, digits, underscores, periods, and hyphens" (user guide, annotations-managing); a payload that is not
valid UTF-8 fails with 415 UnsupportedMediaType; "Annotations inherit the encryption of their parent object. For
objects without server-side encryption, annotations are encrypted with SSE-S3 (the default for new objects). Objects
encrypted with SSE-C cannot have annotations."; x-amz-object-if-match ("the operation only succeeds if the object's
ETag matches"); the errors NoSuchBucket, NoSuchKey, NoSuchAnnotation, InvalidRequest, AnnotationNameTooLong,
AnnotationLimitExceeded, InvalidAnnotationName, UnsupportedMediaType, InvalidPrefix with their statuses;
the response headers (x-amz-object-version-id, ETag, the checksum headers, x-amz-checksum-type,
x-amz-server-side-encryption) and the list's fields.

Choices where the documentation is silent (nothing records annotations; the corpus marks these unproven):
- encryption at rest: the annotation gets a data key of its own, made by EncryptionService.plan_write as a write
  with the parent's encryption would make it: SSE-S3 (and parents without SSE): wrapped under the root key, no KMS
  call; SSE-KMS: KMS GenerateDataKey under the parent's key and encryption context (or the parent's S3 Bucket Key,
  no KMS call while it is cached); DSSE-KMS: GenerateDataKey plus the outer layer. GetObjectAnnotation decrypts as
  GetObject does (KMS Decrypt, or the bucket key). Which KMS calls AWS really makes for annotations is unproven;
- a parent encrypted with SSE-C: 400 InvalidRequest (the model lists InvalidRequest for PutObjectAnnotation); Get,
  List and Delete of annotations of such an object cannot occur (none can be made);
- responses carry x-amz-server-side-encryption only (the model has no KMS key id header for these operations);
- the ETag of an annotation: the MD5 of its payload; its checksum: the one the request sent (verified: BadDigest for
  Content-MD5, XAmzContentChecksumMismatch... as PutObject answers), else CRC64NVME as S3 gives new objects,
  always FULL_OBJECT; GetObjectAnnotation answers it with x-amz-checksum-mode ENABLED only;
- an empty payload: 400 InvalidRequest; a payload over 1 MiB: 400 EntityTooLarge;
- an empty or reserved name (aws*, s3*), or one with another character: InvalidAnnotationName; over 512 bytes:
  AnnotationNameTooLong (checked after the characters and the reserved prefixes); a missing
  annotationName on Put or Delete: InvalidRequest;
- ListObjectAnnotations: names in UTF-8 byte order, max-annotation-results 1..1000 (default and cap 1000; not a
  number or below 1: InvalidArgument), an opaque continuation token (base64 of the last name; an unreadable one is
  InvalidArgument as ListObjectsV2 answers), an annotation-prefix over 512 bytes or with a character no name can
  have: InvalidPrefix; root element
  ListObjectAnnotationsResult;
- PutObjectAnnotation's body: <PutObjectAnnotationResult> with Key and AnnotationName (the model's body members);
- the object named by versionId, or the latest; a delete marker as GetObject answers it (NoSuchKey / 405);
- x-amz-object-if-match that does not match (or names no object): 412 PreconditionFailed;
- x-amz-object-version-id is answered for buckets that have had versioning configured (as x-amz-version-id);
- DeleteObjectAnnotation of an annotation that does not exist: 404 NoSuchAnnotation;
- CopyObject (AnnotationCopy below; its directive and default are documented): an unknown directive is
  InvalidArgument; a copy of annotations onto an SSE-C destination is refused with InvalidRequest before anything is
  written; the query-string form of the directive takes the header's name; a copied annotation's last-modified time
  is the copy's.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from typing import Any

from mockserver import xmlio
from mockserver.access import requester, require_bucket, signature_version
from mockserver.checksums import RequestIntegrity, b64, new_digest
from mockserver.datapath.write import DEFAULT_CHECKSUM
from mockserver.dialects import SSE_S3
from mockserver.errors import entity_too_large, invalid_argument, invalid_request, precondition_failed, s3_error
from mockserver.http import RequestContext, Response, xml_response
from mockserver.httpdates import http_date, iso8601
from mockserver.numbers import parse_digits
from mockserver.objectmeta import quoted
from mockserver.routing import route
from mockserver.sse import headers as H
from mockserver.sse.service import SSE_C, ObjectKeys
from mockserver.storage.annotations import Annotation, VersionRef, parent_stamp
from mockserver.storage.base import Bucket, ObjectVersion, now, storage_failure
from mockserver.versions import resolve_version

MAX_PAYLOAD = 1024 * 1024           # "1 byte to 1 MiB"
MAX_NAME_BYTES = 512                # "Maximum length of 512 bytes"
MAX_ANNOTATIONS = 1000              # "up to 1,000 annotations"
MAX_RESULTS = 1000                  # "Maximum is 1,000."
RESERVED_PREFIXES = ("aws", "s3")   # "cannot start with aws or s3 (case-insensitive)"
MSG_SSE_C = "Objects encrypted with customer-provided keys (SSE-C) cannot have annotations."
MSG_NAME_REQUIRED = "The annotationName parameter is required."
MSG_EMPTY = "The annotation payload must be between 1 byte and 1 MiB in size."
ANNOTATION_DIRECTIVE = "x-amz-object-annotation-directive"     # CopyObject's AnnotationDirective
MSG_DIRECTIVE = "Unknown annotation directive."


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _name_char(c: str) -> bool:
    """"Names must be 1-512 bytes and can contain Unicode letters, digits, underscores, periods, and hyphens."
    (user guide, annotations-managing)"""
    return c.isalpha() or c.isdigit() or c in "_.-"


def _name(ctx: RequestContext) -> str:
    name = ctx.query.get("annotationName")
    if name is None:
        raise invalid_request(MSG_NAME_REQUIRED)
    if name == "" or name.lower().startswith(RESERVED_PREFIXES) or not all(_name_char(c) for c in name):
        raise s3_error("InvalidAnnotationName")
    if len(_utf8(name)) > MAX_NAME_BYTES:
        raise s3_error("AnnotationNameTooLong")
    return name


def _parent(ctx: RequestContext) -> tuple[Bucket, ObjectVersion, VersionRef]:
    """The bucket (NoSuchBucket, expected owner), the object version (NoSuchKey, versionId, delete markers),
    x-amz-object-if-match, and the SSE-C refusal."""
    bucket = require_bucket(ctx)
    key = ctx.key
    assert key is not None
    version = resolve_version(ctx, bucket, key)
    wanted = ctx.headers.get("x-amz-object-if-match")
    if wanted is not None and wanted.strip() != "*" and wanted.strip().strip('"') != version.etag:
        raise precondition_failed("x-amz-object-if-match")
    if version.sse.get("mode") == SSE_C:
        raise invalid_request(MSG_SSE_C)
    return bucket, version, (bucket.name, key, version.version_id)


def _version_headers(bucket: Bucket, version: ObjectVersion) -> dict[str, str]:
    return {} if bucket.versioning is None else {"x-amz-object-version-id": version.version_id}


def _sse_headers(annotation_sse: Any) -> dict[str, str]:
    alg = annotation_sse.get("alg")
    return {H.SSE: alg} if alg else {}


def _plan_headers(ctx: RequestContext, parent_sse: Any) -> dict[str, str]:
    """The SSE request headers a write with the parent's encryption would carry (SSE-S3 for parents without)."""
    dialect = ctx.state.dialect
    headers: dict[str, str] = {}
    alg = parent_sse.get("alg")
    if not alg:
        try:
            alg = dialect.algorithm_for_mode(SSE_S3)
        except KeyError:            # a dialect without SSE-S3: stored encrypted all the same, nothing reported
            return headers
    headers[H.SSE] = alg
    if parent_sse.get("kms_key"):
        headers[H.SSE_KMS_KEY] = parent_sse["kms_key"]
        headers[H.SSE_BUCKET_KEY] = "true" if parent_sse.get("bk") else "false"
        user_ctx = {k: v for k, v in (parent_sse.get("ctx") or {}).items() if k != "aws:s3:arn"}
        if user_ctx:
            headers[H.SSE_CONTEXT] = H.encode_context(user_ctx)
    return headers


def _seal(ctx: RequestContext, bucket: str, parent: ObjectVersion, payload: bytes) -> tuple[dict[str, Any], bytes]:
    """An annotation payload encrypted under a data key of its own, planned as a write with the parent's
    encryption (the plan's meta, the ciphertext)."""
    plan = ctx.state.encryption.plan_write(operation="PutObjectAnnotation", headers=_plan_headers(ctx, parent.sse),
                                           bucket_encryption=None, account_id=requester(ctx), secure=ctx.secure,
                                           bucket=bucket, key=parent.key, signature_version=signature_version(ctx))
    encryptor = plan.encryptor()
    return plan.meta, encryptor.update(payload) + encryptor.finalize()


def _opened(ctx: RequestContext, annotation: Annotation) -> ObjectKeys:
    """The keys of an annotation's own data key (KMS key state and Decrypt as GetObject checks them)."""
    return ctx.state.encryption.open_read(operation="GetObject", meta=annotation.sse, headers={},
                                          account_id=requester(ctx), secure=ctx.secure,
                                          signature_version=signature_version(ctx))


def _plaintext(keys: ObjectKeys, annotation: Annotation) -> bytes:
    stored = annotation.ciphertext
    return b"".join(keys.decrypt_range(lambda offset, length: stored[offset:offset + length],
                                       annotation.size, 0, annotation.size - 1))


def annotation_directive(ctx: RequestContext) -> str:
    """CopyObject's AnnotationDirective: "Valid Values: COPY | EXCLUDE"; "If this header isn't specified, COPY is
    the default behavior."; "either an HTTP header (x-amz-object-annotation-directive) or as a query string
    parameter" (botocore's model; the query parameter's name is not documented: the header's name is taken,
    unproven). Case-insensitive as x-amz-metadata-directive; another value: 400 InvalidArgument, as an unknown
    metadata directive is answered (unproven)."""
    raw = ctx.headers.get(ANNOTATION_DIRECTIVE)
    if raw is None:
        raw = ctx.query.get(ANNOTATION_DIRECTIVE)
    if raw is None:
        return "COPY"
    value = raw.strip().upper()
    if value not in ("COPY", "EXCLUDE"):
        raise invalid_argument(MSG_DIRECTIVE, ANNOTATION_DIRECTIVE, raw)
    return value


@dataclasses.dataclass
class AnnotationCopy:
    """The annotations a CopyObject copies (directive COPY, the default) from its source version to the version
    it writes. Prepared before the object is written (an SSE-C destination, which cannot have annotations, is
    refused with 400 InvalidRequest (unproven) and a KMS key that cannot decrypt a source annotation fails the
    request, before anything is written); applied after: each annotation is decrypted and sealed again under a
    data key of its own planned with the destination's encryption ("Annotations inherit the encryption of their
    parent object"), with the copy's time as its last-modified time (unproven). The set is the source's at
    preparation (AWS: "If annotations on the source are modified during the copy, Amazon S3 returns a retryable
    error"; here the copy is of one consistent set). Not atomic with the object: a crash or a failed write after
    the object is stored leaves it with part of its annotations, as the documents say of SDK multipart copies."""
    sources: list[tuple[Annotation, ObjectKeys]]

    @classmethod
    def prepare(cls, ctx: RequestContext, directive: str, source_bucket: str, source: ObjectVersion,
                destination_sse: Any) -> AnnotationCopy:
        if directive == "EXCLUDE":
            return cls([])
        found = ctx.state.storage.annotations.of((source_bucket, source.key, source.version_id), source)
        if not found:
            return cls([])
        if destination_sse.get("mode") == SSE_C:
            raise invalid_request(MSG_SSE_C)
        names = sorted(found, key=_utf8)
        return cls([(found[n], _opened(ctx, found[n])) for n in names])

    async def apply(self, ctx: RequestContext, bucket: Bucket, version: ObjectVersion) -> None:
        store = ctx.state.storage.annotations
        ref = (bucket.name, version.key, version.version_id)
        stamp = parent_stamp(version)
        for annotation, keys in self.sources:
            meta, ciphertext = _seal(ctx, bucket.name, version, _plaintext(keys, annotation))
            copied = dataclasses.replace(annotation, last_modified=now(), sse=meta, ciphertext=ciphertext,
                                         parent=stamp)
            try:
                await store.put(ref, copied)
            except OSError as error:
                raise storage_failure("annotation", error) from None


def _declared_size(ctx: RequestContext) -> int | None:
    if ctx.auth is not None and ctx.auth.decoded_content_length is not None:
        return ctx.auth.decoded_content_length
    return parse_digits(ctx.headers.get("content-length", ""))


@route("PUT", "object", query="annotation", operation="PutObjectAnnotation")
async def put_object_annotation(ctx: RequestContext) -> Response:
    bucket, version, ref = _parent(ctx)
    name = _name(ctx)
    integrity = RequestIntegrity(ctx.headers)
    algorithm = integrity.algorithm or DEFAULT_CHECKSUM    # x-amz-sdk-checksum-algorithm alone: InvalidRequest
    declared = _declared_size(ctx)
    if declared is not None and declared > MAX_PAYLOAD:
        raise entity_too_large(declared, MAX_PAYLOAD)
    if declared == 0:
        raise invalid_request(MSG_EMPTY)
    store = ctx.state.storage.annotations
    existing = store.of(ref, version)
    if name not in existing and len(existing) >= MAX_ANNOTATIONS:
        raise s3_error("AnnotationLimitExceeded")
    payload = await ctx.read_body(limit=MAX_PAYLOAD)
    md5 = hashlib.md5(payload).digest()
    digest = new_digest(algorithm)
    digest.update(payload)
    checksum = digest.digest()
    integrity.verify(md5, checksum if integrity.algorithm is not None else None, ctx.trailers())
    if not payload:
        raise invalid_request(MSG_EMPTY)
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        raise s3_error("UnsupportedMediaType") from None
    meta, ciphertext = _seal(ctx, bucket.name, version, payload)
    annotation = Annotation(name, len(payload), md5.hex(), now(), algorithm, b64(checksum), meta,
                            ciphertext, parent_stamp(version))
    try:
        await ctx.state.storage.annotations.put(ref, annotation)
    except OSError as error:
        raise storage_failure("annotation", error) from None
    headers = {"etag": quoted(annotation.etag), f"x-amz-checksum-{algorithm}": annotation.checksum,
               "x-amz-checksum-type": "FULL_OBJECT"}
    headers.update(_version_headers(bucket, version))
    headers.update(_sse_headers(meta))
    body = xmlio.render("PutObjectAnnotationResult", [("Key", version.key), ("AnnotationName", name)])
    return xml_response(body, 200, headers)


@route("GET", "object", query=("annotation", "annotationName"), operation="GetObjectAnnotation")
async def get_object_annotation(ctx: RequestContext) -> Response:
    bucket, version, ref = _parent(ctx)
    name = _name(ctx)
    annotation = ctx.state.storage.annotations.of(ref, version).get(name)
    if annotation is None:
        raise s3_error("NoSuchAnnotation")
    # SSE request headers (400 as GetObject), KMS key state and Decrypt: the keys of the annotation's own data key.
    keys = ctx.state.encryption.open_read(operation="GetObject", meta=annotation.sse, headers=ctx.headers,
                                          account_id=requester(ctx), secure=ctx.secure,
                                          signature_version=signature_version(ctx))
    payload = _plaintext(keys, annotation)
    headers = {"etag": quoted(annotation.etag), "last-modified": http_date(annotation.last_modified),
               "content-type": "application/octet-stream", "content-length": str(len(payload))}
    headers.update(_version_headers(bucket, version))
    headers.update(_sse_headers(annotation.sse))
    if ctx.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
        headers[f"x-amz-checksum-{annotation.checksum_algorithm}"] = annotation.checksum
        headers["x-amz-checksum-type"] = "FULL_OBJECT"
    return Response(200, headers, payload)


def _max_results(ctx: RequestContext) -> int:
    raw = ctx.query.get("max-annotation-results")
    if raw is None:
        return MAX_RESULTS
    value = parse_digits(raw)
    if value is None or value < 1:
        raise invalid_argument("Provided max-annotation-results not an integer or within integer range",
                               "max-annotation-results", raw)
    return min(value, MAX_RESULTS)


def _token_name(token: str) -> str:
    try:
        name = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
        if not name:
            raise ValueError("empty")
        return name
    except (binascii.Error, UnicodeError, ValueError):
        raise invalid_argument("The continuation token provided is incorrect", "continuation-token",
                               token) from None


def _token(name: str) -> str:
    return base64.urlsafe_b64encode(_utf8(name)).decode("ascii")


@route("GET", "object", query="annotation", operation="ListObjectAnnotations")
async def list_object_annotations(ctx: RequestContext) -> Response:
    bucket, version, ref = _parent(ctx)
    prefix = ctx.query.get("annotation-prefix", "")
    if len(_utf8(prefix)) > MAX_NAME_BYTES or not all(_name_char(c) for c in prefix):
        raise s3_error("InvalidPrefix")         # longer than a name, or a character no name has
    limit = _max_results(ctx)
    token = ctx.query.get("continuation-token")
    after = _token_name(token) if token is not None else None
    entries: list[Annotation] = []
    more = False
    for annotation in ctx.state.storage.annotations.sorted_names(ref, version, prefix, after):
        if len(entries) == limit:
            more = True
            break
        entries.append(annotation)
    items: list[tuple[str, xmlio.Node]] = [("Bucket", bucket.name), ("Key", version.key)]
    if prefix:
        items.append(("AnnotationPrefix", prefix))
    items += [("MaxAnnotationResults", limit), ("AnnotationCount", len(entries))]
    if token is not None:
        items.append(("ContinuationToken", token))
    if more:
        items.append(("NextContinuationToken", _token(entries[-1].name)))
    if entries:          # one <Annotations> holding an <AnnotationEntry> each (the model's list is not flattened)
        items.append(("Annotations", [("AnnotationEntry", [
            ("AnnotationName", a.name), ("LastModified", iso8601(a.last_modified)), ("ETag", quoted(a.etag)),
            ("ChecksumAlgorithm", a.checksum_algorithm.upper()), ("Size", a.size)]) for a in entries]))
    body = xmlio.render("ListObjectAnnotationsResult", items)
    return xml_response(body, 200, _version_headers(bucket, version))


@route("DELETE", "object", query="annotation", operation="DeleteObjectAnnotation")
async def delete_object_annotation(ctx: RequestContext) -> Response:
    bucket, version, ref = _parent(ctx)
    name = _name(ctx)
    store = ctx.state.storage.annotations
    if name not in store.of(ref, version):
        raise s3_error("NoSuchAnnotation")
    try:
        await store.delete(ref, name)
    except OSError as error:
        raise storage_failure("annotation", error) from None
    return Response(204, _version_headers(bucket, version))

