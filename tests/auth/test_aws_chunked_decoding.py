"""aws-chunked payloads: signed chunks, unsigned chunks with a trailing checksum, signed trailers."""
from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from dataclasses import replace

import pytest

from mockserver.auth import authenticate
from mockserver.errors import S3Error
from tests.auth.helpers import ACCOUNTS, REGION, decode, now, sigv4_request, split_every

URL = "http://127.0.0.1:9000/bucket/key"
EMPTY = hashlib.sha256(b"").hexdigest()


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def unsigned_trailer_body(data: bytes, chunk: int = 8192, trailer: str | None = None) -> bytes:
    out = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in split_every(data, chunk) if p)
    value = crc32_b64(data) if trailer is None else trailer
    return out + b"0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % value.encode()


def unsigned_trailer_request(data: bytes, **headers: str):
    base = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "content-encoding": "aws-chunked",
            "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": str(len(data))}
    base.update(headers)
    return sigv4_request("PUT", URL, headers=base)


class SignedChunks:
    """Client side of STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER), from the request's seed signature."""

    def __init__(self, req) -> None:
        auth = dict(req.headers)["authorization"]
        self.seed = auth.rsplit("Signature=", 1)[1]
        scope_start = auth.index("Credential=") + len("Credential=")
        credential = auth[scope_start:auth.index(",", scope_start)]
        _, date, region, service, _ = credential.split("/")
        self.scope = f"{date}/{region}/{service}/aws4_request"
        self.amz_date = dict(req.headers)["x-amz-date"]
        from mockserver.accounts import MAIN
        key = ("AWS4" + MAIN.secret_key).encode()
        for part in (date, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), "sha256").digest()
        self.key = key

    def _sign(self, sts: str) -> str:
        return hmac.new(self.key, sts.encode(), "sha256").hexdigest()

    def body(self, data: bytes, chunk: int = 8192, trailer: dict[str, str] | None = None,
             tamper_trailer_signature: bool = False) -> bytes:
        previous, out = self.seed, b""
        for piece in [p for p in split_every(data, chunk) if p] + [b""]:
            sts = (f"AWS4-HMAC-SHA256-PAYLOAD\n{self.amz_date}\n{self.scope}\n{previous}\n{EMPTY}\n"
                   f"{hashlib.sha256(piece).hexdigest()}")
            previous = self._sign(sts)
            out += b"%x;chunk-signature=%s\r\n%s" % (len(piece), previous.encode(), piece)
            out += b"\r\n" if piece or trailer is None else b""
        if trailer is None:
            return out
        canonical = "".join(f"{k}:{v}\n" for k, v in trailer.items())
        sts = (f"AWS4-HMAC-SHA256-TRAILER\n{self.amz_date}\n{self.scope}\n{previous}\n"
               f"{hashlib.sha256(canonical.encode()).hexdigest()}")
        signature = self._sign(sts)
        if tamper_trailer_signature:
            signature = signature[::-1]
        lines = "".join(f"{k}:{v}\r\n" for k, v in trailer.items())
        return out + f"{lines}x-amz-trailer-signature:{signature}\r\n\r\n".encode()


def signed_request(data: bytes, trailer: bool):
    headers = {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else ""),
               "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    req = sigv4_request("PUT", URL, headers=headers)
    return req, SignedChunks(req)


def run(req, body: bytes, buffer: int = 4096) -> tuple[bytes, object]:
    result = authenticate(req, ACCOUNTS, REGION, now())
    return decode(result, split_every(body, buffer)), result


DATA = bytes(range(256)) * 300   # 76800 bytes


@pytest.mark.parametrize("buffer", [1, 1000, 8194, 1 << 20])
def test_unsigned_trailer_decodes_and_collects_the_checksum(buffer):
    decoded, result = run(unsigned_trailer_request(DATA), unsigned_trailer_body(DATA), buffer)
    assert decoded == DATA
    assert result.trailers == {"x-amz-checksum-crc32": crc32_b64(DATA)}
    assert result.decoded_content_length == len(DATA)


def test_unsigned_trailer_checksum_mismatch_is_bad_digest():
    with pytest.raises(S3Error) as caught:
        run(unsigned_trailer_request(DATA), unsigned_trailer_body(DATA, trailer=crc32_b64(b"other")))
    assert (caught.value.code, caught.value.message) == (
        "BadDigest", "The CRC32 you specified did not match the calculated checksum.")


def test_unsigned_trailer_malformed_checksum_value():
    with pytest.raises(S3Error) as caught:
        run(unsigned_trailer_request(DATA), unsigned_trailer_body(DATA, trailer="not base64!"))
    assert caught.value.code == "InvalidRequest"


def test_unsigned_trailer_missing_trailer_is_rejected():
    body = unsigned_trailer_body(DATA).rsplit(b"0\r\n", 1)[0] + b"0\r\n\r\n"
    with pytest.raises(S3Error) as caught:
        run(unsigned_trailer_request(DATA), body)
    assert caught.value.code == "MalformedTrailerError"


def test_decoded_length_mismatch_is_incomplete_body():
    req = unsigned_trailer_request(DATA, **{"x-amz-decoded-content-length": str(len(DATA) + 1)})
    with pytest.raises(S3Error) as caught:
        run(req, unsigned_trailer_body(DATA))
    assert caught.value.code == "IncompleteBody"


def test_truncated_chunked_body_is_incomplete():
    body = unsigned_trailer_body(DATA)
    with pytest.raises(S3Error) as caught:
        run(unsigned_trailer_request(DATA), body[: len(body) // 2])
    assert caught.value.code == "IncompleteBody"


def test_garbage_chunk_size_is_rejected_without_traceback():
    with pytest.raises(S3Error) as caught:
        run(unsigned_trailer_request(DATA), b"zz\r\nabc\r\n")
    assert caught.value.status == 400


def test_missing_decoded_length_header():
    req = sigv4_request("PUT", URL, headers={"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                             "content-encoding": "aws-chunked",
                                             "x-amz-trailer": "x-amz-checksum-crc32"})
    with pytest.raises(S3Error) as caught:
        authenticate(req, ACCOUNTS, REGION, now())
    assert caught.value.code == "MissingContentLength"


def test_aws_chunked_recognised_from_content_encoding_alone():
    req = sigv4_request("PUT", URL, headers={"content-encoding": "aws-chunked",
                                             "x-amz-decoded-content-length": str(len(DATA))}, sign_payload=False)
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in split_every(DATA, 10000)) + b"0\r\n\r\n"
    decoded, result = run(req, body)
    assert decoded == DATA and result.payload_mode == "UNSIGNED-PAYLOAD"


@pytest.mark.parametrize("buffer", [7, 8192, 1 << 20])
def test_signed_chunks_decode(buffer):
    req, client = signed_request(DATA, trailer=False)
    decoded, _ = run(req, client.body(DATA), buffer)
    assert decoded == DATA


def test_signed_chunk_with_tampered_data_fails_and_no_tampered_byte_escapes():
    req, client = signed_request(DATA, trailer=False)
    body = bytearray(client.body(DATA))
    body[-100] ^= 1          # inside the last data chunk
    result = authenticate(req, ACCOUNTS, REGION, now())
    received = bytearray()

    async def consume():
        async def source():
            yield bytes(body)
        async for piece in result.decode_body(source()):
            received.extend(piece)

    import asyncio
    with pytest.raises(S3Error) as caught:
        asyncio.run(consume())
    assert caught.value.code == "SignatureDoesNotMatch"
    assert bytes(received) == DATA[: len(received)]


def test_signed_trailer_verifies():
    req, client = signed_request(DATA, trailer=True)
    decoded, result = run(req, client.body(DATA, trailer={"x-amz-checksum-crc32": crc32_b64(DATA)}))
    assert decoded == DATA and result.trailers == {"x-amz-checksum-crc32": crc32_b64(DATA)}


def test_signed_trailer_with_bad_trailer_signature_fails():
    req, client = signed_request(DATA, trailer=True)
    body = client.body(DATA, trailer={"x-amz-checksum-crc32": crc32_b64(DATA)}, tamper_trailer_signature=True)
    with pytest.raises(S3Error) as caught:
        run(req, body)
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.fields["StringToSign"].startswith("AWS4-HMAC-SHA256-TRAILER\n")


def test_signed_trailer_with_wrong_checksum_is_bad_digest():
    req, client = signed_request(DATA, trailer=True)
    with pytest.raises(S3Error) as caught:
        run(req, client.body(DATA, trailer={"x-amz-checksum-crc32": crc32_b64(b"x")}))
    assert caught.value.code == "BadDigest"


def test_signed_chunks_need_a_signature():
    req = sigv4_request("PUT", URL, headers={"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                                             "x-amz-decoded-content-length": "3"})
    anonymous = replace(req, headers=[(k, v) for k, v in req.headers if k != "authorization"])
    with pytest.raises(S3Error) as caught:
        authenticate(anonymous, ACCOUNTS, REGION, now())
    assert caught.value.code == "InvalidArgument"


def test_oversized_signed_chunk_streams_but_still_fails_before_the_end(monkeypatch):
    import asyncio

    from mockserver.auth import aws_chunked
    monkeypatch.setattr(aws_chunked, "MAX_HELD", 10_000)      # DATA is one 76800-byte chunk below
    req, client = signed_request(DATA, trailer=False)
    good = client.body(DATA, chunk=len(DATA))
    decoded, _ = run(req, good, buffer=4096)
    assert decoded == DATA

    req, client = signed_request(DATA, trailer=False)
    body = bytearray(client.body(DATA, chunk=len(DATA)))
    body[200] ^= 1
    result = authenticate(req, ACCOUNTS, REGION, now())
    received = bytearray()

    async def consume():
        async def source():
            for piece in split_every(bytes(body), 4096):
                yield piece
        async for piece in result.decode_body(source()):
            received.extend(piece)

    with pytest.raises(S3Error) as caught:
        asyncio.run(consume())
    assert caught.value.code == "SignatureDoesNotMatch"
    assert 0 < len(received) < len(DATA)       # streamed (bounded memory), yet never complete
