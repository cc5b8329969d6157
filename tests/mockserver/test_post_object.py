"""POST Object: form upload with a SigV4 policy (boto3's generate_presigned_post), status options, refusals."""
from __future__ import annotations

import hashlib

import requests

from tests.mockserver.conftest import error_of


def test_post_object_roundtrip(s3, bucket):
    post = s3.generate_presigned_post(bucket, "uploads/${filename}", Fields={"success_action_status": "201"},
                                      Conditions=[{"success_action_status": "201"},
                                                  ["starts-with", "$key", "uploads/"]], ExpiresIn=300)
    data = b"form upload body\r\n--not-a-boundary\r\n" * 100
    r = requests.post(post["url"], data=post["fields"], files={"file": ("hello.txt", data, "text/plain")}, timeout=30)
    assert r.status_code == 201, r.text
    assert b"<Key>uploads/hello.txt</Key>" in r.content
    assert r.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="uploads/hello.txt")
    assert got["Body"].read() == data and got["ContentType"] == "text/plain"


def test_post_object_default_204_and_sse_field(s3, bucket):
    post = s3.generate_presigned_post(bucket, "k", Fields={"x-amz-server-side-encryption": "AES256"},
                                      Conditions=[{"x-amz-server-side-encryption": "AES256"}])
    r = requests.post(post["url"], data=post["fields"], files={"file": ("f", b"abc")}, timeout=30)
    assert r.status_code == 204 and r.headers["x-amz-server-side-encryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"abc"


def test_post_object_policy_violations_store_nothing(s3, bucket):
    post = s3.generate_presigned_post(bucket, "limited", Conditions=[["content-length-range", 1, 10]])
    r = requests.post(post["url"], data=post["fields"], files={"file": ("f", b"x" * 11)}, timeout=30)
    assert r.status_code == 400 and error_of(r)["Code"] == "EntityTooLarge"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    fields = dict(post["fields"], key="other")
    r = requests.post(post["url"], data=fields, files={"file": ("f", b"x")}, timeout=30)
    assert r.status_code == 403 and error_of(r)["Code"] == "AccessDenied"
    r = requests.post(post["url"], data={"key": "k"}, files={"file": ("f", b"x")}, timeout=30)
    assert r.status_code == 403
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_post_object_malformed(s3, bucket, server):
    url = f"{server.endpoint}/{bucket}"
    r = requests.post(url, data=b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk",
                      headers={"Content-Type": "multipart/form-data; boundary=b"}, timeout=30)
    assert r.status_code == 400 and error_of(r)["Code"] == "MalformedPOSTRequest"
    post = s3.generate_presigned_post(bucket, "k")
    r = requests.post(post["url"], data=post["fields"], timeout=30,
                      files={"not-file": ("f", b"x")})
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidArgument"


def test_post_object_other_account_denied(server, bucket):
    alt = server.client("s3", account="alt")
    post = alt.generate_presigned_post(bucket, "k")
    r = requests.post(post["url"], data=post["fields"], files={"file": ("f", b"x")}, timeout=30)
    assert r.status_code == 403 and error_of(r)["Code"] == "AccessDenied"
