"""A recording reverse proxy for clients without a request hook (s3cmd, obstore): the client is pointed at it
(HTTPS with a CA generated here when the endpoint is HTTPS, so the client keeps its TLS defaults), it forwards
every request byte for byte (Host included, so signatures still verify) to the endpoint and keeps each exchange:
method, path, headers, a body prefix, the status and headers of the answer, and error bodies."""
from __future__ import annotations

import http.client
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

BODY_PREFIX = 2048
BLOCK = 1 << 16


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _forward(self) -> None:
        proxy = self.server.owner
        headers = list(self.headers.items())
        entry: dict[str, Any] = {"request": {"method": self.command, "url": self.path,
                                             "headers": {k: v for k, v in headers}, "body": ""}, "response": None}
        proxy.exchanges.append(entry)
        upstream = proxy.connection()
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                upstream.putheader(name, value)
            upstream.endheaders()
            prefix = self._relay_body(upstream)
            entry["request"]["body"] = prefix.decode("utf-8", "replace")
            response = upstream.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            entry["response"] = {"status": 502, "headers": {}, "body": f"proxy: {type(exc).__name__}: {exc}"}
            self.send_error(502, "upstream failed")
            return
        finally:
            upstream.close()
        entry["response"] = {"status": response.status, "headers": dict(response.getheaders()),
                             "body": body[:BODY_PREFIX].decode("utf-8", "replace") if response.status >= 300 else ""}
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(body)))
        elif response.getheader("Content-Length"):
            self.send_header("Content-Length", response.getheader("Content-Length", "0"))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _relay_body(self, upstream: http.client.HTTPConnection) -> bytes:
        """Copies the request body (Content-Length or chunked framing, as sent) and returns its first bytes."""
        prefix = bytearray()
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                line = self.rfile.readline(BLOCK)
                upstream.send(line)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:              # trailers, then the empty line
                        trailer = self.rfile.readline(BLOCK)
                        upstream.send(trailer)
                        if trailer in (b"\r\n", b"\n", b""):
                            return bytes(prefix)
                data = self.rfile.read(size + 2)
                upstream.send(data)
                if len(prefix) < BODY_PREFIX:
                    prefix += data[:BODY_PREFIX - len(prefix)]
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            data = self.rfile.read(min(BLOCK, remaining))
            if not data:
                break
            upstream.send(data)
            remaining -= len(data)
            if len(prefix) < BODY_PREFIX:
                prefix += data[:BODY_PREFIX - len(prefix)]
        return bytes(prefix)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: RecordingProxy


class RecordingProxy:
    """with RecordingProxy(endpoint, ca_file) as proxy: point the client at proxy.endpoint (trusting
    proxy.ca_file), then read proxy.exchanges."""

    def __init__(self, endpoint: str, ca_file: str | None = None):
        self.upstream = urlsplit(endpoint)
        self.upstream_ca = ca_file
        self.exchanges: list[dict[str, Any]] = []
        self.endpoint = ""
        self.ca_file: str | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def connection(self) -> http.client.HTTPConnection:
        host, port = self.upstream.hostname or "127.0.0.1", self.upstream.port
        if self.upstream.scheme == "https":
            context = ssl.create_default_context(cafile=self.upstream_ca)
            return http.client.HTTPSConnection(host, port, timeout=120, context=context)
        return http.client.HTTPConnection(host, port, timeout=120)

    def __enter__(self) -> Self:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        scheme = self.upstream.scheme
        if scheme == "https":
            from mockserver.tls import generate_tls_files

            self._tmp = tempfile.TemporaryDirectory(prefix="s3c-proxy-")
            files = generate_tls_files(self._tmp.name)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(files.cert_file, files.key_file)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            self.ca_file = files.ca_file
        self._server = server
        self.endpoint = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, name="s3c-recording-proxy", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._tmp is not None:
            self._tmp.cleanup()

    def take(self) -> list[dict[str, Any]]:
        taken, self.exchanges = self.exchanges, []
        return taken

