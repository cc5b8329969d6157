"""The mock server's ASGI application: parse the request, authenticate, route, render errors in one place.

A raw ASGI callable (no framework): uvicorn + httptools call it directly and every request passes through
`S3App.__call__`, so the per-request path avoids regexes, logging and allocations it does not need.
"""
from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from mockserver import (
    handlers,  # noqa: F401 - registers the operations
    requestids,
)
from mockserver.auth import AuthResult, IncomingRequest, authenticate
from mockserver.coalescing import START_BODY
from mockserver.config import ServerConfig
from mockserver.errors import (
    S3Error,
    access_denied,
    error_body,
    internal_error,
    invalid_uri,
    method_not_allowed,
    no_such_resource,
    not_implemented,
    request_header_section_too_large,
    s3_error,
)
from mockserver.http import RequestContext, Response
from mockserver.httpdates import http_date_now
from mockserver.kms import api as kms_api
from mockserver.queryparams import parse_query
from mockserver.routing import resolve
from mockserver.state import AppState

log = logging.getLogger("mockserver")

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
_HOSTS_MAX = 1024           # Host texts whose bucket is kept (S3App._vhost_bucket), and their longest kept length
_HOST_TEXT = 300
# Response header names as bytes (name.encode("latin-1", "replace")), by name: the server's own names repeat on every
# response. Bounded: names that come from stored objects (x-amz-meta-*) could otherwise grow it without end.
_NAME_BYTES: dict[str, bytes] = {}
_NAME_BYTES_MAX = 512


def _unquote(text: str) -> str:
    """unquote(text, errors="strict"); a text without '%' is returned as it is, as unquote returns it."""
    return text if "%" not in text else unquote(text, errors="strict")


class S3App:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.state = AppState(config)
        domain = config.domain.lower()
        self._vhost_suffix = "." + domain
        self._hosts: dict[str, str | None] = {}     # _vhost_bucket's results by Host text

    async def shutdown(self) -> None:
        await self.state.storage.flush()
        self.state.storage.close()       # --data-dir: the index cache, for a fast next start

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
        """The bucket a virtual-hosted Host names (<bucket>.<domain>[:port]); None for path-style requests.
        A pure function of the Host text (and the configured domain): kept per Host, bounded (a client sends
        the same Host on every request)."""
        hosts = self._hosts
        if host in hosts:
            return hosts[host]
        bucket = self._host_bucket(host)
        if len(host) <= _HOST_TEXT:
            if len(hosts) >= _HOSTS_MAX:
                hosts.clear()
            hosts[host] = bucket
        return bucket

    def _host_bucket(self, host: str) -> str | None:
        host = host.lower()
        if host.startswith("["):           # IPv6 literal: path style
            return None
        name = host.rsplit(":", 1)[0] if ":" in host else host
        return name[: -len(self._vhost_suffix)] if name.endswith(self._vhost_suffix) else None

    def _split(self, vhost_bucket: str | None, raw_path: str) -> tuple[str | None, str | None]:
        """(bucket, key) from virtual-hosted (`vhost_bucket`: _vhost_bucket(Host)) or path-style addressing.
        Raises S3Error for undecodable paths."""
        try:
            if vhost_bucket is not None:
                key = _unquote(raw_path[1:]) if len(raw_path) > 1 else None
                return vhost_bucket, key
            bucket_part, slash, key_part = raw_path[1:].partition("/")
            return _unquote(bucket_part) or None, _unquote(key_part) if slash and key_part else None
        except UnicodeDecodeError:
            raise invalid_uri() from None

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_id = requestids.request_id()
        method = scope["method"]
        raw = scope.get("raw_path")
        raw_path: str = raw.decode("latin-1") if raw else scope["path"]
        query_string = scope.get("query_string", b"").decode("latin-1")
        header_list: list[tuple[str, str]] = []
        headers: dict[str, str] = {}
        header_bytes = 0
        for raw_name, raw_value in scope["headers"]:       # one pass: decode, measure, join
            k, v = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            header_list.append((k, v))
            header_bytes += len(k) + len(v)
            if header_bytes <= MAX_HEADER_BYTES:    # repeated names are joined only within S3's limit
                headers[k] = f"{headers[k]},{v}" if k in headers else v
        if header_bytes > MAX_HEADER_BYTES:
            headers = {}
        ctx: RequestContext | None = None
        try:
            if header_bytes > MAX_HEADER_BYTES:
                raise request_header_section_too_large(MAX_HEADER_BYTES)
            query = parse_query(query_string) if query_string else {}
            if raw_path.startswith(INTERNAL_PREFIX):
                response = self._internal(method, raw_path, query_string, header_list,
                                          scope.get("scheme") == "https")
            else:
                vhost_bucket = self._vhost_bucket(headers.get("host", ""))
                bucket, key = self._split(vhost_bucket, raw_path)
                # (positional: a call with thirteen keywords costs twice as much)
                ctx = RequestContext(self.state, method, raw_path, query_string, query, headers, header_list,
                                     scope.get("scheme") == "https", bucket, key, receive, request_id, vhost_bucket)
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
        await self._send(send, method, response, request_id, START_BODY in scope.get("extensions", ()))

    async def _dispatch(self, ctx: RequestContext) -> Response:
        if "transfer-encoding" in ctx.headers and "x-amz-decoded-content-length" not in ctx.headers:
            # A plain HTTP/1.1 chunked body gets 501 naming the header on AWS. An aws-chunked stream (which
            # declares its decoded length) may travel chunked: boto3 sends it so over HTTPS and AWS accepts it.
            raise not_implemented(header="Transfer-Encoding")
        target = ctx.headers.get("x-amz-target")
        if target is not None and target.startswith("TrentService.") and ctx.bucket is None:
            return await self._kms(ctx, target)
        if ctx.method == "OPTIONS" and ctx.bucket is not None:
            return self._cors_preflight(ctx)
        auth = self._authenticate(ctx)
        ctx.account = auth.account
        level = "service" if ctx.bucket is None else ("bucket" if ctx.key is None else "object")
        entry = resolve(ctx.method, level, ctx.query, ctx.headers)
        if entry is None:
            if ctx.method not in ("GET", "HEAD", "PUT", "POST", "DELETE"):
                raise method_not_allowed(ctx.method, level.upper())
            raise not_implemented()
        return await entry.handler(ctx)

    @staticmethod
    def _cors_preflight(ctx: RequestContext) -> Response:
        """OPTIONS (a CORS preflight) is not authenticated; the server keeps no CORS configuration, so every
        preflight is refused as AWS refuses it for a bucket without one (recorded: LocalStack's AWS snapshot
        test_s3_cors.py::TestS3Cors::test_cors_http_options_no_config, also for a missing bucket)."""
        if "origin" not in ctx.headers:
            raise s3_error("BadRequest", "Insufficient information. Origin request header needed.")
        method = ctx.headers.get("access-control-request-method") or "OPTIONS"
        raise s3_error("AccessForbidden", fields={"Method": method, "ResourceType": "BUCKET"})

    def _authenticate(self, ctx: RequestContext, service: str = "s3") -> AuthResult:
        ctx.auth = authenticate(IncomingRequest(ctx.method, ctx.raw_path, ctx.query_string, ctx.header_list,
                                                ctx.secure, ctx.vhost_bucket),
                                self.state.accounts, self.state.region, datetime.now(UTC),
                                service)
        return ctx.auth

    async def _kms(self, ctx: RequestContext, target: str) -> Response:
        """KMS JSON protocol; its errors (authentication included) are JSON `{"__type", "message"}`."""
        try:
            auth = self._authenticate(ctx, "kms")
            if auth.account is None:
                raise s3_error("MissingAuthenticationToken")
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
                raise access_denied()
        elif name == "accounts":
            document = {a.name: {"account_id": a.account_id} for a in self.state.accounts}
        else:
            raise no_such_resource()
        return Response(200, {"content-type": "application/json"}, json.dumps(document).encode())

    def _error_response(self, error: S3Error, request_id: str) -> Response:
        host_id = requestids.host_id()
        headers = {"content-type": "application/xml", "x-amz-id-2": host_id}
        headers.update(error.headers)
        return Response(error.status, headers, error_body(error, request_id, host_id))

    # ----- response -----
    async def _send(self, send: Any, method: str, response: Response, request_id: str,
                    start_body: bool = False) -> None:
        headers = response.headers
        body = response.body
        raw: list[tuple[bytes, bytes]] = [
            (b"x-amz-request-id", request_id.encode()),
            (b"x-amz-id-2", (headers.pop("x-amz-id-2", None) or requestids.host_id()).encode()),
            (b"date", http_date_now().encode()),
            (b"server", b"MockS3"),
        ]
        is_bytes = isinstance(body, (bytes, bytearray))
        if isinstance(body, (bytes, bytearray)) and "content-length" not in headers:
            headers["content-length"] = str(len(body)) if method != "HEAD" or response.status < 300 else "0"
        names = _NAME_BYTES
        for name, value in headers.items():
            # A printable value holds no control character: the regex runs only on the rest (str.isprintable is
            # a C scan, the search a regex call per header per response).
            if not value.isprintable() and _HEADER_CONTROL.search(value):
                value = _HEADER_CONTROL.sub(" ", value)
            encoded = names.get(name)
            if encoded is None:
                encoded = name.encode("latin-1", "replace")
                if len(names) < _NAME_BYTES_MAX:
                    names[name] = encoded
            raw.append((encoded, value.encode("latin-1", "replace")))
        try:
            if start_body and isinstance(body, (bytes, bytearray)):
                # The protocol takes the body with the start (coalescing.START_BODY): one message, one write.
                whole = b"" if method == "HEAD" or response.status in (204, 304) else bytes(body)
                await send({"type": "http.response.start", "status": response.status, "headers": raw,
                            START_BODY: whole})
                return
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
