"""Reading and validating SSE request headers, with AWS's error codes and texts.

Sources: /work/shared/reference/aws-sse-behaviour.md (SSE-C table, observed) unless a line says otherwise.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from mockserver.errors import S3Error, access_denied, invalid_argument, s3_error

SSE = "x-amz-server-side-encryption"
SSE_KMS_KEY = "x-amz-server-side-encryption-aws-kms-key-id"
SSE_CONTEXT = "x-amz-server-side-encryption-context"
SSE_BUCKET_KEY = "x-amz-server-side-encryption-bucket-key-enabled"
SSEC_PREFIX = "x-amz-server-side-encryption-customer-"
COPY_SSEC_PREFIX = "x-amz-copy-source-server-side-encryption-customer-"
SSEC_ALGORITHM = SSEC_PREFIX + "algorithm"
SSEC_KEY_MD5 = SSEC_PREFIX + "key-md5"

# SSE-C (reference table, observed)
MSG_SSEC_WITH_SSE = ("Server Side Encryption with Customer provided key is incompatible with the encryption "
                     "method specified")
MSG_SSEC_BAD_ALGORITHM = "The Encryption request you specified is not valid. Supported value: AES256."
MSG_SSEC_NO_ALGORITHM = ("Requests specifying Server Side Encryption with Customer provided keys must provide a "
                         "valid encryption algorithm.")
MSG_SSEC_NO_KEY = ("Requests specifying Server Side Encryption with Customer provided keys must provide an "
                   "appropriate secret key.")
MSG_SSEC_BAD_KEY = "The secret key was invalid for the specified algorithm."
MSG_SSEC_MD5_MISMATCH = "The calculated MD5 hash of the key did not match the hash that was provided."
MSG_SSEC_NEEDED = ("The object was stored using a form of Server Side Encryption. The correct parameters must be "
                   "provided to retrieve the object.")
MSG_SSEC_WRONG_KEY = ("Requests specifying Server Side Encryption with Customer provided keys must provide the "
                      "correct secret key.")
MSG_PART_NEEDS_SSEC = ("The multipart upload initiate requested encryption. Subsequent part requests must include "
                       "the appropriate encryption parameters.")
MSG_PART_SSEC_DIFFERS = "The provided encryption parameters did not match the ones used originally."
# AWS's answer to SSE-C over plain HTTP (400 InvalidRequest).
MSG_SSEC_NEEDS_TLS = ("Requests specifying Server Side Encryption with Customer provided keys must be made over a "
                      "secure connection.")
# SSE-C headers on an object that is not SSE-C (boto/boto3#982, AWS's answer quoted there).
MSG_SSEC_NOT_APPLICABLE = "The encryption parameters are not applicable to this object."
# x-amz-server-side-encryption on GET/HEAD (s3tools/s3cmd#276, AWS's answer: 400 InvalidArgument).
MSG_HEADER_NOT_SUPPORTED = "{header} header is not supported for this operation."
# Unsupported x-amz-server-side-encryption value (bloomreach/s4cmd#63, AWS's answer: 400 InvalidArgument).
MSG_SSE_UNSUPPORTED = "The encryption method specified is not supported"
# KMS key id without x-amz-server-side-encryption: aws:kms (AWS's InvalidArgument text).
MSG_KMS_KEY_NEEDS_KMS = ("Server Side Encryption with AWS KMS managed key requires HTTP header "
                         "x-amz-server-side-encryption : {algorithm}")
MSG_KMS_NEEDS_SIGV4 = ("Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature "
                       "Version 4.")
MSG_BAD_CONTEXT = ("The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string holding "
                   "JSON which represents a string-string map")


def invalid_request(message: str) -> S3Error:
    return s3_error("InvalidRequest", message)


@dataclass(frozen=True)
class CustomerKey:
    key: bytes         # 32 bytes; never stored, never logged
    md5_b64: str       # as the client sent it (validated)

    def __repr__(self) -> str:          # keep the key out of logs and tracebacks
        return f"CustomerKey(md5={self.md5_b64})"


_SSEC_NAMES: dict[str, tuple[str, str, str]] = {}


def has_ssec(headers: Mapping[str, str], prefix: str = SSEC_PREFIX) -> bool:
    names = _SSEC_NAMES.get(prefix)
    if names is None:        # the two prefixes, each built once (this runs on every PUT, GET and HEAD)
        names = _SSEC_NAMES[prefix] = (prefix + "algorithm", prefix + "key", prefix + "key-md5")
    return names[0] in headers or names[1] in headers or names[2] in headers


def parse_customer_key(headers: Mapping[str, str], prefix: str = SSEC_PREFIX, *,
                       read: bool = False) -> CustomerKey | None:
    """The SSE-C triple under `prefix`, validated; None when none of the three headers is present.

    Every SSE-C validation error names ArgumentName x-amz-server-side-encryption, whichever header is wrong and
    for the copy-source headers too (LocalStack's AWS recordings test_put_object_validation_sse_c,
    test_object_retrieval_sse_c, test_copy_object_with_sse_c). `read`: GET/HEAD/copy source of an SSE-C object,
    where key material of the wrong size with a matching MD5 is 403 AccessDenied "...the correct secret key."
    (recorded for GET and HEAD: test_object_retrieval_sse_c get-obj-sse-c-no-md5 / head-obj-sse-c-no-md5);
    writes answer 400 "The secret key was invalid..." (put-obj-sse-c-wrong-key-size). A request without the
    key-MD5 header: AWS's answer is unrecorded; this keeps the wrong-key answer."""
    algorithm = headers.get(prefix + "algorithm")
    key_b64 = headers.get(prefix + "key")
    md5_b64 = headers.get(prefix + "key-md5")
    if algorithm is None and key_b64 is None and md5_b64 is None:
        return None
    if algorithm is None:
        raise invalid_argument(MSG_SSEC_NO_ALGORITHM, SSE)
    if algorithm != "AES256":
        raise s3_error("InvalidEncryptionAlgorithmError", MSG_SSEC_BAD_ALGORITHM,
                       {"ArgumentName": SSE, "ArgumentValue": algorithm})
    if key_b64 is None:
        raise invalid_argument(MSG_SSEC_NO_KEY, SSE)
    try:
        key = base64.b64decode(key_b64, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_argument(MSG_SSEC_BAD_KEY, SSE) from None
    md5_matches = bool(md5_b64) and base64.b64encode(hashlib.md5(key).digest()).decode() == md5_b64
    if len(key) != 32 and read and md5_matches:
        raise access_denied(MSG_SSEC_WRONG_KEY)
    if len(key) != 32 or not md5_b64:
        raise invalid_argument(MSG_SSEC_BAD_KEY, SSE)
    if not md5_matches:
        raise invalid_argument(MSG_SSEC_MD5_MISMATCH, SSE)
    return CustomerKey(key, md5_b64)


def parse_bucket_key_header(headers: Mapping[str, str]) -> bool | None:
    value = headers.get(SSE_BUCKET_KEY)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise invalid_argument(f"Invalid value for header {SSE_BUCKET_KEY}", SSE_BUCKET_KEY, value)


def parse_context_header(headers: Mapping[str, str]) -> dict[str, str] | None:
    value = headers.get(SSE_CONTEXT)
    if value is None:
        return None
    try:
        ctx = json.loads(base64.b64decode(value, validate=True).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):  # deep nesting: bad input
        raise invalid_argument(MSG_BAD_CONTEXT, SSE_CONTEXT, value) from None
    if not isinstance(ctx, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in ctx.items()):
        raise invalid_argument(MSG_BAD_CONTEXT, SSE_CONTEXT, value)
    return ctx


def encode_context(ctx: Mapping[str, str]) -> str:
    return base64.b64encode(json.dumps(dict(ctx), separators=(",", ":")).encode()).decode()
