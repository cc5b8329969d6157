"""Presigned URLs dated in the future, `host` outside SignedHeaders, and SigV2
signatures replayed across buckets through the Host header."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from botocore import auth as botocore_auth
from botocore.auth import HmacV1Auth, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lxml import etree


def _creds(server: Any) -> Credentials:
    c = server.credentials["main"]
    return Credentials(c["access_key"], c["secret_key"])


def _error(response: requests.Response) -> dict[str, str]:
    root = etree.fromstring(response.content)
    return {child.tag: child.text or "" for child in root}


def _get(url: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10)


@pytest.fixture
def obj(s3: Any, bucket: str) -> str:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"payload")
    return f"/{bucket}/obj"


# ---- item 3 -------------------------------------------------------------------------------------------
def test_presigned_url_dated_in_the_future_is_not_yet_valid(server: Any, obj: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    future = datetime.now(UTC) + timedelta(days=365)
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: future.replace(tzinfo=None))
    request = AWSRequest(method="GET", url=server.endpoint + obj)
    S3SigV4QueryAuth(_creds(server), "s3", server.region, expires=604800).add_auth(request)
    monkeypatch.undo()
    response = _get(request.url, {})
    assert response.status_code == 403
    error = _error(response)
    assert (error["Code"], error["Message"]) == ("AccessDenied", "Request is not yet valid")
    assert error["X-Amz-Date"] == str(int(future.replace(microsecond=0).timestamp()) * 1000)
    assert {"Expires", "ServerTime"} <= set(error)


def test_presigned_url_within_clock_skew_still_works(server: Any, obj: str, monkeypatch: pytest.MonkeyPatch) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=5)
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: soon.replace(tzinfo=None))
    request = AWSRequest(method="GET", url=server.endpoint + obj)
    S3SigV4QueryAuth(_creds(server), "s3", server.region, expires=60).add_auth(request)
    monkeypatch.undo()
    assert _get(request.url, {}).content == b"payload"


# ---- item 4 -------------------------------------------------------------------------------------------
class _NoHostHeaderAuth(S3SigV4Auth):
    def headers_to_sign(self, request: AWSRequest) -> Any:
        headers = super().headers_to_sign(request)
        del headers["host"]
        return headers


class _NoHostQueryAuth(S3SigV4QueryAuth):
    def headers_to_sign(self, request: AWSRequest) -> Any:
        headers = super().headers_to_sign(request)
        del headers["host"]
        return headers


def test_header_auth_without_signed_host_is_refused(server: Any, obj: str) -> None:
    request = AWSRequest(method="GET", url=server.endpoint + obj)
    _NoHostHeaderAuth(_creds(server), "s3", server.region).add_auth(request)
    assert "host" not in request.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    response = _get(request.url, dict(request.headers))
    assert response.status_code == 403
    error = _error(response)
    assert (error["Code"], error["Message"], error["HeadersNotSigned"]) == (
        "AccessDenied", "There were headers present in the request which were not signed", "host")


def test_presigned_url_without_signed_host_is_refused(server: Any, obj: str) -> None:
    request = AWSRequest(method="GET", url=server.endpoint + obj)
    _NoHostQueryAuth(_creds(server), "s3", server.region, expires=60).add_auth(request)
    assert "X-Amz-SignedHeaders=&" in request.url         # botocore signs only host in a presigned GET
    response = _get(request.url, {})
    assert response.status_code == 403
    error = _error(response)
    assert (error["Code"], error["HeadersNotSigned"]) == ("AccessDenied", "host")


def test_virtual_host_signature_without_host_cannot_read_another_bucket(server: Any, s3: Any) -> None:
    # signed for b2 (virtual-hosted, host unsigned), sent with Host: b1: must not read b1
    b1, b2 = f"sec-{uuid.uuid4().hex[:16]}", f"sec-{uuid.uuid4().hex[:16]}"
    for name in (b1, b2):
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="obj", Body=name.encode())
    port = urlsplit(server.endpoint).port
    request = AWSRequest(method="GET", url=f"http://{b2}.localhost:{port}/obj")
    _NoHostHeaderAuth(_creds(server), "s3", server.region).add_auth(request)
    headers = dict(request.headers)
    headers["Host"] = f"{b1}.localhost:{port}"
    response = _get(f"{server.endpoint}/obj", headers)
    assert response.status_code == 403 and b1.encode() not in response.content


# ---- item 5 -------------------------------------------------------------------------------------------
def test_sigv2_signature_cannot_be_replayed_on_another_bucket(server: Any, s3: Any) -> None:
    b1, b2 = f"sec-{uuid.uuid4().hex[:16]}", f"sec-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=b1)
    s3.create_bucket(Bucket=b2)
    s3.put_object(Bucket=b1, Key=f"{b2}/obj", Body=b"b1 secret")
    s3.put_object(Bucket=b2, Key="obj", Body=b"b2 public")
    request = AWSRequest(method="GET", url=f"{server.endpoint}/{b2}/obj")     # path style: resource /b2/obj
    HmacV1Auth(_creds(server)).add_auth(request)
    headers = dict(request.headers)
    assert _get(request.url, headers).content == b"b2 public"                 # as signed
    port = urlsplit(server.endpoint).port
    headers["Host"] = f"{b1}.localhost:{port}"                                 # now names bucket b1
    response = _get(request.url, headers)
    assert response.status_code == 403 and _error(response)["Code"] == "SignatureDoesNotMatch"
    assert b"b1 secret" not in response.content


def test_sigv2_virtual_hosted_request_signed_for_its_bucket_works(server: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"vhost")
    port = urlsplit(server.endpoint).port
    request = AWSRequest(method="GET", url=f"http://{bucket}.localhost:{port}/obj")
    request.auth_path = f"/{bucket}/obj"
    HmacV1Auth(_creds(server)).add_auth(request)
    headers = dict(request.headers)
    headers["Host"] = f"{bucket}.localhost:{port}"
    assert _get(f"{server.endpoint}/obj", headers).content == b"vhost"
