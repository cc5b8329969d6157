"""Streaming MD5 and x-amz-checksum-* digests, request integrity headers, and S3's ETag rules."""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import zlib
from collections.abc import Mapping

import xxhash
from awscrt import checksums as crt

from mockserver.errors import bad_digest, checksum_mismatch, invalid_digest, invalid_request

# botocore's ChecksumAlgorithm enum (S3 model 2006-03-01, botocore 1.44): the five of AWS's recorded "valid types"
# list (LocalStack test_multipart_parts_checksum_exceptions_composite, create-mpu-wrong-checksum-algo), in its order,
# then the five added in 2026 in the model's order. Every value travels as the
# base64 of the digest's canonical (big-endian) bytes: the model documents each header as "the Base64 encoded,
# N-bit <ALGORITHM> checksum/digest", and botocore's own implementations (httpchecksum.py: zlib/awscrt CRCs,
# hashlib SHAs, awscrt XXHash finalize()) send exactly these bytes.
ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256", "sha512", "md5", "xxhash64", "xxhash3", "xxhash128")
CRC_ALGORITHMS = ("crc32", "crc32c", "crc64nvme")
XXHASH_ALGORITHMS = ("xxhash64", "xxhash3", "xxhash128")
DIGEST_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32, "sha512": 64, "md5": 16,
                "xxhash64": 8, "xxhash3": 8, "xxhash128": 16}
HEADER_PREFIX = "x-amz-checksum-"
CHECKSUM_HEADERS = {f"{HEADER_PREFIX}{a}": a for a in ALGORITHMS}
# Response / XML field names (ChecksumCRC32 ...), keyed by algorithm (botocore's Checksum structure members).
XML_NAMES = {a: f"Checksum{a.upper()}" for a in ALGORITHMS}
# Multipart: which checksum types each algorithm supports, first one is the default. Documented for the first five
# (AWS user guide, "Checking object integrity": CRC64NVME full object only; CRC32/CRC32C both, composite by default;
# SHA1/SHA256 composite only). The 2026 algorithms are undocumented there: SHA512 and MD5 are digests like the SHAs,
# and the xxHash family cannot be combined from part values either, so only COMPOSITE can be computed from parts
# (an inference, marked unproven in the cases).
MULTIPART_TYPES = {"crc32": ("COMPOSITE", "FULL_OBJECT"), "crc32c": ("COMPOSITE", "FULL_OBJECT"),
                   "crc64nvme": ("FULL_OBJECT",), "sha1": ("COMPOSITE",), "sha256": ("COMPOSITE",),
                   "sha512": ("COMPOSITE",), "md5": ("COMPOSITE",), "xxhash64": ("COMPOSITE",),
                   "xxhash3": ("COMPOSITE",), "xxhash128": ("COMPOSITE",)}
_XXHASH = {"xxhash64": xxhash.xxh64, "xxhash3": xxhash.xxh3_64, "xxhash128": xxhash.xxh3_128}


_CRC_FUNCTIONS = {"crc32": zlib.crc32, "crc32c": crt.crc32c, "crc64nvme": crt.crc64nvme}


def crc_bytes(algorithm: str, value: int) -> bytes:
    """A CRC's value as checksum bytes (big-endian, the algorithm's size): every CRC the server stores or answers,
    incremental, one-shot or combined from parts, is encoded here."""
    return value.to_bytes(DIGEST_SIZES[algorithm], "big")


class CrcDigest:
    """Incremental CRC with the hashlib-like surface the body pipeline uses."""

    __slots__ = ("_fn", "algorithm", "length", "value")

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self.value = 0
        self.length = 0
        self._fn = _CRC_FUNCTIONS[algorithm]

    def update(self, data: bytes) -> None:
        self.value = self._fn(data, self.value)
        self.length += len(data)

    def digest(self) -> bytes:
        return crc_bytes(self.algorithm, self.value)


def new_digest(algorithm: str):
    """A fresh incremental digest (update / digest) of one of ALGORITHMS; `digest()` is the canonical big-endian
    form (xxhash's digest() is XXH*_canonicalFromHash, the bytes awscrt's XXHash.finalize() gives botocore)."""
    if algorithm in CRC_ALGORITHMS:
        return CrcDigest(algorithm)
    if algorithm in _XXHASH:
        return _XXHASH[algorithm]()
    return hashlib.new(algorithm)


# hashlib's named constructors (hashlib.new looks the name up in Python on every call): the same digests.
_HASHLIB_CONSTRUCTORS = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256,
                         "sha512": hashlib.sha512}


def digest_of(algorithm: str, data: bytes | memoryview) -> bytes:
    """new_digest(algorithm) fed `data` in one update: its digest() (a CRC without the incremental object)."""
    crc = _CRC_FUNCTIONS.get(algorithm)
    if crc is not None:
        return crc_bytes(algorithm, crc(data, 0))
    constructor = _HASHLIB_CONSTRUCTORS.get(algorithm)
    if constructor is not None:
        return constructor(data).digest()
    digest = new_digest(algorithm)
    digest.update(data)
    return digest.digest()  # type: ignore[no-any-return]


def b64(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).decode()     # base64.b64encode's result, without its wrapper


def combine_crcs(algorithm: str, parts: list[tuple[bytes, int]]) -> bytes:
    """FULL_OBJECT checksum of a multipart object from its parts' (crc digest, length)."""
    combine = {"crc32": crt.combine_crc32, "crc32c": crt.combine_crc32c, "crc64nvme": crt.combine_crc64nvme}[algorithm]
    value = 0
    for raw, length in parts:
        value = combine(value, int.from_bytes(raw, "big"), length)
    return crc_bytes(algorithm, value)


def composite(algorithm: str, part_digests: list[bytes]) -> str:
    """COMPOSITE checksum: checksum of the concatenated raw part checksums, suffixed with the part count."""
    d = new_digest(algorithm)
    d.update(b"".join(part_digests))
    return f"{b64(d.digest())}-{len(part_digests)}"


def decode_checksum_value(algorithm: str, value: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != DIGEST_SIZES[algorithm]:
        raise invalid_request(f"Value for x-amz-checksum-{algorithm} header is invalid.")
    return raw


def parse_content_md5(headers: Mapping[str, str]) -> bytes | None:
    value = headers.get("content-md5")
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise invalid_digest() from None
    if len(raw) != 16:
        raise invalid_digest()
    return raw


def normalise_algorithm(value: str | None) -> str | None:
    """x-amz-checksum-algorithm / x-amz-sdk-checksum-algorithm value -> algorithm name, or InvalidRequest."""
    if value is None:
        return None
    algorithm = value.strip().lower()
    if algorithm not in ALGORITHMS:
        raise invalid_request("Checksum algorithm provided is unsupported. Please try again with any of the valid "
                              f"types: [{', '.join(a.upper() for a in ALGORITHMS)}]")
    return algorithm


class RequestIntegrity:
    """What a request asks the server to verify: Content-MD5 and at most one x-amz-checksum-* value (from a
    header, or announced in x-amz-trailer and delivered as an aws-chunked trailer)."""

    __slots__ = ("algorithm", "content_md5", "expected", "trailer")

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.content_md5 = parse_content_md5(headers)
        present = []
        for name in headers:            # (a loop: a comprehension is a function call of its own)
            if name in CHECKSUM_HEADERS:
                present.append(CHECKSUM_HEADERS[name])
        if len(present) > 1:
            raise invalid_request("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
        self.algorithm: str | None = None
        self.expected: bytes | None = None
        self.trailer: str | None = None
        if present:
            self.algorithm = present[0]
            self.expected = decode_checksum_value(self.algorithm, headers[HEADER_PREFIX + self.algorithm])
        trailer = headers.get("x-amz-trailer", "").strip().lower()
        if trailer:
            if trailer not in CHECKSUM_HEADERS:
                raise invalid_request("The value specified in the x-amz-trailer header is not supported")
            if self.algorithm is not None and self.algorithm != CHECKSUM_HEADERS[trailer]:
                raise invalid_request("Expecting a single x-amz-checksum- header. "
                                      "Multiple checksum Types are not allowed.")
            self.algorithm = CHECKSUM_HEADERS[trailer]
            self.trailer = trailer
        sdk_algorithm = headers.get("x-amz-sdk-checksum-algorithm")
        if sdk_algorithm is not None and self.algorithm is None:
            normalise_algorithm(sdk_algorithm)
            raise invalid_request("x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
                                  "x-amz-trailer headers were found.")

    @property
    def has_any(self) -> bool:
        return self.content_md5 is not None or self.algorithm is not None

    def verify(self, md5: bytes | None, checksum: bytes | None, trailers: Mapping[str, str]) -> None:
        """Compare what was sent with what was received; BadDigest on a mismatch."""
        if self.content_md5 is not None and md5 is not None and md5 != self.content_md5:
            raise bad_digest()
        expected = self.expected
        if self.trailer is not None:
            value = trailers.get(self.trailer)
            if value is None:
                raise invalid_request(f"x-amz-trailer announced {self.trailer} but the trailer was not received.")
            expected = decode_checksum_value(self.algorithm, value)  # type: ignore[arg-type]
        if expected is not None and checksum is not None and checksum != expected:
            raise checksum_mismatch(self.algorithm)  # type: ignore[arg-type]


def random_etag() -> str:
    """ETag of SSE-KMS / SSE-C objects: MD5-shaped but not the MD5 of the data, as S3 does."""
    return os.urandom(16).hex()


def multipart_etag(part_etags: list[str]) -> str:
    md5 = hashlib.md5()
    for etag in part_etags:
        md5.update(bytes.fromhex(etag.strip('"').split("-")[0]))
    return f"{md5.hexdigest()}-{len(part_etags)}"
