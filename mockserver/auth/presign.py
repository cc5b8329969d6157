"""Presigned SigV4 URLs (query-string authentication) with X-Amz-Expires enforced."""
from __future__ import annotations

from datetime import datetime, timedelta

from mockserver.accounts import Accounts
from mockserver.auth import errors
from mockserver.auth.canonical import (
    canonical_headers,
    canonical_query,
    fast_unquote,
    plus_as_space_query,
    query_parts,
)
from mockserver.auth.credential import Credential, parse_credential
from mockserver.auth.sigv4 import V4Check, require_signed
from mockserver.auth.timestamps import MAX_SKEW, parse_amz_date
from mockserver.numbers import INT64_MAX, is_ascii_digits, parse_signed

MAX_EXPIRES = 604800
REQUIRED = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders",
            "X-Amz-Expires")


def is_presigned_v4(raw_query: str) -> bool:
    return "X-Amz-Algorithm=" in raw_query or "X-Amz-Credential=" in raw_query or "X-Amz-Signature=" in raw_query


# _parsed_query's results: a presigned URL is often fetched more than once (and a client's retries repeat it). The
# parse is a pure function of the query text, so a hit returns exactly what parsing would; what depends on the
# request (its time, headers, account) and the signature itself are checked on every request. Bounded (cleared
# when full); only queries up to _PARSED_QUERY_TEXT characters are kept. The parameter dicts are never modified.
_PARSED_QUERIES: dict[str, tuple[dict[str, str], str, str | None]] = {}
_PARSED_QUERIES_MAX = 1024
_PARSED_QUERY_TEXT = 4096


def _parsed_query(raw_query: str) -> tuple[dict[str, str], str, str | None]:
    """(the X-Amz-* parameters, first occurrence of each, unquoted; the canonical query without X-Amz-Signature;
    the same with '+' read as a space, or None)."""
    parsed = _PARSED_QUERIES.get(raw_query)
    if parsed is not None:
        return parsed
    parts = query_parts(raw_query)         # split once: for the parameters and the canonical query
    params: dict[str, str] = {}
    for name, _, value in parts:
        if name.startswith("X-Amz-") and name not in params:    # the first occurrence, as raw_query_params
            params[name] = fast_unquote(value)
    parsed = (params, canonical_query(raw_query, exclude="X-Amz-Signature", parts=parts),
              plus_as_space_query(raw_query, exclude="X-Amz-Signature"))
    if len(raw_query) <= _PARSED_QUERY_TEXT:
        if len(_PARSED_QUERIES) >= _PARSED_QUERIES_MAX:
            _PARSED_QUERIES.clear()
        _PARSED_QUERIES[raw_query] = parsed
    return parsed


def query_error(detail: str, region: str | None) -> Exception:
    return errors.query_parameters_error("Error parsing the X-Amz-Credential parameter; " + detail, region)


# _checked_query's results for queries that passed its checks, by (query, region, service): pure functions of
# those, so a hit is what checking would give (a query that fails is checked, and fails, every time). What depends
# on the request (account, time, headers, method, path, signature) is checked per request by check_presigned.
_Checked = tuple[dict[str, str], str, str | None, Credential, datetime, int, datetime, list[str], frozenset[str]]
_CHECKED: dict[tuple[str, str, str], _Checked] = {}
_CHECKED_MAX = 1024


def _checked_query(raw_query: str, region: str, service: str) -> _Checked:
    """The query's parse (_parsed_query) and its own checks, in AWS's order: (parameters, canonical query, '+'
    variant, credential scope, X-Amz-Date, X-Amz-Expires, the moment the URL expires, the signed header names as
    a list and as a set; neither is ever modified). Raises S3Error."""
    cache_key = (raw_query, region, service)
    checked = _CHECKED.get(cache_key)
    if checked is not None:
        return checked
    params, query, alt_query = _parsed_query(raw_query)
    # An empty X-Amz-SignedHeaders is present, not missing: AWS answers it as a request whose host is not signed
    # (403 AccessDenied, HeadersNotSigned: host; recorded in brendanhay/amazonka#272).
    for name in REQUIRED:
        if not params.get(name) and not (name == "X-Amz-SignedHeaders" and name in params):
            raise errors.query_parameters_error(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
    if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        raise errors.query_parameters_error('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    credential = parse_credential(params["X-Amz-Credential"], region, query_error, service)  # type: ignore[arg-type]
    moment = parse_amz_date(params["X-Amz-Date"])
    if moment is None:
        raise errors.query_parameters_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    expires_text = params["X-Amz-Expires"]
    if not is_ascii_digits(expires_text.removeprefix("-")):
        raise errors.query_parameters_error("X-Amz-Expires should be a number")
    expires = parse_signed(expires_text)
    if expires is None:                  # beyond a 64-bit integer: as far out of range as it says
        expires = -INT64_MAX if expires_text.startswith("-") else INT64_MAX
    if expires < 0:
        raise errors.query_parameters_error("X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES:
        # AWS's wording, recorded in public reports (bryanjos/aws_auth#31, aws/aws-cli#5464)
        raise errors.query_parameters_error(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less "
            "than 604800 seconds")
    try:
        expires_at = moment + timedelta(seconds=expires)
    except OverflowError:           # past datetime's last moment (X-Amz-Date in 9999): as late as it can be
        expires_at = datetime.max.replace(tzinfo=moment.tzinfo)
    signed = params["X-Amz-SignedHeaders"].split(";")
    checked = (params, query, alt_query, credential, moment, expires, expires_at, signed, frozenset(signed))
    if len(raw_query) <= _PARSED_QUERY_TEXT:
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[cache_key] = checked
    return checked


def check_presigned(method: str, raw_path: str, raw_query: str, headers: dict[str, list[str]],
                    accounts: Accounts, region: str, now: datetime, service: str = "s3") -> V4Check:
    params, query, alt_query, credential, moment, expires, expires_at, signed, signed_set = _checked_query(
        raw_query, region, service)
    amz_date = params["X-Amz-Date"]
    account = accounts.by_access_key(credential.access_key)
    if account is None:
        raise errors.invalid_access_key_id(credential.access_key)
    if credential.date != amz_date[:8]:
        raise query_error("Invalid credential date. Date is not the same as X-Amz-Date.", None)
    if moment > now + MAX_SKEW:
        # Dated in the future: refused until then (AWS: 403 "Request is not yet valid"). The 15 minutes of
        # tolerance are the header-auth clock skew AWS allows; that AWS allows the same here is unproven.
        raise errors.request_not_yet_valid(moment, expires_at, now)
    if now > expires_at:
        raise errors.request_expired(expires, expires_at, now)
    require_signed(headers, signed, signed_set)
    return V4Check(method, raw_path, query, canonical_headers(headers, signed), signed, account, credential, amz_date,
                   params["X-Amz-Signature"], alt_query=alt_query)
