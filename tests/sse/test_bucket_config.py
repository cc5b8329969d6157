"""PutBucketEncryption / GetBucketEncryption body rules (mockserver/sse/bucket_config.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from mockserver.dialects import DIALECTS, get_dialect
from mockserver.errors import S3Error
from mockserver.sse.bucket_config import (
    BucketEncryption,
    configuration_not_found,
    default_bucket_encryption,
    parse_bucket_encryption,
    render_bucket_encryption,
)
from mockserver.xmltext import S3_NS

AWS = get_dialect("aws")
NS = f' xmlns="{S3_NS}"'
MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"
# The repository's copy of the seed (tests/cases checks it against ../shared/seeds).
SEED = Path(__file__).resolve().parents[1] / "cases" / "data" / "seeds" / "aws-put-bucket-encryption-api-reference.txt"


def body(rules: str, ns: str = NS) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><ServerSideEncryptionConfiguration{ns}>{rules}' \
           f"</ServerSideEncryptionConfiguration>".encode()


def rule(alg: str | None = "AES256", key: str | None = None, extra: str = "") -> str:
    inner = (f"<SSEAlgorithm>{alg}</SSEAlgorithm>" if alg is not None else "") + \
            (f"<KMSMasterKeyID>{key}</KMSMasterKeyID>" if key is not None else "")
    return f"<Rule><ApplyServerSideEncryptionByDefault>{inner}</ApplyServerSideEncryptionByDefault>{extra}</Rule>"


def malformed(data: bytes, dialect=AWS) -> None:
    with pytest.raises(S3Error) as err:
        parse_bucket_encryption(data, dialect)
    assert (err.value.code, err.value.message, err.value.status) == ("MalformedXML", MALFORMED, 400)


@pytest.mark.parametrize("ns", [NS, ""])
def test_accepts_bodies_with_and_without_namespace(ns: str) -> None:
    cfg = parse_bucket_encryption(body(rule("aws:kms", "alias/my-key"), ns), AWS)
    assert (cfg.algorithm, cfg.kms_key_id) == ("aws:kms", "alias/my-key")


def test_zero_rules_malformed() -> None:
    malformed(body(""))


def test_two_rules_malformed() -> None:
    malformed(body(rule() + rule()))


def test_missing_sse_algorithm_malformed() -> None:
    malformed(body(rule(alg=None)))


def test_seed_kms_example_without_algorithm_is_malformed() -> None:
    # The seed's "Request Body for Setting SSE-KMS" has a KMSMasterKeyID and no SSEAlgorithm.
    malformed(body(rule(alg=None, key="arn:aws:kms:us-east-1:1234/5678example")))


def test_seed_example_with_mismatched_tags_is_malformed() -> None:
    with open(SEED, encoding="utf-8") as f:
        text = f.read()
    start = text.index("<CORSConfiguration>")
    example = text[start:text.index("</CORSConfiguration>") + len("</CORSConfiguration>")]
    assert "<MaxAgeSeconds>3000</MaxAgeSec>" in example
    malformed(example.encode())


@pytest.mark.parametrize("alg", ["SSE-KMS", "aes256", "AES128", "aws:fsx-nope", ""])
def test_unknown_algorithm_malformed(alg: str) -> None:
    malformed(body(rule(alg)))


def test_not_xml_and_empty_body_malformed() -> None:
    malformed(b"")
    malformed(b"not xml at all")
    malformed(b"<ServerSideEncryptionConfiguration>")


def test_other_namespace_or_root_malformed() -> None:
    malformed(body(rule(), ' xmlns="urn:other"'))
    malformed(b"<Other>" + rule().encode() + b"</Other>")


def test_unknown_element_malformed() -> None:
    malformed(body(rule(extra="<Bogus>1</Bogus>")))


@pytest.mark.parametrize("alg", ["AES256", "aws:kms:dsse-not"])
def test_kms_key_with_non_kms_algorithm(alg: str) -> None:
    if alg != "AES256":
        malformed(body(rule(alg, "k")))
        return
    with pytest.raises(S3Error) as err:
        parse_bucket_encryption(body(rule(alg, "1234abcd-12ab-34cd-56ef-1234567890ab")), AWS)
    e = err.value
    assert (e.code, e.status) == ("InvalidArgument", 400)
    assert e.message == ("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or "
                         "aws:kms:dsse")
    assert e.fields["ArgumentName"] == "ApplyServerSideEncryptionByDefault"


@pytest.mark.parametrize("alg", ["aws:kms", "aws:kms:dsse"])
@pytest.mark.parametrize("key", ["1234abcd-12ab-34cd-56ef-1234567890ab", "not-even-a-key id", "alias/x",
                                 "arn:aws:kms:eu-west-1:111122223333:key/whatever"])
def test_kms_key_stored_and_echoed_exactly(alg: str, key: str) -> None:
    cfg = parse_bucket_encryption(body(rule(alg, key)), AWS)
    assert cfg.kms_key_id == key
    root = etree.fromstring(render_bucket_encryption(cfg))
    assert root.findtext(f"{{{S3_NS}}}Rule/{{{S3_NS}}}ApplyServerSideEncryptionByDefault/{{{S3_NS}}}KMSMasterKeyID") == key


@pytest.mark.parametrize("text,expected", [("true", True), ("false", False), (" true ", True)])
def test_bucket_key_enabled_values(text: str, expected: bool) -> None:
    cfg = parse_bucket_encryption(body(rule(extra=f"<BucketKeyEnabled>{text}</BucketKeyEnabled>")), AWS)
    assert cfg.bucket_key_enabled is expected


@pytest.mark.parametrize("text", ["yes", "TRUE", "1x", ""])
def test_bucket_key_enabled_invalid(text: str) -> None:
    malformed(body(rule(extra=f"<BucketKeyEnabled>{text}</BucketKeyEnabled>")))


def test_blocked_types_accepted_where_sse_c_exists() -> None:
    blocked = "<BlockedEncryptionTypes><EncryptionType>NONE</EncryptionType></BlockedEncryptionTypes>"
    for name in ("aws", "aws-2023", "aws-legacy", "qstorage"):
        assert parse_bucket_encryption(body(rule(extra=blocked)), get_dialect(name)).blocked_encryption_types == ["NONE"]
    malformed(body(rule("aws:kms", "k", extra=blocked)), get_dialect("yandex"))


def test_bucket_key_absent_reads_back_false_on_aws_and_absent_on_legacy() -> None:
    assert parse_bucket_encryption(body(rule()), AWS).bucket_key_enabled is False
    assert parse_bucket_encryption(body(rule()), get_dialect("aws-legacy")).bucket_key_enabled is None


@pytest.mark.parametrize("types,expected", [(["NONE"], ["NONE"]), (["SSE-C"], ["SSE-C"])])
def test_blocked_encryption_types(types: list[str], expected: list[str]) -> None:
    inner = "".join(f"<EncryptionType>{t}</EncryptionType>" for t in types)
    cfg = parse_bucket_encryption(body(rule(extra=f"<BlockedEncryptionTypes>{inner}</BlockedEncryptionTypes>")), AWS)
    assert cfg.blocked_encryption_types == expected
    assert cfg.blocks_sse_c() is ("SSE-C" in expected)


def test_blocked_encryption_type_invalid() -> None:
    malformed(body(rule(extra="<BlockedEncryptionTypes><EncryptionType>SSE-KMS</EncryptionType>"
                              "</BlockedEncryptionTypes>")))


def test_aws_keeps_sse_c_blocked_when_put_omits_blocked_types() -> None:
    assert parse_bucket_encryption(body(rule()), AWS).blocks_sse_c()
    assert not parse_bucket_encryption(body(rule()), get_dialect("aws-2023")).blocks_sse_c()


def test_render_order_and_namespace() -> None:
    cfg = BucketEncryption("aws:kms", "k1", True, ["NONE"])
    root = etree.fromstring(render_bucket_encryption(cfg))
    assert root.tag == f"{{{S3_NS}}}ServerSideEncryptionConfiguration"
    rule_el = root[0]
    assert [etree.QName(c).localname for c in rule_el] == [
        "ApplyServerSideEncryptionByDefault", "BucketKeyEnabled", "BlockedEncryptionTypes"]
    assert [etree.QName(c).localname for c in rule_el[0]] == ["SSEAlgorithm", "KMSMasterKeyID"]
    assert render_bucket_encryption(cfg).startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_render_parse_round_trip() -> None:
    cfg = BucketEncryption("aws:kms:dsse", "alias/a", False, ["SSE-C"])
    assert parse_bucket_encryption(render_bucket_encryption(cfg), AWS) == cfg


def test_defaults_per_dialect() -> None:
    aws = default_bucket_encryption(AWS)
    assert aws == BucketEncryption("AES256", None, False, ["SSE-C"])
    assert default_bucket_encryption(get_dialect("aws-2023")) == BucketEncryption("AES256", None, False, None)
    assert default_bucket_encryption(get_dialect("aws-legacy")) is None
    assert default_bucket_encryption(get_dialect("yandex")) is None
    xml = render_bucket_encryption(aws)
    assert b"<SSEAlgorithm>AES256</SSEAlgorithm>" in xml and b"<BucketKeyEnabled>false</BucketKeyEnabled>" in xml
    assert b"<EncryptionType>SSE-C</EncryptionType>" in xml


def test_not_found_error() -> None:
    e = configuration_not_found("bkt")
    assert (e.code, e.message, e.status) == (
        "ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found", 404)
    assert e.fields == {"BucketName": "bkt"}


def test_qstorage_rules() -> None:
    q = get_dialect("qstorage")
    cfg = parse_bucket_encryption(body(rule("verenc", "qkms:1234abcd-12ab-34cd-56ef-1234567890ab",
                                            "<BucketKeyEnabled>true</BucketKeyEnabled>"), ""), q)
    assert (cfg.algorithm, cfg.kms_key_id, cfg.bucket_key_enabled) == (
        "verenc", "qkms:1234abcd-12ab-34cd-56ef-1234567890ab", True)
    for bad in (rule("verenc"), rule("verenc", "1234abcd-12ab-34cd-56ef-1234567890ab")):
        with pytest.raises(S3Error) as err:
            parse_bucket_encryption(body(bad), q)
        assert err.value.code == "InvalidArgument"
    # QStorage documents "InvalidArgument | The encryption configuration is not valid" for invalid configurations.
    for bad in (body(rule("aws:kms", "qkms:x")), body(""), body(rule() + rule()), body(rule("AES256", "qkms:k")),
                body(rule(extra="<BucketKeyEnabled>yes</BucketKeyEnabled>"))):
        with pytest.raises(S3Error) as err:
            parse_bucket_encryption(bad, q)
        assert (err.value.code, err.value.message) == ("InvalidArgument", "The encryption configuration is not valid")
    malformed(b"<ServerSideEncryptionConfiguration><Rule>", q)
    malformed(b"<CORSConfiguration/>", q)
    assert q.requires_content_md5


def test_yandex_rules() -> None:
    y = get_dialect("yandex")
    assert parse_bucket_encryption(body(rule("aws:kms", "abjkey")), y).bucket_key_enabled is None
    malformed(body(rule("aws:kms")), y)               # the key id is required
    malformed(body(rule("AES256")), y)
    malformed(body(rule("aws:kms", extra="<BucketKeyEnabled>true</BucketKeyEnabled>")), y)


def test_entities_are_not_expanded() -> None:
    evil = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
            b"<SSEAlgorithm>&e;</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
            b"</ServerSideEncryptionConfiguration>")
    malformed(evil)


def test_every_dialect_default_renders_and_parses_back() -> None:
    for d in DIALECTS.values():
        cfg = default_bucket_encryption(d)
        if cfg is not None:
            assert parse_bucket_encryption(render_bucket_encryption(cfg), d) == cfg
