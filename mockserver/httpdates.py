"""Timestamps as S3 writes them: HTTP dates in headers (Date, Last-Modified) and ISO 8601 in XML bodies; parsing
of the HTTP dates conditional requests send."""
from __future__ import annotations

import functools
import time
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

_date_cache: list[Any] = [0, ""]


def http_date_now() -> str:
    """The Date header value, formatted once per second."""
    now = int(time.time())
    if now != _date_cache[0]:
        _date_cache[0] = now
        _date_cache[1] = formatdate(now, usegmt=True)
    return _date_cache[1]


def http_date(ts: float) -> str:
    return _http_date(int(ts))


@functools.lru_cache(maxsize=4096)
def _http_date(seconds: int) -> str:
    return formatdate(seconds, usegmt=True)


def iso8601(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def parse_http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
