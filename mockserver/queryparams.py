"""Query string parameters as S3 reads them: parsing the query string, and the integer paging limits
(max-keys, max-uploads, max-parts...)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import quote

from mockserver.auth.canonical import fast_unquote
from mockserver.errors import invalid_argument
from mockserver.numbers import INT32_MAX, parse_signed

# _parse_query's results by query text (a presigned URL's query repeats when it is fetched again): a pure function's
# results, so a hit is what parsing would give; each caller gets its own copy. Bounded (cleared when full); only
# queries up to _PARSED_TEXT characters are kept.
_PARSED: dict[str, dict[str, str]] = {}
_PARSED_MAX = 1024
_PARSED_TEXT = 4096


def parse_query(query_string: str) -> dict[str, str]:
    """Query parameters (first occurrence wins), '+' as space as S3 reads them."""
    params = _PARSED.get(query_string)
    if params is None:
        params = _parse_query(query_string)
        if len(query_string) > _PARSED_TEXT:
            return params
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[query_string] = params
    return dict(params)


def _parse_query(query_string: str) -> dict[str, str]:
    """parse_query's parse. Fast path for the common case of nothing to unquote; parse_qsl is several times slower
    on presigned URLs' long queries."""
    params: dict[str, str] = {}
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = fast_unquote(name.replace("+", " "))      # = unquote_plus(name)
        if "%" in value or "+" in value:
            value = fast_unquote(value.replace("+", " "))
        if name not in params:
            params[name] = value
    return params


def parse_max(query: Mapping[str, str], name: str, default: int, upper: int) -> int:
    """An integer paging limit: `default` when absent or empty, at most `upper`; InvalidArgument when it is not a
    non-negative integer."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    value = parse_signed(raw, INT32_MAX)      # ASCII digits within a 32-bit integer, as the message says
    if value is None:
        raise invalid_argument(f"Provided {name} not an integer or within integer range", name, raw)
    if value < 0:
        raise invalid_argument(f"Argument {name} must be an integer between 0 and 2147483647", name, raw)
    return min(value, upper)


def key_encoder(query: Mapping[str, str]) -> Callable[[str], str]:
    """`encoding-type` of the listings (objects, versions, multipart uploads): "url" percent-encodes keys, prefixes,
    delimiters and markers (slashes kept); absent, they go as they are; any other value is InvalidArgument."""
    encoding = query.get("encoding-type")
    if encoding is None:
        return lambda s: s
    if encoding != "url":
        raise invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", encoding)
    return lambda s: quote(s, safe="/")
