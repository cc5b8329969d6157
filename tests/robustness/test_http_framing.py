"""Requests whose HTTP framing lies: Content-Length shorter or longer than the body, missing, invalid; bodies that
stall or end early; bytes httptools refuses. Each gets S3's error (never uvicorn's text/plain answer, a hang or a
dropped connection), and the object under the same key is unchanged."""
from __future__ import annotations

import base64
import hashlib
import time

import pytest

import mockserver.protocol

from .conftest import assert_s3_error

BODY = b"replacement bytes that must never be stored"


def test_content_length_shorter_than_signed_body(wire, victim):
    """The server reads Content-Length bytes: their SHA-256 is not the signed one; the rest is not HTTP."""
    replies = wire.exchange_many(_request(wire, victim.path, BODY, content_length=5), ["PUT", "GET"])
    assert_s3_error(replies[0], 400, "XAmzContentSHA256Mismatch")
    assert_s3_error(replies[1], 400, "BadRequest")
    victim.assert_intact()


def test_content_length_shorter_than_body_with_content_md5(wire, victim):
    md5 = base64.b64encode(hashlib.md5(BODY).digest()).decode()
    raw = _request(wire, victim.path, BODY, content_length=5, headers=[("Content-MD5", md5)],
                   payload="UNSIGNED-PAYLOAD")
    replies = wire.exchange_many(raw, ["PUT", "GET"])
    assert_s3_error(replies[0], 400, "BadDigest")
    victim.assert_intact()


def test_missing_content_length_with_body(wire, victim):
    """Without Content-Length (or Transfer-Encoding) the request has no body: 411 for it, then 400 BadRequest
    for the body bytes the server then reads as a request, both answered, in order."""
    replies = wire.exchange_many(_request(wire, victim.path, BODY, content_length=None,
                                          payload="UNSIGNED-PAYLOAD"), ["PUT", "GET"])
    assert [r.status for r in replies] == [411, 400], replies
    assert_s3_error(replies[0], 411, "MissingContentLength")
    assert_s3_error(replies[1], 400, "BadRequest")
    victim.assert_intact()


def test_content_length_longer_than_body_then_half_close(wire, victim):
    raw = _request(wire, victim.path, BODY, content_length=len(BODY) + 100, payload="UNSIGNED-PAYLOAD")
    reply = wire.exchange(raw, "PUT", shutdown_write=True)
    assert_s3_error(reply, 400, "IncompleteBody")
    victim.assert_intact()


def test_body_that_stalls_times_out(wire, victim, monkeypatch):
    monkeypatch.setattr(mockserver.protocol, "BODY_IDLE_TIMEOUT", 0.5)
    raw = _request(wire, victim.path, BODY, content_length=len(BODY) + 100, payload="UNSIGNED-PAYLOAD")
    started = time.monotonic()
    reply = wire.exchange(raw, "PUT")
    assert time.monotonic() - started < 5
    assert_s3_error(reply, 400, "RequestTimeout")
    assert reply.headers.get("Connection") == "close"
    victim.assert_intact()


def test_slow_body_that_keeps_coming_is_not_timed_out(wire, victim, monkeypatch):
    """The idle timeout measures silence, not total time: a body trickling in faster than it is served."""
    import socket

    monkeypatch.setattr(mockserver.protocol, "BODY_IDLE_TIMEOUT", 0.4)
    body = b"x" * 10
    head = _request(wire, victim.path, body, content_length=len(body), payload="UNSIGNED-PAYLOAD")[:-len(body)]
    with socket.create_connection((wire.host, wire.port), timeout=5) as sock:
        sock.sendall(head)
        for byte in body:
            time.sleep(0.1)
            sock.sendall(bytes([byte]))
        status_line = sock.makefile("rb").readline()
    assert b" 200 " in status_line, status_line
    assert wire.send("GET", victim.path).body == body


@pytest.mark.parametrize("value", ["-1", "abc", "1e3", "99999999999999999999999999999999", "5, 6", "0x10", ""])
def test_invalid_content_length(wire, victim, value):
    raw = _request(wire, victim.path, BODY, content_length=None, headers=[("Content-Length", value)],
                   payload="UNSIGNED-PAYLOAD")
    assert_s3_error(wire.exchange(raw, "PUT"), 400, "BadRequest")
    victim.assert_intact()


@pytest.mark.parametrize("headers", [
    [("Transfer-Encoding", "chunked"), ("Content-Length", "5")],
    [("Transfer-Encoding", "gzip")],
    [("X-Bad", "a\x00b")],
    [("X-Bad", "a\x0bb")],
    [("X-Folded", "a\r\n folded")],
    [("Bad Name", "x")],
], ids=["te-and-cl", "te-gzip", "nul-in-value", "vt-in-value", "obs-fold", "space-in-name"])
def test_header_bytes_httptools_refuses(wire, victim, headers):
    raw = _request(wire, victim.path, BODY, content_length=None, headers=headers, payload="UNSIGNED-PAYLOAD",
                   sign=False)
    assert_s3_error(wire.exchange(raw, "PUT"), 400, "BadRequest")
    victim.assert_intact()


@pytest.mark.parametrize("line", [b"get /x HTTP/1.1", b"FOO /x HTTP/1.1", b"GET /a b HTTP/1.1",
                                  b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"PRI * HTTP/2.0"])
def test_unparseable_request_line(wire, victim, line):
    reply = wire.exchange(line + f"\r\nHost: {wire.host}\r\n\r\n".encode(), "GET")
    assert_s3_error(reply, 400, "BadRequest")
    victim.assert_intact()


def test_garbage_chunked_transfer_encoding(wire, victim):
    raw = _request(wire, victim.path, b"zz\r\nabc\r\n0\r\n\r\n", content_length=None,
                   headers=[("Transfer-Encoding", "chunked")], payload="UNSIGNED-PAYLOAD")
    assert_s3_error(wire.exchange(raw, "PUT"), 400, "BadRequest")
    victim.assert_intact()


def test_http_chunked_transfer_encoding_not_implemented(wire, victim):
    """AWS S3 answers a well-formed Transfer-Encoding: chunked upload with 501 NotImplemented, Header
    Transfer-Encoding (observed; e.g. Automattic/knox#43, aws/aws-sdk-js-v3#3403)."""
    raw = _request(wire, victim.path, b"5\r\nhello\r\n0\r\n\r\n", content_length=None,
                   headers=[("Transfer-Encoding", "chunked")], payload="UNSIGNED-PAYLOAD")
    reply = wire.exchange(raw, "PUT")
    assert_s3_error(reply, 501, "NotImplemented")
    assert reply.field("Header") == "Transfer-Encoding"
    victim.assert_intact()


def test_websocket_upgrade_is_plain_http(wire, victim):
    headers = [("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
               ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]
    reply = wire.send("GET", victim.path, headers, content_length=None)
    assert reply.status == 200 and reply.body == victim.body


def test_pipelined_requests_answered_in_order(wire, victim):
    raw = b"".join(_request(wire, victim.path, b"", content_length=None, method="GET") for _ in range(3))
    replies = wire.exchange_many(raw, ["GET"] * 3)
    assert [r.body for r in replies] == [victim.body] * 3


def _request(wire, path: str, body: bytes, *, content_length: int | None, headers=(), payload: str | None = None,
             sign: bool = True, method: str = "PUT") -> bytes:
    """Request bytes signed for `body` (payload hash: SHA-256 of the whole body unless given), with the
    Content-Length header chosen by the test."""
    signed_headers = [("Host", f"{wire.host}:{wire.port}"), *headers]
    if sign:
        signed_headers = wire.signed_headers(method, path, signed_headers, body, payload)
    if content_length is not None:
        signed_headers.append(("Content-Length", str(content_length)))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in signed_headers) + "\r\n"
    return head.encode("latin-1") + body


def test_half_close_after_complete_request_still_answered(wire, victim):
    raw = _request(wire, victim.path, b"", content_length=None, method="GET")
    reply = wire.exchange(raw, "GET", shutdown_write=True)
    assert reply.status == 200 and reply.body == victim.body


@pytest.mark.parametrize(("path", "headers", "status", "code"), [
    ("/no-such-bucket-robustness/k", [], 404, "NoSuchBucket"),
    ("{victim}", [("x-amz-server-side-encryption", "rot13")], 400, "InvalidArgument"),
])
def test_early_error_on_large_body_reaches_the_client(wire, victim, path, headers, status, code):
    """The server answers before reading a 24 MiB body; it must drain instead of closing with unread bytes
    (the kernel's RST then destroyed the answer: the client saw 'connection reset')."""
    body = b"\0" * (24 * 1024 * 1024)
    reply = wire.send("PUT", path.format(victim=victim.path), headers, body, payload="UNSIGNED-PAYLOAD")
    assert_s3_error(reply, status, code)
    victim.assert_intact()


def test_header_section_that_never_ends_times_out(wire, victim, monkeypatch):
    monkeypatch.setattr(mockserver.protocol, "BODY_IDLE_TIMEOUT", 0.5)
    started = time.monotonic()
    reply = wire.exchange(f"GET {victim.path} HTTP/1.1\r\nHost: {wire.host}\r\nX-Slow: a".encode(), "GET")
    assert time.monotonic() - started < 5
    assert_s3_error(reply, 400, "RequestTimeout")
    victim.assert_intact()


def test_stalled_pipelined_request_waits_for_the_previous_answer(wire, victim, monkeypatch):
    monkeypatch.setattr(mockserver.protocol, "BODY_IDLE_TIMEOUT", 0.5)
    first = _request(wire, victim.path, b"", content_length=None, method="GET")
    replies = wire.exchange_many(first + f"GET {victim.path} HTTP/1.1\r\nHost: x\r\n".encode(), ["GET", "GET"])
    assert replies[0].status == 200 and replies[0].body == victim.body
    assert_s3_error(replies[1], 400, "RequestTimeout")


def test_whole_request_then_stalled_body_in_one_read(wire, victim, monkeypatch):
    """A complete PUT and, in the same read, a second PUT whose body stops short: the guards' timers start only
    for what is still incomplete once the read is parsed (protocol._arm_timers); the second still times out."""
    monkeypatch.setattr(mockserver.protocol, "BODY_IDLE_TIMEOUT", 0.5)
    complete = _request(wire, victim.path, BODY, content_length=len(BODY), payload="UNSIGNED-PAYLOAD")
    stalled = _request(wire, victim.path, BODY, content_length=len(BODY) + 100, payload="UNSIGNED-PAYLOAD")
    started = time.monotonic()
    replies = wire.exchange_many(complete + stalled, ["PUT", "PUT"])
    assert time.monotonic() - started < 5
    assert replies[0].status == 200, replies
    assert_s3_error(replies[1], 400, "RequestTimeout")


def test_header_section_split_across_reads_times_out(wire, victim, monkeypatch):
    """The header timer starts when a read leaves a header section incomplete, also after a complete request."""
    monkeypatch.setattr(mockserver.protocol, "BODY_IDLE_TIMEOUT", 0.5)
    first = _request(wire, victim.path, b"", content_length=None, method="GET")
    started = time.monotonic()
    replies = wire.exchange_many(first + f"GET {victim.path} HTTP/1.1\r\nHost: x\r\nX-Slow: a".encode(),
                                 ["GET", "GET"])
    assert time.monotonic() - started < 5
    assert replies[0].status == 200 and replies[0].body == victim.body
    assert_s3_error(replies[1], 400, "RequestTimeout")
