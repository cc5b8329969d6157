"""Per-request context and response objects shared by app.py and the handlers."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mockserver.errors import incomplete_body, max_message_length_exceeded

if TYPE_CHECKING:
    from mockserver.accounts import Account
    from mockserver.auth import AuthResult
    from mockserver.state import AppState

MAX_XML_BODY = 4 * 1024 * 1024   # configuration / list bodies; larger ones are not S3 requests we serve


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | AsyncIterator[bytes] | AsyncIterator[bytes | memoryview] = b""
    # Called once the body has been sent or abandoned (closes blob readers).
    on_close: Callable[[], None] | None = None


def xml_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    h = {"content-type": "application/xml"}
    if headers:
        h.update(headers)
    return Response(status, h, body)


class RequestContext:
    """Everything a handler needs: the parsed request, the authenticated account and the app state."""

    __slots__ = (
        "_body_consumed",
        "_receive",
        "account",
        "auth",
        "body_complete",
        "bucket",
        "header_list",
        "headers",
        "key",
        "method",
        "query",
        "query_string",
        "raw_path",
        "request_id",
        "secure",
        "state",
        "vhost_bucket",
    )

    def __init__(self, state: AppState, method: str, raw_path: str, query_string: str, query: dict[str, str],
                 headers: dict[str, str], header_list: list[tuple[str, str]], secure: bool, bucket: str | None,
                 key: str | None, receive: Callable[[], Any], request_id: str,
                 vhost_bucket: str | None = None) -> None:
        self.state = state
        self.method = method
        self.raw_path = raw_path
        self.query_string = query_string
        self.query = query
        self.headers = headers
        self.header_list = header_list
        self.secure = secure
        self.bucket = bucket
        self.key = key
        self.account: Account | None = None
        self.auth: AuthResult | None = None      # set by the app once the request is authenticated
        self.request_id = request_id
        self.vhost_bucket = vhost_bucket         # the bucket Host names (virtual-hosted addressing), else None
        self._receive = receive
        self._body_consumed = False
        self.body_complete = False       # the last body message has been received

    @property
    def has_body(self) -> bool:
        return self.headers.get("content-length", "0") not in ("0", "") or "transfer-encoding" in self.headers

    @property
    def account_id(self) -> str | None:
        return self.account.account_id if self.account is not None else None

    def _raw_chunks(self) -> AsyncIterator[bytes]:
        return _RawChunks(self)

    def body_chunks(self) -> AsyncIterator[bytes]:
        """Decoded payload (aws-chunked framing removed, signatures verified by auth while streaming)."""
        if self.auth is None:
            raise RuntimeError("the body is read only after the request is authenticated")
        return self.auth.decode_body(self._raw_chunks())

    def trailers(self) -> dict[str, str]:
        """The aws-chunked trailers of the body (complete once body_chunks() is exhausted)."""
        return self.auth.trailers if self.auth is not None else {}

    async def read_body(self, limit: int = MAX_XML_BODY) -> bytes:
        """Whole (small) body: XML configuration documents, DeleteObjects, CompleteMultipartUpload."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.body_chunks():
            size += len(chunk)
            if size > limit:
                raise max_message_length_exceeded()
            parts.append(chunk)
        return b"".join(parts)


class _RawChunks:
    """The request body's pieces as received, as an async iterator: what an async generator over receive() would
    give (nothing when the body was already consumed; the body is marked consumed at the first step; a disconnect
    raises IncompleteBody; finished after the last piece or an error), without an async generator's per-object
    set-up and finalizer registration (a PUT's body is read through this once per request)."""

    __slots__ = ("_ctx", "_state")

    def __init__(self, ctx: RequestContext) -> None:
        self._ctx = ctx
        self._state = 0             # 0: not started, 1: reading, 2: finished

    def __aiter__(self) -> _RawChunks:
        return self

    async def __anext__(self) -> bytes:
        ctx = self._ctx
        if self._state != 1:
            if self._state == 2 or ctx._body_consumed:
                self._state = 2
                raise StopAsyncIteration
            ctx._body_consumed = True
            self._state = 1
        while True:
            try:
                message = await ctx._receive()
            except BaseException:       # cancelled: finished, as a generator would be
                self._state = 2
                raise
            if message["type"] == "http.disconnect":
                self._state = 2
                raise incomplete_body()
            chunk = message.get("body", b"")
            if not message.get("more_body", False):
                ctx.body_complete = True
                self._state = 2
                if chunk:
                    return chunk  # type: ignore[no-any-return]
                raise StopAsyncIteration
            if chunk:
                return chunk  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        self._state = 2
