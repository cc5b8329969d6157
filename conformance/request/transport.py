"""HTTP transport: requests, no retries, explicit timeouts; every outcome becomes an Exchange."""
from __future__ import annotations

import http.client
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3

from ..results import Exchange, RequestRecord, ResponseRecord
from .deadline import WatchedAdapter, response_deadline

MiB = 1024 * 1024


@dataclass
class TransportConfig:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0            # seconds without a byte from the endpoint
    ca_file: str | None = None
    verify_tls: bool = True
    max_body: int = 512 * MiB             # a response body larger than this is a failure, not an OOM
    max_kms_body: int = 1 * MiB           # the same for KMS JSON answers (a few KB each; ListAliases pages ~100 KB)
    deadline: float | None = None         # whole response after sending, seconds; None: 5 x read_timeout

    def response_deadline(self) -> float:
        return self.deadline if self.deadline is not None else 5 * self.read_timeout


_SSL_HINTS = {"WRONG_VERSION_NUMBER": " (the endpoint does not answer TLS: is it plain HTTP?)",
              "CERTIFICATE_VERIFY_FAILED": " (pass --ca-file with the CA that signed the endpoint's certificate)"}


def _wrapped(exc: BaseException) -> BaseException | None:
    """The exception `exc` wraps: requests' exceptions carry urllib3's as args[0], MaxRetryError its
    reason, urllib3 others their __cause__."""
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        return exc.reason
    if exc.args and isinstance(exc.args[0], BaseException):
        return exc.args[0]
    if isinstance(exc, urllib3.exceptions.SSLError) and isinstance(exc.__cause__, ssl.SSLError):
        return exc.__cause__
    return None


def _innermost(exc: BaseException) -> BaseException:
    seen = {id(exc)}
    inner = _wrapped(exc)
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc, inner = inner, _wrapped(inner)
    return exc


def _ssl_text(exc: ssl.SSLError) -> str:
    """`certificate verify failed: <why>` from the error's library reason code, plus a hint."""
    reason = exc.reason or ""
    text = reason.lower().replace("_", " ") if reason else str(exc)
    verify = getattr(exc, "verify_message", None)       # only on SSLCertVerificationError
    if verify:
        text = f"{text}: {verify}"
    return text + _SSL_HINTS.get(reason, "")


def _own_text(exc: BaseException) -> str:
    """An exception's own message without the connection or pool urllib3 prefixes it with."""
    text = str(exc)
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return text.removeprefix(f"{exc.conn}: ")
    if isinstance(exc, urllib3.exceptions.PoolError):
        return text.removeprefix(f"{exc.pool}: ")
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError) and len(exc.args) == 2:
        return str(exc.args[1])                          # (connection, message)
    return text


def concise(exc: BaseException, url: str = "") -> str:
    """urllib3's nested exceptions (requests error -> MaxRetryError -> NewConnectionError ...) reduced to
    `host:port: the cause`, e.g. `127.0.0.1:9: Failed to establish a new connection: [Errno 111] ...`."""
    parts = urlsplit(url)
    try:
        where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}: " \
            if parts.hostname else ""
    except ValueError:                  # a port that is not a number: name the host part as written
        where = f"{parts.netloc}: "
    inner = _innermost(exc)
    if isinstance(inner, ssl.SSLError):
        return where + _ssl_text(inner)
    protocol = next((e for e in (exc, _wrapped(exc)) if isinstance(e, urllib3.exceptions.ProtocolError)), None)
    if protocol is not None and len(protocol.args) == 2 and isinstance(protocol.args[1], BaseException):
        cause = protocol.args[1]                     # ('Connection aborted.', cause)
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):         # the cause names itself
            return f"{where}{cause}"
        return f"{where}{str(protocol.args[0]).rstrip('.').lower()}: {type(cause).__name__}: {cause}"
    return where + _own_text(inner)


def _read_timed_out(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, urllib3.exceptions.ReadTimeoutError):
            return True
        seen.add(id(current))
        current = _wrapped(current)
    return False


class _BodyProblem(Exception):
    pass


class Transport:
    """One requests.Session per thread (sessions are not guaranteed thread-safe)."""

    def __init__(self, config: TransportConfig | None = None):
        self.config = config or TransportConfig()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = WatchedAdapter(max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.trust_env = False          # no proxies from the environment: we talk to the endpoint
            self._local.session = session
        return session

    def verify(self) -> bool | str:
        if not self.config.verify_tls:
            return False
        return self.config.ca_file or True

    def send(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes,
             max_body: int | None = None) -> Exchange:
        """One request, one Exchange; the response must be complete within the response deadline and no larger
        than `max_body` bytes (default: the config's max_body)."""
        # Request.prepare() (not session.prepare_request) so no session default headers are added:
        # the endpoint sees exactly the signed headers plus what HTTP itself needs (Host, Content-Length).
        prepared = requests.Request(method, url, data=body if body else None).prepare()
        prepared.headers.clear()
        for name, value in headers:
            prepared.headers[name] = value
        if body or method in ("PUT", "POST"):
            prepared.headers["Content-Length"] = str(len(body))
        record = RequestRecord(method, str(prepared.url), list(prepared.headers.items()), body)
        started = time.monotonic()
        with response_deadline(self.config.response_deadline()) as expired:
            exchange = self._exchange(prepared, record, started,
                                      self.config.max_body if max_body is None else max_body)
        if expired.is_set():
            # the socket was shut mid-response: what was parsed (even a "complete" header block ended by
            # the shutdown) is a fragment, so no response is reported
            got = f"HTTP {exchange.response.status}, {len(exchange.response.body)} body bytes" \
                if exchange.response is not None else exchange.error
            exchange.response = None
            exchange.error = (f"timeout: {concise(Exception(), record.url)}no complete response within "
                              f"{self.config.response_deadline():g} s of sending the request (cut off at: {got})")
        return exchange

    def _exchange(self, prepared: requests.PreparedRequest, record: RequestRecord, started: float,
                  max_body: int) -> Exchange:
        response = None
        try:
            # the adapter itself, as Session.send would call it (no redirects, no proxies: trust_env is off),
            # without what Session.send adds around it that a run never uses: response hooks, the cookie jar
            # (never sent: requests are prepared without the session), the redirect look-ahead
            adapter = self._session().get_adapter(url=str(prepared.url))
            response = adapter.send(prepared, stream=True, timeout=(self.config.connect_timeout,
                                                                    self.config.read_timeout),
                                    verify=self.verify(), cert=None, proxies={})
            content = self._read_body(response, max_body)
        except _BodyProblem as exc:
            return Exchange(record, None, time.monotonic() - started, f"response body: {exc}")
        except requests.exceptions.Timeout as exc:
            return Exchange(record, None, time.monotonic() - started, f"timeout: {concise(exc, record.url)}")
        except requests.exceptions.SSLError as exc:
            return Exchange(record, None, time.monotonic() - started, f"TLS error: {concise(exc, record.url)}")
        except requests.exceptions.ConnectionError as exc:
            # a read timeout while the body streams arrives as a ConnectionError: call it what it is
            label = "timeout" if _read_timed_out(exc) else "connection failed"
            return Exchange(record, None, time.monotonic() - started, f"{label}: {concise(exc, record.url)}")
        except requests.exceptions.ChunkedEncodingError as exc:
            return Exchange(record, None, time.monotonic() - started,
                            f"response body broken off or malformed: {concise(exc, record.url)}")
        except requests.exceptions.RequestException as exc:
            return Exchange(record, None, time.monotonic() - started,
                            f"{type(exc).__name__}: {concise(exc, record.url)}")
        except (OSError, ValueError, http.client.HTTPException, urllib3.exceptions.HTTPError) as exc:
            # what slips past requests' wrapping (e.g. a body cut short inside the decoder): still data
            return Exchange(record, None, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
        finally:
            if response is not None:
                response.close()
        reply = ResponseRecord(response.status_code, response.reason or "", list(response.raw.headers.items())
                               if response.raw is not None else list(response.headers.items()), content)
        return Exchange(record, reply, time.monotonic() - started)

    @staticmethod
    def _read_body(response: requests.Response, max_body: int) -> bytes:
        """The body, bounded in size (the time bound is the response deadline): a server that streams
        forever fails the request instead of filling the memory."""
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_body:
            raise _BodyProblem(f"Content-Length {declared} exceeds the {max_body}-byte limit")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=256 * 1024):
            size += len(chunk)
            if size > max_body:
                raise _BodyProblem(f"more than {max_body} bytes (limit)")
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
