"""Request construction: URLs, integrity defaults, auth modes, POST forms, SSE-C unblocking, variants."""
from __future__ import annotations

import base64
import json
import re

from runner_support import DATA

from conformance import engine
from conformance import profile as profiles
from conformance.casefile.model import Case, Expect, RequestSpec
from conformance.request import builder, integrity, postform, signing
from conformance.target import Target

KEYS = signing.Keys("AKIAMAIN", "main-secret-key-0001")
ALT = signing.Keys("AKIAALT", "alt-secret-key-00002")


def ctx(**kw):
    return builder.BuildContext("https://127.0.0.1:9443", "us-east-1", KEYS, alt=ALT, **kw)


def headers_of(out):
    return {n.lower(): v for n, v in out.headers}


def test_urls_path_virtual_and_subresources():
    url, host, _ = builder.build_url("https://127.0.0.1:9443", "b", "dir/a key+é", [("encryption", "")], "path")
    assert url == "https://127.0.0.1:9443/b/dir/a%20key%2B%C3%A9?encryption" and host is None
    url, host, _ = builder.build_url("https://127.0.0.1:9443", "b", "k", [("versionId", "x/y=")], "virtual")
    assert (url, host) == ("https://127.0.0.1:9443/k?versionId=x%2Fy%3D", "b.localhost:9443")
    url, host, auth_path = builder.build_url("https://s3.example.com", "b", None, [], "virtual")
    assert (url, host, auth_path) == ("https://b.s3.example.com/", None, "/b/")
    url, _, _ = builder.build_url("https://s3.example.com/", None, None, [], "path")
    assert url == "https://s3.example.com/"


def test_content_md5_default_follows_the_request_operation():
    put_config = build({"method": "PUT", "bucket": "b", "query": {"encryption": ""}, "body": {"xml": "<a/>"}},
                            ctx(operation="PutObject"))
    assert headers_of(put_config)["content-md5"] == integrity.md5_b64(b"<a/>")
    put_object = build({"method": "PUT", "bucket": "b", "key": "k", "body": "x"}, ctx(operation="PutObject"))
    assert "content-md5" not in headers_of(put_object)
    with_checksum = build({"method": "PUT", "bucket": "b", "query": {"encryption": ""}, "body": "<a/>",
                                "checksum": {"algorithm": "crc32"}}, ctx())
    assert "content-md5" not in headers_of(with_checksum)
    assert headers_of(with_checksum)["x-amz-checksum-crc32"] == integrity.checksum_value("crc32", b"<a/>")
    forced = build({"method": "PUT", "bucket": "b", "key": "k", "body": "x", "content_md5": "malformed"}, ctx())
    assert headers_of(forced)["content-md5"] == integrity.MALFORMED_MD5


def test_null_header_removes_what_the_runner_would_add():
    out = build({"method": "PUT", "bucket": "b", "query": {"encryption": ""}, "body": "<a/>",
                      "headers": {"Content-MD5": None}}, ctx())
    assert "content-md5" not in headers_of(out)


def test_explicit_content_sha256_is_signed_and_sent():
    out = build({"method": "PUT", "bucket": "b", "key": "k", "body": "data",
                      "headers": {"x-amz-content-sha256": "0" * 64}}, ctx())
    assert headers_of(out)["x-amz-content-sha256"] == "0" * 64


def test_auth_modes():
    alt = build({"method": "GET", "bucket": "b", "key": "k", "auth": "alt"}, ctx())
    assert "Credential=AKIAALT/" in headers_of(alt)["authorization"]
    anonymous = build({"method": "GET", "bucket": "b", "key": "k", "auth": "anonymous"}, ctx())
    assert "authorization" not in headers_of(anonymous) and "x-amz-date" not in headers_of(anonymous)
    presigned = build({"method": "GET", "bucket": "b", "key": "k", "auth": "presigned", "presign_expires": 60},
                           ctx())
    assert "X-Amz-Expires=60" in presigned.url and "authorization" not in headers_of(presigned)
    v2 = build({"method": "GET", "bucket": "b", "key": "k", "auth": "sigv2"}, ctx())
    assert headers_of(v2)["authorization"].startswith("AWS AKIAMAIN:")
    bad = build({"method": "GET", "bucket": "b", "key": "k", "auth": "bad-signature"}, ctx())
    assert re.search(r"Signature=[0-9a-f]{64}$", headers_of(bad)["authorization"])


def test_plain_http_needs_a_plain_endpoint():
    try:
        build({"method": "GET", "bucket": "b", "scheme": "http"}, ctx())
    except builder.RequestBuildError as exc:
        assert "plain-HTTP endpoint" in str(exc)
    else:
        raise AssertionError("built a plain-HTTP request without a plain endpoint")
    out = build({"method": "GET", "bucket": "b", "scheme": "http"}, ctx(plain_endpoint="http://127.0.0.1:9080"))
    assert out.url == "http://127.0.0.1:9080/b"


def test_post_form_policy_and_signature():
    import datetime as dt

    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    form = postform.build_form("bkt", {"key": "obj", "x-amz-server-side-encryption": "aws:kms"}, b"file-bytes", "auto",
                               KEYS, "us-east-1", now)
    fields = dict(form.fields)
    assert [name for name, _ in form.fields][:2] == ["key", "x-amz-server-side-encryption"]
    assert fields["x-amz-credential"] == "AKIAMAIN/20260102/us-east-1/s3/aws4_request"
    assert fields["x-amz-date"] == "20260102T030405Z"
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"bucket": "bkt"} in policy["conditions"] and {"key": "obj"} in policy["conditions"]
    assert {"x-amz-server-side-encryption": "aws:kms"} in policy["conditions"]
    assert policy["expiration"] == "2026-01-02T04:04:05.000Z"
    assert fields["x-amz-signature"] == signing.derive_signature(KEYS, "us-east-1", "20260102T030405Z", fields["policy"])
    assert form.body.rstrip().endswith(b"--") and form.body.index(b'name="file"') > form.body.index(b'name="policy"')
    anonymous = postform.build_form("bkt", {"key": "obj"}, b"x", "none", KEYS, "us-east-1", now)
    assert [n for n, _ in anonymous.fields] == ["key"]


def test_unblock_sse_c_injects_into_every_rule_or_adds_a_default():
    ns = "http://s3.amazonaws.com/doc/2006-03-01/"
    default = engine.unblock_sse_c(None)
    assert "<SSEAlgorithm>AES256</SSEAlgorithm>" in default
    assert "<BlockedEncryptionTypes><EncryptionType>NONE</EncryptionType></BlockedEncryptionTypes></Rule>" in default
    kms = engine.unblock_sse_c(f'<ServerSideEncryptionConfiguration xmlns="{ns}"><Rule><ApplyServerSideEncryptionByDefault>'
                               "<SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
                               "<BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>")
    assert kms.index("<BucketKeyEnabled>") < kms.index("<BlockedEncryptionTypes>") < kms.index("</Rule>")
    assert kms.count("<BlockedEncryptionTypes>") == 1
    already = engine.unblock_sse_c(kms)
    assert already.count("<BlockedEncryptionTypes>") == 1


def test_variants_choose_the_first_matching_expectation():
    profile = profiles.load_profile(str(DATA / "profile-basic.yaml"))
    runner = engine.Engine(Target("https://127.0.0.1:1", "us-east-1", KEYS), profile)
    step = {"expect": {"status": 200}, "variants": [
        {"when": {"has": "dsse"}, "expect": {"status": 400}},
        {"when": {"lacks": ["sse-c", "dsse"], "profile": "runner-test"}, "expect": {"status": 404}},
        {"when": {"has": "kms"}, "expect": {"status": 500}}]}
    expect, variant = runner._choose_expect(_step(step))
    assert expect == Expect(status=404) and variant.startswith("variant 2")
    expect, variant = runner._choose_expect(_step({"expect": {"status": 200}, "variants": [
        {"when": {"profile": ["aws"]}, "expect": {"status": 1}}]}))
    assert expect == Expect(status=200) and variant is None


def _step(raw):
    """A model step from a step written as in a case file (with a request added)."""
    return Case.from_dict({"id": "c", "steps": [dict(raw, request={"method": "GET"})]}).steps[0]


def build(spec, context):
    """The builder on a request written as in a case file."""
    return builder.build(RequestSpec.from_dict(spec), context)
