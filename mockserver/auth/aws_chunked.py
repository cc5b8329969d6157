"""Incremental aws-chunked decoder: signed chunks (every signature checked, chained from the seed),
unsigned chunks, trailing headers (checksum verified; trailer signature checked in the signed variant).

Data is sliced out of the received buffers (no per-byte Python loops); only chunk header lines are
buffered. Signed chunk data is held until its signature is verified, so unverified bytes never leave.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from mockserver.auth import errors
from mockserver.auth.signing import chunk_string_to_sign, sign, signatures_equal, trailer_string_to_sign
from mockserver.checksums import b64, new_digest
from mockserver.errors import checksum_mismatch, invalid_request

MAX_LINE = 8192
# Signed chunk data is held until its signature is checked, up to this much; a larger chunk streams on
# unverified (memory stays bounded) and a bad signature still fails before the body's last piece leaves.
MAX_HELD = 8 * 1024 * 1024
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_HEADER, _DATA, _DATA_END, _FINAL_END, _TRAILER, _DONE = range(6)
CHECKSUM_LENGTHS = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}
CHECKSUM_LENGTHS.update({"sha512": 64, "md5": 16, "xxhash64": 8, "xxhash3": 8, "xxhash128": 16})    # the 2026 algorithms


@dataclass
class ChunkSigner:
    key: bytes
    amz_date: str
    scope: str
    seed_signature: str
    access_key: str


def checksum_algorithm(header_name: str) -> str | None:
    name = header_name.strip().lower()
    if name.startswith("x-amz-checksum-") and name[15:] in CHECKSUM_LENGTHS:
        return name[15:]
    return None


def verify_checksum(algorithm: str, expected_b64: str, actual_b64: str, where: str = "trailing header") -> None:
    try:
        raw = base64.b64decode(expected_b64, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != CHECKSUM_LENGTHS[algorithm]:
        raise invalid_request(f"Value for x-amz-checksum-{algorithm} {where} is invalid.")
    if expected_b64 != actual_b64:
        raise checksum_mismatch(algorithm)


class AwsChunkedDecoder:
    def __init__(self, signer: ChunkSigner | None, trailer_names: list[str], decoded_length: int | None,
                 signed_trailer: bool) -> None:
        self.signer = signer
        self.previous = signer.seed_signature if signer else ""
        self.expected_trailers = [n.strip().lower() for n in trailer_names if n.strip()]
        self.signed_trailer = signed_trailer
        self.decoded_length = decoded_length
        self.trailers: dict[str, str] = {}
        self._trailer_lines: list[str] = []
        self._trailer_signature: str | None = None
        self._blank_before_trailers = False
        self._checksums = {}
        for name in self.expected_trailers:
            algorithm = checksum_algorithm(name)
            if algorithm is not None:
                self._checksums[name] = (algorithm, new_digest(algorithm))
        self._state = _HEADER
        self._line = bytearray()
        self._remaining = 0
        self._chunk_signature = ""
        self._chunk_hash = hashlib.sha256()
        self._held: list[bytes] = []
        self._held_size = 0
        self.total = 0

    # -- line handling (header lines may be split across received buffers)
    def _take_line(self, data: bytes, pos: int) -> tuple[bytes | None, int]:
        end = data.find(b"\n", pos)
        if end < 0:
            self._line += data[pos:]
            if len(self._line) > MAX_LINE:
                raise errors.invalid_chunk_encoding("chunk header too long")
            return None, len(data)
        if self._line:
            self._line += data[pos:end + 1]
            line = bytes(self._line)
            self._line.clear()
        else:
            line = data[pos:end + 1]
        if not line.endswith(b"\r\n"):
            raise errors.invalid_chunk_encoding("lines must end with CRLF")
        return line[:-2], end + 1

    def _emit(self, out: list[bytes], piece: bytes) -> None:
        self.total += len(piece)
        if self.decoded_length is not None and self.total > self.decoded_length:
            raise errors.incomplete_body()
        for _, checksum in self._checksums.values():
            checksum.update(piece)
        out.append(piece)

    def _start_chunk(self, line: bytes) -> None:
        size_text, _, extension = line.partition(b";")
        try:
            size_str = size_text.decode("ascii").strip()
            if not size_str or len(size_str) > 16 or not set(size_str) <= _HEX_DIGITS:
                raise ValueError
            size = int(size_str, 16)
        except (UnicodeDecodeError, ValueError):
            raise errors.invalid_chunk_encoding("invalid chunk size") from None
        if self.signer is not None:
            name, _, value = extension.decode("ascii", "replace").strip().partition("=")
            if name.strip() != "chunk-signature" or not value:
                raise errors.invalid_chunk_encoding("missing chunk-signature")
            self._chunk_signature = value.strip()
            self._chunk_hash = hashlib.sha256()
        self._remaining = size
        if size:
            self._state = _DATA
        else:
            self._verify_chunk()
            self._state = _TRAILER if self.expected_trailers or self.signed_trailer else _FINAL_END

    def _verify_chunk(self) -> None:
        if self.signer is None:
            return
        s = self.signer
        sts = chunk_string_to_sign(s.amz_date, s.scope, self.previous, self._chunk_hash.hexdigest())
        if not signatures_equal(sign(s.key, sts), self._chunk_signature):
            raise errors.signature_does_not_match(s.access_key, sts, self._chunk_signature)
        self.previous = self._chunk_signature

    def _trailer_line(self, line: bytes) -> None:
        if not line:
            if not self.trailers and self._trailer_signature is None and not self._blank_before_trailers:
                self._blank_before_trailers = True    # some encoders put a CRLF between "0;..." and trailers
                return
            self._finish_trailer()
            return
        text = line.decode("utf-8", "replace")
        name, sep, value = text.partition(":")
        if not sep:
            raise errors.malformed_trailer()
        name, value = name.strip().lower(), value.strip()
        if name == "x-amz-trailer-signature":
            self._trailer_signature = value
        else:
            self.trailers[name] = value
            self._trailer_lines.append(f"{name}:{value}\n")

    def _finish_trailer(self) -> None:
        self._state = _DONE
        if self.signer is not None and self.signed_trailer:
            s = self.signer
            digest = hashlib.sha256("".join(self._trailer_lines).encode("utf-8")).hexdigest()
            sts = trailer_string_to_sign(s.amz_date, s.scope, self.previous, digest)
            provided = self._trailer_signature or ""
            if not signatures_equal(sign(s.key, sts), provided):
                raise errors.signature_does_not_match(s.access_key, sts, provided)

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        pos, n = 0, len(data)
        while pos < n:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, n - pos)
                piece = data if (pos == 0 and take == n) else data[pos:pos + take]
                pos += take
                self._remaining -= take
                if self.signer is None:
                    self._emit(out, piece)
                else:
                    self._chunk_hash.update(piece)
                    self._held.append(piece)
                    self._held_size += len(piece)
                    if self._held_size > MAX_HELD:
                        for held in self._held:
                            self._emit(out, held)
                        self._held.clear()
                        self._held_size = 0
                if not self._remaining:
                    self._state = _DATA_END
                continue
            if state == _DONE:
                raise errors.invalid_chunk_encoding("data after the final chunk")
            line, pos = self._take_line(data, pos)
            if line is None:
                break
            if state == _HEADER:
                self._start_chunk(line)
            elif state == _DATA_END:
                if line:
                    raise errors.invalid_chunk_encoding("chunk data longer than its declared size")
                if self.signer is not None:
                    self._verify_chunk()
                    for piece in self._held:
                        self._emit(out, piece)
                    self._held.clear()
                    self._held_size = 0
                self._state = _HEADER
            elif state == _FINAL_END:
                if line:
                    raise errors.invalid_chunk_encoding("final chunk must be followed by CRLF")
                self._state = _DONE
            else:
                self._trailer_line(line)
        return out

    def finish(self) -> None:
        """Called at end of stream: raises unless the body was complete and every check held."""
        if self._state == _TRAILER and not self._line:
            self._finish_trailer()       # tolerate a missing blank line after the trailers
        if self._state != _DONE:
            raise errors.incomplete_body()
        if self.decoded_length is not None and self.total != self.decoded_length:
            raise errors.incomplete_body()
        for name, (algorithm, checksum) in self._checksums.items():
            value = self.trailers.get(name)
            if value is None:
                raise errors.malformed_trailer()
            verify_checksum(algorithm, value, b64(checksum.digest()))
