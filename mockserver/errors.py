"""The one S3 error type, the catalogue of every error code the server answers with, and the error document.

CATALOGUE maps each code to its HTTP status and AWS's message text. Errors are built only through `s3_error`, which
looks the code up there, usually by way of a helper below named after the situation; a code's message is given by
the caller only where AWS words it per situation (CATALOGUE message None, or a named variant in a helper).
tests/mockserver/test_error_catalogue.py checks that every code raised anywhere in mockserver is in the table.
Handlers raise the errors; app.py answers with them (no body for HEAD).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

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


class Catalogued(NamedTuple):
    status: int
    message: str | None      # AWS's text; None: AWS words it per situation, the caller gives it


CATALOGUE: dict[str, Catalogued] = {
    # ----- access and authentication -----
    "AccessDenied": Catalogued(403, "Access Denied"),
    "AuthorizationHeaderMalformed": Catalogued(400, None),
    "AuthorizationQueryParametersError": Catalogued(400, None),
    "InvalidAccessKeyId": Catalogued(403, "The AWS Access Key Id you provided does not exist in our records."),
    # The KMS endpoint's JSON errors (app.py renders them as {"__type", "message"}).
    "MissingAuthenticationToken": Catalogued(400, "Missing Authentication Token"),
    "IncompleteSignatureException": Catalogued(400, None),
    "InvalidSignatureException": Catalogued(400, None),
    "RequestTimeTooSkewed": Catalogued(
        403, "The difference between the request time and the current time is too large."),
    "SignatureDoesNotMatch": Catalogued(
        403, "The request signature we calculated does not match the signature you provided. "
             "Check your key and signing method."),
    "XAmzContentSHA256Mismatch": Catalogued(
        400, "The provided 'x-amz-content-sha256' header does not match what was computed."),
    "InvalidPolicyDocument": Catalogued(400, None),
    # ----- the request itself -----
    "BadRequest": Catalogued(400, "An error occurred when parsing the HTTP request."),
    "AccessForbidden": Catalogued(403, "CORSResponse: CORS is not enabled for this bucket."),
    "IncompleteBody": Catalogued(
        400, "You did not provide the number of bytes specified by the Content-Length HTTP header"),
    "InvalidArgument": Catalogued(400, None),
    "InvalidRequest": Catalogued(400, None),
    "InvalidURI": Catalogued(400, "Couldn't parse the specified URI."),
    "MalformedPOSTRequest": Catalogued(400, "The body of your POST request is not well-formed multipart/form-data."),
    "MalformedTrailerError": Catalogued(
        400, "The request contained trailing data that was not well-formed or did not conform to our published "
             "schema."),
    "MalformedXML": Catalogued(
        400, "The XML you provided was not well-formed or did not validate against our published schema"),
    "MaxMessageLengthExceeded": Catalogued(400, "Your request was too big."),
    "MaxPostPreDataLengthExceededError": Catalogued(
        400, "Your POST request fields preceeding the upload file was too large."),
    "MethodNotAllowed": Catalogued(405, "The specified method is not allowed against this resource."),
    "MissingContentLength": Catalogued(411, "You must provide the Content-Length HTTP header."),
    "NotImplemented": Catalogued(501, "A header you provided implies functionality that is not implemented"),
    "RequestHeaderSectionTooLarge": Catalogued(400, "Your request header section exceeds the maximum allowed size."),
    "RequestTimeout": Catalogued(
        400, "Your socket connection to the server was not read from or written to within the timeout period. "
             "Idle connections will be closed."),
    # ----- integrity -----
    "BadDigest": Catalogued(400, "The Content-MD5 you specified did not match what we received."),
    "InvalidDigest": Catalogued(400, "The Content-MD5 you specified was invalid."),
    # ----- buckets -----
    "BucketAlreadyExists": Catalogued(
        409, "The requested bucket name is not available. The bucket namespace is shared by all users of the "
             "system. Please select a different name and try again."),
    "BucketAlreadyOwnedByYou": Catalogued(
        409, "Your previous request to create the named bucket succeeded and you already own it."),
    "BucketNotEmpty": Catalogued(409, "The bucket you tried to delete is not empty"),
    "IllegalLocationConstraintException": Catalogued(400, None),
    "InvalidBucketName": Catalogued(400, "The specified bucket is not valid."),
    "InvalidLocationConstraint": Catalogued(400, "The specified location-constraint is not valid"),
    "NoSuchBucket": Catalogued(404, "The specified bucket does not exist"),
    "OperationAborted": Catalogued(
        409, "A conflicting conditional operation is currently in progress against this resource. Please try "
             "again."),
    "ServerSideEncryptionConfigurationNotFoundError": Catalogued(
        404, "The server side encryption configuration was not found"),
    # ----- objects, versions, uploads -----
    "IllegalVersioningConfigurationException": Catalogued(400, "The Versioning element must be specified"),
    "EntityTooLarge": Catalogued(400, "Your proposed upload exceeds the maximum allowed size"),
    "EntityTooSmall": Catalogued(400, "Your proposed upload is smaller than the minimum allowed size"),
    "InvalidPart": Catalogued(
        400, "One or more of the specified parts could not be found.  The part may not have been uploaded, or the "
             "specified entity tag may not match the part's entity tag."),
    "InvalidPartNumber": Catalogued(416, "The requested partnumber is not satisfiable"),
    "InvalidPartOrder": Catalogued(
        400, "The list of parts was not in ascending order. Parts must be ordered by part number."),
    "InvalidRange": Catalogued(416, "The requested range is not satisfiable"),
    "InvalidStorageClass": Catalogued(400, "The storage class you specified is not valid"),
    "KeyTooLongError": Catalogued(400, "Your key is too long"),
    "MetadataTooLarge": Catalogued(400, "Your metadata headers exceed the maximum allowed metadata size."),
    "InvalidObjectState": Catalogued(403, None),
    "NoSuchKey": Catalogued(404, "The specified key does not exist."),
    # GetPart (2026): the first sentence of the model's documentation of the error (AWS's wording is unrecorded).
    "NoSuchPart": Catalogued(404, "The specified multipart upload part does not exist."),
    # Object annotations (2026): codes and statuses from botocore's model; the messages are the first sentence of
    # the model's documentation of each error (AWS's wording is unrecorded).
    "NoSuchAnnotation": Catalogued(404, "The specified annotation does not exist on this object."),
    "AnnotationNameTooLong": Catalogued(400, "The annotation name exceeds 512 bytes."),
    "AnnotationLimitExceeded": Catalogued(
        400, "The request would exceed the maximum number of annotations allowed per object."),
    "InvalidAnnotationName": Catalogued(400, "The annotation name you provided is invalid."),
    "InvalidPrefix": Catalogued(400, "The annotation prefix you provided is invalid."),
    "UnsupportedMediaType": Catalogued(415, "The annotation payload is not valid UTF-8 encoded text."),
    "NoSuchResource": Catalogued(404, "The specified resource does not exist."),
    "NoSuchUpload": Catalogued(
        404, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
             "aborted or completed."),
    "NoSuchVersion": Catalogued(404, "The specified version does not exist."),
    "PreconditionFailed": Catalogued(412, "At least one of the pre-conditions you specified did not hold"),
    # ----- encryption -----
    "InvalidEncryptionAlgorithmError": Catalogued(400, None),
    # KMS failures as S3 reports them: KMS.<KMS exception name>, status 400, KMS's own message.
    "KMS.AlreadyExistsException": Catalogued(400, None),
    "KMS.DisabledException": Catalogued(400, None),
    "KMS.IncorrectKeyException": Catalogued(400, None),
    "KMS.InvalidCiphertextException": Catalogued(400, None),
    "KMS.KMSInvalidStateException": Catalogued(400, None),
    "KMS.NotAuthorizedException": Catalogued(400, None),
    "KMS.NotFoundException": Catalogued(400, None),
    "KMS.SerializationException": Catalogued(400, None),
    "KMS.UnsupportedOperationException": Catalogued(400, None),
    "KMS.ValidationException": Catalogued(400, None),
    # ----- the server -----
    "InternalError": Catalogued(500, "We encountered an internal error. Please try again."),
}


def s3_error(code: str, message: str | None = None, fields: Mapping[str, str] | None = None,
             headers: Mapping[str, str] | None = None) -> S3Error:
    """The error `code` with its catalogued status; `message` replaces the catalogued text (required where the
    catalogue has none). KeyError for a code that is not catalogued."""
    entry = CATALOGUE[code]
    text = message if message is not None else entry.message
    if text is None:
        raise ValueError(f"{code} has no catalogued message: the caller words it")
    return S3Error(code, text, entry.status, dict(fields or {}), dict(headers or {}))


def error_body(error: S3Error, request_id: str, host_id: str) -> bytes:
    """S3's error document: Code, Message, the error's extra fields, RequestId, HostId."""
    out = [XML_DECLARATION, "<Error><Code>", escape_strict(error.code), "</Code><Message>",
           escape_strict(error.message), "</Message>"]
    for name, value in error.fields.items():
        out.append(f"<{name}>{escape_strict(str(value))}</{name}>")
    out.append(f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>")
    return "".join(out).encode()


# ----- helpers named after the situation. Constructors, not singletons: fields differ per request. -----
def _argument(name: str | None, value: str | None) -> dict[str, str]:
    fields = {}
    if name is not None:
        fields["ArgumentName"] = name
    if value is not None:
        fields["ArgumentValue"] = value
    return fields


def invalid_argument(message: str, name: str | None = None, value: str | None = None) -> S3Error:
    return s3_error("InvalidArgument", message, _argument(name, value))


def invalid_request(message: str) -> S3Error:
    return s3_error("InvalidRequest", message)


def access_denied(message: str | None = None) -> S3Error:
    return s3_error("AccessDenied", message)


def not_implemented(what: str | None = None, header: str | None = None) -> S3Error:
    return s3_error("NotImplemented", what, {"Header": header} if header else {})


def internal_error() -> S3Error:
    return s3_error("InternalError")


def method_not_allowed(method: str, resource: str) -> S3Error:
    return s3_error("MethodNotAllowed", fields={"Method": method, "ResourceType": resource})


def no_such_resource() -> S3Error:
    return s3_error("NoSuchResource")


def invalid_uri() -> S3Error:
    return s3_error("InvalidURI")


def bad_request() -> S3Error:
    """A request the HTTP parser cannot read."""
    return s3_error("BadRequest")


def request_timeout() -> S3Error:
    """A body or header section that stopped arriving."""
    return s3_error("RequestTimeout")


def incomplete_body() -> S3Error:
    """The client stopped sending before Content-Length bytes arrived."""
    return s3_error("IncompleteBody")


def request_header_section_too_large(limit: int) -> S3Error:
    return s3_error("RequestHeaderSectionTooLarge", fields={"MaxSizeAllowed": str(limit)})


def max_message_length_exceeded() -> S3Error:
    return s3_error("MaxMessageLengthExceeded")


def missing_content_length() -> S3Error:
    return s3_error("MissingContentLength")


def malformed_xml() -> S3Error:
    return s3_error("MalformedXML")


def malformed_post_request() -> S3Error:
    return s3_error("MalformedPOSTRequest")


def post_fields_too_large() -> S3Error:
    return s3_error("MaxPostPreDataLengthExceededError")


def missing_integrity_header() -> S3Error:
    return invalid_request("Missing required header for this request: Content-Md5.")


def invalid_digest() -> S3Error:
    return s3_error("InvalidDigest")


def bad_digest() -> S3Error:
    return s3_error("BadDigest")


def checksum_mismatch(algorithm: str) -> S3Error:
    """BadDigest for an x-amz-checksum-* value that does not match the body."""
    return s3_error("BadDigest", f"The {algorithm.upper()} you specified did not match the calculated checksum.")


def no_such_bucket(bucket: str) -> S3Error:
    return s3_error("NoSuchBucket", fields={"BucketName": bucket})


def invalid_bucket_name(bucket: str) -> S3Error:
    return s3_error("InvalidBucketName", fields={"BucketName": bucket})


def bucket_already_owned_by_you(bucket: str) -> S3Error:
    return s3_error("BucketAlreadyOwnedByYou", fields={"BucketName": bucket})


def bucket_already_exists(bucket: str) -> S3Error:
    return s3_error("BucketAlreadyExists", fields={"BucketName": bucket})


def bucket_operation_aborted(bucket: str) -> S3Error:
    return s3_error("OperationAborted", fields={"BucketName": bucket})


def bucket_not_empty(bucket: str) -> S3Error:
    return s3_error("BucketNotEmpty", fields={"BucketName": bucket})


def invalid_location_constraint(constraint: str) -> S3Error:
    return s3_error("InvalidLocationConstraint", fields={"LocationConstraint": constraint})


def illegal_location_constraint(constraint: str) -> S3Error:
    """A LocationConstraint other than the endpoint's region."""
    return s3_error("IllegalLocationConstraintException",
                    f"The {constraint} location constraint is incompatible for the region specific endpoint this "
                    "request was sent to.")


def illegal_versioning_configuration() -> S3Error:
    """A VersioningConfiguration without Status (recorded for `<VersioningConfiguration/>`)."""
    return s3_error("IllegalVersioningConfigurationException")


def no_such_key(key: str) -> S3Error:
    return s3_error("NoSuchKey", fields={"Key": key})


def no_such_version(key: str, version_id: str) -> S3Error:
    return s3_error("NoSuchVersion", fields={"Key": key, "VersionId": version_id})


def no_such_upload(upload_id: str) -> S3Error:
    return s3_error("NoSuchUpload", fields={"UploadId": upload_id})


def precondition_failed(condition: str) -> S3Error:
    return s3_error("PreconditionFailed", fields={"Condition": condition})


def key_too_long(size: int, limit: int) -> S3Error:
    return s3_error("KeyTooLongError", fields={"Size": str(size), "MaxSizeAllowed": str(limit)})


def metadata_too_large(size: int, limit: int) -> S3Error:
    return s3_error("MetadataTooLarge", fields={"Size": str(size), "MaxSizeAllowed": str(limit)})


def invalid_storage_class(requested: str) -> S3Error:
    return s3_error("InvalidStorageClass", fields={"StorageClassRequested": requested})


def entity_too_large(size: int, limit: int) -> S3Error:
    return s3_error("EntityTooLarge", fields={"ProposedSize": str(size), "MaxSizeAllowed": str(limit)})


def entity_too_small(size: int, limit: int, extra: Mapping[str, str] | None = None) -> S3Error:
    """A part (or POST file) under the minimum size; `extra`: PartNumber and ETag of a multipart part."""
    return s3_error("EntityTooSmall", fields={"ProposedSize": str(size), "MinSizeAllowed": str(limit), **(extra or {})})


def invalid_range(requested: str, size: int) -> S3Error:
    return s3_error("InvalidRange", fields={"RangeRequested": requested, "ActualObjectSize": str(size)},
                    headers={"content-range": f"bytes */{size}"})


def invalid_part_number(requested: int, count: int) -> S3Error:
    return s3_error("InvalidPartNumber", fields={"PartNumberRequested": str(requested), "ActualPartCount": str(count)})


def invalid_part(upload_id: str, number: int, etag: str) -> S3Error:
    return s3_error("InvalidPart", fields={"UploadId": upload_id, "PartNumber": str(number), "ETag": etag})


def invalid_part_order(upload_id: str) -> S3Error:
    return s3_error("InvalidPartOrder", fields={"UploadId": upload_id})


def kms_failure(kms_type: str, message: str) -> S3Error:
    """A KMS failure as S3 reports it: code KMS.<KMS exception name>, KMS's message."""
    return s3_error(f"KMS.{kms_type}", message)
