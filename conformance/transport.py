"""HTTP transport: requests, no retries, explicit timeouts; every outcome becomes an Exchange."""
from __future__ import annotations

import http.client
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3

from .deadline import WatchedAdapter, response_deadline
from .results import Exchange, RequestRecord, ResponseRecord

MiB = 1024 * 1024


@dataclass
class TransportConfig:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0            # seconds without a byte from the endpoint
    ca_file: str | None = None
    verify_tls: bool = True
    max_body: int = 512 * MiB             # a response body larger than this is a failure, not an OOM
    deadline: float | None = None         # whole response after sending, seconds; None: 5 x read_timeout

    def response_deadline(self) -> float:
        return self.deadline if self.deadline is not None else 5 * self.read_timeout


_CAUSED_BY = re.compile(r"\(Caused by \w+\((['\"])(.*)\1\)\)$", re.DOTALL)
_PREFIX = re.compile(r"^(?:\w*HTTPS?Connection(?:Pool)?\(host='[^']*', port=\d+\)|<[^>]* object at 0x[0-9a-f]+>): "
                     r"(?:Max retries exceeded with url: \S+ )?")
_SSL = re.compile(r"\[SSL: ([A-Z_]+)\] (.*?)(?: \(_ssl\.c:\d+\))?['\")]")
_SSL_HINTS = {"WRONG_VERSION_NUMBER": " (the endpoint does not answer TLS: is it plain HTTP?)",
              "CERTIFICATE_VERIFY_FAILED": " (pass --ca-file with the CA that signed the endpoint's certificate)"}


def concise(exc: Exception, url: str = "") -> str:
    """urllib3's nested wording ("HTTPConnectionPool(...): Max retries exceeded ... (Caused by X(...))")
    reduced to `host:port: the cause`, e.g. `127.0.0.1:9: ... [Errno 111] Connection refused`."""
    parts = urlsplit(url)
    try:
        where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}: " \
            if parts.hostname else ""
    except ValueError:                  # a port that is not a number: name the host part as written
        where = f"{parts.netloc}: "
    text = str(exc)
    ssl = _SSL.search(text)
    if ssl:
        return f"{where}{ssl.group(2)}{_SSL_HINTS.get(ssl.group(1), '')}"
    inner_args = exc.args[0].args if exc.args and isinstance(exc.args[0], BaseException) else ()
    if len(inner_args) == 2 and isinstance(inner_args[1], BaseException):     # ('Connection aborted.', cause)
        cause = inner_args[1]
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):         # the cause names itself
            return f"{where}{cause}"
        return f"{where}{str(inner_args[0]).rstrip('.').lower()}: {type(cause).__name__}: {cause}"
    inner = _CAUSED_BY.search(text)
    if inner:
        text = inner.group(2)
    return where + _PREFIX.sub("", text)


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

    def send(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> Exchange:
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
            exchange = self._exchange(prepared, record, started)
        if expired.is_set():
            # the socket was shut mid-response: what was parsed (even a "complete" header block ended by
            # the shutdown) is a fragment, so no response is reported
            got = f"HTTP {exchange.response.status}, {len(exchange.response.body)} body bytes" \
                if exchange.response is not None else exchange.error
            exchange.response = None
            exchange.error = (f"timeout: {concise(Exception(), record.url)}no complete response within "
                              f"{self.config.response_deadline():g} s of sending the request (cut off at: {got})")
        return exchange

    def _exchange(self, prepared: requests.PreparedRequest, record: RequestRecord, started: float) -> Exchange:
        response = None
        try:
            response = self._session().send(prepared, timeout=(self.config.connect_timeout,
                                                               self.config.read_timeout),
                                            verify=self.verify(), allow_redirects=False, stream=True)
            content = self._read_body(response)
        except _BodyProblem as exc:
            return Exchange(record, None, time.monotonic() - started, f"response body: {exc}")
        except requests.exceptions.Timeout as exc:
            return Exchange(record, None, time.monotonic() - started, f"timeout: {concise(exc, record.url)}")
        except requests.exceptions.SSLError as exc:
            return Exchange(record, None, time.monotonic() - started, f"TLS error: {concise(exc, record.url)}")
        except requests.exceptions.ConnectionError as exc:
            # a read timeout while the body streams arrives as a ConnectionError: call it what it is
            label = "timeout" if "Read timed out" in str(exc) else "connection failed"
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

    def _read_body(self, response: requests.Response) -> bytes:
        """The body, bounded in size (the time bound is the response deadline): a server that streams
        forever fails the request instead of filling the memory."""
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.config.max_body:
            raise _BodyProblem(f"Content-Length {declared} exceeds the {self.config.max_body}-byte limit")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=256 * 1024):
            size += len(chunk)
            if size > self.config.max_body:
                raise _BodyProblem(f"more than {self.config.max_body} bytes (limit)")
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
