"""The one S3 error type. Handlers raise it; app.py renders it (S3 error XML, no body for HEAD)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class S3Error(Exception):
    code: str
    message: str
    status: int = 400
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        return f"{self.status} {self.code}: {self.message}"


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


def not_implemented(what: str = "A header you provided implies functionality that is not implemented") -> S3Error:
    return S3Error("NotImplemented", what, 501)
