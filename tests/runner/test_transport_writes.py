"""The transport's connections send a small body in the same write as the header block (one TLS record, one
segment); a large one follows in writes of its own. The bytes on the wire are the same either way."""
from __future__ import annotations

import http.client
import socketserver
import threading
from collections.abc import Iterator

import pytest

from conformance.request.deadline import COALESCE_BODY
from conformance.request.transport import Transport, TransportConfig


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while True:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                byte = self.rfile.read(1)
                if not byte:
                    return
                head += byte
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            body = self.rfile.read(length)
            self.server.seen.append(head + body)  # type: ignore[attr-defined]
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[bytes]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server.seen  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("size", [1, 1000, COALESCE_BODY, COALESCE_BODY + 1, 300_000])
def test_small_bodies_leave_with_the_headers(endpoint, monkeypatch, size):
    url, seen = endpoint
    writes: list[bytes] = []
    original = http.client.HTTPConnection.send

    def send(self, data):
        writes.append(bytes(data))
        return original(self, data)

    monkeypatch.setattr(http.client.HTTPConnection, "send", send)
    transport = Transport(TransportConfig(connect_timeout=2, read_timeout=5))
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    for method in ("PUT", "POST"):
        writes.clear()
        exchange = transport.send(method, f"{url}/b/k", [("x-test", "1")], body)
        assert exchange.response is not None and exchange.response.status == 200, exchange.error
        assert b"".join(writes) == seen[-1]                 # the same bytes, in order
        assert seen[-1].endswith(b"\r\n\r\n" + body)
        assert len(writes) == (1 if size <= COALESCE_BODY else 2)
    writes.clear()
    exchange = transport.send("GET", f"{url}/b/k", [], b"")       # no body: the header block alone
    assert exchange.response is not None and len(writes) == 1
    transport.close()
