"""Object keys and bucket names at and beyond S3's limits: KeyTooLongError past 1024 UTF-8 bytes, odd but legal
keys stored and read back byte-exact (and never as paths on disk), InvalidBucketName for every naming rule."""
from __future__ import annotations

import os
from urllib.parse import quote, unquote

import pytest
from lxml import etree

from mockserver.server import running_server

from .conftest import assert_s3_error
from .wire import Wire


@pytest.mark.parametrize(("key", "size"), [("k" * 1025, 1025), ("\u00e9" * 512 + "k", 1025), ("\u20ac" * 342, 1026)])
def test_key_too_long(wire, victim, key, size):
    reply = wire.send("PUT", f"/{victim.bucket}/{quote(key)}", body=b"x")
    assert_s3_error(reply, 400, "KeyTooLongError")
    assert reply.field("Size") == str(size) and reply.field("MaxSizeAllowed") == "1024"
    victim.assert_intact()


ODD_KEYS = ["k" * 1024, "\u20ac" * 341, "a\x00b", "..", ".", "../../../etc/passwd", "a/../b", "/", "//a//", "a%2Fb",
            "\x01\x7f", "a b+c", "?#[]@!$&'()*+,;=", "\ufeffbom", "x" * 100 + "/" * 100]


@pytest.mark.parametrize("key", ODD_KEYS, ids=[repr(k)[:30] for k in ODD_KEYS])
def test_odd_keys_round_trip(wire, victim, key):
    path = f"/{victim.bucket}/{quote(key, safe='')}"
    body = os.urandom(64)
    assert wire.send("PUT", path, body=body).status == 200
    reply = wire.send("GET", path)
    assert reply.status == 200 and reply.body == body
    listing = wire.send("GET", f"/{victim.bucket}?list-type=2&encoding-type=url&prefix={quote(key, safe='')}")
    root = etree.fromstring(listing.body)
    keys = [unquote(e.text or "") for e in root.iter("{*}Key")]
    assert key in keys
    victim.assert_intact()


def test_traversal_keys_stay_inside_the_data_dir(tmp_path):
    data_dir = tmp_path / "data"
    with running_server(data_dir=str(data_dir)) as server:
        wire = Wire(server.endpoint, server.credentials, server.region)
        assert wire.send("PUT", "/traversal-bucket").status == 200
        for key in ("../../escaped", "..%2F..%2Fescaped2", "%2E%2E/%2E%2E/escaped3"):
            assert wire.send("PUT", f"/traversal-bucket/{key}", body=b"payload").status == 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    names = {p.name for p in data_dir.rglob("*")}
    assert not any(name.startswith("escaped") for name in names)


INVALID_BUCKETS = ["ab", "a" * 64, "UPPER", "has_underscore", "-lead", "trail-", "a..b", ".dot", "dot.",
                   "192.168.1.1", "xn--abc", "sthree-x", "amzn-s3-demo-x", "abc-s3alias", "abc--ol-s3", "abc.mrap",
                   "abc--x-s3", "abc--table-s3", "sp ace", "b\u00e9b", "b%00c", "b%0Ac", "b*c"]


@pytest.mark.parametrize("name", INVALID_BUCKETS)
def test_invalid_bucket_names(wire, name):
    path = "/" + quote(name, safe="%")
    reply = wire.send("PUT", path)
    assert_s3_error(reply, 400, "InvalidBucketName")
    assert wire.send("HEAD", path).status in (400, 404)


def test_error_document_echoing_a_control_character_is_well_formed(wire):
    """The BucketName field echoes the request: a %00 in it once made the error document unparseable."""
    reply = wire.send("PUT", "/b%00c")
    assert_s3_error(reply, 400, "InvalidBucketName")
    assert reply.field("BucketName") == "b\ufffdc"


@pytest.mark.parametrize("name", ["abc", "a" * 63, "a.b.c", "a-b", "1-2-3"])
def test_valid_bucket_names(wire, name):
    reply = wire.send("PUT", f"/{name}")
    assert reply.status == 200 or reply.code == "BucketAlreadyOwnedByYou", reply
