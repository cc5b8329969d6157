"""multipart/form-data request bodies (POST Object) parsed while they stream: the fields first, then the file.

Hand-written because no streaming multipart parser is installed (python-multipart is not a dependency) and S3's
rule that the file is the last field lets the fields be read first and the file go straight into the encrypted
blob; email.message parses the part headers.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import Message

from mockserver.errors import invalid_argument, malformed_post_request, post_fields_too_large

MAX_FIELDS_BYTES = 1024 * 1024
MAX_PART_HEADER_BYTES = 16 * 1024


def header_params(value: str, header: str = "content-disposition") -> Message:
    """A header value parsed for its parameters (boundary=, name=, filename=)."""
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
            disposition = header_params(headers.get("content-disposition", ""))
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


def one_value_per_field(form: list[tuple[str, str]]) -> dict[str, str]:
    """The form as one value per field: names are case-insensitive (AWS: a Policy or X-Amz-Credential field in
    any casing works, LocalStack's test_post_object_policy_casing recorded against AWS), so `key` and `Key` are
    one field. A field repeated with the same value is that value; repeated with different values it is
    ambiguous and refused, because the policy check and the write must read the same value. AWS's answer to
    repeated fields is unproven: InvalidArgument naming the field is chosen as S3's error for a bad form field.
    The result keeps the first-seen spelling of each name (for "Extra input fields" messages)."""
    fields: dict[str, str] = {}
    spelling: dict[str, str] = {}
    for name, value in form:
        lname = name.lower()
        first = spelling.get(lname)
        if first is None:
            spelling[lname] = name
            fields[name] = value
        elif fields[first] != value:
            raise invalid_argument(f"POST form field '{name}' was given more than once with different values.",
                                   name, value)
    return fields
