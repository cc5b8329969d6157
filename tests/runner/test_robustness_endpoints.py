"""Misbehaving endpoints: tiny servers on 127.0.0.1 that refuse, hang, cut, or answer garbage. Every case comes
out `failed` with the reason (never `error`, never a traceback, never a hang past the timeouts), the console
still ends with its summary line, and teardown problems are listed next to the case's own outcome."""
from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from conformance import cli
from conformance.request.transport import Transport, TransportConfig

PROFILE = "name: probe\nregion: us-east-1\ncapabilities: []\n"
LIST_CASE = """\
cases:
  - id: probe.list
    title: ListBuckets answers with XML
    operation: ListBuckets
    source: {document: seeds/x.txt, quote: q}
    fixtures: {bucket: false}
    steps:
      - name: list
        request: {method: GET}
        expect: {status: 200, xml: [{path: Buckets, count: 1}]}
"""
ERROR_CASE = """\
cases:
  - id: probe.error
    title: a missing bucket is NoSuchBucket
    operation: GetBucketEncryption
    source: {document: seeds/x.txt, quote: q}
    fixtures: {bucket: false}
    steps:
      - name: get
        request: {method: GET, bucket: no-such-bucket, query: {encryption: ""}}
        expect: {status: 404, error: {code: NoSuchBucket}}
"""
BUCKET_CASE = """\
cases:
  - id: probe.bucket
    title: a fresh bucket has a location
    operation: GetBucketLocation
    source: {document: seeds/x.txt, quote: q}
    fixtures: {bucket: true, kms_keys: [{name: k1}]}
    steps:
      - name: where
        request: {method: GET, bucket: "${bucket}", query: {location: ""}}
        expect: {status: 200}
"""

Behaviour = Callable[["Request", socket.socket, threading.Event], bool]   # True: keep the connection open;
# the event is set when the test ends (behaviours that hang wait on it)


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    url: str
    seen: list[Request] = field(default_factory=list)


def _read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 1 << 20:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target = lines[0].split(" ")[:2]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0") or 0)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Request(method, target, headers, rest[:length])


@contextlib.contextmanager
def serve(behaviour: Behaviour) -> Iterator[Server]:
    """A threaded TCP server on a free loopback port speaking just enough HTTP/1.1 to misbehave."""
    release = threading.Event()
    server_record = Server("")

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock = self.request
            sock.settimeout(10)
            with contextlib.suppress(OSError):
                for _ in range(100):                      # bounded keep-alive
                    request = _read_request(sock)
                    if request is None:
                        return
                    server_record.seen.append(request)
                    if not behaviour(request, sock, release):
                        return

    class TCP(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = TCP(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server_record.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield server_record
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None, length: int | None = None) -> bytes:
    head = [f"HTTP/1.1 {status} Whatever"]
    for name, value in (headers or {}).items():
        head.append(f"{name}: {value}")
    if "Transfer-Encoding" not in (headers or {}):
        head.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None, length: int | None = None,
           close: bool = False) -> Behaviour:
    def behave(request: Request, sock: socket.socket, release: threading.Event) -> bool:
        sock.sendall(reply(status, body, headers, length))
        return not close
    return behave


def silent(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    """Accepts, reads the request, never answers (until the test ends)."""
    release.wait(10)
    return False


def hang_up(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    return False


def cut_mid_body(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    sock.sendall(reply(200, b"<ListAllMyBucketsResult>", length=500))
    return False


def short_body_then_wait(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    sock.sendall(reply(200, b"<ListAll", length=500))
    release.wait(10)
    return False


def chunked_garbage(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz-not-hex\r\nhello\r\n0\r\n\r\n")
    return False


def not_http(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    sock.sendall(b"SSH-2.0-OpenSSH_9.0\r\n\r\n")
    return False


HTML = b"<html><body><h1>502 Bad Gateway</h1><br><hr>nginx&nbsp;1.25</body></html>"   # HTML, not XML
BEHAVIOURS: dict[str, tuple[Behaviour, str, str]] = {
    # name: (behaviour, case, fragment of the reason)
    "hangs-up-before-answering": (hang_up, LIST_CASE, "Remote end closed connection without response"),
    "never-answers": (silent, LIST_CASE, "timed out"),
    "closes-mid-body": (cut_mid_body, LIST_CASE, "IncompleteRead(24 bytes read, 476 more expected)"),
    "content-length-too-long": (short_body_then_wait, LIST_CASE, "no response: timeout: 127.0.0.1:"),
    "content-length-too-short": (answer(200, b"<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>",
                                        length=10), LIST_CASE, "xml body: expected 'an XML document'"),
    "chunked-garbage": (chunked_garbage, LIST_CASE, "response body broken off or malformed: 127.0.0.1:"),
    "not-http-at-all": (not_http, LIST_CASE, "BadStatusLine: SSH-2.0"),
    "html-200": (answer(200, HTML, {"Content-Type": "text/html"}), LIST_CASE, "xml body: expected 'an XML document'"),
    "html-500": (answer(500, HTML, {"Content-Type": "text/html"}), ERROR_CASE, "status: expected 404, got 500"),
    "html-404-where-error-expected": (answer(404, HTML), ERROR_CASE, "a non-error body: <html>"),
    "malformed-xml-error": (answer(404, b"<Error><Code>NoSuchBucket</Code><Message>gone"), ERROR_CASE,
                            "expected 'an <Error> document'"),
    "empty-404": (answer(404), ERROR_CASE, "got 'an empty body'"),
    "json-error": (answer(404, b'{"Code": "NoSuchBucket"}', {"Content-Type": "application/json"}), ERROR_CASE,
                   "a non-error body"),
    "xml-bomb-error": (answer(404, b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa">'
                                   b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Error><Code>&b;</Code></Error>'),
                       ERROR_CASE, "error code: expected 'NoSuchBucket'"),
    "huge-declared-body": (answer(200, b"", length=10**12, close=True), LIST_CASE, "exceeds"),
}


def run_cli(tmp_path, capsys, endpoint: str, case_text: str, *extra: str) -> tuple[int, list[str], dict]:
    (tmp_path / "profile.yaml").write_text(PROFILE)
    (tmp_path / "case.yaml").write_text(case_text)
    started = time.monotonic()
    code = cli.main(["run", "--endpoint", endpoint, "--access-key", "AKIAPROBE", "--secret-key", "probe-secret-key",
                     "--profile", str(tmp_path / "profile.yaml"), "--cases", str(tmp_path / "case.yaml"),
                     "--timeout", "1", "--connect-timeout", "2", "--report-dir", str(tmp_path / "reports"), "--no-preflight",
                     "--no-discovery", *extra])            # the case's own requests only
    assert time.monotonic() - started < 10
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    report = json.loads((tmp_path / "reports" / "probe.json").read_text())
    return code, captured.out.splitlines(), report


def assert_failed_with(code, lines, report, fragment):
    assert code == 1
    assert lines[-1] == "0 passed, 1 failed, 0 not applicable, 0 warnings"
    (case,) = report["cases"]
    assert case["outcome"] == "failed", case["reason"]
    assert fragment in case["reason"], case["reason"]
    assert any(line.startswith("FAILED probe.") for line in lines)


@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_misbehaving_endpoint_fails_the_case(name, tmp_path, capsys):
    behaviour, case_text, fragment = BEHAVIOURS[name]
    with serve(behaviour) as server:
        code, lines, report = run_cli(tmp_path, capsys, server.url, case_text)
    assert_failed_with(code, lines, report, fragment)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused(tmp_path, capsys):
    code, lines, report = run_cli(tmp_path, capsys, f"http://127.0.0.1:{free_port()}", LIST_CASE)
    assert_failed_with(code, lines, report, "no response: connection failed: 127.0.0.1:")
    reason = report["cases"][0]["reason"]
    assert reason.endswith(": Failed to establish a new connection: [Errno 111] Connection refused"), reason
    assert "Connection(" not in reason and "Max retries" not in reason      # urllib3's wrapping is gone


def test_dns_failure(tmp_path, capsys):
    code, lines, report = run_cli(tmp_path, capsys, "http://nohost.invalid:9000", LIST_CASE)
    assert_failed_with(code, lines, report, "connection failed")
    assert "nohost.invalid" in report["cases"][0]["reason"]


@contextlib.contextmanager
def plain_http_server() -> Iterator[str]:
    """Answers whatever arrives (a TLS ClientHello included) the way a plain HTTP server does: 400."""
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(5)
            with contextlib.suppress(OSError):
                self.request.recv(65536)
                self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_tls_handshake_with_a_plain_server(tmp_path, capsys):
    with plain_http_server() as url:
        code, lines, report = run_cli(tmp_path, capsys, url, LIST_CASE)
    assert_failed_with(code, lines, report, "TLS error: 127.0.0.1:")
    assert "is it plain HTTP?" in report["cases"][0]["reason"]


def test_setup_failure_reported_with_its_step(tmp_path, capsys):
    with serve(answer(503, b"<Error><Code>SlowDown</Code><Message>later</Message></Error>")) as server:
        code, lines, report = run_cli(tmp_path, capsys, server.url, BUCKET_CASE.replace(", kms_keys: [{name: k1}]", ""))
    assert_failed_with(code, lines, report, "setup failed: create bucket")
    assert "got 503" in report["cases"][0]["reason"]


def s3_ok(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    """Enough of S3 for the fixtures and the teardown: every call succeeds, listings are empty."""
    if "uploads" in request.target:
        body = b"<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>"
    elif "versions" in request.target:
        body = b"<ListVersionsResult><IsTruncated>false</IsTruncated></ListVersionsResult>"
    else:
        body = b"<LocationConstraint/>" if request.method == "GET" else b""
    sock.sendall(reply(204 if request.method == "DELETE" else 200, body))
    return True


KMS_FAILURES = {
    "html": (answer(200, HTML, {"Content-Type": "text/html"}), "KMS key k1:"),
    "empty-json": (answer(200, b"{}", {"Content-Type": "application/x-amz-json-1.1"}),
                   "KMS key k1: KMS CreateKey: response problem: no KeyMetadata"),
    "json-error": (answer(400, b'{"__type": "AccessDeniedException", "message": "no"}',
                          {"Content-Type": "application/x-amz-json-1.1"}), "AccessDeniedException"),
    "hang-up": (hang_up, "KMS key k1:"),
}


@pytest.mark.parametrize("name", sorted(KMS_FAILURES))
def test_kms_fixture_failure(name, tmp_path, capsys):
    kms_behaviour, fragment = KMS_FAILURES[name]
    with serve(s3_ok) as s3, serve(kms_behaviour) as kms:
        code, lines, report = run_cli(tmp_path, capsys, s3.url, BUCKET_CASE, "--kms-endpoint", kms.url,
                                      "--capability", "kms-admin")
    assert_failed_with(code, lines, report, "setup failed: KMS key k1:")
    assert fragment in report["cases"][0]["reason"]
    methods = [r.method for r in s3.seen]
    assert methods[0] == "PUT" and methods[-1] == "DELETE"          # the bucket was torn down
    assert report["cases"][0]["teardown_problems"] == []


def teardown_breaks(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    """Creating the bucket and the step work; every teardown call answers garbage."""
    if request.method == "PUT" or "location" in request.target:
        return s3_ok(request, sock, release)
    sock.sendall(reply(500, HTML))
    return True


def teardown_hangs_up(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    if request.method == "PUT" or "location" in request.target:
        return s3_ok(request, sock, release)
    return False


@pytest.mark.parametrize("behaviour,problem", [(teardown_breaks, "HTTP 500"), (teardown_hangs_up, "connection failed")],
                         ids=["answers-500", "hangs-up"])
def test_teardown_failure_is_listed_and_the_outcome_stands(behaviour, problem, tmp_path, capsys):
    with serve(behaviour) as server:
        code, lines, report = run_cli(tmp_path, capsys, server.url, BUCKET_CASE.replace(", kms_keys: [{name: k1}]", ""))
    (case,) = report["cases"]
    assert case["outcome"] == "passed" and code == 0
    assert case["teardown_problems"] and problem in case["teardown_problems"][0]
    assert case["teardown_problems"][0].startswith("delete bucket ")
    assert any(line.startswith("TEARDOWN probe.bucket: delete bucket") for line in lines)
    assert lines[-1] == "1 passed, 0 failed, 0 not applicable, 0 warnings"


def endless_chunks(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    block = b"x" * 65536
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        sock.sendall(b"%x\r\n%s\r\n" % (len(block), block))
    return False


def trickle(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(40):
        if release.wait(0.2):
            break
        sock.sendall(b"x")
    return False


def test_endless_body_is_cut_at_the_size_limit():
    with serve(endless_chunks) as server:
        transport = Transport(TransportConfig(connect_timeout=2, read_timeout=2, max_body=1 << 20))
        started = time.monotonic()
        exchange = transport.send("GET", server.url + "/", [], b"")
        transport.close()
    assert time.monotonic() - started < 5
    assert exchange.response is None and "more than 1048576 bytes" in exchange.error


def trickle_headers(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    sock.sendall(b"HTTP/1.1 200 OK\r\nx-amz-meta-slow: ")
    for _ in range(40):
        if release.wait(0.2):
            break
        sock.sendall(b"x")
    return False


@pytest.mark.parametrize("behaviour", [trickle, trickle_headers], ids=["body", "headers"])
def test_trickling_response_is_cut_at_the_deadline(behaviour):
    """Each byte arrives within the read timeout, the response never completes: the deadline ends it."""
    with serve(behaviour) as server:
        transport = Transport(TransportConfig(connect_timeout=2, read_timeout=1, deadline=1.0))
        started = time.monotonic()
        exchange = transport.send("GET", server.url + "/", [], b"")
        transport.close()
    assert time.monotonic() - started < 3
    assert exchange.response is None
    assert exchange.error.startswith("timeout: 127.0.0.1:") and "no complete response within 1 s" in exchange.error


def test_deadline_leaves_a_fast_keep_alive_connection_usable():
    """A deadline timer from an earlier request must not shut a later request's reused connection."""
    with serve(answer(200, b"<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>")) as server:
        transport = Transport(TransportConfig(connect_timeout=2, read_timeout=1, deadline=0.5))
        statuses = []
        for _ in range(3):
            statuses.append(transport.send("GET", server.url + "/", [], b"").response.status)
            time.sleep(0.3)
        transport.close()
    assert statuses == [200, 200, 200] and len(server.seen) == 3


CONTROL_CASE = LIST_CASE.replace("expect: {status: 200, xml: [{path: Buckets, count: 1}]}",
                                 "expect: {status: 200, headers: {equal: {x-amz-server-side-encryption: AES256}}}")


def control_characters(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    sock.sendall(b"HTTP/1.1 200 \x01od\x7fd\r\nx-amz-server-side-encryption: \x02AES\xff\r\nContent-Length: 3\r\n\r\n\x00\x01\x02")
    return False


def control_status_line(request: Request, sock: socket.socket, release: threading.Event) -> bool:
    sock.sendall(b"\x01\x02\x03\x1b[31mgarbage\r\n\r\n")
    return False


@pytest.mark.parametrize("behaviour,fragment", [
    (control_characters, "header x-amz-server-side-encryption: expected 'AES256', got '\\x02AES"),
    (control_status_line, "BadStatusLine"),
], ids=["in-headers", "in-status-line"])
def test_control_characters_reach_every_report(behaviour, fragment, tmp_path, capsys):
    """Endpoint bytes XML cannot carry must not cost the reports: JUnit escapes them, JSON and HTML keep them."""
    from lxml import etree

    with serve(behaviour) as server:
        code, lines, report = run_cli(tmp_path, capsys, server.url, CONTROL_CASE)
    assert_failed_with(code, lines, report, fragment)
    junit = etree.parse(str(tmp_path / "reports" / "probe.junit.xml"), etree.XMLParser(resolve_entities=False))
    assert junit.getroot().get("failures") == "1"
    assert (tmp_path / "reports" / "probe.html").stat().st_size > 0
