"""The mock server's ASGI application: parse the request, authenticate, route, render errors in one place.

A raw ASGI callable (no framework): uvicorn + httptools call it directly and every request passes through
`S3App.__call__`, so the per-request path avoids regexes, logging and allocations it does not need.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import random
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from mockserver import handlers  # noqa: F401 - registers the operations
from mockserver.accounts import Accounts
from mockserver.auth import AuthResult, IncomingRequest, authenticate
from mockserver.auth.canonical import fast_unquote
from mockserver.config import ServerConfig
from mockserver.dialects import get_dialect
from mockserver.errors import S3Error, internal_error, method_not_allowed, not_implemented
from mockserver.handlers.common import http_date_now
from mockserver.http import RequestContext, Response
from mockserver.kms import api as kms_api
from mockserver.kms.engine import KmsEngine
from mockserver.routing import resolve
from mockserver.sse.service import EncryptionService
from mockserver.storage.base import Storage
from mockserver.storage.disk import atomic_write, disk_storage
from mockserver.storage.memory import memory_storage
from mockserver.xmlio import XML_DECLARATION, escape_strict

log = logging.getLogger("mockserver")

ROOT_KEY_FILE = "root.key"
ROOT_KEY_ENV = "S3C_MOCK_ROOT_KEY_FILE"
KMS_FILE = "kms.json"
INTERNAL_PREFIX = "/_mockserver/"
# S3: "The PUT request header is limited to 8 KB in size" (user metadata 2 KB of it). Larger header sections
# (a 1 MB header, a 100 KB encryption context echoed back in the response) get AWS's error.
MAX_HEADER_BYTES = 8192
# S3 authentication error codes -> the exception names AWS JSON-protocol services (KMS) answer with.
KMS_AUTH_ERRORS = {
    "SignatureDoesNotMatch": "InvalidSignatureException",
    "InvalidAccessKeyId": "UnrecognizedClientException",
    "AuthorizationHeaderMalformed": "IncompleteSignatureException",
    "RequestTimeTooSkewed": "InvalidSignatureException",
    "AccessDenied": "AccessDeniedException",
    "MissingAuthenticationToken": "MissingAuthenticationTokenException",
}
# Characters uvicorn refuses in a header value (it would raise mid-response); request-derived values such as
# response-content-type=a%0Db are sanitised instead.
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class AppState:
    """What handlers reach through ctx.state."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.dialect = get_dialect(config.dialect)
        self.accounts = Accounts([config.main, config.alt])
        self.region = config.region
        self.durable = config.data_dir is not None and config.fsync   # blob commits block on fsync
        key_file = config.root_key_file or os.environ.get(ROOT_KEY_ENV) or None
        if config.data_dir is not None:
            self.storage: Storage = disk_storage(config.data_dir, config.fsync)
            self.root_key = _load_root_key(config.data_dir, key_file)
            self.kms = _load_kms(config.data_dir, config.region, self.root_key)
        else:
            self.storage = memory_storage()
            self.root_key = _read_key_file(key_file) if key_file else os.urandom(32)
            self.kms = KmsEngine(config.region, root_key=self.root_key)
        self.encryption = EncryptionService(dialect=self.dialect, kms=self.kms, root_key=self.root_key,
                                            region=config.region,
                                            allow_sse_c_over_http=config.allow_sse_c_over_http)


def _read_key_file(path: str) -> bytes:
    """A 32-byte root key file, created (0600) when missing."""
    if not os.path.exists(path):
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
            f.flush()
            os.fsync(f.fileno())
    with open(path, "rb") as f:
        key = f.read()
    if len(key) != 32:
        raise RuntimeError(f"{path} is not a 32-byte key")
    return key


def _load_root_key(data_dir: str, key_file: str | None = None) -> bytes:
    """The server's own key (wraps SSE-S3 data keys and KMS key material). Default: <data_dir>/root.key, created
    once per data dir, which sits beside the data it wraps (a copy of the directory decrypts it). `key_file`
    (serve --root-key-file, or S3C_MOCK_ROOT_KEY_FILE) keeps it elsewhere: an existing data dir moves to it by
    moving its root.key there; a root.key left in the data dir must then hold the same key."""
    local = os.path.join(data_dir, ROOT_KEY_FILE)
    if key_file is None:
        if not os.path.exists(local):
            atomic_write(local, os.urandom(32), os.path.join(data_dir, "tmp"))
        return _read_key_file(local)
    key = _read_key_file(key_file)
    if os.path.exists(local) and os.path.abspath(local) != os.path.abspath(key_file):
        if _read_key_file(local) != key:
            raise RuntimeError(f"{local} holds another root key than {key_file}: this data was written under "
                               f"{local}; move that file to {key_file} (or drop the option)")
        log.warning("%s duplicates the root key kept in %s: delete it so the key no longer sits beside the data",
                    local, key_file)
    return key


def _load_kms(data_dir: str, region: str, root_key: bytes) -> KmsEngine:
    path = os.path.join(data_dir, KMS_FILE)
    tmp = os.path.join(data_dir, "tmp")

    def persist(snapshot: dict[str, Any]) -> None:
        atomic_write(path, json.dumps(snapshot, separators=(",", ":")).encode(), tmp)

    if os.path.exists(path):
        with open(path, "rb") as f:
            return KmsEngine.restore(json.loads(f.read()), region, persist, root_key=root_key)
    return KmsEngine(region, persist, root_key=root_key)


# Request ids identify requests in logs and error bodies; they need uniqueness, not secrecy, and os.urandom
# is a system call per request on the hot path.
_ids = random.Random(int.from_bytes(os.urandom(16), "big"))


def _request_id() -> str:
    return f"{_ids.getrandbits(64):016X}"


def _host_id() -> str:
    return base64.b64encode(_ids.randbytes(48)).decode()


def parse_query(query_string: str) -> dict[str, str]:
    """Query parameters (first occurrence wins), '+' as space as S3 reads them. Fast path for the common
    case of nothing to unquote; parse_qsl is several times slower on presigned URLs' long queries."""
    params: dict[str, str] = {}
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = fast_unquote(name.replace("+", " "))      # = unquote_plus(name)
        if "%" in value or "+" in value:
            value = fast_unquote(value.replace("+", " "))
        if name not in params:
            params[name] = value
    return params


def error_body(error: S3Error, request_id: str, host_id: str) -> bytes:
    out = [XML_DECLARATION, "<Error><Code>", escape_strict(error.code), "</Code><Message>",
           escape_strict(error.message), "</Message>"]
    for name, value in error.fields.items():
        out.append(f"<{name}>{escape_strict(str(value))}</{name}>")
    out.append(f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>")
    return "".join(out).encode()


class S3App:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.state = AppState(config)
        domain = config.domain.lower()
        self._vhost_suffix = "." + domain

    async def shutdown(self) -> None:
        await self.state.storage.flush()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ----- request parsing -----
    def _vhost_bucket(self, host: str) -> str | None:
        """The bucket a virtual-hosted Host names (<bucket>.<domain>[:port]); None for path-style requests."""
        host = host.lower()
        if host.startswith("["):           # IPv6 literal: path style
            return None
        name = host.rsplit(":", 1)[0] if ":" in host else host
        return name[: -len(self._vhost_suffix)] if name.endswith(self._vhost_suffix) else None

    def _split(self, host: str, raw_path: str) -> tuple[str | None, str | None]:
        """(bucket, key) from virtual-hosted or path-style addressing. Raises S3Error for undecodable paths."""
        try:
            bucket = self._vhost_bucket(host)
            if bucket is not None:
                key = unquote(raw_path[1:], errors="strict") if len(raw_path) > 1 else None
                return bucket, key
            bucket_part, slash, key_part = raw_path[1:].partition("/")
            return (unquote(bucket_part, errors="strict") or None,
                    unquote(key_part, errors="strict") if slash and key_part else None)
        except UnicodeDecodeError:
            raise S3Error("InvalidURI", "Couldn't parse the specified URI.", 400) from None

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_id = _request_id()
        method = scope["method"]
        raw = scope.get("raw_path")
        raw_path: str = raw.decode("latin-1") if raw else scope["path"]
        query_string = scope.get("query_string", b"").decode("latin-1")
        header_list = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        headers: dict[str, str] = {}
        header_bytes = 0
        for k, v in header_list:
            headers[k] = f"{headers[k]},{v}" if k in headers else v
            header_bytes += len(k) + len(v)
        ctx: RequestContext | None = None
        try:
            if header_bytes > MAX_HEADER_BYTES:
                raise S3Error("RequestHeaderSectionTooLarge", "Your request header section exceeds the maximum "
                              "allowed size.", 400, {"MaxSizeAllowed": str(MAX_HEADER_BYTES)})
            query = parse_query(query_string) if query_string else {}
            if raw_path.startswith(INTERNAL_PREFIX):
                response = self._internal(method, raw_path, query_string, header_list,
                                          scope.get("scheme") == "https")
            else:
                bucket, key = self._split(headers.get("host", ""), raw_path)
                ctx = RequestContext(state=self.state, method=method, raw_path=raw_path, query_string=query_string,
                                     query=query, headers=headers, header_list=header_list,
                                     secure=scope.get("scheme") == "https", bucket=bucket, key=key,
                                     receive=receive, request_id=request_id)
                response = await self._dispatch(ctx)
        except S3Error as error:
            response = self._error_response(error, request_id)
        except Exception:
            log.exception("internal error on %s %s", method, raw_path)
            response = self._error_response(internal_error(), request_id)
        if ctx is not None and not ctx.body_complete and ctx.has_body:
            # The body was not (fully) read: a client waiting on Expect: 100-continue will not send it, one that
            # sent it would have it parsed as the next request. Either way the connection cannot be reused.
            response.headers["connection"] = "close"
        await self._send(send, method, response, request_id)

    async def _dispatch(self, ctx: RequestContext) -> Response:
        if "transfer-encoding" in ctx.headers and "x-amz-decoded-content-length" not in ctx.headers:
            # A plain HTTP/1.1 chunked body gets 501 naming the header on AWS. An aws-chunked stream (which
            # declares its decoded length) may travel chunked: boto3 sends it so over HTTPS and AWS accepts it.
            raise not_implemented(header="Transfer-Encoding")
        target = ctx.headers.get("x-amz-target")
        if target is not None and target.startswith("TrentService.") and ctx.bucket is None:
            return await self._kms(ctx, target)
        auth = self._authenticate(ctx)
        ctx.account = auth.account
        level = "service" if ctx.bucket is None else ("bucket" if ctx.key is None else "object")
        entry = resolve(ctx.method, level, ctx.query, ctx.headers)
        if entry is None:
            if ctx.method not in ("GET", "HEAD", "PUT", "POST", "DELETE"):
                raise method_not_allowed(ctx.method, level.upper())
            raise not_implemented()
        return await entry.handler(ctx)

    def _authenticate(self, ctx: RequestContext, service: str = "s3") -> AuthResult:
        ctx.auth = authenticate(IncomingRequest(ctx.method, ctx.raw_path, ctx.query_string, ctx.header_list,
                                                ctx.secure, self._vhost_bucket(ctx.headers.get("host", ""))),
                                self.state.accounts, self.state.region, datetime.now(UTC),
                                service)
        return ctx.auth

    async def _kms(self, ctx: RequestContext, target: str) -> Response:
        """KMS JSON protocol; its errors (authentication included) are JSON `{"__type", "message"}`."""
        try:
            auth = self._authenticate(ctx, "kms")
            if auth.account is None:
                raise S3Error("MissingAuthenticationToken", "Missing Authentication Token", 400)
            body = await ctx.read_body()
        except S3Error as error:
            kind = KMS_AUTH_ERRORS.get(error.code, error.code)
            return Response(400, {"content-type": "application/x-amz-json-1.1", "x-amzn-errortype": kind},
                            json.dumps({"__type": kind, "message": error.message}).encode())
        status, document = kms_api.handle(self.state.kms, target, body, auth.account.account_id)
        headers = {"content-type": "application/x-amz-json-1.1"}
        if "__type" in document:
            headers["x-amzn-errortype"] = str(document["__type"])
        return Response(status, headers, json.dumps(document).encode())

    def _internal(self, method: str, raw_path: str, query_string: str, header_list: list[tuple[str, str]],
                  secure: bool) -> Response:
        """Test hooks (not S3 operations). `GET /_mockserver/metrics` counts KMS calls per key: a signed request
        (any S3 signature of a known account) sees its own account's keys only; an unsigned one is refused
        unless the server was started with open_metrics (the in-process harness the runner uses)."""
        if method != "GET":
            raise method_not_allowed(method, "SERVICE")
        name = raw_path[len(INTERNAL_PREFIX):].rstrip("/")
        if name == "metrics":
            auth = authenticate(IncomingRequest(method, raw_path, query_string, header_list, secure),
                                self.state.accounts, self.state.region, datetime.now(UTC))
            if auth.account is not None:
                document: Any = self.state.kms.metrics(auth.account.account_id)
            elif self.config.open_metrics:
                document = self.state.kms.metrics()
            else:
                raise S3Error("AccessDenied", "Access Denied", 403)
        elif name == "accounts":
            document = {a.name: {"account_id": a.account_id} for a in self.state.accounts}
        else:
            raise S3Error("NoSuchResource", "The specified resource does not exist.", 404)
        return Response(200, {"content-type": "application/json"}, json.dumps(document).encode())

    def _error_response(self, error: S3Error, request_id: str) -> Response:
        host_id = _host_id()
        headers = {"content-type": "application/xml", "x-amz-id-2": host_id}
        headers.update(error.headers)
        return Response(error.status, headers, error_body(error, request_id, host_id))

    # ----- response -----
    async def _send(self, send: Any, method: str, response: Response, request_id: str) -> None:
        headers = response.headers
        body = response.body
        raw: list[tuple[bytes, bytes]] = [
            (b"x-amz-request-id", request_id.encode()),
            (b"x-amz-id-2", (headers.pop("x-amz-id-2", None) or _host_id()).encode()),
            (b"date", http_date_now().encode()),
            (b"server", b"MockS3"),
        ]
        is_bytes = isinstance(body, (bytes, bytearray))
        if isinstance(body, (bytes, bytearray)) and "content-length" not in headers:
            headers["content-length"] = str(len(body)) if method != "HEAD" or response.status < 300 else "0"
        for name, value in headers.items():
            if _HEADER_CONTROL.search(value):
                value = _HEADER_CONTROL.sub(" ", value)
            raw.append((name.encode("latin-1", "replace"), value.encode("latin-1", "replace")))
        try:
            await send({"type": "http.response.start", "status": response.status, "headers": raw})
            if method == "HEAD" or response.status in (204, 304):
                await send({"type": "http.response.body", "body": b""})
            elif isinstance(body, (bytes, bytearray)):
                await send({"type": "http.response.body", "body": bytes(body)})
            else:
                await self._send_stream(send, body)  # type: ignore[arg-type]
        finally:
            if not is_bytes:
                await body.aclose()  # type: ignore[union-attr]
            if response.on_close is not None:
                response.on_close()

    @staticmethod
    async def _send_stream(send: Any, body: AsyncIterator[bytes]) -> None:
        started = time.monotonic()
        try:
            async for chunk in body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except Exception:
            # Headers are gone: the only honest signal left is to cut the connection short.
            log.exception("response stream failed after %.3fs", time.monotonic() - started)
            raise
        await send({"type": "http.response.body", "body": b""})


def create_app(config: ServerConfig) -> S3App:
    return S3App(config)
