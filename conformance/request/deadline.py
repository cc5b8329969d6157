"""A deadline for a whole response (status line, headers and body). requests/urllib3 only time out a single
socket read, so an endpoint that trickles one byte per read timeout would hold a run for hours. The
connections below start a timer when they begin waiting for the response (the request is sent by then, so
long uploads are not cut) and shut the socket down when it fires; the blocked read then fails at once."""
from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_state = threading.local()          # per thread: seconds, expired (Event), timer


def _shut(sock: socket.socket | None, expired: threading.Event) -> None:
    expired.set()
    if sock is not None:
        with contextlib.suppress(OSError):
            # socket.socket's own shutdown, also for an SSLSocket: wakes the reader at the fd level
            # without tearing down the TLS object under its feet
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watched:
    sock: socket.socket | None

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        seconds = getattr(_state, "seconds", None)
        if seconds is not None:
            timer = threading.Timer(seconds, _shut, (self.sock, _state.expired))
            timer.daemon = True
            timer.start()
            _state.timer = timer
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """requests adapter whose connections honour `response_deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


@contextlib.contextmanager
def response_deadline(seconds: float) -> Iterator[threading.Event]:
    """Within the block, the response to each request on this thread must be complete `seconds` after the
    request was sent; the yielded event is set when the deadline cut one off."""
    expired = threading.Event()
    _state.seconds, _state.expired, _state.timer = seconds, expired, None
    try:
        yield expired
    finally:
        timer = getattr(_state, "timer", None)
        if timer is not None:
            timer.cancel()
        _state.seconds = _state.timer = None
