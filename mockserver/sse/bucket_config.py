"""PutBucketEncryption / GetBucketEncryption / DeleteBucketEncryption: parse, validate, render, defaults.

CONTRACT (docs/DESIGN.md): signatures fixed; the encryption helper fills the bodies.

Validation choices (sources):
- Not well-formed XML or another root element -> 400 MalformedXML in every dialect.
- Schema errors (zero or two Rules, missing SSEAlgorithm, unknown element, invalid boolean, EncryptionType
  outside NONE|SSE-C) -> 400 MalformedXML on AWS: reference doc "Zero rules or two rules: 400 MalformedXML ...
  (observed)"; AWS checks the body against its published schema. Dialects may name another error
  (`Dialect.schema_error`: QStorage documents InvalidArgument "The encryption configuration is not valid").
- Unknown SSEAlgorithm (e.g. "SSE-KMS") -> MalformedXML: AWS answers MalformedXML for an SSEAlgorithm outside
  its enum (aws-controllers-k8s/community#1505: sseAlgorithm "SSE-KMS" -> "MalformedXML: The XML you provided
  was not well-formed or did not validate against our published schema").
- KMSMasterKeyID with a non-KMS algorithm -> InvalidArgument, ArgumentName ApplyServerSideEncryptionByDefault
  (reference doc, observed). The key id is stored exactly as sent; S3 validates it when an object is written.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lxml import etree

from mockserver import xmlio
from mockserver.errors import S3Error, invalid_argument, malformed_xml, s3_error
from mockserver.xmltext import S3_NS

if TYPE_CHECKING:
    from mockserver.storage.base import Bucket

_ENCRYPTION_TYPES = ("NONE", "SSE-C")


class _SchemaViolation(Exception):
    """A well-formed body that breaks the configuration schema; rendered per dialect."""


@dataclass
class BucketEncryption:
    algorithm: str                                  # AES256 | aws:kms | aws:kms:dsse | dialect names (verenc)
    kms_key_id: str | None = None                   # stored and echoed exactly as sent
    bucket_key_enabled: bool | None = None          # None: element absent
    blocked_encryption_types: list[str] | None = None   # ["SSE-C"] / ["NONE"]; None: element absent
    explicit: bool = False      # set by PutBucketEncryption (not the era's default): copy in place allowed

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BucketEncryption:
        return cls(**data)

    def blocks_sse_c(self) -> bool:
        return "SSE-C" in (self.blocked_encryption_types or ())


def bucket_encryption(bucket: Bucket) -> BucketEncryption | None:
    """The bucket's stored default encryption configuration, if any."""
    return BucketEncryption.from_json(bucket.encryption) if bucket.encryption is not None else None


def configuration_not_found(bucket: str | None = None) -> S3Error:
    """GetBucketEncryption on a bucket without configuration (dialects without default encryption)."""
    return s3_error("ServerSideEncryptionConfigurationNotFoundError",
                    fields={"BucketName": bucket} if bucket is not None else {})


def _schema_error(dialect: Any) -> S3Error:
    if dialect.schema_error is None:
        return malformed_xml()
    code, message = dialect.schema_error
    return s3_error(code, message)


def _local(el: Any) -> str | None:
    """Local name of an element in no namespace or the S3 namespace; None for anything else."""
    if not isinstance(el.tag, str):
        return None
    q = etree.QName(el)
    if q.namespace not in (None, S3_NS):
        return None
    return q.localname


def _children(el: Any, allowed: tuple[str, ...]) -> dict[str, list[Any]]:
    """Element children grouped by local name; unknown names or stray text break the schema."""
    out: dict[str, list[Any]] = {}
    if (el.text or "").strip():
        raise _SchemaViolation()
    for child in el:
        name = _local(child)
        if name is None or name not in allowed:
            raise _SchemaViolation()
        if (child.tail or "").strip():
            raise _SchemaViolation()
        out.setdefault(name, []).append(child)
    return out


def _single(groups: dict[str, list[Any]], name: str) -> Any | None:
    items = groups.get(name, [])
    if len(items) > 1:
        raise _SchemaViolation()
    return items[0] if items else None


def _text(el: Any) -> str:
    if len(el):
        raise _SchemaViolation()
    return el.text or ""


def _parse_bool(el: Any) -> bool:
    value = _text(el).strip()
    if value == "true":
        return True
    if value == "false":
        return False
    raise _SchemaViolation()


def parse_bucket_encryption(body: bytes, dialect: Any) -> BucketEncryption:
    """Validate a PutBucketEncryption body (with or without the S3 namespace). Raises S3Error
    (MalformedXML, InvalidArgument...)."""
    root = xmlio.parse(body, "ServerSideEncryptionConfiguration")
    if _local(root) is None:
        raise malformed_xml()    # the right name in a foreign namespace
    try:
        cfg = _parse_configuration(root, dialect)
    except _SchemaViolation:
        raise _schema_error(dialect) from None
    kms_key_id = cfg.kms_key_id
    if kms_key_id is not None and not dialect.takes_kms_key(cfg.algorithm):
        raise invalid_argument(dialect.kms_key_not_applicable_message, "ApplyServerSideEncryptionByDefault")
    # Vendor rules on the key (required with their KMS algorithm; qstorage's qkms: prefix) are schema rules there.
    if dialect.takes_kms_key(cfg.algorithm) and dialect.kms_key_required and not kms_key_id:
        raise _schema_error(dialect)
    if kms_key_id and dialect.kms_key_prefix and not kms_key_id.startswith(dialect.kms_key_prefix):
        raise _schema_error(dialect)
    # Elements the PUT left out: the dialect's defaults stay in force and GetBucketEncryption shows them.
    if cfg.bucket_key_enabled is None and dialect.bucket_key_echo_false:
        cfg.bucket_key_enabled = False
    if cfg.blocked_encryption_types is None and dialect.sse_c_blocked_by_default:
        cfg.blocked_encryption_types = ["SSE-C"]
    return cfg


def _parse_configuration(root: Any, dialect: Any) -> BucketEncryption:
    rules = _children(root, ("Rule",)).get("Rule", [])
    if not 1 <= len(rules) <= dialect.max_rules:
        raise _SchemaViolation()
    rule = _children(rules[0], tuple(dialect.rule_elements))

    default_el = _single(rule, "ApplyServerSideEncryptionByDefault")
    if default_el is None:
        raise _SchemaViolation()
    by_default = _children(default_el, ("SSEAlgorithm", "KMSMasterKeyID"))
    alg_el = _single(by_default, "SSEAlgorithm")
    if alg_el is None:
        raise _SchemaViolation()
    algorithm = _text(alg_el).strip()
    if algorithm not in dialect.bucket_algorithms:
        raise _SchemaViolation()
    key_el = _single(by_default, "KMSMasterKeyID")
    kms_key_id = _text(key_el) if key_el is not None else None

    bucket_key_el = _single(rule, "BucketKeyEnabled")
    bucket_key = _parse_bool(bucket_key_el) if bucket_key_el is not None else None

    blocked_el = _single(rule, "BlockedEncryptionTypes")
    blocked: list[str] | None = None
    if blocked_el is not None:
        blocked = []
        for t in _children(blocked_el, ("EncryptionType",)).get("EncryptionType", []):
            value = _text(t).strip()
            if value not in _ENCRYPTION_TYPES:
                raise _SchemaViolation()
            blocked.append(value)
    return BucketEncryption(algorithm, kms_key_id, bucket_key, blocked)


def render_bucket_encryption(cfg: BucketEncryption) -> bytes:
    """GetBucketEncryption response body (S3 namespace)."""
    root = etree.Element(f"{{{S3_NS}}}ServerSideEncryptionConfiguration", nsmap={None: S3_NS})
    rule = etree.SubElement(root, f"{{{S3_NS}}}Rule")
    by_default = etree.SubElement(rule, f"{{{S3_NS}}}ApplyServerSideEncryptionByDefault")
    etree.SubElement(by_default, f"{{{S3_NS}}}SSEAlgorithm").text = cfg.algorithm
    if cfg.kms_key_id is not None:
        etree.SubElement(by_default, f"{{{S3_NS}}}KMSMasterKeyID").text = cfg.kms_key_id
    if cfg.bucket_key_enabled is not None:
        etree.SubElement(rule, f"{{{S3_NS}}}BucketKeyEnabled").text = "true" if cfg.bucket_key_enabled else "false"
    if cfg.blocked_encryption_types is not None:
        blocked = etree.SubElement(rule, f"{{{S3_NS}}}BlockedEncryptionTypes")
        for t in cfg.blocked_encryption_types:
            etree.SubElement(blocked, f"{{{S3_NS}}}EncryptionType").text = t
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8")


def default_bucket_encryption(dialect: Any) -> BucketEncryption | None:
    """Configuration of a new bucket (and after DeleteBucketEncryption); None where the dialect has none
    (aws-legacy: GetBucketEncryption answers ServerSideEncryptionConfigurationNotFoundError)."""
    if dialect.default_algorithm is None:
        return None
    return BucketEncryption(
        algorithm=dialect.default_algorithm,
        kms_key_id=None,
        bucket_key_enabled=dialect.default_bucket_key_enabled,
        blocked_encryption_types=["SSE-C"] if dialect.sse_c_blocked_by_default else None,
    )
