"""coalescing.py's keep-alive timer (started once per idle period, not once per response): a connection closes
timeout_keep_alive seconds after its last response with nothing received since, as uvicorn's own does; requests
that keep coming keep it open however long the connection lives."""
from __future__ import annotations

import asyncio

import uvicorn
from uvicorn.server import ServerState

from mockserver.protocol import guarded_protocol

KEEP_ALIVE = 0.3
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


class _Transport:
    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.out.append(bytes(data))

    def writelines(self, chunks) -> None:
        self.out.extend(bytes(c) for c in chunks)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 9), "peername": ("127.0.0.1", 10)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


async def _app(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _connection():
    config = uvicorn.Config(_app, http=guarded_protocol(), lifespan="off", log_level="warning",
                            timeout_keep_alive=KEEP_ALIVE)
    config.load()
    protocol = config.http_protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = _Transport()
    protocol.connection_made(transport)
    return protocol, transport


async def _request(protocol, transport) -> None:
    transport.out.clear()
    protocol.data_received(REQUEST)
    for _ in range(100):
        await asyncio.sleep(0.001)
        if b"".join(transport.out).endswith(b"ok"):
            return
    raise AssertionError("no response")


def test_an_idle_connection_closes_after_the_keep_alive_time():
    async def run() -> None:
        protocol, transport = _connection()
        await _request(protocol, transport)
        await asyncio.sleep(KEEP_ALIVE * 0.5)
        assert not transport.closed
        await asyncio.sleep(KEEP_ALIVE)
        assert transport.closed
    asyncio.run(run())


def test_requests_that_keep_coming_keep_the_connection_open():
    async def run() -> None:
        protocol, transport = _connection()
        for _ in range(6):                      # 6 x 0.6 keep-alive: twice the keep-alive time in all
            await _request(protocol, transport)
            await asyncio.sleep(KEEP_ALIVE * 0.6)
            assert not transport.closed
        await asyncio.sleep(KEEP_ALIVE * 0.2)   # 0.8 keep-alive since the last response
        assert not transport.closed
        await asyncio.sleep(KEEP_ALIVE * 0.5)   # 1.3
        assert transport.closed
    asyncio.run(run())


def test_a_lost_connection_leaves_no_timer():
    async def run() -> None:
        protocol, transport = _connection()
        await _request(protocol, transport)
        assert protocol.timeout_keep_alive_task is not None
        protocol.connection_lost(None)
        assert protocol.timeout_keep_alive_task is None
    asyncio.run(run())
