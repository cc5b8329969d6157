"""Shared helpers for the auth tests: botocore-signed requests turned into IncomingRequest, body feeding."""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from botocore.auth import HmacV1Auth, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from mockserver.accounts import ALT, MAIN, Account, Accounts
from mockserver.auth import AuthResult, IncomingRequest

ACCOUNTS = Accounts([MAIN, ALT])
REGION = "us-east-1"


def creds(account: Account = MAIN) -> Credentials:
    return Credentials(account.access_key, account.secret_key)


def incoming(request: AWSRequest, secure: bool = False) -> IncomingRequest:
    prepared = request.prepare()
    split = urlsplit(prepared.url)
    headers = [(k.lower(), v if isinstance(v, str) else v.decode()) for k, v in prepared.headers.items()]
    if not any(k == "host" for k, _ in headers):
        headers.append(("host", split.netloc))
    return IncomingRequest(prepared.method, split.path or "/", split.query, headers, secure)


class _DeclaredPayloadSigner(S3SigV4Auth):
    """botocore's S3 signer, except that an x-amz-content-sha256 given by the caller is kept (botocore would
    replace it with its own choice)."""

    def __init__(self, credentials, service, region, declared: str | None) -> None:
        super().__init__(credentials, service, region)
        self.declared = declared

    def payload(self, request):
        return self.declared if self.declared is not None else super().payload(request)


def sigv4_request(method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b"",
                  account: Account = MAIN, region: str = REGION, service: str = "s3",
                  sign_payload: bool = True) -> IncomingRequest:
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    if not sign_payload:
        request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    declared = {k.lower(): v for k, v in (headers or {}).items()}.get("x-amz-content-sha256")
    _DeclaredPayloadSigner(creds(account), service, region, declared).add_auth(request)
    return incoming(request)


def presigned_request(method: str, url: str, expires: int = 3600, headers: dict[str, str] | None = None,
                      account: Account = MAIN, region: str = REGION) -> IncomingRequest:
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    S3SigV4QueryAuth(creds(account), "s3", region, expires=expires).add_auth(request)
    return incoming(request)


def sigv2_request(method: str, url: str, headers: dict[str, str] | None = None, account: Account = MAIN,
                  auth_path: str | None = None) -> IncomingRequest:
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    request.auth_path = auth_path
    HmacV1Auth(creds(account)).add_auth(request)
    return incoming(request)


def now() -> datetime:
    return datetime.now(UTC)


def decode(result: AuthResult, pieces: Iterable[bytes]) -> bytes:
    """Runs decode_body over the given received buffers and returns the decoded bytes."""
    async def source():
        for piece in pieces:
            yield piece

    async def collect() -> bytes:
        out = bytearray()
        async for part in result.decode_body(source()):
            out += part
        return bytes(out)

    return asyncio.run(collect())


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]
