"""Request signing through botocore's signers: SigV4 header auth, presigned URLs, SigV2 (HmacV1) for
negative cases, a corrupted signature, or nothing (anonymous)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from botocore.auth import HmacV1Auth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
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


class _FixedPayloadS3SigV4Auth(S3SigV4Auth):
    """S3SigV4Auth with the x-amz-content-sha256 value chosen by the case (UNSIGNED-PAYLOAD, STREAMING-*)
    instead of botocore's choice from the request context."""

    def __init__(self, credentials: Credentials, region: str, payload_hash: str):
        super().__init__(credentials, "s3", region)
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash


def _to_request(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value
    return request


def _headers_of(request: AWSRequest) -> list[tuple[str, str]]:
    return [(name, value) for name, value in request.headers.items()]


def sign_v4(method: str, url: str, headers: list[tuple[str, str]], body: bytes, keys: Keys, region: str,
            payload_hash: str) -> Signed:
    """Header-based SigV4. `payload_hash` is the x-amz-content-sha256 value (hex digest or a literal)."""
    request = _to_request(method, url, headers, body)
    signer = _FixedPayloadS3SigV4Auth(keys.botocore(), region, payload_hash)
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
               expires: int = 3600) -> Signed:
    request = _to_request(method, url, headers, b"")
    signer = S3SigV4QueryAuth(keys.botocore(), "s3", region, expires=expires)
    signer.add_auth(request)
    signature = str(request.url).rsplit("X-Amz-Signature=", 1)[1]
    return Signed(str(request.url), _headers_of(request), signature, request.context["timestamp"],
                  signer.credential_scope(request))


def sign_v2(method: str, url: str, headers: list[tuple[str, str]], keys: Keys, auth_path: str | None = None) -> Signed:
    """Signature Version 2 (HmacV1Auth): AWS rejects it for new buckets; cases check that. `auth_path`: the
    resource signed when it differs from the URL's path (virtual-hosted addressing: /bucket/key)."""
    request = _to_request(method, url, headers, b"")
    if auth_path is not None:
        request.auth_path = auth_path
    HmacV1Auth(keys.botocore()).add_auth(request)
    return Signed(str(request.url), _headers_of(request), request.headers["Authorization"].rsplit(":", 1)[1])


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
