"""One client must not freeze the server or hold its connections (issue 10, items 11 and 12):

- a header section of 1,024 repeated 64 KiB lines (64 MiB on one connection) used to stall every other client
  for ~35 s and grow the server by 270 MiB: it is now answered `400 RequestHeaderSectionTooLarge` once 64 KiB of
  it arrived, while another client's GET is answered at once, and the server's memory stays put;
- a body dripping one byte at a time, each within the idle timeout, used to hold its connection forever: below
  the minimum rate it ends in S3's `400 RequestTimeout` (timeouts lowered through ServerConfig).
Loopback only; each test bounded in time and bytes."""
from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from mockserver.server import RunningServer, running_server

from .conftest import Victim, assert_s3_error
from .test_http_framing import _request
from .wire import Reply, Wire

LINE = b"X-Flood: " + b"a" * (64 * 1024) + b"\r\n"
LINES = 1024
TIMEOUT_MESSAGE = ("Your socket connection to the server was not read from or written to within the timeout period. "
                   "Idle connections will be closed.")


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Flooder(threading.Thread):
    """Sends a GET whose header section is LINES lines of 64 KiB, stopping as soon as the server answers; then
    ends the section and reads the answer."""

    def __init__(self, wire: Wire, path: str) -> None:
        super().__init__(daemon=True)
        self.wire, self.path = wire, path
        self.sent = 0
        self.done_sending = threading.Event()
        self.reply: bytes = b""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with socket.create_connection((self.wire.host, self.wire.port), timeout=60) as sock:
                sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: {self.wire.host}\r\n".encode())
                for _ in range(LINES):
                    if select.select([sock], [], [], 0)[0]:
                        break                               # the server answered: stop flooding
                    sock.sendall(LINE)
                    self.sent += len(LINE)
                else:
                    sock.sendall(b"\r\n")
                self.done_sending.set()
                while chunk := sock.recv(65536):
                    self.reply += chunk
        except OSError as exc:
            self.error = exc
        finally:
            self.done_sending.set()


@pytest.fixture
def rss_peak() -> Iterator[dict[str, float]]:
    """The peak RSS of this process (which runs the server) over the test, sampled every 20 ms."""
    record = {"before": _rss_mib(), "peak": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            record["peak"] = max(record["peak"], _rss_mib())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    yield record
    stop.set()
    thread.join(5)


def test_header_flood_does_not_stall_other_clients(wire: Wire, victim: Victim, rss_peak: dict[str, float]) -> None:
    flooders = [Flooder(wire, victim.path) for _ in range(2)]
    for flooder in flooders:
        flooder.start()
    for flooder in flooders:
        assert flooder.done_sending.wait(30)
    # once the flood is complete the server used to join and parse 64 MiB per connection, for tens of seconds:
    # another client's GETs over the next 3 s are each answered at once
    worst = 0.0
    end = time.monotonic() + 3
    while time.monotonic() < end:
        started = time.monotonic()
        reply = wire.send("GET", victim.path)
        worst = max(worst, time.monotonic() - started)
        assert reply.status == 200 and reply.body == victim.body, reply
        time.sleep(0.1)
    assert worst < 1.5, f"another client waited {worst:.1f} s"
    for flooder in flooders:
        flooder.join(30)
        assert not flooder.is_alive()
        # the flood was stopped near the limit (64 KiB), not swallowed whole
        assert flooder.sent < 4 * 1024 * 1024, flooder.sent
        head, _, body = flooder.reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 "), flooder.reply[:200]
        assert b"<Code>RequestHeaderSectionTooLarge</Code>" in body and b"<MaxSizeAllowed>8192</MaxSizeAllowed>" in body
        assert b"connection: close" in head.lower()
    grown = rss_peak["peak"] - rss_peak["before"]
    assert grown < 64, f"the server grew by {grown:.0f} MiB"
    victim.assert_intact()


def test_header_section_limit_counts_pipelined_requests_apart(wire: Wire, victim: Victim) -> None:
    """Requests on one connection (pipelined in one write) each get their own header budget."""
    one = _request(wire, victim.path, b"", content_length=None, method="GET")
    replies = wire.exchange_many(one * 40, ["GET"] * 40)
    assert [r.status for r in replies] == [200] * 40


def test_long_request_line_is_bounded_too(wire: Wire, victim: Victim) -> None:
    reply = wire.exchange(b"GET /" + b"a" * (2 * 1024 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n", "GET")
    assert_s3_error(reply, 400, "RequestHeaderSectionTooLarge")
    victim.assert_intact()


# ----- item 12: slow bodies -----
@pytest.fixture(scope="module")
def strict_server() -> Iterator[RunningServer]:
    """A server whose timeouts are lowered through ServerConfig: 1 s of silence, and from 1 s after the headers
    a body must average 100 bytes/s."""
    with running_server(request_timeout=1.0, body_min_rate=100.0, body_rate_grace=1.0) as server:
        server.client("s3").create_bucket(Bucket="slow")
        yield server


def _strict_wire(server: RunningServer) -> Wire:
    return Wire(server.endpoint, server.credentials, server.region)


def _drip(wire: Wire, body: bytes, piece: int, every: float, limit: float) -> tuple[bytes, float]:
    """PUT `body` in pieces of `piece` bytes every `every` seconds; the raw answer and when it came."""
    raw = _request(wire, "/slow/drip", body, content_length=len(body), payload="UNSIGNED-PAYLOAD")
    head = raw[:-len(body)]
    started = time.monotonic()
    with socket.create_connection((wire.host, wire.port), timeout=limit) as sock:
        sock.sendall(head)
        for offset in range(0, len(body), piece):
            if select.select([sock], [], [], every)[0]:
                break                                     # answered before the body ended
            if time.monotonic() - started > limit:
                break
            try:
                sock.sendall(body[offset:offset + piece])
            except OSError:
                break
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"</Error>" in answer or (b"\r\n\r\n" in answer and b" 200 " in answer.split(b"\r\n")[0]):
                    break
        except OSError:
            pass
    return answer, time.monotonic() - started


def test_slow_drip_body_times_out(strict_server: RunningServer) -> None:
    """One byte every 0.3 s: never silent for the 1 s idle timeout, far below 100 bytes/s."""
    answer, elapsed = _drip(_strict_wire(strict_server), b"x" * 1000, 1, 0.3, limit=15)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b"<Code>RequestTimeout</Code>" in answer, answer
    assert f"<Message>{TIMEOUT_MESSAGE}</Message>".encode() in answer, answer
    assert elapsed < 5, f"answered after {elapsed:.1f} s"


def test_body_at_a_fair_rate_outlives_the_grace(strict_server: RunningServer) -> None:
    """40 pieces of 25 bytes every 0.05 s (~500 bytes/s): over 2 s, longer than the grace, never cut."""
    wire = _strict_wire(strict_server)
    body = b"y" * 1000
    answer, _ = _drip(wire, body, 25, 0.05, limit=15)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    reply: Reply = wire.send("GET", "/slow/drip")
    assert reply.status == 200 and reply.body == body

