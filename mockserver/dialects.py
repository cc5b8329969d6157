"""Dialect table: how each emulated service (AWS by era, vendors) differs in server-side encryption.

Differences are data here; handlers and the encryption service read fields, never compare dialect names.

Decision (aws, today): a new general purpose bucket answers GetBucketEncryption with one rule: SSE-S3
(AES256), BucketKeyEnabled false, and BlockedEncryptionTypes/EncryptionType SSE-C. Sources: the reference
doc (/work/shared/reference/aws-sse-behaviour.md, "From April 2026: SSE-C is blocked by default on new general
purpose buckets ... until the bucket owner unblocks it with PutBucketEncryption's BlockedEncryptionTypes") and
AWS's user guide "Blocking or unblocking SSE-C for a general purpose bucket" (the setting is part of the
default encryption configuration, read with GetBucketEncryption). A PutBucketEncryption body without
BlockedEncryptionTypes leaves the dialect default in force (SSE-C stays blocked in `aws`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

SSE_S3 = "sse-s3"
SSE_KMS = "sse-kms"
DSSE_KMS = "dsse-kms"

# Rule children of the AWS schema (botocore ServerSideEncryptionRule member order).
_AWS_RULE_ELEMENTS = ("ApplyServerSideEncryptionByDefault", "BucketKeyEnabled", "BlockedEncryptionTypes")


@dataclass(frozen=True)
class Dialect:
    name: str
    description: str
    # algorithm value (bucket config and x-amz-server-side-encryption) -> mode (SSE_S3 | SSE_KMS | DSSE_KMS)
    algorithm_modes: dict[str, str] = field(hash=False)
    # values accepted in <SSEAlgorithm> of PutBucketEncryption (subset of algorithm_modes)
    bucket_algorithms: tuple[str, ...]
    # values accepted in the x-amz-server-side-encryption request header
    object_algorithms: tuple[str, ...]
    # Rule children accepted by PutBucketEncryption; others break the schema. BlockedEncryptionTypes is accepted
    # wherever SSE-C exists (vendors and older eras do not document it; NONE there changes nothing).
    rule_elements: tuple[str, ...] = _AWS_RULE_ELEMENTS
    max_rules: int = 1
    kms_key_prefix: str = ""                 # qstorage: "qkms:" on every key id it accepts and returns
    kms_key_required: bool = False            # bucket default in KMS mode needs a KMSMasterKeyID (qstorage, yandex)
    kms_key_response_form: str = "arn"        # "arn" (AWS: full key ARN) | "id" (bare key id) after the prefix
    # default configuration of a new bucket (None: GetBucketEncryption -> 404, objects report no SSE)
    default_algorithm: str | None = "AES256"
    default_bucket_key_enabled: bool | None = False
    sse_c_blocked_by_default: bool = False
    sse_c_requires_tls: bool = True
    requires_content_md5: bool = False        # PutBucketEncryption must carry Content-MD5 (not only a checksum)
    bucket_keys_supported: bool = True
    kms_requires_sigv4: bool = True
    # GetBucketEncryption shows <BucketKeyEnabled>false</BucketKeyEnabled> when the PUT body had none (AWS today)
    bucket_key_echo_false: bool = True
    # A well-formed ServerSideEncryptionConfiguration that breaks the schema (rule count, SSEAlgorithm missing or
    # unknown, bad boolean...): None -> MalformedXML as AWS; else (code, message), e.g. QStorage's documented
    # "InvalidArgument | The encryption configuration is not valid" (seeds/qstorage-put-bucket-encryption.mdx).
    schema_error: tuple[str, str] | None = None
    kms_key_not_applicable_message: str = (
        "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse")
    extra: dict[str, object] = field(default_factory=dict, hash=False)

    def mode_of(self, algorithm: str) -> str | None:
        return self.algorithm_modes.get(algorithm)

    def algorithm_for_mode(self, mode: str) -> str:
        """The algorithm name this dialect reports for a mode (first in table order)."""
        for alg, m in self.algorithm_modes.items():
            if m == mode:
                return alg
        raise KeyError(mode)

    def takes_kms_key(self, algorithm: str) -> bool:
        return self.algorithm_modes.get(algorithm) in (SSE_KMS, DSSE_KMS)


_AWS_MODES = {"AES256": SSE_S3, "aws:kms": SSE_KMS, "aws:kms:dsse": DSSE_KMS}
_AWS_ALGS = ("AES256", "aws:kms", "aws:kms:dsse")
# DSSE-KMS launched in June 2023, after the aws-legacy cutoff (2023-01-05): that era knows only these two.
_LEGACY_MODES = {"AES256": SSE_S3, "aws:kms": SSE_KMS}
_LEGACY_ALGS = ("AES256", "aws:kms")

DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect(
            name="aws",
            description="AWS S3 today: SSE-S3 default, SSE-C blocked on new buckets (April 2026)",
            algorithm_modes=_AWS_MODES,
            bucket_algorithms=_AWS_ALGS,
            object_algorithms=_AWS_ALGS,
            sse_c_blocked_by_default=True,
        ),
        Dialect(
            name="aws-2023",
            description="AWS S3 from 2023-01-05: SSE-S3 default encryption, SSE-C allowed",
            algorithm_modes=_AWS_MODES,
            bucket_algorithms=_AWS_ALGS,
            object_algorithms=_AWS_ALGS,
        ),
        Dialect(
            name="aws-legacy",
            description="AWS S3 before 2023-01-05: no default encryption; objects without SSE headers report none",
            algorithm_modes=_LEGACY_MODES,
            bucket_algorithms=_LEGACY_ALGS,
            object_algorithms=_LEGACY_ALGS,
            default_algorithm=None,
            default_bucket_key_enabled=None,
            bucket_key_echo_false=False,
        ),
        Dialect(
            name="qstorage",
            description="QStorage: AES256 or verenc (its SSE-KMS, qkms: key ids), Content-MD5 required",
            algorithm_modes={"AES256": SSE_S3, "verenc": SSE_KMS},
            bucket_algorithms=("AES256", "verenc"),
            object_algorithms=("AES256", "verenc"),
            kms_key_prefix="qkms:",
            kms_key_required=True,
            kms_key_response_form="id",
            requires_content_md5=True,
            schema_error=("InvalidArgument", "The encryption configuration is not valid"),
            kms_key_not_applicable_message="The encryption configuration is not valid",
        ),
        Dialect(
            name="yandex",
            description="Yandex Object Storage: SSEAlgorithm aws:kms only, no BucketKeyEnabled, no default",
            algorithm_modes={"aws:kms": SSE_KMS},
            bucket_algorithms=("aws:kms",),
            object_algorithms=("aws:kms",),
            rule_elements=("ApplyServerSideEncryptionByDefault",),
            kms_key_required=True,
            kms_key_response_form="id",           # Yandex documents KMSMasterKeyID as a plain KMS key id
            default_algorithm=None,
            default_bucket_key_enabled=None,
            bucket_keys_supported=False,
            bucket_key_echo_false=False,
        ),
    )
}


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}; known: {', '.join(DIALECTS)}") from None
