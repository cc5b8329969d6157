"""POST Object with malformed multipart/form-data or policies: S3's errors, nothing stored."""
from __future__ import annotations

import base64

import pytest
from urllib3.filepost import encode_multipart_formdata

from conformance.request import postform, signing

from .conftest import assert_s3_error


@pytest.fixture
def keys(server):
    c = server.credentials["main"]
    return signing.Keys(c["access_key"], c["secret_key"])


@pytest.fixture
def form(keys, server, victim):
    return postform.build_form(victim.bucket, {"key": victim.key}, b"replacement", "auto", keys, server.region)


def post(wire, victim, body: bytes, content_type: str):
    return wire.send("POST", f"/{victim.bucket}", [("Content-Type", content_type)], body, sign=False)


def boundary_of(form) -> bytes:
    return form.content_type.split("boundary=")[1].encode()


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=", "text/plain", "",
                                          "multipart/form-data; boundary*=utf-8''%E2%82%AC", "multipart/mixed; boundary=x"])
def test_not_a_usable_form(wire, victim, form, content_type):
    reply = post(wire, victim, form.body, content_type)
    assert_s3_error(reply, 412, "PreconditionFailed")
    victim.assert_intact()


@pytest.mark.parametrize("mutate", [
    lambda f: f.body[: len(f.body) // 2],
    lambda f: f.body[:-10],
    lambda f: f.body.split(b'name="file"')[0],
    lambda f: f.body.replace(b'Content-Disposition: form-data; name="key"', b"X-Other: x", 1),
    lambda f: f.body.replace(b'name="key"', b"name*=utf-8''%E2%82%AC", 1),
    lambda f: f.body.replace(b"\r\n\r\n", b"\r\n"),
    lambda f: b"",
], ids=["half", "no-closing-boundary", "cut-before-file", "part-without-disposition", "rfc2231-name",
        "part-headers-unterminated", "empty"])
def test_malformed_multipart(wire, victim, form, mutate):
    assert_s3_error(post(wire, victim, mutate(form), form.content_type), 400, "MalformedPOSTRequest")
    victim.assert_intact()


def test_wrong_boundary(wire, victim, form):
    reply = post(wire, victim, form.body, "multipart/form-data; boundary=not-the-one")
    assert_s3_error(reply, 400, "MalformedPOSTRequest")
    victim.assert_intact()


def test_missing_file_field(wire, victim, form):
    b = boundary_of(form)
    body = form.body.split(b"--" + b + b'\r\nContent-Disposition: form-data; name="file"')[0] + b"--" + b + b"--\r\n"
    reply = post(wire, victim, body, form.content_type)
    assert_s3_error(reply, 400, "InvalidArgument")
    assert reply.field("Message") == "POST requires exactly one file upload per request."
    victim.assert_intact()


def test_missing_key_field(wire, victim, keys, server):
    form = postform.build_form(victim.bucket, {"acl": "private"}, b"replacement", "auto", keys, server.region)
    reply = post(wire, victim, form.body, form.content_type)
    assert_s3_error(reply, 400, "InvalidArgument")
    victim.assert_intact()


def test_fields_after_file_are_ignored(wire, victim, form):
    """S3: the file is the last field; anything after it is not a field and not part of the file."""
    b = boundary_of(form)
    body = form.body.replace(b"--" + b + b"--", b"--" + b + b'\r\nContent-Disposition: form-data; name="key"'
                             b"\r\n\r\nother-key\r\n--" + b + b"--")
    reply = post(wire, victim, body, form.content_type)
    assert reply.status == 204, reply
    assert wire.send("GET", victim.path).body == b"replacement"
    assert wire.send("HEAD", f"/{victim.bucket}/other-key").status == 404


def test_oversized_fields(wire, victim, keys, server):
    form = postform.build_form(victim.bucket, {"key": victim.key, "x-amz-meta-big": "x" * (2 * 1024 * 1024)},
                               b"replacement", "auto", keys, server.region)
    reply = post(wire, victim, form.body, form.content_type)
    assert_s3_error(reply, 400, "MaxPostPreDataLengthExceededError")
    victim.assert_intact()


@pytest.mark.parametrize(("policy", "message"), [
    ("!!!", "Invalid Policy: Invalid JSON."),
    (base64.b64encode(b"not json").decode(), "Invalid Policy: Invalid JSON."),
    (base64.b64encode(b"[" * 5000 + b"]" * 5000).decode(), "Invalid Policy: Invalid JSON."),
    (base64.b64encode(b'{"conditions": 5}').decode(), "Invalid Policy: Invalid JSON."),
    (base64.b64encode(b'{"expiration": "garbage", "conditions": []}').decode(),
     "Invalid Policy: Invalid 'expiration' value: 'garbage'"),
    (base64.b64encode(b'{"expiration": "2099-01-01T00:00:00Z", "conditions": [["starts-with"]]}').decode(),
     "Invalid Policy: Invalid Condition."),
], ids=["not-base64", "not-json", "deeply-nested", "conditions-not-list", "bad-expiration", "bad-condition"])
def test_malformed_policy(wire, victim, form, keys, server, policy, message):
    fields = [(n, v) for n, v in form.fields if n not in ("policy", "x-amz-signature")]
    date = dict(fields)["x-amz-date"]
    signature = signing.derive_signature(keys, server.region, date, policy)
    body, content_type = encode_multipart_formdata(
        fields + [("policy", policy), ("x-amz-signature", signature), ("file", ("f", b"replacement", "text/plain"))])
    reply = post(wire, victim, body, content_type)
    assert_s3_error(reply, 400, "InvalidPolicyDocument")
    assert reply.field("Message") == message
    victim.assert_intact()
