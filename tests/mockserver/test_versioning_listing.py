"""Versioning (ids, delete markers, suspended null versions), ListObjectVersions, ListObjects v1/v2."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.mockserver.conftest import client_error, error_of


def test_versioning_lifecycle(s3, bucket, raw):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and len(v1) == 32
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one"
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    r = raw("GET", f"/{bucket}/k")
    assert r.status_code == 404 and r.headers["x-amz-delete-marker"] == "true"
    assert r.headers["x-amz-version-id"] == marker
    r = raw("GET", f"/{bucket}/k", query=f"versionId={marker}")
    assert r.status_code == 405 and error_of(r)["Code"] == "MethodNotAllowed"
    versions = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in versions["Versions"]] == [v2, v1]
    assert [(m["VersionId"], m["IsLatest"]) for m in versions["DeleteMarkers"]] == [(marker, True)]
    s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)       # removing the marker restores v2
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"


def test_version_errors(s3, bucket, raw):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    r = raw("GET", f"/{bucket}/k", query="versionId=bogus")
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidArgument"
    r = raw("GET", f"/{bucket}/k", query="versionId=" + "A" * 32)
    assert r.status_code == 404 and error_of(r)["Code"] == "NoSuchVersion"


def test_suspended_uses_null_version(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"n1")["VersionId"] == "null"
    s3.put_object(Bucket=bucket, Key="k", Body=b"n2")
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]]
    assert ids == ["null", kept]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"n2"


def test_versioning_bad_body(raw, bucket):
    import base64
    import hashlib

    body = b"<VersioningConfiguration><Status>Sometimes</Status></VersioningConfiguration>"
    r = raw("PUT", f"/{bucket}", query="versioning", body=body,
            headers={"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()})
    assert r.status_code == 400 and error_of(r)["Code"] == "MalformedXML"


def test_versioned_delete_objects(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    vid = s3.put_object(Bucket=bucket, Key="a", Body=b"x")["VersionId"]
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}]})
    assert result["Deleted"][0]["DeleteMarker"] is True
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a", "VersionId": vid}]})
    assert result["Deleted"][0]["VersionId"] == vid


KEYS = ["a.txt", "dir/b.txt", "dir/c.txt", "dir/sub/d.txt", "e.txt", "zeta/f.txt"]


@pytest.fixture
def listed_bucket(s3, bucket):
    for k in KEYS:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    return bucket


def test_list_v2_delimiter_and_prefix(s3, listed_bucket):
    r = s3.list_objects_v2(Bucket=listed_bucket, Delimiter="/")
    assert [c["Key"] for c in r["Contents"]] == ["a.txt", "e.txt"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["dir/", "zeta/"]
    assert r["KeyCount"] == 4
    r = s3.list_objects_v2(Bucket=listed_bucket, Prefix="dir/", Delimiter="/")
    assert [c["Key"] for c in r["Contents"]] == ["dir/b.txt", "dir/c.txt"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["dir/sub/"]
    r = s3.list_objects_v2(Bucket=listed_bucket, StartAfter="dir/c.txt")
    assert [c["Key"] for c in r["Contents"]] == ["dir/sub/d.txt", "e.txt", "zeta/f.txt"]


def test_list_v2_pagination(s3, listed_bucket):
    seen, token = [], None
    for _ in range(10):
        kwargs = {"Bucket": listed_bucket, "MaxKeys": 2, "Delimiter": "/"}
        if token:
            kwargs["ContinuationToken"] = token
        r = s3.list_objects_v2(**kwargs)
        seen += [c["Key"] for c in r.get("Contents", [])] + [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        if not r["IsTruncated"]:
            break
        token = r["NextContinuationToken"]
    assert sorted(seen) == ["a.txt", "dir/", "e.txt", "zeta/"]
    paginator = s3.get_paginator("list_objects_v2")
    keys = [c["Key"] for page in paginator.paginate(Bucket=listed_bucket, PaginationConfig={"PageSize": 2})
            for c in page["Contents"]]
    assert keys == sorted(KEYS)


def test_list_v1_markers(s3, listed_bucket):
    r = s3.list_objects(Bucket=listed_bucket, MaxKeys=3)
    assert [c["Key"] for c in r["Contents"]] == KEYS[:3] and r["IsTruncated"]
    r = s3.list_objects(Bucket=listed_bucket, Marker=KEYS[2])
    assert [c["Key"] for c in r["Contents"]] == KEYS[3:]
    paginator = s3.get_paginator("list_objects")
    keys = [c["Key"] for page in paginator.paginate(Bucket=listed_bucket, PaginationConfig={"PageSize": 2})
            for c in page["Contents"]]
    assert keys == KEYS


def test_list_encoding_type(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="with space+plus", Body=b"x")
    r = raw("GET", f"/{bucket}", query="list-type=2&encoding-type=url")
    assert b"<Key>with%20space%2Bplus</Key>" in r.content
    assert s3.list_objects_v2(Bucket=bucket)["Contents"][0]["Key"] == "with space+plus"
    r = raw("GET", f"/{bucket}", query="encoding-type=base64")
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidArgument"


def test_list_versions_pagination(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    expected = []
    for key in ("a", "b"):
        for _ in range(3):
            expected.append((key, s3.put_object(Bucket=bucket, Key=key, Body=b"x")["VersionId"]))
    paginator = s3.get_paginator("list_object_versions")
    got = [(v["Key"], v["VersionId"]) for page in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
           for v in page.get("Versions", [])]
    assert sorted(got) == sorted(expected) and len(got) == 6


def test_list_missing_bucket(s3):
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket="no-such-bucket-here")
    assert client_error(e.value)[:2] == (404, "NoSuchBucket")


def test_versioning_empty_configuration(s3, bucket):
    """Recorded: VersioningConfiguration={} (an empty <VersioningConfiguration/>) is 400
    IllegalVersioningConfigurationException "The Versioning element must be specified"."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={})
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["Error"]["Code"] == "IllegalVersioningConfigurationException"
    assert e.value.response["Error"]["Message"] == "The Versioning element must be specified"
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
