"""Request timestamps: ISO 8601 basic (x-amz-date, X-Amz-Date) and RFC 1123 (Date)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_SKEW = timedelta(minutes=15)


# parse_amz_date's results: concurrent requests carry the same second (an immutable datetime, so a hit returns
# what parsing would). Bounded: cleared when full.
_PARSED: dict[str, datetime] = {}
_PARSED_MAX = 256


def parse_amz_date(value: str) -> datetime | None:
    """'20130524T000000Z' -> aware UTC datetime; None when malformed. Sliced by hand: strptime is slow."""
    moment = _PARSED.get(value)
    if moment is not None:
        return moment
    moment = _parse_amz_date(value)
    if moment is not None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[value] = moment
    return moment


def _parse_amz_date(value: str) -> datetime | None:
    if len(value) != 16 or value[8] != "T" or value[15] != "Z" or not (value[:8] + value[9:15]).isdigit():
        return None
    try:
        return datetime(int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]), int(value[11:13]),
                        int(value[13:15]), tzinfo=UTC)
    except ValueError:
        return None


def parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_amz_date(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def is_skewed(request_time: datetime, now: datetime) -> bool:
    return abs(now - request_time) > MAX_SKEW
