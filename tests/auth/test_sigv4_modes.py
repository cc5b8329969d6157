"""SigV4 header and presigned authentication, botocore-signed, passing and failing."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from mockserver.accounts import ALT, MAIN
from mockserver.auth import IncomingRequest, authenticate
from mockserver.errors import S3Error
from tests.auth.helpers import ACCOUNTS, REGION, decode, now, presigned_request, sigv4_request

URL = "http://127.0.0.1:9000/bucket/some%20key/%E2%82%AC.txt"


def auth(req: IncomingRequest, when=None, region: str = REGION):
    return authenticate(req, ACCOUNTS, region, when or now())


def error_of(req: IncomingRequest, when=None, region: str = REGION) -> S3Error:
    with pytest.raises(S3Error) as caught:
        auth(req, when, region)
    return caught.value


def with_header(req: IncomingRequest, name: str, value: str) -> IncomingRequest:
    headers = [(k, value if k == name else v) for k, v in req.headers]
    return replace(req, headers=headers)


def test_anonymous_request_has_no_account():
    result = auth(IncomingRequest("GET", "/bucket/key", "", [("host", "x")], False))
    assert result.account is None and result.signature_version == 0


@pytest.mark.parametrize("account", [MAIN, ALT], ids=["main", "alt"])
def test_header_signature_identifies_the_account(account):
    result = auth(sigv4_request("GET", URL + "?list-type=2&prefix=a%2Fb&encryption", account=account))
    assert result.account == account and result.signature_version == 4 and not result.presigned


def test_signed_payload_is_verified_while_streaming():
    body = b"x" * 100_000
    result = auth(sigv4_request("PUT", URL, body=body))
    assert decode(result, [body[:30_000], body[30_000:]]) == body


def test_signed_payload_mismatch_raises_before_the_last_piece():
    body = b"x" * 100_000
    result = auth(sigv4_request("PUT", URL, body=body))
    received = []

    async def consume():
        async def source():
            yield body[:50_000]
            yield b"y" * 50_000
        async for piece in result.decode_body(source()):
            received.append(piece)

    import asyncio
    with pytest.raises(S3Error) as caught:
        asyncio.run(consume())
    assert caught.value.code == "XAmzContentSHA256Mismatch" and caught.value.status == 400
    assert caught.value.fields["ClientComputedContentSHA256"] != caught.value.fields["S3ComputedContentSHA256"]
    assert sum(map(len, received)) < 100_000


def test_unsigned_payload_passes_the_body_through():
    result = auth(sigv4_request("PUT", URL, body=b"abc", sign_payload=False))
    assert result.payload_mode == "UNSIGNED-PAYLOAD"
    assert decode(result, [b"anything"]) == b"anything"


def test_wrong_secret_gives_signature_does_not_match_with_aws_fields():
    req = sigv4_request("GET", URL, account=replace(MAIN, secret_key="not-the-secret"))
    error = error_of(req)
    assert (error.status, error.code) == (403, "SignatureDoesNotMatch")
    assert error.message.startswith("The request signature we calculated does not match")
    assert error.fields["AWSAccessKeyId"] == MAIN.access_key
    assert error.fields["CanonicalRequest"].startswith("GET\n/bucket/some%20key/%E2%82%AC.txt\n")
    assert error.fields["StringToSign"].split("\n")[2].endswith("/us-east-1/s3/aws4_request")
    assert set(error.fields) >= {"SignatureProvided", "StringToSignBytes", "CanonicalRequestBytes"}


def test_tampered_signed_header_fails():
    req = sigv4_request("PUT", URL, headers={"x-amz-server-side-encryption": "AES256"})
    assert error_of(with_header(req, "x-amz-server-side-encryption", "aws:kms")).code == "SignatureDoesNotMatch"


def test_tampered_query_fails():
    req = sigv4_request("GET", URL + "?prefix=a")
    assert error_of(replace(req, query_string="prefix=b")).code == "SignatureDoesNotMatch"


def test_unsigned_amz_header_is_rejected():
    req = sigv4_request("PUT", URL)
    req.headers.append(("x-amz-server-side-encryption", "AES256"))
    error = error_of(req)
    assert (error.status, error.code, error.fields["HeadersNotSigned"]) == (403, "AccessDenied",
                                                                            "x-amz-server-side-encryption")


def test_unknown_access_key():
    error = error_of(sigv4_request("GET", URL, account=replace(MAIN, access_key="AKIAUNKNOWN000000000")))
    assert (error.status, error.code) == (403, "InvalidAccessKeyId")
    assert error.message == "The AWS Access Key Id you provided does not exist in our records."
    assert error.fields == {"AWSAccessKeyId": "AKIAUNKNOWN000000000"}


def test_wrong_region_is_authorization_header_malformed_with_region():
    error = error_of(sigv4_request("GET", URL, region="eu-west-1"))
    assert (error.status, error.code) == (400, "AuthorizationHeaderMalformed")
    assert error.message == ("The authorization header is malformed; the region 'eu-west-1' is wrong; "
                             "expecting 'us-east-1'")
    assert error.fields == {"Region": "us-east-1"}


def test_other_service_in_scope_is_malformed():
    error = error_of(sigv4_request("GET", URL, service="ec2"))
    assert error.code == "AuthorizationHeaderMalformed" and 'incorrect service "ec2"' in error.message


@pytest.mark.parametrize("credential", ["AKIAMOCKMAIN00000001/20260101/us-east-1/s3",
                                        "AKIAMOCKMAIN00000001/2026/us-east-1/s3/aws4_request", "garbage"])
def test_malformed_credential(credential):
    req = sigv4_request("GET", URL)
    value = dict(req.headers)["authorization"]
    start = value.index("Credential=") + len("Credential=")
    broken = value[:start] + credential + value[value.index(",", start):]
    error = error_of(with_header(req, "authorization", broken))
    assert error.code == "AuthorizationHeaderMalformed" and "Credential is mal-formed" in error.message


def test_authorization_header_without_signature_is_malformed():
    req = sigv4_request("GET", URL)
    value = dict(req.headers)["authorization"]
    error = error_of(with_header(req, "authorization", value[:value.index(", Signature=")]))
    assert error.code == "AuthorizationHeaderMalformed"


def test_unsupported_authorization_scheme():
    req = IncomingRequest("GET", "/b", "", [("host", "x"), ("authorization", "Bearer abc")], False)
    error = error_of(req)
    assert (error.status, error.code, error.fields["ArgumentName"]) == (400, "InvalidArgument", "Authorization")


@pytest.mark.parametrize("minutes, skewed", [(14, False), (-14, False), (16, True), (-16, True)])
def test_request_time_skew_limit_is_fifteen_minutes(minutes, skewed):
    req = sigv4_request("GET", URL)
    when = now() + timedelta(minutes=minutes)
    if not skewed:
        assert auth(req, when).account == MAIN
        return
    error = error_of(req, when)
    assert (error.status, error.code) == (403, "RequestTimeTooSkewed")
    assert error.fields["MaxAllowedSkewMilliseconds"] == "900000"


def test_missing_date_is_access_denied():
    req = sigv4_request("GET", URL)
    req = replace(req, headers=[(k, v) for k, v in req.headers if k != "x-amz-date"])
    error = error_of(req)
    assert (error.status, error.code) == (403, "AccessDenied")
    assert error.message == "AWS authentication requires a valid Date or x-amz-date header"


def test_missing_content_sha256_header():
    req = sigv4_request("GET", URL)
    req = replace(req, headers=[(k, v) for k, v in req.headers if k != "x-amz-content-sha256"])
    error = error_of(req)
    assert (error.code, error.message) == ("InvalidRequest",
                                           "Missing required header for this request: x-amz-content-sha256")


def test_invalid_content_sha256_value():
    error = error_of(with_header(sigv4_request("PUT", URL), "x-amz-content-sha256", "not-a-hash"))
    assert (error.code, error.fields["ArgumentName"]) == ("InvalidArgument", "x-amz-content-sha256")


def test_kms_scope_signature_covers_the_body():
    body = b'{"KeyId": "alias/x"}'
    headers = {"X-Amz-Target": "TrentService.DescribeKey", "Content-Type": "application/x-amz-json-1.1"}
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    from tests.auth.helpers import creds, incoming
    request = AWSRequest(method="POST", url="http://127.0.0.1:9000/", headers=headers, data=body)
    SigV4Auth(creds(), "kms", REGION).add_auth(request)
    result = authenticate(incoming(request), ACCOUNTS, REGION, now(), "kms")
    assert result.service == "kms" and decode(result, [body]) == body
    result = authenticate(incoming(request), ACCOUNTS, REGION, now(), "kms")
    with pytest.raises(S3Error) as caught:
        decode(result, [body.replace(b"x", b"y")])
    assert caught.value.code == "SignatureDoesNotMatch"


# ---- presigned URLs
def test_presigned_url_verifies():
    result = auth(presigned_request("GET", URL))
    assert result.account == MAIN and result.presigned and result.signature_version == 4


def test_presigned_url_with_signed_sse_header():
    req = presigned_request("PUT", URL, headers={"x-amz-server-side-encryption": "aws:kms"})
    assert auth(req).account == MAIN
    assert error_of(with_header(req, "x-amz-server-side-encryption", "AES256")).code == "SignatureDoesNotMatch"


def test_presigned_url_expires():
    req = presigned_request("GET", URL, expires=60)
    assert auth(req, now() + timedelta(seconds=50)).account == MAIN
    error = error_of(req, now() + timedelta(seconds=70))
    assert (error.status, error.code, error.message) == (403, "AccessDenied", "Request has expired")
    assert error.fields["X-Amz-Expires"] == "60" and "ServerTime" in error.fields and "Expires" in error.fields


def test_presigned_url_longer_than_seven_days_is_rejected():
    error = error_of(presigned_request("GET", URL, expires=604801))
    assert (error.status, error.code) == (400, "AuthorizationQueryParametersError")
    assert "604800" in error.message
    assert auth(presigned_request("GET", URL, expires=604800)).account == MAIN


def test_presigned_url_tampered_signature():
    req = presigned_request("GET", URL)
    query = req.query_string.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert error_of(replace(req, query_string=query)).code == "SignatureDoesNotMatch"


def test_presigned_url_wrong_region():
    error = error_of(presigned_request("GET", URL, region="eu-west-1"))
    assert (error.code, error.fields) == ("AuthorizationQueryParametersError", {"Region": "us-east-1"})
    assert "the region 'eu-west-1' is wrong; expecting 'us-east-1'" in error.message


def test_presigned_url_missing_parameter():
    req = presigned_request("GET", URL)
    query = "&".join(p for p in req.query_string.split("&") if not p.startswith("X-Amz-Expires="))
    assert error_of(replace(req, query_string=query)).code == "AuthorizationQueryParametersError"


def test_header_and_query_auth_together_is_rejected():
    req = presigned_request("GET", URL)
    req.headers.append(("authorization", "AWS4-HMAC-SHA256 Credential=x"))
    assert error_of(req).code == "InvalidArgument"
