"""Hostile requests over real sockets: botocore signs (SigV4 header or presigned), the bytes are written by hand
so that anything a client library would refuse (duplicate headers, wrong Content-Length, broken aws-chunked
framing, raw non-ASCII) reaches the server, and http.client parses the answer."""
from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lxml import etree

TIMEOUT = 10.0          # seconds; a server that hangs fails the test instead of stalling the suite


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def code(self) -> str | None:
        """S3 error Code of the body, None when the body is not an S3 error document."""
        if not self.body.startswith(b"<?xml") and not self.body.startswith(b"<Error"):
            return None
        root = etree.fromstring(self.body, etree.XMLParser(resolve_entities=False, no_network=True))
        return root.findtext("Code") if root.tag == "Error" else None

    def field(self, name: str) -> str | None:
        root = etree.fromstring(self.body, etree.XMLParser(resolve_entities=False, no_network=True))
        return root.findtext(name)

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body[:300]!r})"


class _Prefed:
    """Socket and file stand-in sharing one buffered reader, so several HTTPResponse objects read consecutive
    responses from one connection without losing buffered bytes."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        return self

    def close(self) -> None:
        """HTTPResponse closes its file after each response; the connection's reader must outlive it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class _Signer(S3SigV4Auth):
    """botocore's S3 signer with the x-amz-content-sha256 value chosen by the test (hash, UNSIGNED-PAYLOAD,
    STREAMING-*)."""

    def __init__(self, credentials: Credentials, region: str, payload: str | None) -> None:
        super().__init__(credentials, "s3", region)
        self._payload = payload

    def payload(self, request: AWSRequest) -> str:
        return self._payload if self._payload is not None else super().payload(request)


class Wire:
    def __init__(self, endpoint: str, credentials: dict[str, dict[str, str]], region: str) -> None:
        split = urlsplit(endpoint)
        self.host, self.port = split.hostname or "127.0.0.1", split.port or 80
        self.endpoint = endpoint
        self.credentials = credentials
        self.region = region

    def keys(self, account: str = "main") -> Credentials:
        c = self.credentials[account]
        return Credentials(c["access_key"], c["secret_key"])

    def signed_headers(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes = b"",
                       payload: str | None = None, account: str = "main") -> list[tuple[str, str]]:
        """Headers for `method target` signed with SigV4 (duplicates kept, signed as AWS canonicalises them)."""
        request = AWSRequest(method=method, url=self.endpoint + target, data=body)
        for name, value in headers:
            request.headers[name] = value
        _Signer(self.keys(account), self.region, payload).add_auth(request)
        return list(request.headers.items())

    def presigned_target(self, method: str, target: str, expires: int = 300) -> str:
        request = AWSRequest(method=method, url=self.endpoint + target)
        S3SigV4QueryAuth(self.keys(), "s3", self.region, expires=expires).add_auth(request)
        url = urlsplit(request.url)
        return url.path + "?" + url.query

    def exchange(self, raw: bytes, method: str = "GET", shutdown_write: bool = False) -> Reply:
        """Write `raw` on a fresh connection and parse one response."""
        return self.exchange_many(raw, [method], shutdown_write)[0]

    def exchange_many(self, raw: bytes, methods: list[str], shutdown_write: bool = False) -> list[Reply]:
        """Write `raw` on a fresh connection and parse one response per method, in order (pipelining); stops
        early when the server closes the connection."""
        replies: list[Reply] = []
        with socket.create_connection((self.host, self.port), timeout=TIMEOUT) as sock:
            sock.sendall(raw)
            if shutdown_write:
                sock.shutdown(socket.SHUT_WR)
            reader = sock.makefile("rb")
            for method in methods:
                response = http.client.HTTPResponse(_Prefed(reader), method=method)  # type: ignore[arg-type]
                try:
                    response.begin()
                except http.client.RemoteDisconnected:
                    if not replies:
                        raise
                    break
                replies.append(Reply(response.status, response.headers, response.read()))
                if response.will_close:
                    break
        return replies

    def send(self, method: str, target: str, headers: list[tuple[str, str]] | None = None, body: bytes = b"",
             *, sign: bool = True, payload: str | None = None, content_length: int | None | str = "auto",
             account: str = "main", shutdown_write: bool = False) -> Reply:
        """One request. content_length: "auto" (len(body)), an int (possibly wrong), or None (no header)."""
        headers = list(headers or [])
        if content_length == "auto":
            headers.append(("Content-Length", str(len(body))))
        elif content_length is not None:
            headers.append(("Content-Length", str(content_length)))
        headers.append(("Host", f"{self.host}:{self.port}"))
        if sign:
            headers = self.signed_headers(method, target, headers, body, payload, account)
        head = f"{method} {target} HTTP/1.1\r\n".encode("latin-1")
        for name, value in headers:
            head += name.encode("latin-1") + b": " + value.encode("latin-1") + b"\r\n"
        return self.exchange(head + b"\r\n" + body, method, shutdown_write)
