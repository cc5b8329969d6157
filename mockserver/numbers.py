"""Decimal numbers read from requests (headers, query parameters, XML text), parsed with ASCII-only rules.

`str.isdigit()` is true for '²', '٣' and other Unicode digits, which `int()` then refuses or reads as another
value; `int()` also accepts '+', '_' and surrounding whitespace, and refuses more than 4,300 digits (ValueError).
Here a number is ASCII digits only, of any length: values too long for a signed 64-bit integer (what S3's
parameters are) come back as None or saturated, never as an exception.
"""
from __future__ import annotations

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
_LONG_DIGITS = len(str(INT64_MAX))      # 19


def is_ascii_digits(text: str) -> bool:
    """One or more of 0-9 and nothing else."""
    return text.isascii() and text.isdigit()


def parse_digits(text: str, limit: int = INT64_MAX) -> int | None:
    """ASCII digits -> their value when it is <= limit; None for anything else (empty, signs, spaces, Unicode
    digits, or a value beyond the limit, however many digits it has)."""
    if not is_ascii_digits(text):
        return None
    significant = text.lstrip("0")
    if len(significant) > _LONG_DIGITS:
        return None
    value = int(significant or "0")
    return value if value <= limit else None


def parse_saturated(text: str, cap: int = INT64_MAX) -> int | None:
    """ASCII digits -> their value, or `cap` when larger (a 5,000-digit byte offset is simply beyond any
    object); None when not ASCII digits."""
    if not is_ascii_digits(text):
        return None
    value = parse_digits(text, cap)
    return cap if value is None else value


def parse_signed(text: str, limit: int = INT64_MAX) -> int | None:
    """An optional '-' then ASCII digits (surrounding whitespace ignored) -> value with |value| <= limit, else
    None."""
    text = text.strip()
    negative = text.startswith("-")
    value = parse_digits(text[1:] if negative else text, limit)
    if value is None:
        return None
    return -value if negative else value
