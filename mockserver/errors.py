"""The one S3 error type and its XML document. Handlers raise it; app.py answers with it (no body for HEAD)."""
from __future__ import annotations

from dataclasses import dataclass, field

from mockserver.xmltext import XML_DECLARATION, escape_strict


@dataclass
class S3Error(Exception):
    code: str
    message: str
    status: int = 400
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        return f"{self.status} {self.code}: {self.message}"


def error_body(error: S3Error, request_id: str, host_id: str) -> bytes:
    """S3's error document: Code, Message, the error's extra fields, RequestId, HostId."""
    out = [XML_DECLARATION, "<Error><Code>", escape_strict(error.code), "</Code><Message>",
           escape_strict(error.message), "</Message>"]
    for name, value in error.fields.items():
        out.append(f"<{name}>{escape_strict(str(value))}</{name}>")
    out.append(f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>")
    return "".join(out).encode()


# Frequently raised errors, with AWS's wording. Constructors, not singletons: fields differ per request.
def malformed_xml() -> S3Error:
    return S3Error(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )


def invalid_argument(message: str, name: str | None = None, value: str | None = None) -> S3Error:
    fields = {}
    if name is not None:
        fields["ArgumentName"] = name
    if value is not None:
        fields["ArgumentValue"] = value
    return S3Error("InvalidArgument", message, 400, fields)


def access_denied(message: str = "Access Denied") -> S3Error:
    return S3Error("AccessDenied", message, 403)


def no_such_bucket(bucket: str) -> S3Error:
    return S3Error("NoSuchBucket", "The specified bucket does not exist", 404, {"BucketName": bucket})


def no_such_key(key: str) -> S3Error:
    return S3Error("NoSuchKey", "The specified key does not exist.", 404, {"Key": key})


def not_implemented(what: str = "A header you provided implies functionality that is not implemented",
                    header: str | None = None) -> S3Error:
    return S3Error("NotImplemented", what, 501, {"Header": header} if header else {})


def internal_error() -> S3Error:
    return S3Error("InternalError", "We encountered an internal error. Please try again.", 500)


def invalid_request(message: str) -> S3Error:
    return S3Error("InvalidRequest", message, 400)


def method_not_allowed(method: str, resource: str) -> S3Error:
    return S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.", 405,
                   {"Method": method, "ResourceType": resource})


def missing_integrity_header() -> S3Error:
    return invalid_request("Missing required header for this request: Content-Md5.")


def invalid_digest() -> S3Error:
    return S3Error("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)


def bad_digest() -> S3Error:
    return S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.", 400)


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error("NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the "
                   "upload may have been aborted or completed.", 404, {"UploadId": upload_id})


def no_such_version(key: str, version_id: str) -> S3Error:
    return S3Error("NoSuchVersion", "The specified version does not exist.", 404,
                   {"Key": key, "VersionId": version_id})


def invalid_bucket_name(bucket: str) -> S3Error:
    return S3Error("InvalidBucketName", "The specified bucket is not valid.", 400, {"BucketName": bucket})


def precondition_failed(condition: str) -> S3Error:
    return S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412,
                   {"Condition": condition})


def entity_too_large(size: int, limit: int) -> S3Error:
    return S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400,
                   {"ProposedSize": str(size), "MaxSizeAllowed": str(limit)})
