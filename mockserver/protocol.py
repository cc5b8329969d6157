"""HTTP-level bad input answered the way S3 answers it, on top of coalescing.coalescing_protocol():

- a request httptools cannot parse (bad Content-Length, Content-Length with Transfer-Encoding, control characters
  in a header, bytes after a body that was shorter than announced) gets S3's XML `400 BadRequest` instead of
  uvicorn's text/plain answer, and only after the responses of the requests already received on the connection
  (uvicorn wrote it at once and closed, so a client lost e.g. the 411 MissingContentLength of its request);
- a body that stops arriving ends in `400 RequestTimeout` after BODY_IDLE_TIMEOUT seconds, as on S3, instead of
  the request waiting forever; so does a header section not complete within that time;
- a client that half-closes (shuts down its write side) before the whole body arrived gets `400 IncompleteBody`
  instead of a connection closed without a response;
- a response sent before the request body was read (AccessDenied on a large PUT, an oversized POST form) is
  followed by a lingering close: the server stops writing and discards the rest of the body for a moment before
  closing, because closing a socket with unread bytes makes the kernel send RST, which can destroy the response
  before the client reads it.

Subclassing keeps these rare paths out of the hot-path protocol; the only per-request cost is one header scan.
"""
from __future__ import annotations

from typing import Any

from mockserver import requestids
from mockserver.coalescing import coalescing_protocol
from mockserver.errors import S3Error, bad_request, error_body, incomplete_body, request_timeout

# S3 answers a request whose body stalls after about 20 s of silence (RequestTimeout). Tests lower it.
BODY_IDLE_TIMEOUT = 20.0
# Lingering close: how long and how much of an unread body is drained before the connection is closed anyway.
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * 1024 * 1024


def _expects_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


class _LingeringTransport:
    """The protocol's transport; close() while the request body is still arriving drains instead (see above)."""

    __slots__ = ("_protocol", "_transport")

    def __init__(self, transport: Any, protocol: Any) -> None:
        self._transport = transport
        self._protocol = protocol

    def close(self) -> None:
        cycle = self._protocol.cycle
        if cycle is not None and cycle.more_body and not self._protocol.mock_lingering \
                and not self._transport.is_closing():
            self._protocol.linger()
            return
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def guarded_protocol() -> type:
    """uvicorn's httptools protocol (with the changes of coalescing.py) plus the guards above; pass as
    uvicorn.Config(http=...)."""

    base: Any = coalescing_protocol()

    class GuardedHttpToolsProtocol(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.mock_pending_error: S3Error | None = None
            self.mock_header_timer: Any = None
            self.mock_last_body = 0.0
            self.mock_idle_timer: Any = None
            self.mock_lingering = False
            self.mock_lingered = 0

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.transport: Any = _LingeringTransport(self.transport, self)

        # ----- lingering close -----
        def linger(self) -> None:
            self.mock_lingering = True
            self._cancel_idle_timer()
            raw = self.transport._transport
            try:
                raw.write_eof()             # the response is complete: tell the client nothing more comes
            except (NotImplementedError, AttributeError, RuntimeError):   # TLS transports cannot half-close
                pass
            self.flow.resume_reading()
            self.mock_idle_timer = self.loop.call_later(LINGER_SECONDS, raw.close)

        def data_received(self, data: bytes) -> None:
            if self.mock_lingering:
                self.mock_lingered += len(data)
                if self.mock_lingered > LINGER_BYTES:
                    self.transport._transport.close()
                return
            super().data_received(data)

        # ----- unparseable requests -----
        def send_400_response(self, msg: str) -> None:
            self._answer_and_close(bad_request())

        def _answer_and_close(self, error: S3Error) -> None:
            """Answer a request the app never saw, after the requests already received on the connection."""
            self._cancel_header_timer()
            cycle = self.cycle
            busy = self.pipeline or (cycle is not None and not cycle.response_complete)
            if busy and not cycle.more_body:
                # Every request received so far is complete and still being answered: answer them first.
                self.mock_pending_error = error
                self.flow.pause_reading()
                return
            self._write_error(error)

        def _write_error(self, error: S3Error) -> None:
            if self.transport.is_closing():
                return
            request_id, host_id = requestids.request_id(), requestids.host_id()
            body = error_body(error, request_id, host_id)
            self.transport.write(b"".join([
                b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/xml\r\n",
                b"x-amz-request-id: ", request_id.encode(), b"\r\nx-amz-id-2: ", host_id.encode(), b"\r\n",
                b"content-length: ", str(len(body)).encode(), b"\r\nconnection: close\r\n\r\n", body]))
            self.transport._transport.close()      # not a lingering close: the app may still answer the request

        def on_response_complete(self) -> None:
            if self.mock_lingering:
                return
            self._cancel_idle_timer()
            if self.mock_pending_error is not None and not self.pipeline:
                self.server_state.total_requests += 1
                self._write_error(self.mock_pending_error)
                return
            super().on_response_complete()

        # ----- bodies that stall or end early -----
        # ----- headers that never end -----
        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._cancel_header_timer()
            self.mock_header_timer = self.loop.call_later(BODY_IDLE_TIMEOUT, self._answer_and_close,
                                                          request_timeout())

        def _cancel_header_timer(self) -> None:
            if self.mock_header_timer is not None:
                self.mock_header_timer.cancel()
                self.mock_header_timer = None

        def on_headers_complete(self) -> None:
            self._cancel_header_timer()
            previous = self.cycle
            super().on_headers_complete()
            cycle = self.cycle
            if cycle is None or cycle is previous or not _expects_body(self.headers):
                return
            cycle.mock_stalled = None
            inner = cycle.receive

            async def receive() -> dict[str, Any]:
                if cycle.mock_stalled is None:
                    message = await inner()
                    if cycle.mock_stalled is None or message.get("body") or not message.get("more_body"):
                        return message
                raise cycle.mock_stalled

            cycle.receive = receive
            self.mock_last_body = self.loop.time()
            self._cancel_idle_timer()
            self.mock_idle_timer = self.loop.call_later(BODY_IDLE_TIMEOUT, self._check_body_idle, cycle)

        def _cancel_idle_timer(self) -> None:
            if self.mock_idle_timer is not None:
                self.mock_idle_timer.cancel()
                self.mock_idle_timer = None

        def on_body(self, body: bytes) -> None:
            self.mock_last_body = self.loop.time()
            super().on_body(body)

        def _check_body_idle(self, cycle: Any) -> None:
            self.mock_idle_timer = None
            if cycle is not self.cycle or cycle.response_complete or not cycle.more_body or cycle.disconnected:
                return
            idle = self.loop.time() - self.mock_last_body
            if getattr(cycle, "mock_pieces", None) or idle < BODY_IDLE_TIMEOUT:
                # Bytes are waiting for the app (the client is not idle) or arrived recently: look again later.
                self.mock_idle_timer = self.loop.call_later(max(BODY_IDLE_TIMEOUT - idle, 0.05),
                                                            self._check_body_idle, cycle)
                return
            cycle.mock_stalled = request_timeout()
            cycle.message_event.set()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_idle_timer()
            self._cancel_header_timer()
            super().connection_lost(exc)

        def eof_received(self) -> bool | None:
            if self.mock_lingering:
                return None                 # the client is done sending: close now
            cycle = self.cycle
            if cycle is None or cycle.response_complete:
                return super().eof_received()
            if cycle.more_body and getattr(cycle, "mock_stalled", False) is None:
                cycle.mock_stalled = incomplete_body()
                cycle.message_event.set()
            return True     # keep the write side open: the request still gets its answer

    return GuardedHttpToolsProtocol
