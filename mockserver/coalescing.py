"""uvicorn's httptools protocol made cheaper for an S3 server (the base of protocol.guarded_protocol()):

- response writes coalesced: status line + headers and a small body leave in one send() system call;
- a 1 MiB request-body buffer instead of uvicorn's 64 KiB before reading pauses;
- bodies above 64 KiB handed to the app piece by piece as httptools parsed them, without gathering and copying.

uvicorn offers no documented seam for any of these: the protocol subclasses uvicorn's HttpToolsProtocol, copies
its on_body and replaces RequestResponseCycle.receive per request. pyproject.toml therefore pins uvicorn to the
versions this was written against (UVICORN_VERSIONS), and tests/mockserver/test_uvicorn_pin.py compares the
installed uvicorn's source of everything copied or replaced here and in protocol.py with UVICORN_SOURCES.
"""
from __future__ import annotations

import functools
from collections import deque
from typing import Any

UVICORN_VERSIONS = ">=0.55,<0.56"
# sha256 of the dedented source of each uvicorn function this module or protocol.py copies, replaces or relies on
# the inner workings of; a mismatch means the patch must be re-read against the new uvicorn before the pin moves.
UVICORN_SOURCES = {
    # copied: _on_small_body / on_body below (BODY_HIGH_WATER instead of HIGH_WATER_LIMIT)
    "HttpToolsProtocol.on_body": "415b4cef19fba083055fe4466dd259ce6abac6d194caf566ad9e7be0c639ca21",
    # copied: FastStartCycle.send (one regex scan over all header names and one over all values)
    "RequestResponseCycle.send": "cfc84491029529db3be8833cf904f97a3cb18e0a7fd24199b43e694d59617a00",
    # replaced per request by _receive_pieces (large bodies) and wrapped by protocol.py (stalled bodies)
    "RequestResponseCycle.receive": "817bd782de41bd0a08d52d395b5e80c37297b59dc4f542cd122b51caf6d4a947",
    # the cycle attributes both read and write (body, more_body, message_event, flow, disconnected, ...)
    "RequestResponseCycle.__init__": "459bebd3022b64c243da27ec60f30c48fd6599087c34a7b33bf2655d4d704aa8",
    # makes the new cycle whose receive is replaced before the ASGI task first reads it
    "HttpToolsProtocol.on_headers_complete": "7e259152e5aade71beacb5d1b28c319358b2b0e1f3a493655b5c354b5e7d4ef9",
    # replaced by protocol.py (S3's XML 400 after the pipelined responses)
    "HttpToolsProtocol.send_400_response": "0b0d3ace8d2637888e890086561ad9c33f34dd9d90d20835484b2a292006236c",
    # extended by protocol.py, relying on the protocol attributes they set and the pipeline they run
    "HttpToolsProtocol.__init__": "264f2f06759670d42930457f7a696640a575fad06bdb0933901b2932347f800c",
    "HttpToolsProtocol.connection_made": "ba1915817ccf6c1b7d6d9982ca74b6fb9e43eebbd3f588fff1e1f8f17af5e161",
    "HttpToolsProtocol.connection_lost": "21bb5222b35990e710aa5c2e96639fb2fa39cae9019c44faec436dc5e004f88c",
    "HttpToolsProtocol.data_received": "02c2572f1df559070eba7f206a3f7e251782f5af4aaae194fc1ffb67f24c3873",
    "HttpToolsProtocol.eof_received": "cf1db74cbefe2709f43c056f72da7f6c0f3da0aad39dc5c0bd826294404217ba",
    "HttpToolsProtocol.on_message_begin": "0efab6f9456c4987cb366d90c1d3f4a36f28a271cf9b5b2d276c631d387e55ea",
    "HttpToolsProtocol.on_message_complete": "377f9122ee6f3ab87995f6baba01667ec1e2b22543a8e09e83aa334973018f10",
    "HttpToolsProtocol.on_response_complete": "5684fd801d0683ac20b9144e8eed8327e445236d5c1d16a02253dfb3a35b9a75",
    # replaced (the keep-alive timer armed once per idle period, not once per response), and relied upon
    "HttpToolsProtocol._unset_keepalive_if_required":
        "58f4ffce604d92dde3e339f2e7b400f8d8e12e790fd6802ca7b83249682fa6f4",
    "HttpToolsProtocol.timeout_keep_alive_handler": "2127de00e7f6b11823cf2987a8859de912df614f2f704145e532a6e02d931e62",
}


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

    def write_whole(self, data: bytes) -> None:
        """A whole response (coalescing.START_BODY): written now, after anything held; nothing waits for more."""
        pending = self._pending
        if pending is not None:
            self._pending = None
            self._transport.write(pending + data)
            return
        self._transport.write(data)

    def writelines(self, chunks: Any) -> None:
        self._flush()
        self._transport.writelines(chunks)

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def is_closing(self) -> bool:          # called on every request: defined, not found through __getattr__
        return bool(self._transport.is_closing())

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + (len(self._pending) if self._pending else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


# ASGI extension (scope["extensions"]) of this protocol: an "http.response.start" message may carry the whole
# response body under START_BODY (bytes); no "http.response.body" message follows. One send() call and one
# transport write per small response instead of two of each and a held write flushed on the next loop iteration.
START_BODY = "mock.start_body"
_EXTENSIONS: dict[str, Any] = {START_BODY: {}}

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


def framing_header(headers: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes] | None:
    """The request's first Content-Length or Transfer-Encoding header (name, value), or None. Found once per
    request (on_headers_complete: mock_framing) for both this protocol and protocol.py's guards."""
    for name, value in headers:
        if name == b"content-length" or name == b"transfer-encoding":
            return name, value
    return None


def _large_body(framing: tuple[bytes, bytes] | None) -> bool:
    if framing is None:
        return False
    name, value = framing
    if name == b"content-length":
        return value.isdigit() and (len(value) > 18 or int(value) > PIECEWISE_BODY)
    return True


def unmatched_bytes(pattern: Any) -> bytes:
    """The bytes a one-byte class `pattern` does not match: `data.translate(None, unmatched_bytes(p))` is empty
    exactly when `p.search(data)` finds nothing."""
    return bytes(b for b in range(256) if not pattern.match(bytes([b])))


def coalescing_protocol() -> type:
    """uvicorn's httptools protocol with coalesced response writes, a larger request-body buffer and body
    pieces passed on without copies; pass as uvicorn.Config(http=...)."""
    from uvicorn.protocols.http.httptools_impl import (
        HEADER_RE,
        HEADER_VALUE_RE,
        STATUS_LINE,
        HttpToolsProtocol,
        RequestResponseCycle,
    )
    from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

    _NAME_OK = unmatched_bytes(HEADER_RE)
    _VALUE_OK = unmatched_bytes(HEADER_VALUE_RE)
    _FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection"})

    class FastStartCycle(RequestResponseCycle):  # type: ignore[misc, valid-type]
        """uvicorn's RequestResponseCycle whose send() checks the response headers with two regex scans in all
        instead of two per header and takes a start message carrying the body (START_BODY) (copied from
        uvicorn's; the changes are marked). Set as each cycle's class.
        mock_pieces: None, or the body pieces of a large body (on_headers_complete sets it per request)."""

        mock_pieces: deque[bytes] | None = None

        async def send(self, message: Any) -> None:  # type: ignore[override]
            if self.flow.write_paused and not self.disconnected:
                await self.flow.drain()

            if self.disconnected:
                return

            if not self.response_started:
                # Sending response status line and headers
                if message["type"] != "http.response.start":
                    raise RuntimeError(f"Expected ASGI message 'http.response.start', but got '{message['type']}'.")

                self.response_started = True
                self.waiting_for_100_continue = False

                status_code = message["status"]
                headers = self.default_headers + list(message.get("headers", []))

                if self.access_log:
                    self.access_logger.info(
                        '%s - "%s %s HTTP/%s" %d',
                        get_client_addr(self.scope),
                        self.scope["method"],
                        get_path_with_query_string(self.scope),
                        self.scope["http_version"],
                        status_code,
                    )

                # Write response status line and headers
                content = [STATUS_LINE[status_code]]
                has_connection_close = False

                # One check over all names and one over all values (uvicorn: two regex calls per header). Both
                # classes match single bytes, so a check of the joined bytes finds what a check of each finds;
                # bytes.translate deleting every byte the class does not match leaves exactly the bytes it does
                # (a table lookup per byte instead of the regex engine's loop: _NAME_OK / _VALUE_OK below).
                names = b"".join([name for name, _ in headers])
                if names.translate(None, _NAME_OK):
                    raise RuntimeError("Invalid HTTP header name.")
                if b"".join([value for _, value in headers]).translate(None, _VALUE_OK):
                    raise RuntimeError("Invalid HTTP header value.")
                # Names already in lower case (the mock's own) are not lowered one by one; only the three framing
                # names are compared (one set lookup per header).
                lowered = names.islower()
                for name, value in headers:
                    if not lowered:
                        name = name.lower()
                    if name in _FRAMING:
                        if name == b"content-length" and self.chunked_encoding is None:
                            self.expected_content_length = int(value.decode())
                            self.chunked_encoding = False
                        elif name == b"transfer-encoding" and value.lower() == b"chunked":
                            self.expected_content_length = 0
                            self.chunked_encoding = True
                        elif name == b"connection":
                            connection = [token.lower().strip() for token in value.split(b",")]
                            if b"close" in connection:
                                self.keep_alive = False
                                has_connection_close = True
                    content += (name, b": ", value, b"\r\n")

                if not self.keep_alive and not has_connection_close:
                    content.append(b"connection: close\r\n")

                if self.chunked_encoding is None and self.scope["method"] != "HEAD" and status_code not in (204, 304):
                    # Neither content-length nor transfer-encoding specified
                    self.chunked_encoding = True
                    content.append(b"transfer-encoding: chunked\r\n")

                content.append(b"\r\n")
                body = message.get(START_BODY)
                if body is None:
                    self.transport.write(b"".join(content))
                    return
                # (Added) START_BODY: the whole body came with the start: the body message's work (the branch
                # below) done here, the response written in one piece, with nothing held back for a next write.
                if self.scope["method"] == "HEAD":
                    self.expected_content_length = 0
                elif self.chunked_encoding:
                    if body:
                        content.extend([b"%x\r\n" % len(body), body, b"\r\n"])
                    content.append(b"0\r\n\r\n")
                elif len(body) > self.expected_content_length:
                    self.transport.write(b"".join(content))
                    raise RuntimeError("Response content longer than Content-Length")
                else:
                    self.expected_content_length -= len(body)
                    content.append(body)
                write_whole = getattr(self.transport, "write_whole", None)
                (write_whole or self.transport.write)(b"".join(content))
                self._complete()

            elif not self.response_complete:
                # Sending response body
                if message["type"] != "http.response.body":
                    raise RuntimeError(f"Expected ASGI message 'http.response.body', but got '{message['type']}'.")

                body = message.get("body", b"")
                more_body = message.get("more_body", False)

                # Write response body
                if self.scope["method"] == "HEAD":
                    self.expected_content_length = 0
                elif self.chunked_encoding:
                    if body:
                        content = [b"%x\r\n" % len(body), body, b"\r\n"]
                    else:
                        content = []
                    if not more_body:
                        content.append(b"0\r\n\r\n")
                    self.transport.write(b"".join(content))
                else:
                    num_bytes = len(body)
                    if num_bytes > self.expected_content_length:
                        raise RuntimeError("Response content longer than Content-Length")
                    else:
                        self.expected_content_length -= num_bytes
                    self.transport.write(body)

                # Handle response completion
                if not more_body:
                    self._complete()

        def _complete(self) -> None:
            """uvicorn's end of a response (shared by the one-message response and the last body message)."""
            if self.expected_content_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.message_event.set()
            if not self.keep_alive:
                self.transport.close()
            self.on_response()

    class CoalescingHttpToolsProtocol(HttpToolsProtocol):
        # Keep-alive: uvicorn cancels its timer when bytes arrive and starts a new one (call_later) after every
        # response. Here the timer is started when the connection goes idle and no timer is pending, and left
        # running while requests come and go; when it fires it closes the connection only if it has been idle
        # for timeout_keep_alive seconds since its last response, else it waits the rest of that time. The
        # connection closes when uvicorn's would (timeout_keep_alive seconds after the last response, nothing
        # received since) without a timer start and cancel per request.
        mock_idle_since: float | None = None      # loop time of the response that left the connection idle

        def _unset_keepalive_if_required(self) -> None:
            self.mock_idle_since = None             # busy: a pending timer will not close the connection

        def _keep_alive_due(self) -> None:
            self.timeout_keep_alive_task = None
            since = self.mock_idle_since
            if since is None:
                return                              # busy: on_response_complete starts the timer again
            left = since + self.timeout_keep_alive - self.loop.time()
            if left > 0:
                self.timeout_keep_alive_task = self.loop.call_later(left, self._keep_alive_due)
                return
            self.timeout_keep_alive_handler()

        def on_response_complete(self) -> None:
            # uvicorn's, but for the keep-alive timer (see above).
            self.server_state.total_requests += 1
            if self.transport.is_closing():
                return
            self.mock_idle_since = None
            self.flow.resume_reading()
            if self.pipeline:
                cycle, app = self.pipeline.pop()
                self._start_asgi_task(cycle, app)
            else:
                self.mock_idle_since = self.loop.time()
                if self.timeout_keep_alive_task is None:
                    self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                                        self._keep_alive_due)

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            if self.timeout_keep_alive_task is not None:       # (uvicorn's own cancel is only a mark here)
                self.timeout_keep_alive_task.cancel()
                self.timeout_keep_alive_task = None

        def _on_small_body(self, body: bytes) -> None:
            # uvicorn's on_body with BODY_HIGH_WATER instead of its 64 KiB HIGH_WATER_LIMIT.
            self.cycle.body += body
            if len(self.cycle.body) > BODY_HIGH_WATER:
                self.flow.pause_reading()
            self.cycle.message_event.set()

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

        mock_framing: tuple[bytes, bytes] | None = None     # framing_header() of the current request

        def on_headers_complete(self) -> None:
            previous = self.cycle
            self.scope["extensions"] = _EXTENSIONS       # (the scope the new cycle gets; see START_BODY)
            self.mock_framing = framing_header(self.headers)
            super().on_headers_complete()
            cycle: Any = self.cycle
            if cycle is None or cycle is previous:      # upgrade request: no new cycle
                return
            cycle.__class__ = FastStartCycle            # a subclass adding no state: only send() differs
            if not _large_body(self.mock_framing):
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
            if getattr(cycle, "mock_pieces", None) is None:     # (a class attribute: no failed lookup)
                self._on_small_body(body)
                return
            cycle.mock_pieces.append(body)
            cycle.mock_buffered += len(body)
            if cycle.mock_buffered > BODY_HIGH_WATER:
                self.flow.pause_reading()
            cycle.message_event.set()

    return CoalescingHttpToolsProtocol
