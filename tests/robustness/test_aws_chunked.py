"""Broken aws-chunked framing (STREAMING-UNSIGNED-PAYLOAD-TRAILER, as boto3 sends over HTTPS, and signed
chunks): each break is a 4xx S3 error, and the object under the key keeps its bytes."""
from __future__ import annotations

import base64
import zlib

import pytest

from conformance.request import aws_chunked as chunked
from conformance.request import signing

from .conftest import assert_s3_error

DATA = b"hello world"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def crc32(data: bytes) -> bytes:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big"))


GOOD = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:" + crc32(DATA) + b"\r\n\r\n"
FRAMINGS = {
    "bad-hex-size": (b"zz\r\nhello world\r\n0\r\n\r\n", "InvalidRequest"),
    "negative-size": (b"-b\r\nhello world\r\n0\r\n\r\n", "InvalidRequest"),
    "missing-crlf-after-data": (b"b\r\nhello world0\r\n\r\n", "InvalidRequest"),
    "truncated-final-chunk": (b"b\r\nhello world\r\n", "IncompleteBody"),
    "truncated-mid-chunk": (b"b\r\nhello", "IncompleteBody"),
    "trailer-without-checksum": (b"b\r\nhello world\r\n0\r\n\r\n", "MalformedTrailerError"),
    "other-trailer-than-declared": (b"b\r\nhello world\r\n0\r\nx-amz-checksum-sha1:" + crc32(DATA) + b"\r\n\r\n",
                                    "MalformedTrailerError"),
    "extra-bytes-after-final-chunk": (GOOD + b"EXTRA", "InvalidRequest"),
    "decoded-length-mismatch": (b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:" + crc32(b"hello") + b"\r\n\r\n",
                                "IncompleteBody"),
    "chunk-longer-than-size": (b"a\r\nhello world\r\n0\r\n\r\n", "InvalidRequest"),
    "chunk-shorter-than-size": (b"c\r\nhello world\r\n0\r\n\r\n", "IncompleteBody"),
    "huge-size": (b"ffffffffffffffff\r\nhello world\r\n0\r\n\r\n", "IncompleteBody"),
    "wrong-trailer-checksum": (b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:" + crc32(b"x") + b"\r\n\r\n",
                               "BadDigest"),
    "malformed-trailer-checksum": (b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:!!!!\r\n\r\n", "InvalidRequest"),
    "empty-body": (b"", "IncompleteBody"),
    "only-crlfs": (b"\r\n" * 20, "InvalidRequest"),
}


def put_chunked(wire, path: str, body: bytes, headers=None):
    headers = headers if headers is not None else [
        ("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", str(len(DATA))),
        ("x-amz-trailer", "x-amz-checksum-crc32")]
    return wire.send("PUT", path, headers, body, payload=UNSIGNED_TRAILER)


def test_well_formed_framing_is_stored_decoded(wire, bucket):
    reply = put_chunked(wire, f"/{bucket}/fresh", GOOD)
    assert reply.status == 200, reply
    assert wire.send("GET", f"/{bucket}/fresh").body == DATA


@pytest.mark.parametrize("case", sorted(FRAMINGS))
def test_broken_framing(wire, victim, case):
    body, code = FRAMINGS[case]
    reply = put_chunked(wire, victim.path, body)
    if code == "InvalidRequest" and reply.code == "IncompleteBody":
        pytest.fail(f"{case}: framing error reported as a short body")
    assert_s3_error(reply, 400, code)
    victim.assert_intact()


@pytest.mark.parametrize(("headers", "status", "code"), [
    ([("Content-Encoding", "aws-chunked"), ("x-amz-trailer", "x-amz-checksum-crc32")], 411, "MissingContentLength"),
    ([("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", "eleven"),
      ("x-amz-trailer", "x-amz-checksum-crc32")], 411, "MissingContentLength"),
    ([("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", "11"), ("x-amz-trailer", "x-amz-foo")],
     400, "InvalidRequest"),
    ([("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", "11"),
      ("x-amz-trailer", "x-amz-checksum-crc32,x-amz-checksum-sha1")], 400, "InvalidRequest"),
], ids=["no-decoded-length", "decoded-length-not-a-number", "unknown-trailer", "two-trailers"])
def test_broken_streaming_headers(wire, victim, headers, status, code):
    assert_s3_error(put_chunked(wire, victim.path, GOOD, headers), status, code)
    victim.assert_intact()


def _signed_chunked(wire, path: str, data: bytes, mutate) -> bytes:
    keys = signing.Keys(*(wire.credentials["main"][k] for k in ("access_key", "secret_key")))
    headers = [("Host", f"{wire.host}:{wire.port}"), ("Content-Encoding", "aws-chunked"),
               ("x-amz-decoded-content-length", str(len(data)))]
    signed = signing.sign_v4("PUT", wire.endpoint + path, headers, b"", keys, wire.region, signing.STREAMING_SIGNED)
    signer = chunked.ChunkSigner(keys, wire.region, signed.timestamp, signed.scope, signed.signature)
    body = mutate(chunked.frame_signed(data, signer, chunk_size=8))
    head = f"PUT {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in signed.headers)
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


@pytest.mark.parametrize(("mutate", "code"), [
    (lambda b: b, None),
    (lambda b: b.replace(b"hello", b"HELLO"), "SignatureDoesNotMatch"),
    (lambda b: b.replace(b"chunk-signature=", b"chunk-signature=0", 1), "SignatureDoesNotMatch"),
    (lambda b: b.replace(b";chunk-signature=", b";chunk-sig=", 1), ("InvalidRequest", "SignatureDoesNotMatch")),
    (lambda b: b[: b.rindex(b"0;chunk-signature")], "IncompleteBody"),
    (lambda b: b + b"tail", "InvalidRequest"),
], ids=["intact", "data-changed", "signature-changed", "signature-missing", "final-chunk-missing", "extra-bytes"])
def test_signed_chunks(wire, victim, mutate, code):
    reply = wire.exchange(_signed_chunked(wire, victim.path, DATA, mutate), "PUT")
    if code is None:
        assert reply.status == 200, reply
        assert wire.send("GET", victim.path).body == DATA
        return
    assert_s3_error(reply, (400, 403), code)
    victim.assert_intact()
