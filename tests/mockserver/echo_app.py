"""A tiny ASGI app for testing the server runner without the S3 app: authenticates every request with
mockserver.auth, decodes the body, and answers 200 with header x-mock-echo (base64 JSON describing what it
verified: account, signature version, decoded body SHA-256 and size, trailers) or S3 error XML."""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from mockserver.accounts import ALT, MAIN, Accounts
from mockserver.auth import IncomingRequest, authenticate
from mockserver.errors import S3Error


class EchoAuthApp:
    def __init__(self, region: str = "us-east-1") -> None:
        self.accounts = Accounts([MAIN, ALT])
        self.region = region
        self.shutdown_called = False

    async def shutdown(self) -> None:
        self.shutdown_called = True

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        req = IncomingRequest(scope["method"], scope["raw_path"].decode("latin-1"),
                              scope["query_string"].decode("latin-1"), headers, scope["scheme"] == "https")

        async def chunks():
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                if message.get("body"):
                    yield message["body"]
                if not message.get("more_body"):
                    return

        try:
            result = authenticate(req, self.accounts, self.region, datetime.now(UTC))
            digest, size = hashlib.sha256(), 0
            async for piece in result.decode_body(chunks()):
                digest.update(piece)
                size += len(piece)
            status = 200
            echo = json.dumps({"account": result.account.name if result.account else None,
                               "signature_version": result.signature_version, "presigned": result.presigned,
                               "payload_mode": result.payload_mode, "sha256": digest.hexdigest(), "size": size,
                               "trailers": result.trailers,
                               "decoded_content_length": result.decoded_content_length,
                               "headers": dict(headers)}).encode()
            body, content_type = b"", b"application/xml"   # SDKs parse S3 bodies: the echo travels in a header
        except S3Error as error:
            status = error.status
            fields = "".join(f"<{k}>{v}</{k}>" for k, v in error.fields.items())
            body = f"<Error><Code>{error.code}</Code><Message>{error.message}</Message>{fields}</Error>".encode()
            content_type = b"application/xml"
        response_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        if status == 200:
            response_headers.append((b"x-mock-echo", base64.b64encode(echo)))
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})
