"""POST Object: browser form upload (multipart/form-data) authorised by a signed policy document.

The form is parsed while it streams. Hand-written because no streaming multipart parser is installed
(python-multipart is not a dependency) and S3's rule that the file is the last field lets the fields be read
first and the file go straight into the encrypted blob; email.message parses the part headers.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import Message
from urllib.parse import quote

from mockserver import xmlio
from mockserver.access import require_bucket
from mockserver.auth import verify_post_policy
from mockserver.checksums import RequestIntegrity
from mockserver.datapath.write import write_object
from mockserver.errors import (
    access_denied,
    invalid_argument,
    malformed_post_request,
    post_fields_too_large,
    precondition_failed,
)
from mockserver.http import RequestContext, Response, xml_response
from mockserver.objectmeta import check_key, checksum_headers, object_attributes, quoted
from mockserver.routing import route
from mockserver.sse.bucket_config import bucket_encryption

MAX_FIELDS_BYTES = 1024 * 1024
MAX_PART_HEADER_BYTES = 16 * 1024


def _header_params(value: str, header: str = "content-disposition") -> Message:
    msg = Message()
    msg[header] = value
    return msg


class FormReader:
    """multipart/form-data reader: fields before the file, then the file content as a stream."""

    def __init__(self, chunks: AsyncIterator[bytes], boundary: str) -> None:
        self._chunks = chunks.__aiter__()
        self._delimiter = b"\r\n--" + boundary.encode("latin-1")
        self._buf = bytearray(b"\r\n")         # the first boundary has no CRLF before it
        self._eof = False
        self._consumed = 0

    async def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            chunk = await self._chunks.__anext__()
        except StopAsyncIteration:
            self._eof = True
            return False
        self._buf += chunk
        return True

    async def _find(self, needle: bytes, limit: int) -> int:
        start = 0
        while True:
            i = self._buf.find(needle, start)
            if i >= 0:
                return i
            if len(self._buf) > limit:
                raise post_fields_too_large()
            start = max(0, len(self._buf) - len(needle) + 1)
            if not await self._fill():
                raise malformed_post_request()

    async def _next_part(self) -> dict[str, str] | None:
        """Skip to after the next delimiter; part headers, or None at the closing delimiter."""
        i = await self._find(self._delimiter, MAX_FIELDS_BYTES)
        del self._buf[: i + len(self._delimiter)]
        while len(self._buf) < 2:
            if not await self._fill():
                raise malformed_post_request()
        if self._buf[:2] == b"--":
            return None
        end = await self._find(b"\r\n\r\n", MAX_PART_HEADER_BYTES)
        raw = bytes(self._buf[:end]).decode("utf-8", "replace")
        del self._buf[: end + 4]
        headers: dict[str, str] = {}
        for line in raw.split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        return headers

    async def fields(self) -> tuple[list[tuple[str, str]], dict[str, str] | None]:
        """Fields up to the file part (their names as sent) and the file part's headers (None: no file)."""
        fields: list[tuple[str, str]] = []
        total = 0
        while True:
            headers = await self._next_part()
            if headers is None:
                return fields, None
            disposition = _header_params(headers.get("content-disposition", ""))
            name = disposition.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                raise malformed_post_request()
            if name.lower() == "file":
                filename = disposition.get_param("filename", header="content-disposition")
                headers["filename"] = filename if isinstance(filename, str) else ""
                return fields, headers
            end = await self._find(self._delimiter, MAX_FIELDS_BYTES)
            total += end
            if total > MAX_FIELDS_BYTES:
                raise malformed_post_request()
            fields.append((name, bytes(self._buf[:end]).decode("utf-8", "replace")))
            del self._buf[:end]

    async def file(self) -> AsyncIterator[bytes]:
        keep = len(self._delimiter) - 1
        while True:
            i = self._buf.find(self._delimiter)
            if i >= 0:
                if i:
                    yield bytes(self._buf[:i])
                del self._buf[:i]
                return
            if len(self._buf) > keep:
                yield bytes(self._buf[:-keep])
                del self._buf[:-keep]
            if not await self._fill():
                raise malformed_post_request()


@route("POST", "bucket", operation="PostObject")
async def post_object(ctx: RequestContext) -> Response:
    bucket = require_bucket(ctx, owner_only=False)
    content_type = ctx.headers.get("content-type", "")
    params = _header_params(content_type, "content-type")
    boundary = params.get_param("boundary", header="content-type")
    if params.get_content_type() != "multipart/form-data" or not isinstance(boundary, str) or not boundary:
        raise precondition_failed("Bucket POST must be of the enclosure-type multipart/form-data")
    reader = FormReader(ctx.body_chunks(), boundary)
    form, file_headers = await reader.fields()
    fields = dict(form)
    lowered = {k.lower(): v for k, v in form}
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
