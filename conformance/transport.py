"""HTTP transport: requests, no retries, explicit timeouts; every outcome becomes an Exchange."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter

from .results import Exchange, RequestRecord, ResponseRecord


@dataclass
class TransportConfig:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    ca_file: str | None = None
    verify_tls: bool = True


class Transport:
    """One requests.Session per thread (sessions are not guaranteed thread-safe)."""

    def __init__(self, config: TransportConfig | None = None):
        self.config = config or TransportConfig()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=0)
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
        try:
            response = self._session().send(prepared, timeout=(self.config.connect_timeout,
                                                               self.config.read_timeout),
                                            verify=self.verify(), allow_redirects=False)
            content = response.content
        except requests.exceptions.Timeout as exc:
            return Exchange(record, None, time.monotonic() - started, f"timeout: {exc}")
        except requests.exceptions.SSLError as exc:
            return Exchange(record, None, time.monotonic() - started, f"TLS error: {exc}")
        except requests.exceptions.ConnectionError as exc:
            return Exchange(record, None, time.monotonic() - started, f"connection failed: {exc}")
        except requests.exceptions.RequestException as exc:
            return Exchange(record, None, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
        reply = ResponseRecord(response.status_code, response.reason or "", list(response.raw.headers.items())
                               if response.raw is not None else list(response.headers.items()), content)
        return Exchange(record, reply, time.monotonic() - started)

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
