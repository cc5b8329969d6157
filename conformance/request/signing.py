"""Request signing through botocore's signers: SigV4 header auth, presigned URLs, SigV2 (HmacV1) for
negative cases, a corrupted signature, or nothing (anonymous)."""
from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from botocore.auth import SIGV4_TIMESTAMP, HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


@dataclass(frozen=True)
class Keys:
    access_key: str
    secret_key: str

    def botocore(self) -> Credentials:
        return Credentials(self.access_key, self.secret_key)


@dataclass
class Signed:
    """What a signer produced; seed signature and scope feed the aws-chunked chunk signer."""
    url: str
    headers: list[tuple[str, str]]
    signature: str | None = None
    timestamp: str | None = None
    scope: str | None = None


def unknown_keys(secret_key: str) -> Keys:
    """An access key id no account has (fresh for every request), signed with a real secret key."""
    return Keys("AKIA" + secrets.token_hex(8).upper(), secret_key)


@dataclass(frozen=True)
class Deviation:
    """What a negative case changes in an otherwise correct SigV4 / SigV2 signature (the case's `signing:`)."""
    time_offset: int = 0                 # seconds added to the signing time
    scope_region: str | None = None
    scope_service: str | None = None
    scope_terminal: str | None = None
    scope_date_offset_days: int = 0
    sign_host: bool = True


NO_DEVIATION = Deviation()


class _DeviantSigV4:
    """Mixed into botocore's SigV4 signers: signing time, credential scope and SignedHeaders as the case asks.
    The signature is computed consistently with what the request claims (the scope's date, region and service
    derive the key), so only the deviation itself can make a server refuse it."""
    _deviation: Deviation = NO_DEVIATION
    credentials: Credentials
    _region_name: str
    _service_name: str

    def _parts(self, request: AWSRequest) -> list[str]:
        d = self._deviation
        date = request.context["timestamp"][0:8]
        if d.scope_date_offset_days:
            moved = dt.datetime.strptime(date, "%Y%m%d") + dt.timedelta(days=d.scope_date_offset_days)
            date = moved.strftime("%Y%m%d")
        return [date, d.scope_region or self._region_name, d.scope_service or self._service_name,
                d.scope_terminal or "aws4_request"]

    def scope(self, request: AWSRequest) -> str:
        return "/".join([self.credentials.access_key, *self._parts(request)])

    def credential_scope(self, request: AWSRequest) -> str:
        return "/".join(self._parts(request))

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        date, region, service, _ = self._parts(request)
        sign = SigV4Auth._sign
        key = sign(self, f"AWS4{self.credentials.secret_key}".encode(), date)  # type: ignore[arg-type]
        for part in (region, service, "aws4_request"):
            key = sign(self, key, part)  # type: ignore[arg-type]
        return str(sign(self, key, string_to_sign, hex=True))  # type: ignore[arg-type]

    def headers_to_sign(self, request: AWSRequest) -> Any:
        headers = super().headers_to_sign(request)  # type: ignore[misc]
        if not self._deviation.sign_host and "host" in headers:
            del headers["host"]
        return headers

    def add_auth(self, request: AWSRequest) -> None:
        """botocore's SigV4Auth.add_auth with the signing time moved by the deviation's offset."""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=self._deviation.time_offset)
        request.context["timestamp"] = now.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)  # type: ignore[attr-defined]
        canonical_request = self.canonical_request(request)  # type: ignore[attr-defined]
        string_to_sign = self.string_to_sign(request, canonical_request)  # type: ignore[attr-defined]
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))  # type: ignore[attr-defined]


class _FixedPayloadS3SigV4Auth(S3SigV4Auth):
    """S3SigV4Auth with the x-amz-content-sha256 value chosen by the case (UNSIGNED-PAYLOAD, STREAMING-*)
    instead of botocore's choice from the request context."""

    def __init__(self, credentials: Credentials, region: str, payload_hash: str):
        super().__init__(credentials, "s3", region)
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash


class _DeviantS3SigV4Auth(_DeviantSigV4, _FixedPayloadS3SigV4Auth):
    def __init__(self, credentials: Credentials, region: str, payload_hash: str, deviation: Deviation):
        super().__init__(credentials, region, payload_hash)
        self._deviation = deviation


class _DeviantS3SigV4QueryAuth(_DeviantSigV4, S3SigV4QueryAuth):
    def __init__(self, credentials: Credentials, region: str, expires: int | str, deviation: Deviation):
        super().__init__(credentials, "s3", region, expires=expires)  # type: ignore[arg-type]
        self._deviation = deviation


class _DatedHmacV1Auth(HmacV1Auth):
    """SigV2 header auth with the Date moved by `offset` seconds."""

    def __init__(self, credentials: Credentials, offset: int):
        super().__init__(credentials)
        self._offset = offset

    def _get_date(self) -> str:
        return formatdate(time.time() + self._offset, usegmt=True)


class _DatedHmacV1QueryAuth(HmacV1QueryAuth):
    """SigV2 query auth: Expires = signing time (moved by `offset`) + `expires` seconds (negative: expired)."""

    def __init__(self, credentials: Credentials, expires: int, offset: int):
        super().__init__(credentials, expires=expires)
        self._offset = offset

    def _get_date(self) -> str:
        return str(int(time.time() + self._offset + int(self._expires)))


def _to_request(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value
    return request


def _headers_of(request: AWSRequest) -> list[tuple[str, str]]:
    return [(name, value) for name, value in request.headers.items()]


def sign_v4(method: str, url: str, headers: list[tuple[str, str]], body: bytes, keys: Keys, region: str,
            payload_hash: str, deviation: Deviation = NO_DEVIATION) -> Signed:
    """Header-based SigV4. `payload_hash` is the x-amz-content-sha256 value (hex digest or a literal)."""
    request = _to_request(method, url, headers, body)
    signer: _FixedPayloadS3SigV4Auth = (
        _FixedPayloadS3SigV4Auth(keys.botocore(), region, payload_hash) if deviation == NO_DEVIATION
        else _DeviantS3SigV4Auth(keys.botocore(), region, payload_hash, deviation))
    signer.add_auth(request)
    authorization = request.headers["Authorization"]
    signature = authorization.rsplit("Signature=", 1)[1]
    timestamp = request.context["timestamp"]
    return Signed(str(request.url), _headers_of(request), signature, timestamp,
                  signer.credential_scope(request))


def sign_v4_generic(method: str, url: str, headers: list[tuple[str, str]], body: bytes, keys: Keys,
                    region: str, service: str) -> Signed:
    """Plain SigV4 for any service (used by tests against AWS's published SigV4 test-suite vectors)."""
    request = _to_request(method, url, headers, body)
    SigV4Auth(keys.botocore(), service, region).add_auth(request)
    return Signed(str(request.url), _headers_of(request), request.headers["Authorization"].rsplit("=", 1)[1],
                  request.context["timestamp"])


def presign_v4(method: str, url: str, headers: list[tuple[str, str]], keys: Keys, region: str,
               expires: int | str = 3600, deviation: Deviation = NO_DEVIATION) -> Signed:
    """`expires` goes into X-Amz-Expires as given (a string may be anything: negative cases)."""
    request = _to_request(method, url, headers, b"")
    signer: S3SigV4QueryAuth = (
        S3SigV4QueryAuth(keys.botocore(), "s3", region, expires=expires) if deviation == NO_DEVIATION  # type: ignore[arg-type]
        else _DeviantS3SigV4QueryAuth(keys.botocore(), region, expires, deviation))
    signer.add_auth(request)
    signature = str(request.url).rsplit("X-Amz-Signature=", 1)[1]
    return Signed(str(request.url), _headers_of(request), signature, request.context["timestamp"],
                  signer.credential_scope(request))


def sign_v2(method: str, url: str, headers: list[tuple[str, str]], keys: Keys, auth_path: str | None = None,
            time_offset: int = 0) -> Signed:
    """Signature Version 2 (HmacV1Auth): AWS rejects it for new buckets; cases check that. `auth_path`: the
    resource signed when it differs from the URL's path (virtual-hosted addressing: /bucket/key)."""
    request = _to_request(method, url, headers, b"")
    if auth_path is not None:
        request.auth_path = auth_path
    _DatedHmacV1Auth(keys.botocore(), time_offset).add_auth(request)
    return Signed(str(request.url), _headers_of(request), request.headers["Authorization"].rsplit(":", 1)[1])


def presign_v2(method: str, url: str, headers: list[tuple[str, str]], keys: Keys, auth_path: str | None = None,
               expires: int = 3600, time_offset: int = 0) -> Signed:
    """SigV2 query-string auth (`?AWSAccessKeyId=&Expires=&Signature=`), Expires `expires` seconds after the
    (moved) signing time."""
    request = _to_request(method, url, headers, b"")
    if auth_path is not None:
        request.auth_path = auth_path
    _DatedHmacV1QueryAuth(keys.botocore(), expires, time_offset).add_auth(request)
    signature = re.search(r"[?&]Signature=([^&]*)", str(request.url))
    return Signed(str(request.url), _headers_of(request), signature.group(1) if signature else None)


def corrupt_signature(signed: Signed) -> Signed:
    """Sign correctly, then flip the last hex digit of the signature: a well-formed but wrong signature."""
    if not signed.signature:
        return signed
    bad = signed.signature[:-1] + ("0" if signed.signature[-1] != "0" else "1")
    headers = [(n, v.replace(f"Signature={signed.signature}", f"Signature={bad}"))
               if n.lower() == "authorization" else (n, v) for n, v in signed.headers]
    url = re.sub(r"(X-Amz-Signature=)[0-9a-f]+", lambda m: m.group(1) + bad, signed.url)
    return Signed(url, headers, bad, signed.timestamp, signed.scope)


def derive_signature(keys: Keys, region: str, timestamp: str, string_to_sign: str) -> str:
    """HMAC of a string-to-sign with the SigV4 signing key, derived by botocore's SigV4Auth.signature()."""
    request = AWSRequest(method="GET", url="https://localhost/")
    request.context["timestamp"] = timestamp
    return SigV4Auth(keys.botocore(), "s3", region).signature(string_to_sign, request)
