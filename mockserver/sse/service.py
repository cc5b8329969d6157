"""Object-level server-side encryption: the contract between the HTTP core and the encryption code.

CONTRACT (docs/DESIGN.md): signatures below are fixed; the encryption helper fills the bodies.
Every stored byte goes through `WritePlan.encryptor()`; every served byte through `ObjectKeys.decrypt_range`.
Headers passed in are lower-cased request headers (or, for POST Object, lower-cased form fields).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mockserver.sse.config import BucketEncryption


class StreamEncryptor(Protocol):
    """Encrypts one stored blob (an object body or one multipart part). Output is self-describing
    (it starts with its own nonce header), so the core stores exactly the bytes it is given."""

    def update(self, data: bytes) -> bytes: ...
    def finalize(self) -> bytes: ...


@dataclass
class WritePlan:
    meta: dict[str, Any]                      # JSON-serialisable; stored with the object / upload
    response_headers: dict[str, str]          # SSE headers for the write response
    _make_encryptor: Callable[[], StreamEncryptor] = field(repr=False, default=None)  # type: ignore[assignment]

    def encryptor(self) -> StreamEncryptor:
        return self._make_encryptor()


@dataclass
class ObjectKeys:
    response_headers: dict[str, str]
    _decrypt: Callable[[Callable[[int, int], bytes], int, int, int], Iterator[bytes]] = field(repr=False, default=None)  # type: ignore[assignment]
    _ciphertext_size: Callable[[int], int] = field(repr=False, default=None)  # type: ignore[assignment]

    def decrypt_range(self, read: Callable[[int, int], bytes], plaintext_size: int, start: int, end: int) -> Iterator[bytes]:
        """Yield plaintext bytes [start, end] (inclusive) of one stored blob of `plaintext_size` bytes.
        `read(offset, length)` returns stored (ciphertext) bytes of that blob."""
        return self._decrypt(read, plaintext_size, start, end)

    def ciphertext_size(self, plaintext_size: int) -> int:
        return self._ciphertext_size(plaintext_size)


class EncryptionService:
    def __init__(self, *, dialect: Any, kms: Any, root_key: bytes, region: str,
                 allow_sse_c_over_http: bool = False) -> None:
        raise NotImplementedError

    def plan_write(self, *, operation: str, headers: Mapping[str, str], bucket_encryption: BucketEncryption | None,
                   account_id: str, secure: bool) -> WritePlan:
        """PutObject, CopyObject (destination), POST Object, CreateMultipartUpload. Validates the SSE headers
        (SSE-C triple, KMS key, algorithm, bucket key, SSE-C blocked), applies the bucket default, obtains the
        data key (KMS / bucket key / root key) and returns the plan. Raises S3Error."""
        raise NotImplementedError

    def plan_part(self, *, upload_meta: dict[str, Any], headers: Mapping[str, str], secure: bool) -> WritePlan:
        """UploadPart / UploadPartCopy (destination side): checks the SSE-C parameters repeat the initiate's,
        returns a plan encrypting the part under the upload's data key."""
        raise NotImplementedError

    def open_read(self, *, operation: str, meta: dict[str, Any], headers: Mapping[str, str], account_id: str,
                  secure: bool, copy_source: bool = False) -> ObjectKeys:
        """GetObject, HeadObject, CopyObject/UploadPartCopy source (copy_source=True reads the
        x-amz-copy-source-server-side-encryption-customer-* headers). Raises S3Error (InvalidRequest,
        AccessDenied, KMS.DisabledException, 400 for SSE headers sent on GET/HEAD of SSE-S3/KMS objects)."""
        raise NotImplementedError

    def response_headers(self, meta: dict[str, Any]) -> dict[str, str]:
        """SSE response headers of a stored object (CompleteMultipartUpload, ListParts, etc.)."""
        raise NotImplementedError
