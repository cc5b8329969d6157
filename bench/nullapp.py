"""The reference the transfers are compared with: a null ASGI app on the mock server's own uvicorn set-up
(mockserver.server.running_server(app=...): same protocol class, guards and settings), which discards request
bodies (answering 200 with an ETag) and answers every GET with 1 GiB of zeros (or `?size=N` bytes), streamed in
4 MiB views of one zero buffer. `python bench/nullapp.py PORT` serves until SIGTERM."""
from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PIECE = memoryview(bytes(4 * 1024 * 1024))
DEFAULT_SIZE = 1024 * 1024 * 1024


async def null_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["method"] in ("PUT", "POST"):
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"etag", b'"00000000000000000000000000000000"'), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    size = DEFAULT_SIZE
    for pair in scope.get("query_string", b"").decode().split("&"):
        if pair.startswith("size="):
            size = int(pair[5:])
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(size).encode()), (b"content-type", b"application/octet-stream")]})
    if scope["method"] == "HEAD":
        await send({"type": "http.response.body", "body": b""})
        return
    left = size
    while left > 0:
        piece = PIECE[:min(len(PIECE), left)]
        left -= len(piece)
        await send({"type": "http.response.body", "body": piece, "more_body": left > 0})
    if size == 0:
        await send({"type": "http.response.body", "body": b""})


def main(port: int) -> int:
    from mockserver.server import running_server

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with running_server(port=port, app=null_app) as server:
        print(f"null app on {server.endpoint}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
