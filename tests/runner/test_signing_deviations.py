"""The `signing:` block: each deviation changes exactly what it names, and the signature stays consistent with
what the request claims (checked with the reference server's own SigV4 primitives, which share no code with
the runner's signer)."""
from __future__ import annotations

import datetime as dt
import re
from unittest import mock

import pytest

from conformance.casefile import loader
from conformance.casefile.model import RequestSpec
from conformance.request import aws_chunked, builder, postform, signing
from mockserver.auth.signing import sign, signing_key

KEYS = signing.Keys("AKIAMOCKMAIN00000001", "mock/main/secret/key/00000000000000000001")
CTX = builder.BuildContext(endpoint="https://127.0.0.1:9000", region="us-east-1", main=KEYS)


def build(**request):
    return builder.build(RequestSpec.from_dict({"method": "GET", "bucket": "b", "key": "k", **request}), CTX)


def header(out, name):
    return next(v for n, v in out.headers if n.lower() == name)


def authorization_parts(out):
    value = header(out, "authorization")
    return dict(re.findall(r"(Credential|SignedHeaders|Signature)=([^, ]+)", value))


def test_time_offset_moves_x_amz_date():
    now = dt.datetime.now(dt.UTC)
    out = build(signing={"time_offset": -1200})
    sent = dt.datetime.strptime(header(out, "x-amz-date"), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    assert abs((now - sent).total_seconds() - 1200) < 5


@pytest.mark.parametrize("scope,expected", [
    ({"region": "aws-global"}, "/aws-global/s3/aws4_request"),
    ({"service": "kms"}, "/us-east-1/kms/aws4_request"),
    ({"terminal": "aws5_request"}, "/us-east-1/s3/aws5_request"),
])
def test_scope_overrides_are_in_the_credential(scope, expected):
    parts = authorization_parts(build(signing={"scope": scope}))
    assert parts["Credential"].endswith(expected)


def test_scope_signature_uses_the_claimed_scope():
    """The server derives the key from the credential's date/region/service; a consistent signature verifies."""
    fixed = dt.datetime(2026, 3, 4, 5, 6, 7)
    with mock.patch.object(signing.dt, "datetime", wraps=dt.datetime) as clock:
        clock.now.return_value = fixed.replace(tzinfo=dt.UTC)
        request = signing._to_request("GET", "https://h/b/k", [], b"")
        dev = signing.Deviation(scope_region="eu-west-1", scope_service="kms", scope_date_offset_days=-1)
        auth = signing._DeviantS3SigV4Auth(KEYS.botocore(), "us-east-1", signing.UNSIGNED_PAYLOAD, dev)
        auth.add_auth(request)
    authorization = request.headers["Authorization"]
    del request.headers["Authorization"]          # not part of what was signed
    creq = auth.canonical_request(request)
    sts = auth.string_to_sign(request, creq)
    assert "20260303/eu-west-1/kms/aws4_request" in sts and "20260304T050607Z" in sts
    expected = sign(signing_key(KEYS.secret_key, "20260303", "eu-west-1", "kms"), sts)
    assert authorization.endswith(f"Signature={expected}")


def test_unknown_access_key_is_fresh_and_not_an_account():
    first = authorization_parts(build(signing={"access_key": "unknown"}))["Credential"].split("/")[0]
    second = authorization_parts(build(signing={"access_key": "unknown"}))["Credential"].split("/")[0]
    assert first != second and first.startswith("AKIA") and first != KEYS.access_key


def test_host_left_out_of_signed_headers():
    parts = authorization_parts(build(signing={"sign_host": False}))
    assert "host" not in parts["SignedHeaders"].split(";")
    assert "host" in authorization_parts(build())["SignedHeaders"].split(";")


def test_unsigned_and_changed_headers_are_applied_after_signing():
    out = build(method="PUT", headers={"x-amz-server-side-encryption": "AES256"},
                signing={"unsigned_headers": {"x-amz-meta-extra": "v"},
                         "changed_headers": {"x-amz-server-side-encryption": "aws:kms"}})
    signed = authorization_parts(out)["SignedHeaders"].split(";")
    assert "x-amz-meta-extra" not in signed and "x-amz-server-side-encryption" in signed
    assert header(out, "x-amz-meta-extra") == "v"
    assert header(out, "x-amz-server-side-encryption") == "aws:kms"


def test_changed_header_must_exist():
    with pytest.raises(builder.RequestBuildError, match="changed_headers"):
        build(signing={"changed_headers": {"x-amz-meta-x": "1"}})


@pytest.mark.parametrize("expires", ["604801", "-1", "undefined"])
def test_raw_x_amz_expires(expires):
    out = build(auth="presigned", signing={"expires": expires})
    assert f"X-Amz-Expires={expires}&" in out.url


def test_presigned_v2_expires_and_resource():
    out = build(auth="presigned-v2", signing={"expires": "-60"})
    expires = int(re.search(r"Expires=(\d+)", out.url).group(1))
    assert expires < dt.datetime.now(dt.UTC).timestamp()
    other = build(auth="presigned-v2", signing={"sigv2_resource": "/k"})
    assert re.search(r"Signature=([^&]+)", other.url).group(1) != re.search(r"Signature=([^&]+)",
                                                                           build(auth="presigned-v2").url).group(1)


def test_sigv2_time_offset_moves_date():
    out = build(auth="sigv2", signing={"time_offset": -1200})
    sent = dt.datetime.strptime(header(out, "date"), "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - sent).total_seconds() - 1200) < 5


def _signatures(body: bytes) -> list[str]:
    return re.findall(rb"chunk-signature=([0-9a-f]{64})", body)  # type: ignore[return-value]


@pytest.mark.parametrize("corrupt,index", [(1, 0), (2, 1), ("final", 2)])
def test_only_the_named_chunk_signature_is_wrong(corrupt, index):
    def signer():
        return aws_chunked.ChunkSigner(KEYS, "us-east-1", "20260101T000000Z", "20260101/us-east-1/s3/aws4_request",
                                       "0" * 64)
    good = _signatures(aws_chunked.frame_signed(b"x" * 20, signer(), 10))
    bad = _signatures(aws_chunked.frame_signed(b"x" * 20, signer(), 10, corrupt))
    assert len(good) == len(bad) == 3
    assert [i for i in range(3) if good[i] != bad[i]] == [index]


def test_trailer_signature_corruption():
    def signer():
        return aws_chunked.ChunkSigner(KEYS, "us-east-1", "20260101T000000Z", "20260101/us-east-1/s3/aws4_request",
                                       "0" * 64)
    good = aws_chunked.frame_signed_trailer(b"x" * 20, signer(), "crc32", chunk_size=10)
    bad = aws_chunked.frame_signed_trailer(b"x" * 20, signer(), "crc32", chunk_size=10, corrupt_trailer=True)
    assert _signatures(good) == _signatures(bad)
    trailer = re.compile(rb"x-amz-trailer-signature:([0-9a-f]{64})")
    assert trailer.search(good).group(1) != trailer.search(bad).group(1)


def test_policy_expiration_and_bad_signature():
    import base64
    import json
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    form = postform.build_form("b", {"key": "k"}, b"x", "auto", KEYS, "us-east-1", now, -3600, False)
    fields = dict(form.fields)
    assert json.loads(base64.b64decode(fields["policy"]))["expiration"] == "2025-12-31T23:00:00.000Z"
    bad = dict(postform.build_form("b", {"key": "k"}, b"x", "auto", KEYS, "us-east-1", now, None, True).fields)
    good = dict(postform.build_form("b", {"key": "k"}, b"x", "auto", KEYS, "us-east-1", now, None, False).fields)
    assert bad["x-amz-signature"] != good["x-amz-signature"] and bad["policy"] == good["policy"]


CASE = """\
cases:
  - id: demo.signing
    title: Demo
    operation: GetObject
    source: {{document: seeds/x.txt, quote: "q"}}
    steps:
      - request:
          method: GET
          bucket: "${{bucket}}"
          key: k
{extra}
        expect: {{status: 200}}
"""


@pytest.mark.parametrize("extra,line,fragment", [
    ("          signing: {expires: '10'}", 11, "signing.expires needs auth: presigned"),
    ("          signing: {corrupt_chunk: 1}", 11, "signing.corrupt_chunk needs payload"),
    ("          signing: {corrupt_chunk: 0}", 11, "corrupt_chunk"),
    ("          signing: {sigv2_resource: /k}", 11, "signing.sigv2_resource needs auth: sigv2"),
    ("          signing: {changed_headers: {x-amz-meta-a: b}}", 11, "changed_headers"),
    ("          auth: presigned-v2\n          signing: {expires: soon}", 12, "whole seconds"),
    ("          signing: {scope: {region: a/b}}", 11, "scope"),
    ("          signing: {}", 11, "signing"),
])
def test_validate_locates_bad_signing_blocks(tmp_path, extra, line, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(CASE.format(extra=extra))
    _, problems = loader.load_cases([str(path)])
    text = "\n".join(str(p) for p in problems)
    assert f"bad.yaml:{line}:" in text and fragment in text, text
