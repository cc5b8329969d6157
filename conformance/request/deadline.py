"""A deadline for a whole response (status line, headers and body). requests/urllib3 only time out a single
socket read, so an endpoint that trickles one byte per read timeout would hold a run for hours. The
connections below register a deadline when they begin waiting for the response (the request is sent by then,
so long uploads are not cut); when it passes before the response is complete, the socket is shut down and the
blocked read fails at once.

One watchdog thread per process serves every deadline (a heap of deadlines and a Condition): registering and
cancelling one is O(log n) and starts no thread (a `threading.Timer` per request was a thread per request,
~14% of the runner's CPU on the whole corpus). The thread starts with the first deadline, never at import,
so a process that forks its workers before any request has no thread yet."""
from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_state = threading.local()          # per thread: seconds, expired (Event), entries (registered deadlines)


def _shut(sock: socket.socket | None, expired: threading.Event) -> None:
    expired.set()
    if sock is not None:
        with contextlib.suppress(OSError):
            # socket.socket's own shutdown, also for an SSLSocket: wakes the reader at the fd level
            # without tearing down the TLS object under its feet
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Entry:
    """One registered deadline; `cancelled` is set under the watchdog's lock, so a cancelled entry never fires."""
    __slots__ = ("cancelled", "expired", "sock", "when")

    def __init__(self, when: float, sock: socket.socket | None, expired: threading.Event) -> None:
        self.when = when
        self.sock = sock
        self.expired = expired
        self.cancelled = False


class _Watchdog:
    """The process's one deadline thread: sleeps until the earliest deadline (or a new, earlier one), shuts the
    socket of each entry that is due and not cancelled. Cancelled entries stay in the heap until they come up
    or until they are half of it (then the heap is rebuilt without them): its size stays bounded by the
    requests in flight plus a constant share."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Fresh state; also in a forked child, where the parent's thread does not exist and its lock may have
        been held at the fork."""
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, _Entry]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._cancelled = 0                 # cancelled entries still in the heap

    def register(self, seconds: float, sock: socket.socket | None, expired: threading.Event) -> _Entry:
        entry = _Entry(time.monotonic() + seconds, sock, expired)
        with self._cond:
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (entry.when, next(self._order), entry))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="response-deadline", daemon=True)
                self._thread.start()
            elif earliest is None or entry.when < earliest:
                self._cond.notify()
        return entry

    def cancel(self, entry: _Entry) -> None:
        with self._cond:
            if entry.cancelled:
                return
            entry.cancelled = True
            entry.sock = None                       # the socket is not kept alive by a cancelled deadline
            self._cancelled += 1
            if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
                self._heap = [item for item in self._heap if not item[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].cancelled or self._heap[0][0] <= now):
                    entry = heapq.heappop(self._heap)[2]
                    if entry.cancelled:
                        self._cancelled -= 1
                    else:
                        # under the lock: once cancel() has returned, the entry's socket is never shut later
                        # (its connection may already serve the next request)
                        entry.cancelled = True
                        _shut(entry.sock, entry.expired)
                        entry.sock = None
                self._cond.wait(self._heap[0][0] - now if self._heap else None)


_WATCHDOG = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WATCHDOG.reset)


COALESCE_BODY = 64 * 1024          # a body up to this size leaves in the header block's write


class _Watched:
    """The run's connections: the response deadline (below); and a small body leaves in the same write as the
    header block (http.client writes them apart: two TLS records and two segments per PUT or POST, about 1,800
    writes more per corpus run). The bytes on the wire are the same."""
    sock: socket.socket | None
    _held: bytes | None = None          # the header block, waiting for the body
    _hold: bool = False

    def request(self, method: str, url: str, body: Any = None, headers: Any = None, **kwargs: Any) -> None:
        self._hold = isinstance(body, bytes) and 0 < len(body) <= COALESCE_BODY
        self._held = None
        try:
            super().request(method, url, body, headers, **kwargs)  # type: ignore[misc]
        except BaseException:
            self._held = None
            raise
        finally:
            self._hold = False
        held, self._held = self._held, None
        if held is not None:                        # no body write followed (nothing to join)
            super().send(held)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if self._hold:
            if self._held is None:
                self._held = bytes(data)            # the header block
                return
            data, self._held, self._hold = self._held + bytes(data), None, False
        super().send(data)  # type: ignore[misc]

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        seconds = getattr(_state, "seconds", None)
        if seconds is not None:
            _state.entries.append(_WATCHDOG.register(seconds, self.sock, _state.expired))
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
    request was sent; the yielded event is set when the deadline cut one off. Leaving the block cancels the
    block's deadlines (a later request on a reused connection is never shut by an earlier one's)."""
    expired = threading.Event()
    entries: list[_Entry] = []
    _state.seconds, _state.expired, _state.entries = seconds, expired, entries
    try:
        yield expired
    finally:
        for entry in entries:
            _WATCHDOG.cancel(entry)
        _state.seconds = _state.entries = None
