"""PutBucketEncryption / GetBucketEncryption / DeleteBucketEncryption: parse, validate, render, defaults.

CONTRACT (docs/DESIGN.md): signatures fixed; the encryption helper fills the bodies.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class BucketEncryption:
    algorithm: str                                  # AES256 | aws:kms | aws:kms:dsse | dialect names (verenc)
    kms_key_id: str | None = None                   # stored and echoed exactly as sent
    bucket_key_enabled: bool | None = None          # None: element absent
    blocked_encryption_types: list[str] | None = None   # ["SSE-C"] / ["NONE"]; None: element absent

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BucketEncryption:
        return cls(**data)


def parse_bucket_encryption(body: bytes, dialect: Any) -> BucketEncryption:
    """Validate a PutBucketEncryption body (with or without the S3 namespace). Raises S3Error
    (MalformedXML, InvalidArgument...)."""
    raise NotImplementedError


def render_bucket_encryption(cfg: BucketEncryption) -> bytes:
    """GetBucketEncryption response body (S3 namespace)."""
    raise NotImplementedError


def default_bucket_encryption(dialect: Any) -> BucketEncryption | None:
    """Configuration of a new bucket (and after DeleteBucketEncryption); None where the dialect has none
    (aws-legacy: GetBucketEncryption answers ServerSideEncryptionConfigurationNotFoundError)."""
    raise NotImplementedError
