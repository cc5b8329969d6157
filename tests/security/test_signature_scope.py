"""The credential scope names the endpoint's service (S3 refuses `kms`, KMS refuses `s3`
and a wrong region), and KMS takes SigV4 with the body's own hash only (no SigV2, no UNSIGNED-PAYLOAD)."""
from __future__ import annotations

import json
from typing import Any

import requests
from botocore.auth import HmacV1Auth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lxml import etree

KMS_HEADERS = {"X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1"}


def _creds(server: Any) -> Credentials:
    c = server.credentials["main"]
    return Credentials(c["access_key"], c["secret_key"])


def _send(request: AWSRequest) -> requests.Response:
    prepared = request.prepare()
    return requests.request(prepared.method, prepared.url, headers=dict(prepared.headers), data=request.data,
                            timeout=10)


def _s3_error(response: requests.Response) -> tuple[int, str, str]:
    root = etree.fromstring(response.content)
    return response.status_code, root.findtext("Code") or "", root.findtext("Message") or ""


def _kms_error(response: requests.Response) -> tuple[int, str, str]:
    document = json.loads(response.content)
    return response.status_code, document["__type"], document["message"]


def test_s3_refuses_a_kms_scoped_signature(server: Any, bucket: str) -> None:
    request = AWSRequest(method="GET", url=f"{server.endpoint}/{bucket}")
    S3SigV4Auth(_creds(server), "kms", server.region).add_auth(request)
    assert _s3_error(_send(request)) == (
        400, "AuthorizationHeaderMalformed",
        'The authorization header is malformed; incorrect service "kms". This endpoint belongs to "s3".')


def test_s3_refuses_a_kms_scoped_presigned_url(server: Any, bucket: str) -> None:
    request = AWSRequest(method="GET", url=f"{server.endpoint}/{bucket}")
    S3SigV4QueryAuth(_creds(server), "kms", server.region, expires=60).add_auth(request)
    assert _s3_error(_send(request)) == (
        400, "AuthorizationQueryParametersError",
        'Error parsing the X-Amz-Credential parameter; incorrect service "kms". This endpoint belongs to "s3".')


def test_kms_refuses_an_s3_scoped_signature(server: Any) -> None:
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=b"{}", headers=KMS_HEADERS)
    SigV4Auth(_creds(server), "s3", server.region).add_auth(request)
    assert _kms_error(_send(request)) == (400, "InvalidSignatureException",
                                          "Credential should be scoped to correct service: 'kms'. ")


def test_kms_refuses_another_region(server: Any) -> None:
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=b"{}", headers=KMS_HEADERS)
    SigV4Auth(_creds(server), "kms", "eu-west-1").add_auth(request)
    assert _kms_error(_send(request)) == (400, "InvalidSignatureException",
                                          "Credential should be scoped to a valid region, not 'eu-west-1'. ")


def test_kms_refuses_sigv2(server: Any) -> None:
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=b"{}", headers=KMS_HEADERS)
    HmacV1Auth(_creds(server)).add_auth(request)
    status, kind, message = _kms_error(_send(request))
    assert (status, kind) == (400, "IncompleteSignatureException")
    assert message.startswith("Authorization header requires 'Credential' parameter.")


class _UnsignedPayload(SigV4Auth):
    def payload(self, request: AWSRequest) -> str:
        return "UNSIGNED-PAYLOAD"


def test_kms_refuses_unsigned_payload(server: Any) -> None:
    headers = dict(KMS_HEADERS, **{"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=b"{}", headers=headers)
    _UnsignedPayload(_creds(server), "kms", server.region).add_auth(request)
    assert _kms_error(_send(request))[:2] == (400, "InvalidSignatureException")
    # the same request signed over its body passes
    signed = AWSRequest(method="POST", url=server.endpoint + "/", data=b"{}", headers=KMS_HEADERS)
    SigV4Auth(_creds(server), "kms", server.region).add_auth(signed)
    assert _send(signed).status_code == 200
