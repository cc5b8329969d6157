"""Request authentication for the mock server (contract: docs/DESIGN.md, "core <-> auth/server").

`authenticate` checks the signature (SigV4 header, SigV4 presigned, SigV2) or accepts an anonymous request,
and returns an `AuthResult` whose `decode_body` verifies and decodes the payload while it streams.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from mockserver.accounts import Account, Accounts
from mockserver.auth import errors, payload, sigv2
from mockserver.auth.aws_chunked import AwsChunkedDecoder, ChunkSigner
from mockserver.auth.canonical import header_map
from mockserver.auth.postpolicy import verify_post_policy
from mockserver.auth.presign import check_presigned, is_presigned_v4
from mockserver.auth.sigv4 import PREFIX as V4_PREFIX
from mockserver.auth.sigv4 import V4Check, check_header_auth
from mockserver.errors import S3Error, invalid_argument, not_implemented, s3_error
from mockserver.numbers import parse_saturated

__all__ = ["AuthResult", "IncomingRequest", "authenticate", "verify_post_policy"]


@dataclass
class IncomingRequest:
    method: str
    raw_path: str                     # percent-encoded path exactly as received (no query)
    query_string: str                 # raw query string exactly as received
    headers: list[tuple[str, str]]    # lower-cased names, in order received (duplicates kept)
    secure: bool                      # TLS
    vhost_bucket: str | None = None   # the bucket named by Host (virtual-hosted addressing), else None


class BodyDecoder(Protocol):
    def feed(self, data: bytes) -> list[bytes]: ...
    def finish(self) -> None: ...


@dataclass
class AuthResult:
    account: Account | None                     # None: anonymous
    signature_version: int = 0                  # 0 anonymous, 2 SigV2, 4 SigV4
    presigned: bool = False
    service: str = "s3"                         # credential scope service: s3 | kms
    payload_mode: str = "none"                  # x-amz-content-sha256 value or "none"
    decoded_content_length: int | None = None   # x-amz-decoded-content-length of aws-chunked bodies
    trailers: dict[str, str] = field(default_factory=dict)   # filled once decode_body is exhausted
    _decoder: BodyDecoder | None = field(default=None, repr=False)

    def decode_body(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Decoded payload bytes. Verification failures raise S3Error before the last piece is yielded, so a
        body that fails verification is never complete in the consumer's hands."""
        if self._decoder is None:
            return chunks
        return self._decode(chunks, self._decoder)

    async def _decode(self, chunks: AsyncIterator[bytes], decoder: BodyDecoder) -> AsyncIterator[bytes]:
        held: bytes | None = None
        async for chunk in chunks:
            if not chunk:
                continue
            pieces = decoder.feed(chunk)
            if pieces:
                if held is not None:
                    yield held
                for piece in pieces[:-1]:
                    yield piece
                held = pieces[-1]
        decoder.finish()
        if isinstance(decoder, AwsChunkedDecoder):
            self.trailers.update(decoder.trailers)
        if held is not None:
            yield held


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _kms_incomplete_signature(authorization: str, headers: dict[str, list[str]]) -> S3Error:
    """KMS takes SigV4 only. AWS's JSON/query services answer another Authorization scheme with
    IncompleteSignature listing what SigV4 needs (recorded: aws/aws-sdk-ruby#317, a SigV2 header sent to
    CloudFront: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature'
    parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS AKIA...:...")."""
    message = ("Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
               "parameter. Authorization header requires 'SignedHeaders' parameter. ")
    if "x-amz-date" not in headers and "date" not in headers:
        message += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
    return s3_error("IncompleteSignatureException", message + f"Authorization={authorization}")


def authenticate(req: IncomingRequest, accounts: Accounts, region: str, now: datetime,
                 service: str = "s3") -> AuthResult:
    """Raises S3Error with AWS's codes; see docs/DESIGN.md. `service` is the endpoint's: "s3", or "kms" for the
    KMS JSON protocol, which takes SigV4 (header or query) scoped to kms only, with the payload hash always
    computed from the body (see _sigv4_result)."""
    headers = header_map(req.headers)
    values = headers.get("authorization")       # (_first, inline: this runs on every request)
    authorization = values[0] if values else None
    query = req.query_string
    presigned_v4 = bool(query) and is_presigned_v4(query)
    presigned_v2 = bool(query) and not presigned_v4 and sigv2.is_presigned_v2(query)
    if authorization is not None and (presigned_v4 or presigned_v2):
        raise invalid_argument("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                               "Signature query string parameter or the Authorization header should be specified",
                               "Authorization", authorization)
    if authorization is not None:
        if authorization.startswith(V4_PREFIX):
            check = check_header_auth(req.method, req.raw_path, query, headers, authorization, accounts, region, now,
                                      service)
            return _sigv4_result(check, headers, presigned=False)
        if service == "kms":
            raise _kms_incomplete_signature(authorization, headers)
        if authorization.startswith(sigv2.PREFIX):
            account = sigv2.check_header_v2(req.method, req.raw_path, query, headers, authorization, accounts, now,
                                            req.vhost_bucket)
            return _unsigned_payload_result(AuthResult(account, 2), headers)
        if authorization.startswith("AWS4-ECDSA-P256-SHA256"):
            raise not_implemented("SigV4a (AWS4-ECDSA-P256-SHA256) is not implemented")
        raise invalid_argument("Unsupported Authorization Type", "Authorization", authorization)
    if presigned_v4:
        check = check_presigned(req.method, req.raw_path, query, headers, accounts, region, now, service)
        return _sigv4_result(check, headers, presigned=True)
    if presigned_v2 and service != "kms":      # KMS knows no SigV2 query parameters: the request is unsigned
        account = sigv2.check_presigned_v2(req.method, req.raw_path, query, headers, accounts, now,
                                           req.vhost_bucket)
        return _unsigned_payload_result(AuthResult(account, 2, presigned=True), headers)
    return _unsigned_payload_result(AuthResult(None, 0), headers)


def _decoded_length(headers: dict[str, list[str]]) -> int:
    value = _first(headers, "x-amz-decoded-content-length")
    length = parse_saturated(value.strip()) if value is not None else None
    if length is None:          # absent, or not ASCII digits
        raise errors.missing_decoded_length()
    return length


def _trailer_names(headers: dict[str, list[str]]) -> list[str]:
    return [n for v in headers.get("x-amz-trailer", ()) for n in v.split(",") if n.strip()]


def _is_aws_chunked(headers: dict[str, list[str]]) -> bool:
    values = headers.get("content-encoding")
    return values is not None and any("aws-chunked" in v.lower() for v in values)


def _sigv4_result(check: V4Check, headers: dict[str, list[str]], presigned: bool) -> AuthResult:
    result = AuthResult(check.account, 4, presigned=presigned, service=check.credential.service)
    if check.credential.service == "kms":
        # KMS (like every AWS service but S3) signs the SHA-256 of the body it received: x-amz-content-sha256
        # is not consulted, so UNSIGNED-PAYLOAD or a streaming mode cannot leave the body outside the signature
        # (a request signed that way does not match: InvalidSignatureException).
        result._decoder = payload.DeferredSignatureVerifier(check.verify)
        return result
    values = headers.get("x-amz-content-sha256")      # (_first, inline)
    content_sha = values[0] if values else None
    if content_sha is None:
        if presigned:
            content_sha = payload.UNSIGNED
        else:
            raise errors.missing_content_sha256()
    content_sha = content_sha.strip()
    if content_sha in payload.STREAMING_ECDSA:
        raise not_implemented("SigV4a streaming payloads are not implemented")
    if content_sha != payload.UNSIGNED and content_sha not in payload.STREAMING \
            and not payload.is_sha256_hex(content_sha):
        raise errors.invalid_content_sha256()
    check.verify(content_sha)
    result.payload_mode = content_sha
    if content_sha in (payload.STREAMING_SIGNED, payload.STREAMING_SIGNED_TRAILER):
        signer = ChunkSigner(check.key, check.amz_date, check.credential.scope, check.provided,
                             check.account.access_key)
        result.decoded_content_length = _decoded_length(headers)
        result._decoder = AwsChunkedDecoder(signer, _trailer_names(headers), result.decoded_content_length,
                                            signed_trailer=content_sha == payload.STREAMING_SIGNED_TRAILER)
        return result
    return _unsigned_payload_result(result, headers, content_sha)


def _unsigned_payload_result(result: AuthResult, headers: dict[str, list[str]],
                             content_sha: str | None = None) -> AuthResult:
    """Payload modes that need no signing key: hex digest, UNSIGNED-PAYLOAD, unsigned aws-chunked."""
    if content_sha is None:
        content_sha = (_first(headers, "x-amz-content-sha256") or "").strip()
        if content_sha:
            result.payload_mode = content_sha
    if content_sha == payload.STREAMING_UNSIGNED_TRAILER or (
            _is_aws_chunked(headers) and content_sha not in payload.STREAMING and not payload.is_sha256_hex(
                content_sha)):
        result.decoded_content_length = _decoded_length(headers)
        result._decoder = AwsChunkedDecoder(None, _trailer_names(headers), result.decoded_content_length,
                                            signed_trailer=False)
    elif content_sha in (payload.STREAMING_SIGNED, payload.STREAMING_SIGNED_TRAILER):
        raise errors.invalid_content_sha256()   # signed chunks need a SigV4 seed signature
    elif payload.is_sha256_hex(content_sha):
        result._decoder = payload.Sha256Verifier(content_sha)
    return result
