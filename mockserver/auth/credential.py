"""The SigV4 credential scope `<access key>/<yyyymmdd>/<region>/<service>/aws4_request` and its checks."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mockserver.errors import S3Error

SERVICES = ("s3", "kms")     # KMS answers on the same port

MalformedError = Callable[[str, "str | None"], S3Error]


@dataclass(frozen=True)
class Credential:
    access_key: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse_credential(value: str, region: str, error: MalformedError) -> Credential:
    """`error(detail, region_field)` builds the header- or query-flavoured AWS error."""
    parts = value.split("/")
    if len(parts) != 5 or not all(parts[1:]) or len(parts[1]) != 8 or not parts[1].isdigit():
        if len(parts) == 5 and not parts[0]:
            raise error("a non-empty Access Key (AKID) must be provided in the credential.", None)
        raise error('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
                    None)
    access_key, date, cred_region, service, terminal = parts
    if not access_key:
        raise error("a non-empty Access Key (AKID) must be provided in the credential.", None)
    if cred_region != region:
        raise error(f"the region '{cred_region}' is wrong; expecting '{region}'", region)
    if service not in SERVICES:
        raise error(f'incorrect service "{service}". This endpoint belongs to "s3".', None)
    if terminal != "aws4_request":
        raise error(f'incorrect terminal "{terminal}". This endpoint uses "aws4_request".', None)
    return Credential(access_key, date, cred_region, service)
