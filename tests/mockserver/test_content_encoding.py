"""Content-Encoding as stored: aws-chunked (transfer framing) removed, anything else kept as sent."""
from __future__ import annotations

import pytest

from mockserver.objectmeta import object_attributes


@pytest.mark.parametrize("sent, stored", [
    ("gzip", "gzip"),
    ("deflate, gzip", "deflate, gzip"),       # ceph/s3-tests test_object_content_encoding_aws_chunked
    ("deflate, gzip,aws-chunked", "deflate, gzip"),     # what botocore sends for it with a trailer checksum
    ("gzip, aws-chunked,aws-chunked", "gzip"),
    ("br, aws-chunked, gzip", "br, gzip"),
    ("gzip, aws-chunked", "gzip"),
    ("aws-chunked, gzip", "gzip"),
    ("aws-chunked", None),
    ("aws-chunked, aws-chunked", None),
])
def test_content_encoding_stored(sent, stored):
    headers = object_attributes({"content-encoding": sent})["headers"]
    assert headers.get("content-encoding") == stored
