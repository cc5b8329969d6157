"""aws-chunked framing for streaming uploads.

botocore has no client-side chunk signer (it only sends STREAMING-UNSIGNED-PAYLOAD-TRAILER), so the
chunk and trailer string-to-sign are written here from AWS's sigv4-streaming documentation; the
signing key and HMAC still come from botocore (signing.derive_signature)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import integrity, signing

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
DEFAULT_CHUNK_SIZE = 65536


@dataclass
class ChunkSigner:
    keys: signing.Keys
    region: str
    timestamp: str
    scope: str
    previous: str                        # seed signature, then each chunk's signature

    def sign_chunk(self, data: bytes) -> str:
        string_to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", self.timestamp, self.scope, self.previous,
                                    EMPTY_SHA256, hashlib.sha256(data).hexdigest()])
        self.previous = signing.derive_signature(self.keys, self.region, self.timestamp, string_to_sign)
        return self.previous

    def sign_trailer(self, trailer_lines: bytes) -> str:
        string_to_sign = "\n".join(["AWS4-HMAC-SHA256-TRAILER", self.timestamp, self.scope, self.previous,
                                    hashlib.sha256(trailer_lines).hexdigest()])
        self.previous = signing.derive_signature(self.keys, self.region, self.timestamp, string_to_sign)
        return self.previous


def _wrong(signature: str) -> str:
    """The same signature with its last hex digit changed: well-formed, wrong."""
    return signature[:-1] + ("0" if signature[-1] != "0" else "1")


def _chunk_signature(signer: ChunkSigner, chunk: bytes, index: int, count: int, corrupt: int | str | None) -> str:
    """Chunk `index` (1-based) of `count` (the last one is the zero-length final chunk). A corrupted chunk gets a
    wrong signature on the wire; the chain continues from the right one, so only that chunk is wrong."""
    signature = signer.sign_chunk(chunk)
    if corrupt == index or (corrupt == "final" and index == count):
        return _wrong(signature)
    return signature


def split_chunks(data: bytes, chunk_size: int) -> list[bytes]:
    return [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)]


def frame_signed(data: bytes, signer: ChunkSigner, chunk_size: int = DEFAULT_CHUNK_SIZE,
                 corrupt_chunk: int | str | None = None) -> bytes:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD: `hex;chunk-signature=sig CRLF data CRLF`, then the 0 chunk."""
    out = bytearray()
    chunks = split_chunks(data, chunk_size) + [b""]
    for index, chunk in enumerate(chunks, 1):
        signature = _chunk_signature(signer, chunk, index, len(chunks), corrupt_chunk)
        out += f"{len(chunk):x};chunk-signature={signature}\r\n".encode() + chunk + b"\r\n"
    return bytes(out)


def trailer_line(algorithm: str, data: bytes, mode: str) -> str:
    return f"{integrity.checksum_header(algorithm)}:{integrity.checksum_value(algorithm, data, mode)}"


def frame_unsigned_trailer(data: bytes, algorithm: str, mode: str = "auto",
                           chunk_size: int = DEFAULT_CHUNK_SIZE) -> bytes:
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER as boto3 sends it: `hex CRLF data CRLF`..., `0 CRLF`,
    the checksum trailer line, then an empty line."""
    out = bytearray()
    for chunk in split_chunks(data, chunk_size):
        out += f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    out += b"0\r\n" + trailer_line(algorithm, data, mode).encode() + b"\r\n\r\n"
    return bytes(out)


def frame_signed_trailer(data: bytes, signer: ChunkSigner, algorithm: str, mode: str = "auto",
                         chunk_size: int = DEFAULT_CHUNK_SIZE, corrupt_chunk: int | str | None = None,
                         corrupt_trailer: bool = False) -> bytes:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: signed chunks, the signed 0 chunk, the trailer line and
    x-amz-trailer-signature (signed over the trailer lines joined with LF)."""
    out = bytearray()
    chunks = split_chunks(data, chunk_size) + [b""]
    for index, chunk in enumerate(chunks, 1):
        signature = _chunk_signature(signer, chunk, index, len(chunks), corrupt_chunk)
        out += f"{len(chunk):x};chunk-signature={signature}\r\n".encode() + chunk
        if chunk:
            out += b"\r\n"
    line = trailer_line(algorithm, data, mode)
    trailer_signature = signer.sign_trailer((line + "\n").encode())
    if corrupt_trailer:
        trailer_signature = _wrong(trailer_signature)
    out += f"{line}\r\nx-amz-trailer-signature:{trailer_signature}\r\n\r\n".encode()
    return bytes(out)
