"""HTTP-level bad input answered the way S3 answers it, on top of coalescing.coalescing_protocol():

- a request httptools cannot parse (bad Content-Length, Content-Length with Transfer-Encoding, control characters
  in a header, bytes after a body that was shorter than announced) gets S3's XML `400 BadRequest` instead of
  uvicorn's text/plain answer, and only after the responses of the requests already received on the connection
  (uvicorn wrote it at once and closed, so a client lost e.g. the 411 MissingContentLength of its request);
- a body that stops arriving ends in `400 RequestTimeout` after BODY_IDLE_TIMEOUT seconds, as on S3, instead of
  the request waiting forever; so does a header section not complete within that time, and a body that keeps
  arriving too slowly to matter (below BODY_MIN_RATE bytes/s on average, BODY_RATE_GRACE seconds after its headers,
  as Apache's mod_reqtimeout MinRate): one byte every few seconds no longer holds a connection forever;
- a header section is bounded while it arrives (MAX_HEAD_BYTES of request line and header lines, counted in
  data_received before httptools accumulates a byte of it): past that the client gets `400
  RequestHeaderSectionTooLarge` and the connection is closed (lingering), so 64 MiB of repeated header lines
  cost no more than 64 KiB (they used to be joined quadratically and froze every other client);
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
from mockserver.config import ServerConfig
from mockserver.errors import (
    S3Error,
    bad_request,
    error_body,
    incomplete_body,
    request_header_section_too_large,
    request_timeout,
)

# S3 answers a request whose body stalls after about 20 s of silence (RequestTimeout). Tests lower it.
# ServerConfig.request_timeout / body_min_rate / body_rate_grace override these three per server.
BODY_IDLE_TIMEOUT = 20.0
BODY_MIN_RATE = 500.0           # bytes per second, averaged from the headers' end ...
BODY_RATE_GRACE = 20.0          # ... once this many seconds have passed
# S3 allows 8 KB of header names and values (app.MAX_HEADER_BYTES, checked after parsing). On the wire a request
# line and header lines carry separators too (at most 4 bytes a line around 1 byte of name): 64 KiB holds every
# section the app's check would accept plus a long request line; beyond it the answer is the same
# RequestHeaderSectionTooLarge, given before the section is parsed or joined.
MAX_HEAD_BYTES = 64 * 1024
S3_MAX_HEADER_BYTES = 8192
# Lingering close: how long and how much of an unread body is drained before the connection is closed anyway.
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * 1024 * 1024


def _expects_body(framing: tuple[bytes, bytes] | None) -> bool:
    """`framing`: coalescing.framing_header() of the request (the protocol's mock_framing)."""
    if framing is None:
        return False
    name, value = framing
    if name == b"content-length":
        return value.strip() not in (b"0", b"")
    return True


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

    # The calls made on every request, defined so they skip __getattr__ (a failed lookup first: ~1 us each).
    def write(self, data: bytes) -> None:
        self._transport.write(data)

    def write_whole(self, data: bytes) -> None:
        self._transport.write_whole(data)

    def is_closing(self) -> bool:
        return bool(self._transport.is_closing())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def guarded_protocol(config: ServerConfig | None = None) -> type:
    """uvicorn's httptools protocol (with the changes of coalescing.py) plus the guards above; pass as
    uvicorn.Config(http=...). `config` gives the timeouts (None fields: this module's defaults)."""

    base: Any = coalescing_protocol()
    limits = config if config is not None else ServerConfig()

    def idle_timeout() -> float:
        return limits.request_timeout if limits.request_timeout is not None else BODY_IDLE_TIMEOUT

    def min_rate() -> float:
        return limits.body_min_rate if limits.body_min_rate is not None else BODY_MIN_RATE

    def rate_grace() -> float:
        return limits.body_rate_grace if limits.body_rate_grace is not None else BODY_RATE_GRACE

    class GuardedHttpToolsProtocol(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.mock_pending_error: S3Error | None = None
            self.mock_pending_linger = False
            self.mock_header_timer: Any = None
            self.mock_last_body = 0.0
            self.mock_body_start = 0.0      # when the rate window began (headers' end, or the server last paused)
            self.mock_body_count = 0        # body bytes received since then
            self.mock_idle_timer: Any = None
            self.mock_lingering = False
            self.mock_lingered = 0
            self.mock_in_head = True        # the bytes arriving belong to a request line or header section
            self.mock_head_begun = False    # a request has begun and its header section is not complete yet
            self.mock_body_cycle: Any = None    # a cycle whose body guard _arm_timers is to start if still needed
            self.mock_idle_cycle: Any = None    # the cycle whose body the idle timer guards
            self.mock_head_bytes = 0        # ... this many so far
            self.mock_refused = False       # answered and closing: nothing more is parsed

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
            if self.mock_refused:
                return
            while self.mock_in_head:
                room = MAX_HEAD_BYTES - self.mock_head_bytes
                if len(data) <= room:
                    self.mock_head_bytes += len(data)
                    break
                # Feed only what the limit allows; if the section ends within it, the rest is body or the next
                # request and is fed (and counted) as such.
                head, data = data[:room], data[room:]
                self.mock_head_bytes += len(head)
                if head:
                    super().data_received(head)
                if self.mock_lingering or self.mock_refused or self.transport.is_closing():
                    return
                if self.mock_in_head:
                    self._head_too_large()
                    return
            super().data_received(data)
            self._arm_timers()

        def _arm_timers(self) -> None:
            """The guards' timers, started once the bytes at hand are parsed and only if still needed: a request
            that arrived whole (its header section and its body in this read, the usual small request) needs
            neither, which spares a timer start and cancel or two per request."""
            if self.mock_head_begun and self.mock_header_timer is None and not self.transport.is_closing():
                self.mock_header_timer = self.loop.call_later(idle_timeout(), self._answer_and_close,
                                                              request_timeout())
            cycle = self.mock_body_cycle
            if cycle is not None:
                self.mock_body_cycle = None
                if cycle is self.cycle and cycle.more_body and not cycle.response_complete:
                    self._guard_body(cycle)

        def _head_too_large(self) -> None:
            self.mock_refused = True
            self._answer_and_close(request_header_section_too_large(S3_MAX_HEADER_BYTES), linger=True)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self.mock_in_head = True
            self.mock_head_bytes = 0

        # ----- unparseable requests -----
        def send_400_response(self, msg: str) -> None:
            self._answer_and_close(bad_request())

        def _answer_and_close(self, error: S3Error, linger: bool = False) -> None:
            """Answer a request the app never saw, after the requests already received on the connection.
            linger=True: the client may still be sending (a header section past the limit), so the connection
            is closed the lingering way (see above) for the client to read the answer."""
            self._cancel_header_timer()
            cycle = self.cycle
            busy = self.pipeline or (cycle is not None and not cycle.response_complete)
            if busy and not cycle.more_body:
                # Every request received so far is complete and still being answered: answer them first.
                self.mock_pending_error = error
                self.mock_pending_linger = linger
                self.flow.pause_reading()
                return
            self._write_error(error, linger)

        def _write_error(self, error: S3Error, linger: bool = False) -> None:
            if self.transport.is_closing() or self.mock_lingering:
                return
            request_id, host_id = requestids.request_id(), requestids.host_id()
            body = error_body(error, request_id, host_id)
            self.transport.write(b"".join([
                b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/xml\r\n",
                b"x-amz-request-id: ", request_id.encode(), b"\r\nx-amz-id-2: ", host_id.encode(), b"\r\n",
                b"content-length: ", str(len(body)).encode(), b"\r\nconnection: close\r\n\r\n", body]))
            if linger:
                self.mock_refused = True
                self.linger()
                return
            self.transport._transport.close()      # not a lingering close: the app may still answer the request

        def on_response_complete(self) -> None:
            if self.mock_lingering:
                return
            guarded = self.mock_idle_cycle
            if guarded is None or guarded.response_complete or not guarded.more_body:
                # (A pipelined request whose body is still arriving keeps its guard: cancelling it here left a
                # stalled body behind a complete request waiting forever.)
                self._cancel_idle_timer()
            if self.mock_pending_error is not None and not self.pipeline:
                self.server_state.total_requests += 1
                self._write_error(self.mock_pending_error, self.mock_pending_linger)
                return
            super().on_response_complete()

        # ----- bodies that stall or end early -----
        # ----- headers that never end -----
        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._cancel_header_timer()
            self.mock_head_begun = True     # the header timer starts in _arm_timers unless the section completes

        def _cancel_header_timer(self) -> None:
            self.mock_head_begun = False
            if self.mock_header_timer is not None:
                self.mock_header_timer.cancel()
                self.mock_header_timer = None

        def on_headers_complete(self) -> None:
            self._cancel_header_timer()
            self.mock_in_head = False
            previous = self.cycle
            super().on_headers_complete()
            cycle = self.cycle
            if cycle is None or cycle is previous or not _expects_body(self.mock_framing):
                return
            # The ASGI task reads cycle.receive on a later loop iteration: _arm_timers (at the end of this
            # data_received) wraps it in time, and only when the body is not already complete.
            self.mock_body_cycle = cycle
            self.mock_last_body = self.mock_body_start = self.loop.time()
            self.mock_body_count = 0

        def _guard_body(self, cycle: Any) -> None:
            """Stalled and too-slow bodies end in RequestTimeout, a half-close in IncompleteBody (see above)."""
            cycle.mock_stalled = None
            inner = cycle.receive

            async def receive() -> dict[str, Any]:
                if cycle.mock_stalled is None:
                    message = await inner()
                    if cycle.mock_stalled is None or message.get("body") or not message.get("more_body"):
                        return message
                raise cycle.mock_stalled

            cycle.receive = receive
            self._cancel_idle_timer()
            self.mock_idle_cycle = cycle
            self.mock_idle_timer = self.loop.call_later(min(idle_timeout(), rate_grace()), self._check_body_idle,
                                                        cycle)

        def _cancel_idle_timer(self) -> None:
            if self.mock_idle_timer is not None:
                self.mock_idle_timer.cancel()
                self.mock_idle_timer = None

        def on_body(self, body: bytes) -> None:
            self.mock_last_body = self.loop.time()
            self.mock_body_count += len(body)
            super().on_body(body)

        def _check_body_idle(self, cycle: Any) -> None:
            self.mock_idle_timer = None
            if cycle is not self.cycle or cycle.response_complete or not cycle.more_body or cycle.disconnected:
                return
            now = self.loop.time()
            timeout, rate, grace = idle_timeout(), min_rate(), rate_grace()
            if getattr(cycle, "mock_pieces", None) or self.flow.read_paused:
                # Bytes are waiting for the app or the server stopped reading: the client is not the slow one.
                # Both clocks start again.
                self.mock_last_body = self.mock_body_start = now
                self.mock_body_count = 0
                self.mock_idle_timer = self.loop.call_later(min(timeout, grace), self._check_body_idle, cycle)
                return
            idle_until = self.mock_last_body + timeout
            # mod_reqtimeout's MinRate: after the grace period, each `rate` bytes buy one more second
            rate_until = self.mock_body_start + grace + (self.mock_body_count / rate if rate > 0 else float("inf"))
            until = min(idle_until, rate_until)
            if now < until:
                self.mock_idle_timer = self.loop.call_later(max(until - now, 0.05), self._check_body_idle, cycle)
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
