"""The SigV4 credential scope `<access key>/<yyyymmdd>/<region>/<service>/aws4_request` and its checks."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from mockserver.errors import S3Error, s3_error

SERVICES = ("s3", "kms")     # KMS answers on the same port, with credentials scoped to "kms"

MalformedError = Callable[[str, "str | None"], S3Error]


@dataclass(frozen=True)
class Credential:
    access_key: str
    date: str
    region: str
    service: str

    @cached_property        # (credentials are kept by the parse and presigned-query caches: made once each)
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def kms_scope_error(cred_region: str, region: str, service: str) -> S3Error | None:
    """KMS (a JSON-protocol service) names each wrong scope part in one InvalidSignatureException, as AWS's
    JSON/query services answer (recorded in public reports: `{"__type":"InvalidSignatureException","message":
    "Credential should be scoped to correct service: 'sagemaker'. "}` disneystreaming/smithy4s#1568,
    aws/aws-sdk-ruby#431; "Credential should be scoped to a valid region, not 'eu-west-1'. " for Route 53)."""
    message = ""
    if cred_region != region:
        message += f"Credential should be scoped to a valid region, not '{cred_region}'. "
    if service != "kms":
        message += "Credential should be scoped to correct service: 'kms'. "
    return s3_error("InvalidSignatureException", message) if message else None


# Credentials parsed without error, by (value, region, expected service): every request of a client carries the
# same scope all day. A hit is exactly what parsing returns (a frozen value; failures are never kept). Bounded.
_PARSED: dict[tuple[str, str, str], Credential] = {}
_PARSED_MAX = 1024


def parse_credential(value: str, region: str, error: MalformedError, expected_service: str = "s3") -> Credential:
    """`error(detail, region_field)` builds the header- or query-flavoured AWS error. The scope's service must be
    the endpoint's: S3 refuses a credential scoped to `kms` and KMS one scoped to `s3` (each its own way)."""
    cache_key = (value, region, expected_service)
    credential = _PARSED.get(cache_key)
    if credential is None:
        credential = _parse_credential(value, region, error, expected_service)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[cache_key] = credential
    return credential


def _parse_credential(value: str, region: str, error: MalformedError, expected_service: str) -> Credential:
    parts = value.split("/")
    if len(parts) != 5 or not all(parts[1:]) or len(parts[1]) != 8 or not parts[1].isdigit():
        if len(parts) == 5 and not parts[0]:
            raise error("a non-empty Access Key (AKID) must be provided in the credential.", None)
        raise error('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
                    None)
    access_key, date, cred_region, service, terminal = parts
    if not access_key:
        raise error("a non-empty Access Key (AKID) must be provided in the credential.", None)
    if expected_service == "kms":
        kms_error = kms_scope_error(cred_region, region, service)
        if kms_error is not None:
            raise kms_error
    if cred_region != region:
        raise error(f"the region '{cred_region}' is wrong; expecting '{region}'", region)
    if service != expected_service:
        # AWS's text (minio/minio#2385 recorded it: 'incorrect service "s4". This endpoint belongs to "s3".')
        raise error(f'incorrect service "{service}". This endpoint belongs to "s3".', None)
    if terminal != "aws4_request":
        raise error(f'incorrect terminal "{terminal}". This endpoint uses "aws4_request".', None)
    return Credential(access_key, date, cred_region, service)
