"""Content-MD5 and x-amz-checksum-* values, deliberately wrong or malformed ones included."""
from __future__ import annotations

import base64
import hashlib
import zlib

import xxhash
from awscrt import checksums as crt_checksums

# The ten values of botocore's ChecksumAlgorithm enum (S3 model, botocore 1.44), lower case as in the headers.
ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256", "sha512", "md5", "xxhash64", "xxhash3", "xxhash128")
MALFORMED_MD5 = "not-a-valid-md5!"          # not base64 at all
MALFORMED_CHECKSUM = "not*a*checksum"       # not base64 at all


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def md5_b64(data: bytes) -> str:
    return b64(hashlib.md5(data).digest())


def content_md5(body: bytes, mode: str) -> str | None:
    """auto: correct; wrong: well-formed MD5 of different bytes; malformed: not an MD5 at all; none: None."""
    if mode == "none":
        return None
    if mode == "auto":
        return md5_b64(body)
    if mode == "wrong":
        return md5_b64(body + b"\x00wrong")
    if mode == "malformed":
        return MALFORMED_MD5
    raise ValueError(f"content_md5 mode {mode!r}")


def checksum_digest(algorithm: str, data: bytes) -> bytes:
    """The raw digest whose base64 goes in x-amz-checksum-<algorithm>: big-endian for the CRCs and the xxHash
    family (xxhash's digest() is the canonical XXH*_canonicalFromHash form, the bytes botocore sends)."""
    if algorithm == "crc32":
        return zlib.crc32(data).to_bytes(4, "big")
    if algorithm == "crc32c":
        return crt_checksums.crc32c(data).to_bytes(4, "big")
    if algorithm == "crc64nvme":
        return crt_checksums.crc64nvme(data).to_bytes(8, "big")
    if algorithm == "sha1":
        return hashlib.sha1(data).digest()
    if algorithm == "sha256":
        return hashlib.sha256(data).digest()
    if algorithm == "sha512":
        return hashlib.sha512(data).digest()
    if algorithm == "md5":
        return hashlib.md5(data).digest()
    if algorithm == "xxhash64":
        return xxhash.xxh64_digest(data)
    if algorithm == "xxhash3":
        return xxhash.xxh3_64_digest(data)
    if algorithm == "xxhash128":
        return xxhash.xxh3_128_digest(data)
    raise ValueError(f"unknown checksum algorithm {algorithm!r}")


def checksum_value(algorithm: str, data: bytes, mode: str = "auto") -> str:
    if mode == "auto":
        return b64(checksum_digest(algorithm, data))
    if mode == "wrong":
        return b64(checksum_digest(algorithm, data + b"\x00wrong"))
    if mode == "malformed":
        return MALFORMED_CHECKSUM
    raise ValueError(f"checksum mode {mode!r}")


def checksum_header(algorithm: str) -> str:
    return f"x-amz-checksum-{algorithm}"
