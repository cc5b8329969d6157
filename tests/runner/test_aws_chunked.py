"""aws-chunked framing, checked against AWS's documented STREAMING-AWS4-HMAC-SHA256-PAYLOAD example."""
import datetime as dt
import hashlib
import re
from unittest import mock

from conformance.casefile.model import RequestSpec
from conformance.request import aws_chunked, builder, integrity, signing

S3_KEYS = signing.Keys("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = ["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]
TIMESTAMP = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"


def test_seed_signature_of_the_documented_request():
    headers = [("x-amz-storage-class", "REDUCED_REDUNDANCY"), ("Content-Encoding", "aws-chunked"),
               ("Content-Length", "66824"), ("x-amz-decoded-content-length", "66560")]
    moment = dt.datetime(2013, 5, 24)
    with mock.patch("botocore.auth.get_current_datetime", return_value=moment):
        signed = signing.sign_v4("PUT", "https://s3.amazonaws.com/examplebucket/chunkObject.txt", headers, b"",
                                 S3_KEYS, "us-east-1", signing.STREAMING_SIGNED)
    assert signed.signature == SEED
    assert ("SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
            "x-amz-decoded-content-length;x-amz-storage-class") in dict(signed.headers)["Authorization"]


def test_documented_chunk_signatures_and_length():
    signer = aws_chunked.ChunkSigner(S3_KEYS, "us-east-1", TIMESTAMP, SCOPE, SEED)
    body = aws_chunked.frame_signed(b"a" * 66560, signer, 65536)
    assert len(body) == 66824                                  # the documented Content-Length
    assert re.findall(rb"^([0-9a-f]+);chunk-signature=([0-9a-f]{64})\r\n", body[:100]) == \
        [(b"10000", CHUNK_SIGNATURES[0].encode())]
    assert [m.decode() for m in re.findall(rb"chunk-signature=([0-9a-f]{64})", body)] == CHUNK_SIGNATURES
    assert body.endswith(b"0;chunk-signature=" + CHUNK_SIGNATURES[2].encode() + b"\r\n\r\n")


def _parse_unsigned(body: bytes) -> tuple[bytes, list[str]]:
    data, pos = bytearray(), 0
    while True:
        end = body.index(b"\r\n", pos)
        size = int(body[pos:end], 16)
        pos = end + 2
        if size == 0:
            break
        data += body[pos:pos + size]
        assert body[pos + size:pos + size + 2] == b"\r\n"
        pos += size + 2
    trailer = body[pos:].decode().split("\r\n")
    return bytes(data), trailer


def test_unsigned_trailer_framing_decodes_to_the_data_and_checksum():
    data = bytes(range(256)) * 700
    body = aws_chunked.frame_unsigned_trailer(data, "crc32", "auto", 65536)
    decoded, trailer = _parse_unsigned(body)
    assert decoded == data
    assert trailer == [f"x-amz-checksum-crc32:{integrity.checksum_value('crc32', data)}", "", ""]


def test_unsigned_trailer_wrong_checksum_differs():
    body = aws_chunked.frame_unsigned_trailer(b"hello", "sha256", "wrong")
    assert integrity.checksum_value("sha256", b"hello").encode() not in body
    assert b"x-amz-checksum-sha256:" in body


def test_signed_trailer_chains_chunk_and_trailer_signatures():
    data = b"b" * 70000
    body = aws_chunked.frame_signed_trailer(data, aws_chunked.ChunkSigner(S3_KEYS, "us-east-1", TIMESTAMP, SCOPE, SEED),
                                        "crc32c", "auto", 65536)
    # recompute the chain independently of the framing code
    previous = SEED
    for piece in (data[:65536], data[65536:], b""):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", TIMESTAMP, SCOPE, previous, aws_chunked.EMPTY_SHA256,
                         hashlib.sha256(piece).hexdigest()])
        previous = signing.derive_signature(S3_KEYS, "us-east-1", TIMESTAMP, sts)
        assert f"chunk-signature={previous}".encode() in body
    line = f"x-amz-checksum-crc32c:{integrity.checksum_value('crc32c', data)}"
    sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", TIMESTAMP, SCOPE, previous,
                     hashlib.sha256((line + "\n").encode()).hexdigest()])
    trailer_signature = signing.derive_signature(S3_KEYS, "us-east-1", TIMESTAMP, sts)
    assert body.endswith(f"0;chunk-signature={previous}\r\n{line}\r\n"
                         f"x-amz-trailer-signature:{trailer_signature}\r\n\r\n".encode())


def test_wire_sets_the_streaming_headers():
    ctx = builder.BuildContext("https://127.0.0.1:9443", "us-east-1", S3_KEYS)
    out = build({"method": "PUT", "bucket": "b", "key": "k", "body": {"generate": 100},
                      "payload": "chunked-unsigned-trailer", "checksum": {"algorithm": "crc64nvme"}}, ctx)
    headers = {n.lower(): v for n, v in out.headers}
    assert headers["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert headers["content-encoding"] == "aws-chunked"
    assert headers["x-amz-decoded-content-length"] == "100"
    assert headers["x-amz-trailer"] == "x-amz-checksum-crc64nvme"
    assert "x-amz-checksum-crc64nvme" not in headers              # it travels in the trailer
    assert _parse_unsigned(out.body)[0] == out.payload and len(out.payload) == 100
    signed = build({"method": "PUT", "bucket": "b", "key": "k", "body": {"text": "x" * 10},
                         "payload": "chunked-signed", "chunk_size": 4}, ctx)
    assert {n.lower(): v for n, v in signed.headers}["x-amz-content-sha256"] == signing.STREAMING_SIGNED
    assert len(re.findall(rb"chunk-signature=", signed.body)) == 4     # 4 + 4 + 2 bytes + final chunk


def build(spec, context):
    """The builder on a request written as in a case file."""
    return builder.build(RequestSpec.from_dict(spec), context)
