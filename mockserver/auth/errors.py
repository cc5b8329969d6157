"""Authentication errors named after the situation: AWS's codes and statuses from the catalogue (mockserver.errors),
the situation's message where AWS words one, and the extra fields."""
from __future__ import annotations

from datetime import datetime

from mockserver.errors import S3Error, s3_error


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
    return s3_error("SignatureDoesNotMatch", fields=fields)


def invalid_access_key_id(access_key: str) -> S3Error:
    return s3_error("InvalidAccessKeyId", fields={"AWSAccessKeyId": access_key})


def header_malformed(detail: str, region: str | None = None) -> S3Error:
    fields = {"Region": region} if region is not None else {}
    return s3_error("AuthorizationHeaderMalformed", f"The authorization header is malformed; {detail}", fields)


def query_parameters_error(message: str, region: str | None = None) -> S3Error:
    fields = {"Region": region} if region is not None else {}
    return s3_error("AuthorizationQueryParametersError", message, fields)


def missing_date() -> S3Error:
    return s3_error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")


def request_time_too_skewed(request_time: datetime, server_time: datetime) -> S3Error:
    return s3_error("RequestTimeTooSkewed", fields={"RequestTime": iso_utc(request_time),
                                                    "ServerTime": iso_utc(server_time),
                                                    "MaxAllowedSkewMilliseconds": "900000"})


def request_expired(expires_seconds: int, expires_at: datetime, server_time: datetime) -> S3Error:
    return s3_error("AccessDenied", "Request has expired",
                    {"X-Amz-Expires": str(expires_seconds), "Expires": iso_utc(expires_at),
                     "ServerTime": iso_utc(server_time)})


def request_not_yet_valid(request_time: datetime, expires_at: datetime, server_time: datetime) -> S3Error:
    """A presigned URL dated in the future. AWS's answer, recorded in public reports (minio/minio#2638,
    dmjio/s3-signer#16): 403 AccessDenied "Request is not yet valid" with X-Amz-Date (epoch milliseconds, as AWS
    writes it), Expires and ServerTime."""
    return s3_error("AccessDenied", "Request is not yet valid",
                    {"X-Amz-Date": str(int(request_time.timestamp()) * 1000), "Expires": iso_utc(expires_at),
                     "ServerTime": iso_utc(server_time)})


def headers_not_signed(names: list[str]) -> S3Error:
    return s3_error("AccessDenied", "There were headers present in the request which were not signed",
                    {"HeadersNotSigned": ", ".join(names)})


def content_sha256_mismatch(client_value: str, computed: str) -> S3Error:
    return s3_error("XAmzContentSHA256Mismatch",
                    fields={"ClientComputedContentSHA256": client_value, "S3ComputedContentSHA256": computed})


def invalid_content_sha256() -> S3Error:
    return s3_error(
        "InvalidArgument",
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
        "or a valid sha256 value.", {"ArgumentName": "x-amz-content-sha256"})


def missing_content_sha256() -> S3Error:
    return s3_error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256")


def incomplete_body() -> S3Error:
    return s3_error("IncompleteBody", "The request body terminated unexpectedly")


def malformed_trailer() -> S3Error:
    return s3_error("MalformedTrailerError")


def invalid_chunk_encoding(detail: str) -> S3Error:
    return s3_error("InvalidRequest", f"Invalid aws-chunked encoding: {detail}")


def missing_decoded_length() -> S3Error:
    return s3_error("MissingContentLength")


def access_denied_post() -> S3Error:
    return s3_error("AccessDenied")
