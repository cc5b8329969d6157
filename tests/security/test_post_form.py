"""A POST Object form is parsed once, one value per field (names case-insensitive); the policy
check and the write read the same value, and a field repeated with different values is refused."""
from __future__ import annotations

from typing import Any

import requests
from botocore.config import Config
from lxml import etree


def _post(post: dict[str, Any], extra: list[tuple[str, str]]) -> requests.Response:
    data = [(k, v) for k, v in post["fields"].items() if k != "key"] + extra
    return requests.post(post["url"], data=data, files={"file": ("f.txt", b"form body")}, timeout=30)


def _error(response: requests.Response) -> dict[str, str]:
    return {child.tag: child.text or "" for child in etree.fromstring(response.content)}


def _keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_repeated_key_with_other_casing_is_refused(s3: Any, bucket: str) -> None:
    post = s3.generate_presigned_post(bucket, "allowed/${filename}", Conditions=[["starts-with", "$key", "allowed/"]])
    response = _post(post, [("key", "a"), ("Key", "allowed/x"), ("key", "forbidden/x")])
    assert response.status_code == 400, response.text
    error = _error(response)
    assert (error["Code"], error["ArgumentName"]) == ("InvalidArgument", "Key")
    assert _keys(s3, bucket) == []


def test_key_in_another_casing_is_the_same_field(s3: Any, bucket: str) -> None:
    post = s3.generate_presigned_post(bucket, "allowed/${filename}", Conditions=[["starts-with", "$key", "allowed/"]])
    assert _post(post, [("KEY", "forbidden/x")]).status_code == 403          # checked, not bypassed
    assert _post(post, [("KEY", "allowed/x"), ("key", "allowed/x")]).status_code == 204
    assert _keys(s3, bucket) == ["allowed/x"]


def test_repeated_encryption_field_cannot_bypass_the_policy(server: Any, s3: Any, bucket: str) -> None:
    s3v4 = server.client("s3", config=Config(signature_version="s3v4"))     # SSE-KMS needs a SigV4 policy
    post = s3v4.generate_presigned_post(bucket, "k", Fields={"x-amz-server-side-encryption": "AES256"},
                                      Conditions=[{"x-amz-server-side-encryption": "AES256"}])
    data = [(k, v) for k, v in post["fields"].items() if k != "x-amz-server-side-encryption"]
    data += [("x-amz-server-side-encryption", "aws:kms"), ("X-Amz-Server-Side-Encryption", "AES256"),
             ("x-amz-server-side-encryption", "aws:kms")]
    response = requests.post(post["url"], data=data, files={"file": ("f", b"x")}, timeout=30)
    assert response.status_code == 400 and _error(response)["Code"] == "InvalidArgument", response.text
    assert _keys(s3, bucket) == []
