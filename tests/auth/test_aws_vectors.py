"""AWS's published SigV4 examples for S3 (Amazon S3 API Reference, "Examples: Signature Calculations in
AWS Signature Version 4", "Example: PUT Object" with chunked upload), verified server side."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mockserver.accounts import Account, Accounts
from mockserver.auth import IncomingRequest, authenticate
from mockserver.errors import S3Error
from tests.auth.helpers import decode

EXAMPLE = Account("example", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "123456789012")
ACCOUNTS = Accounts([EXAMPLE])
WHEN = datetime(2013, 5, 24, 0, 5, tzinfo=UTC)
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
CRED = "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"


def header_request(method, path, query, headers, signed, signature):
    auth = f"AWS4-HMAC-SHA256 {CRED},SignedHeaders={signed},Signature={signature}"
    return IncomingRequest(method, path, query, [*headers, ("authorization", auth)], False)


GET_OBJECT = {"method": "GET", "path": "/test.txt", "query": "", "headers": [
    ("host", "examplebucket.s3.amazonaws.com"), ("range", "bytes=0-9"), ("x-amz-content-sha256", EMPTY),
    ("x-amz-date", "20130524T000000Z")], "signed": "host;range;x-amz-content-sha256;x-amz-date",
    "signature": "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"}

PUT_OBJECT = {"method": "PUT", "path": "/test%24file.text", "query": "", "headers": [
    ("host", "examplebucket.s3.amazonaws.com"), ("date", "Fri, 24 May 2013 00:00:00 GMT"),
    ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
    ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")],
    "signed": "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
    "signature": "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"}

GET_LIFECYCLE = {"method": "GET", "path": "/", "query": "lifecycle", "headers": [
    ("host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
    ("x-amz-content-sha256", EMPTY)], "signed": "host;x-amz-content-sha256;x-amz-date",
    "signature": "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"}

LIST_OBJECTS = {"method": "GET", "path": "/", "query": "max-keys=2&prefix=J", "headers": [
    ("host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
    ("x-amz-content-sha256", EMPTY)], "signed": "host;x-amz-content-sha256;x-amz-date",
    "signature": "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"}


@pytest.mark.parametrize("example", [GET_OBJECT, PUT_OBJECT, GET_LIFECYCLE, LIST_OBJECTS],
                         ids=["get-object", "put-object", "get-lifecycle", "list-objects"])
def test_published_header_examples_verify(example):
    result = authenticate(header_request(**example), ACCOUNTS, "us-east-1", WHEN)
    assert result.account == EXAMPLE and result.signature_version == 4


def test_published_put_example_body_is_verified_against_its_hash():
    result = authenticate(header_request(**PUT_OBJECT), ACCOUNTS, "us-east-1", WHEN)
    assert decode(result, [b"Welcome to ", b"Amazon S3."]) == b"Welcome to Amazon S3."
    result = authenticate(header_request(**PUT_OBJECT), ACCOUNTS, "us-east-1", WHEN)
    with pytest.raises(S3Error) as caught:
        decode(result, [b"Welcome to Amazon S4."])
    assert caught.value.code == "XAmzContentSHA256Mismatch"


@pytest.mark.parametrize("example", [GET_OBJECT, PUT_OBJECT, LIST_OBJECTS], ids=["get", "put", "list"])
def test_published_examples_with_one_character_changed_fail(example):
    changed = dict(example, signature=example["signature"][:-1] + ("0" if example["signature"][-1] != "0" else "1"))
    with pytest.raises(S3Error) as caught:
        authenticate(header_request(**changed), ACCOUNTS, "us-east-1", WHEN)
    assert caught.value.code == "SignatureDoesNotMatch" and caught.value.status == 403
    assert caught.value.fields["SignatureProvided"] == changed["signature"]
    assert caught.value.fields["CanonicalRequest"].startswith(example["method"] + "\n" + example["path"] + "\n")
    assert caught.value.fields["StringToSign"].startswith("AWS4-HMAC-SHA256\n20130524T000000Z\n")


def test_published_presigned_example_verifies():
    query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3"
             "%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
             "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    req = IncomingRequest("GET", "/test.txt", query, [("host", "examplebucket.s3.amazonaws.com")], False)
    result = authenticate(req, ACCOUNTS, "us-east-1", datetime(2013, 5, 24, 12, tzinfo=UTC))
    assert result.account == EXAMPLE and result.presigned
    with pytest.raises(S3Error) as caught:   # a day and a second later
        authenticate(req, ACCOUNTS, "us-east-1", datetime(2013, 5, 25, 0, 0, 1, tzinfo=UTC))
    assert (caught.value.code, caught.value.message, caught.value.status) == ("AccessDenied", "Request has expired",
                                                                              403)
    assert caught.value.fields["X-Amz-Expires"] == "86400"


CHUNKED_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = ["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]


def chunked_example(signatures=CHUNK_SIGNATURES, sizes=(65536, 1024)) -> tuple[IncomingRequest, bytes]:
    body = b""
    for size, signature in zip([*sizes, 0], signatures):
        body += b"%x;chunk-signature=%s\r\n%s\r\n" % (size, signature.encode(), b"a" * size)
    headers = [("host", "s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
               ("x-amz-storage-class", "REDUCED_REDUNDANCY"), ("content-encoding", "aws-chunked"),
               ("content-length", "66824"), ("x-amz-decoded-content-length", "66560"),
               ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")]
    signed = ("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
              "x-amz-storage-class")
    return header_request("PUT", "/examplebucket/chunkObject.txt", "", headers, signed, CHUNKED_SEED), body


@pytest.mark.parametrize("buffer_size", [66824, 65536, 8192, 1000, 7])
def test_published_chunked_example_decodes_whatever_the_buffer_boundaries(buffer_size):
    req, body = chunked_example()
    assert len(body) == 66824
    result = authenticate(req, ACCOUNTS, "us-east-1", WHEN)
    pieces = [body[i:i + buffer_size] for i in range(0, len(body), buffer_size)]
    assert decode(result, pieces) == b"a" * 66560
    assert result.decoded_content_length == 66560


@pytest.mark.parametrize("index", [0, 1, 2])
def test_published_chunked_example_with_a_tampered_chunk_signature_fails(index):
    signatures = list(CHUNK_SIGNATURES)
    signatures[index] = signatures[index][::-1]
    req, body = chunked_example(signatures)
    result = authenticate(req, ACCOUNTS, "us-east-1", WHEN)
    with pytest.raises(S3Error) as caught:
        decode(result, [body])
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.fields["StringToSign"].startswith("AWS4-HMAC-SHA256-PAYLOAD\n")


def test_published_chunked_example_with_reordered_chunks_fails():
    req, body = chunked_example(sizes=(1024, 65536))   # same bytes, chain no longer matches
    result = authenticate(req, ACCOUNTS, "us-east-1", WHEN)
    with pytest.raises(S3Error) as caught:
        decode(result, [body])
    assert caught.value.code == "SignatureDoesNotMatch"


# "Signature calculations for trailing headers (chunked uploads)", Example: PUT Object
# (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html): seed signature of the
# STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER request, chunk signatures, CRC32C trailer and trailer signature.
TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
TRAILER_CHUNKS = [(65536, "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"),
                  (1024, "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"),
                  (0, "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992")]
TRAILER_SIGNATURE = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"


def trailer_example_body(blank_line: bool, checksum: str = "sOO8/Q==", signature: str = TRAILER_SIGNATURE) -> bytes:
    body = b""
    for size, chunk_signature in TRAILER_CHUNKS:
        body += b"%x;chunk-signature=%s\r\n%s" % (size, chunk_signature.encode(), b"a" * size)
        body += b"\r\n" if size else b""
    body += b"\r\n" if blank_line else b""
    return body + f"x-amz-checksum-crc32c:{checksum}\r\nx-amz-trailer-signature:{signature}\r\n\r\n".encode()


def trailer_decoder():
    from mockserver.auth.aws_chunked import AwsChunkedDecoder, ChunkSigner
    from mockserver.auth.signing import signing_key
    key = signing_key(EXAMPLE.secret_key, "20130524", "us-east-1", "s3")
    signer = ChunkSigner(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", TRAILER_SEED,
                         EXAMPLE.access_key)
    return AwsChunkedDecoder(signer, ["x-amz-checksum-crc32c"], 66560, signed_trailer=True)


@pytest.mark.parametrize("blank_line", [False, True], ids=["trailers-follow", "blank-line-first"])
def test_published_trailer_example_verifies(blank_line):
    decoder = trailer_decoder()
    out = decoder.feed(trailer_example_body(blank_line))
    decoder.finish()
    assert b"".join(out) == b"a" * 66560
    assert decoder.trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}


@pytest.mark.parametrize("change, code", [({"signature": TRAILER_SIGNATURE[::-1]}, "SignatureDoesNotMatch"),
                                          ({"checksum": "AAAAAA=="}, "SignatureDoesNotMatch")])
def test_published_trailer_example_tampered(change, code):
    decoder = trailer_decoder()
    with pytest.raises(S3Error) as caught:
        decoder.feed(trailer_example_body(False, **change))
        decoder.finish()
    assert caught.value.code == code


def test_sign_is_hmac_sha256_for_any_key_and_text() -> None:
    """signing.sign copies a cached keyed HMAC: the digest of a fresh hmac.new for keys shorter than, as long as
    and longer than SHA-256's 64-byte block, and for any text, again and again (the cached object is never fed)."""
    import hmac
    import os
    import random

    from mockserver.auth.signing import sign
    rng = random.Random(15)
    for _ in range(300):
        key = os.urandom(rng.choice([0, 1, 32, 63, 64, 65, 200]))
        text = "".join(chr(rng.randrange(32, 0x3000)) for _ in range(rng.randrange(0, 200)))
        assert sign(key, text) == hmac.new(key, text.encode("utf-8"), "sha256").hexdigest()
        assert sign(key, text) == sign(bytes(key), text)       # a cached key gives the same digest again
