"""Per-request context and response objects shared by app.py and the handlers."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mockserver.errors import S3Error

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
    )

    def __init__(self, *, state: AppState, method: str, raw_path: str, query_string: str, query: dict[str, str],
                 headers: dict[str, str], header_list: list[tuple[str, str]], secure: bool, bucket: str | None,
                 key: str | None, receive: Callable[[], Any], request_id: str) -> None:
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
        self._receive = receive
        self._body_consumed = False
        self.body_complete = False       # the last body message has been received

    @property
    def has_body(self) -> bool:
        return self.headers.get("content-length", "0") not in ("0", "") or "transfer-encoding" in self.headers

    @property
    def account_id(self) -> str | None:
        return self.account.account_id if self.account is not None else None

    async def _raw_chunks(self) -> AsyncIterator[bytes]:
        if self._body_consumed:
            return
        self._body_consumed = True
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise S3Error("IncompleteBody", "You did not provide the number of bytes specified by the "
                              "Content-Length HTTP header", 400)
            chunk = message.get("body", b"")
            if not message.get("more_body", False):
                self.body_complete = True
                if chunk:
                    yield chunk
                return
            if chunk:
                yield chunk

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
                raise S3Error("MaxMessageLengthExceeded", "Your request was too big.", 400)
            parts.append(chunk)
        return b"".join(parts)


# ----- transport -----
class _CoalescingTransport:
    """Wraps an asyncio transport so a small write is held until the next write or the end of the current loop
    iteration: a response's status line + headers and its body then leave in one send() system call instead
    of two (uvicorn writes them separately; the second syscall was a third of a small request's cost)."""

    __slots__ = ("_loop", "_pending", "_transport")
    HOLD_LIMIT = 16 * 1024

    def __init__(self, transport: Any, loop: Any) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: bytes | None = None

    def _flush(self) -> None:
        pending = self._pending
        if pending is not None:
            self._pending = None
            if not self._transport.is_closing():
                self._transport.write(pending)

    def write(self, data: bytes) -> None:
        if not data:
            return
        pending = self._pending
        if pending is not None:
            self._pending = None
            if len(data) <= self.HOLD_LIMIT:
                self._transport.write(pending + data)
            else:
                self._transport.writelines((pending, data))
            return
        if len(data) > self.HOLD_LIMIT:
            self._transport.write(data)
            return
        self._pending = bytes(data)
        self._loop.call_soon(self._flush)

    def writelines(self, chunks: Any) -> None:
        self._flush()
        self._transport.writelines(chunks)

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + (len(self._pending) if self._pending else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


# Request body bytes buffered per connection before reading pauses. uvicorn pauses at 64 KiB, so a large
# upload became one pause/resume (two epoll_ctl calls) and one ASGI message per socket read; with 1 MiB the
# loop handles a 1 GiB body with far fewer pauses.
BODY_HIGH_WATER = 1024 * 1024
PIECEWISE_BODY = 64 * 1024        # bodies above this are handed over piece by piece (_receive_pieces)


async def _receive_pieces(cycle: Any) -> dict[str, Any]:
    """uvicorn's RequestResponseCycle.receive, handing over the body pieces as parsed instead of gathering
    them into a bytearray and copying that into bytes (two copies of every uploaded byte saved)."""
    if cycle.waiting_for_100_continue and not cycle.transport.is_closing():
        cycle.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        cycle.waiting_for_100_continue = False
    pieces = cycle.mock_pieces
    if not pieces and not cycle.disconnected and not cycle.response_complete:
        cycle.flow.resume_reading()
        await cycle.message_event.wait()
        cycle.message_event.clear()
    if cycle.disconnected or cycle.response_complete:
        return {"type": "http.disconnect"}
    body = b""
    if pieces:
        body = pieces.popleft()
        cycle.mock_buffered -= len(body)
        if cycle.mock_buffered <= BODY_HIGH_WATER:
            cycle.flow.resume_reading()
    return {"type": "http.request", "body": body, "more_body": bool(pieces) or cycle.more_body}


def _large_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-length":
            return value.isdigit() and int(value) > PIECEWISE_BODY
        if name == b"transfer-encoding":
            return True
    return False


def coalescing_protocol() -> type:
    """uvicorn's httptools protocol with coalesced response writes, a larger request-body buffer and body
    pieces passed on without copies; pass as uvicorn.Config(http=...)."""
    import functools
    from collections import deque

    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class CoalescingHttpToolsProtocol(HttpToolsProtocol):
        def _on_small_body(self, body: bytes) -> None:
            # uvicorn's on_body with BODY_HIGH_WATER instead of its 64 KiB HIGH_WATER_LIMIT.
            self.cycle.body += body
            if len(self.cycle.body) > BODY_HIGH_WATER:
                self.flow.pause_reading()
            self.cycle.message_event.set()

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

        def on_headers_complete(self) -> None:
            previous = self.cycle
            super().on_headers_complete()
            cycle: Any = self.cycle
            if cycle is None or cycle is previous:      # upgrade request: no new cycle
                return
            if not _large_body(self.headers):
                return                                  # uvicorn's own path: one message, cheaper per request
            # The ASGI task reads cycle.receive when it starts (on a later loop iteration), so an instance
            # attribute set here replaces the method for this request.
            cycle.mock_pieces = deque()
            cycle.mock_buffered = 0
            cycle.receive = functools.partial(_receive_pieces, cycle)

        def on_body(self, body: bytes) -> None:
            if (self.parser.should_upgrade() and self._should_upgrade()) or self.cycle.response_complete:
                return
            cycle: Any = self.cycle
            if not hasattr(cycle, "mock_pieces"):
                self._on_small_body(body)
                return
            cycle.mock_pieces.append(body)
            cycle.mock_buffered += len(body)
            if cycle.mock_buffered > BODY_HIGH_WATER:
                self.flow.pause_reading()
            cycle.message_event.set()

    return CoalescingHttpToolsProtocol
