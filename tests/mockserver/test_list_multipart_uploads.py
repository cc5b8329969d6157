"""ListMultipartUploads against AWS's recorded answers.

Each test replays the steps of a LocalStack test recorded against AWS
(localstack/localstack tests/aws/services/s3/test_s3_list_operations.py, class TestS3ListMultipartUploads, snapshots
in test_s3_list_operations.snapshot.json) and compares the fields the recording shows. `<key:N>` and `<upload-id:N>`
in the recording are numbered by first appearance in the snapshot; the tests below name them by the values they
stand for.
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.mockserver.conftest import client_error

MARKERS = ("KeyMarker", "UploadIdMarker", "NextKeyMarker", "NextUploadIdMarker", "IsTruncated")


def page(resp):
    return ({k: resp.get(k) for k in MARKERS},
            [(u["Key"], u["UploadId"]) for u in resp.get("Uploads", [])],
            [p["Prefix"] for p in resp.get("CommonPrefixes", [])])


def fields(key_marker, id_marker, next_key, next_id, truncated):
    return dict(zip(MARKERS, (key_marker, id_marker, next_key, next_id, truncated)))


def test_next_marker(s3, bucket):
    """test_list_multiparts_next_marker."""
    assert page(s3.list_multipart_uploads(Bucket=bucket)) == (fields("", "", "", "", False), [], [])
    ids = []
    for key in ("test_c", "test_b", "test_a"):
        ids.append(s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"])
        if key == "test_a":
            ids += [s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"] for _ in range(2)]
    c, b, a1, a2, a3 = ids
    # list-multiparts-all: not truncated, yet NextKeyMarker/NextUploadIdMarker name the last upload.
    assert page(s3.list_multipart_uploads(Bucket=bucket)) == (
        fields("", "", "test_c", c, False),
        [("test_a", a1), ("test_a", a2), ("test_a", a3), ("test_b", b), ("test_c", c)], [])
    assert page(s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1)) == (
        fields("", "", "test_a", a1, True), [("test_a", a1)], [])
    # list-multiparts-next-key-only: a key marker alone skips every upload of that key.
    assert page(s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, KeyMarker="test_a")) == (
        fields("test_a", "", "test_b", b, True), [("test_b", b)], [])
    # list-multiparts-next-key-last
    assert page(s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, KeyMarker="test_c")) == (
        fields("test_c", "", "", "", False), [], [])
    # list-multiparts-next-upload-only: an upload-id marker without a key marker is ignored (and not echoed).
    assert page(s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, UploadIdMarker=a1)) == (
        fields("", "", "test_a", a1, True), [("test_a", a1)], [])
    # list-multiparts-both-markers / -2
    assert page(s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, KeyMarker="test_a", UploadIdMarker=a1)) == (
        fields("test_a", a1, "test_a", a2, True), [("test_a", a2)], [])
    assert page(s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, KeyMarker="test_a", UploadIdMarker=a3)) == (
        fields("test_a", a3, "test_b", b, True), [("test_b", b)], [])
    # list-multiparts-get-last-upload-no-truncate: exactly one upload left for MaxUploads=1 is not truncated.
    assert page(s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, KeyMarker="test_b", UploadIdMarker=b)) == (
        fields("test_b", b, "test_c", c, False), [("test_c", c)], [])
    # list-multiparts-wrong-id-for-key
    with pytest.raises(ClientError) as e:
        s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, KeyMarker="test_c", UploadIdMarker=b)
    assert client_error(e.value)[:2] == (400, "InvalidArgument")
    err = e.value.response["Error"]
    assert err["Message"] == "Invalid uploadId marker"
    assert err["ArgumentName"] == "upload-id-marker" and err["ArgumentValue"] == b
    # list-multiparts-next-key-empty
    assert page(s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, KeyMarker="")) == (
        fields("", "", "test_a", a1, True), [("test_a", a1)], [])


def test_prefix_and_delimiter(s3, bucket):
    """test_list_multiparts_with_prefix_and_delimiter: a page of common prefixes only has empty Next markers."""
    for key in ("test/foo/bar/123", "test/foo/bar/456", "test/bar/foo/123"):
        s3.create_multipart_upload(Bucket=bucket, Key=key)
    resp = s3.list_multipart_uploads(Bucket=bucket, Prefix="test/", EncodingType="url", Delimiter="/")
    assert page(resp) == (fields("", "", "", "", False), [], ["test/bar/", "test/foo/"])
    assert resp["EncodingType"] == "url" and resp["Delimiter"] == "/" and resp["Prefix"] == "test/"
    assert page(s3.list_multipart_uploads(Bucket=bucket, Prefix="test/foo/", EncodingType="url", Delimiter="/")) == (
        fields("", "", "", "", False), [], ["test/foo/bar/"])
    assert page(s3.list_multipart_uploads(Bucket=bucket, Prefix="test/foo/bar", EncodingType="url",
                                          Delimiter="/")) == (fields("", "", "", "", False), [], ["test/foo/bar/"])
    # list-multiparts-no-encoding: prefix "test/foo", no delimiter: both uploads under it, Next* = the last one.
    resp = s3.list_multipart_uploads(Bucket=bucket, Prefix="test/foo")
    assert [k for k, _ in page(resp)[1]] == ["test/foo/bar/123", "test/foo/bar/456"]
    assert resp["NextKeyMarker"] == "test/foo/bar/456" and resp["IsTruncated"] is False


def test_marker_common_prefixes(s3, bucket):
    """test_list_multipart_uploads_marker_common_prefixes: a common prefix is listed only after the key marker."""
    ids = [s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"] for k in (
        "folder/aSubfolder/subFile1", "folder/aSubfolder/subFile2", "folder/file1", "folder/file2")]
    kwargs = {"Bucket": bucket, "Prefix": "folder/", "Delimiter": "/", "MaxUploads": 1}
    assert page(s3.list_multipart_uploads(**kwargs)) == (fields("", "", "", "", True), [], ["folder/aSubfolder/"])
    for marker in ("folder/aSubfolder/", "folder/aSubfolder/subFile1"):
        assert page(s3.list_multipart_uploads(**kwargs, KeyMarker=marker)) == (
            fields(marker, "", "folder/file1", ids[2], True), [("folder/file1", ids[2])], [])


def test_url_encoding(s3, bucket):
    """EncodingType=url encodes Delimiter, KeyMarker, Prefix, NextKeyMarker and Key (the API reference's list for
    ListMultipartUploads); botocore decodes only the object listings, so the encoded form reaches the client."""
    uid = s3.create_multipart_upload(Bucket=bucket, Key="a b+c")["UploadId"]
    resp = s3.list_multipart_uploads(Bucket=bucket, EncodingType="url", KeyMarker="a b", Prefix="a ")
    assert page(resp)[1] == [("a%20b%2Bc", uid)] and resp["NextKeyMarker"] == "a%20b%2Bc"
    assert resp["KeyMarker"] == "a%20b" and resp["Prefix"] == "a%20" and resp["EncodingType"] == "url"
    with pytest.raises(ClientError) as e:
        s3.list_multipart_uploads(Bucket=bucket, EncodingType="base64")
    assert client_error(e.value)[:2] == (400, "InvalidArgument")
