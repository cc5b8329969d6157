"""Authentication errors with AWS's codes, statuses, messages and extra fields."""
from __future__ import annotations

from datetime import datetime

from mockserver.errors import S3Error

SIGNATURE_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


def _hex_bytes(text: str) -> str:
    return " ".join(f"{b:02x}" for b in text.encode("utf-8"))


def iso_utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def signature_does_not_match(access_key: str, string_to_sign: str, provided: str,
                             canonical_request: str | None = None) -> S3Error:
    fields = {
        "AWSAccessKeyId": access_key,
        "StringToSign": string_to_sign,
        "SignatureProvided": provided,
        "StringToSignBytes": _hex_bytes(string_to_sign),
    }
    if canonical_request is not None:
        fields["CanonicalRequest"] = canonical_request
        fields["CanonicalRequestBytes"] = _hex_bytes(canonical_request)
    return S3Error("SignatureDoesNotMatch", SIGNATURE_MISMATCH_MESSAGE, 403, fields)


def invalid_access_key_id(access_key: str) -> S3Error:
    return S3Error("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403,
                   {"AWSAccessKeyId": access_key})


def header_malformed(detail: str, region: str | None = None) -> S3Error:
    fields = {"Region": region} if region is not None else {}
    return S3Error("AuthorizationHeaderMalformed", f"The authorization header is malformed; {detail}", 400, fields)


def query_parameters_error(message: str, region: str | None = None) -> S3Error:
    fields = {"Region": region} if region is not None else {}
    return S3Error("AuthorizationQueryParametersError", message, 400, fields)


def missing_date() -> S3Error:
    return S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", 403)


def request_time_too_skewed(request_time: datetime, server_time: datetime) -> S3Error:
    return S3Error("RequestTimeTooSkewed",
                   "The difference between the request time and the current time is too large.", 403,
                   {"RequestTime": iso_utc(request_time), "ServerTime": iso_utc(server_time),
                    "MaxAllowedSkewMilliseconds": "900000"})


def request_expired(expires_seconds: int, expires_at: datetime, server_time: datetime) -> S3Error:
    return S3Error("AccessDenied", "Request has expired", 403,
                   {"X-Amz-Expires": str(expires_seconds), "Expires": iso_utc(expires_at),
                    "ServerTime": iso_utc(server_time)})


def request_not_yet_valid(request_time: datetime, expires_at: datetime, server_time: datetime) -> S3Error:
    """A presigned URL dated in the future. AWS's answer, recorded in public reports (minio/minio#2638,
    dmjio/s3-signer#16): 403 AccessDenied "Request is not yet valid" with X-Amz-Date (epoch milliseconds, as AWS
    writes it), Expires and ServerTime."""
    return S3Error("AccessDenied", "Request is not yet valid", 403,
                   {"X-Amz-Date": str(int(request_time.timestamp()) * 1000), "Expires": iso_utc(expires_at),
                    "ServerTime": iso_utc(server_time)})


def headers_not_signed(names: list[str]) -> S3Error:
    return S3Error("AccessDenied", "There were headers present in the request which were not signed", 403,
                   {"HeadersNotSigned": ", ".join(names)})


def content_sha256_mismatch(client_value: str, computed: str) -> S3Error:
    return S3Error("XAmzContentSHA256Mismatch",
                   "The provided 'x-amz-content-sha256' header does not match what was computed.", 400,
                   {"ClientComputedContentSHA256": client_value, "S3ComputedContentSHA256": computed})


def invalid_content_sha256() -> S3Error:
    return S3Error(
        "InvalidArgument",
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
        "or a valid sha256 value.", 400, {"ArgumentName": "x-amz-content-sha256"})


def missing_content_sha256() -> S3Error:
    return S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400)


def incomplete_body() -> S3Error:
    return S3Error("IncompleteBody", "The request body terminated unexpectedly", 400)


def malformed_trailer() -> S3Error:
    return S3Error("MalformedTrailerError",
                   "The request contained trailing data that was not well-formed or did not conform to our "
                   "published schema.", 400)


def invalid_chunk_encoding(detail: str) -> S3Error:
    return S3Error("InvalidRequest", f"Invalid aws-chunked encoding: {detail}", 400)


def missing_decoded_length() -> S3Error:
    return S3Error("MissingContentLength", "You must provide the Content-Length HTTP header.", 411)


def access_denied_post() -> S3Error:
    return S3Error("AccessDenied", "Access Denied", 403)
