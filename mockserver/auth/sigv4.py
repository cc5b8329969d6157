"""SigV4 verification: the Authorization header form, and the check shared with presigned URLs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mockserver.accounts import Account, Accounts
from mockserver.auth import errors
from mockserver.auth.canonical import (
    canonical_headers,
    canonical_query,
    canonical_request,
    canonical_uris,
    plus_as_space_query,
)
from mockserver.auth.credential import Credential, parse_credential
from mockserver.auth.signing import request_string_to_sign, sign, signatures_equal, signing_key
from mockserver.auth.timestamps import format_amz_date, is_skewed, parse_amz_date, parse_http_date

PREFIX = "AWS4-HMAC-SHA256 "
# Headers a client may send without signing (botocore's own blacklist plus hop-by-hop ones).
UNSIGNABLE = frozenset({"authorization", "user-agent", "expect", "x-amzn-trace-id", "connection",
                        "transfer-encoding"})


@dataclass
class V4Check:
    """Everything needed to compute the expected signature for a given payload hash."""
    method: str
    raw_path: str
    query: str                      # canonical query string
    headers: str                    # canonical headers block
    signed: list[str]
    account: Account
    credential: Credential
    amz_date: str
    provided: str
    key: bytes = b""
    alt_query: str | None = None      # '+' read as a space (canonical.plus_as_space_query), tried second

    def __post_init__(self) -> None:
        c = self.credential
        self.key = signing_key(self.account.secret_key, c.date, c.region, c.service)

    def verify(self, payload_hash: str) -> None:
        # The request as received first (what nearly every request signed); the other forms (the path re-encoded,
        # the query with '+' as a space) only after a mismatch, in the same order.
        path = self.raw_path or "/"
        creq = canonical_request(self.method, path, self.query, self.headers, self.signed, payload_hash)
        sts = request_string_to_sign(self.amz_date, self.credential.scope, creq)
        if signatures_equal(sign(self.key, sts), self.provided):
            return
        first = (sts, creq)
        queries = [self.query] if self.alt_query is None else [self.query, self.alt_query]
        for query in queries:
            for uri in canonical_uris(self.raw_path):
                if query is self.query and uri == path:
                    continue                # tried above
                creq = canonical_request(self.method, uri, query, self.headers, self.signed, payload_hash)
                sts = request_string_to_sign(self.amz_date, self.credential.scope, creq)
                if signatures_equal(sign(self.key, sts), self.provided):
                    return
        raise errors.signature_does_not_match(self.account.access_key, first[0], self.provided, first[1])


def header_error(detail: str, region: str | None) -> Exception:
    return errors.header_malformed(detail, region)


def parse_authorization(value: str) -> dict[str, str]:
    components: dict[str, str] = {}
    for part in value[len(PREFIX):].split(","):
        name, sep, item = part.strip().partition("=")
        if sep:
            components[name] = item
    if not all(components.get(k) for k in ("Credential", "SignedHeaders", "Signature")):
        raise errors.header_malformed("the authorization header requires three components: Credential, "
                                      "SignedHeaders, and Signature.")
    return components


def request_time(headers: dict[str, list[str]]) -> tuple[datetime, str]:
    """(time, ISO basic string used in the string to sign) from x-amz-date, else Date."""
    if "x-amz-date" in headers:
        value = headers["x-amz-date"][0]
        moment = parse_amz_date(value)
        if moment is None:
            raise errors.missing_date()
        return moment, value
    if "date" in headers:
        moment = parse_http_date(headers["date"][0])
        if moment is not None:
            return moment, format_amz_date(moment)
    raise errors.missing_date()


def require_signed(headers: dict[str, list[str]], signed: list[str], signed_set: frozenset[str] | None = None) -> None:
    """Every x-amz-* header and `host` must be signed. SigV4 requires host in SignedHeaders (without it one
    signature would serve any virtual-hosted bucket); AWS's answer for an unsigned host, recorded in public
    reports (brendanhay/amazonka#272 presigned, coda/packs-sdk#3093 header): 403 AccessDenied "There were headers
    present in the request which were not signed", HeadersNotSigned: host."""
    signed_set = frozenset(signed) if signed_set is None else signed_set    # (given: frozenset(signed))
    missing = []
    for n in headers:                   # (a loop: a generator is a function call of its own)
        if n.startswith("x-amz-") and n not in signed_set and n not in UNSIGNABLE:
            missing.append(n)
    missing.sort()
    if "host" not in signed_set:
        missing.insert(0, "host")
    if missing:
        raise errors.headers_not_signed(missing)


def check_header_auth(method: str, raw_path: str, raw_query: str, headers: dict[str, list[str]],
                      authorization: str, accounts: Accounts, region: str, now: datetime,
                      service: str = "s3") -> V4Check:
    """Validates everything but the signature itself (the payload hash may still be unknown: KMS)."""
    comps = parse_authorization(authorization)
    credential = parse_credential(comps["Credential"], region, header_error, service)  # type: ignore[arg-type]
    account = accounts.by_access_key(credential.access_key)
    if account is None:
        raise errors.invalid_access_key_id(credential.access_key)
    moment, amz_date = request_time(headers)
    if credential.date != amz_date[:8]:
        raise errors.header_malformed("Invalid credential date. Date is not the same as X-Amz-Date.")
    if is_skewed(moment, now):
        raise errors.request_time_too_skewed(moment, now)
    signed = comps["SignedHeaders"].split(";")
    require_signed(headers, signed)
    return V4Check(method, raw_path, canonical_query(raw_query), canonical_headers(headers, signed), signed,
                   account, credential, amz_date, comps["Signature"], alt_query=plus_as_space_query(raw_query))
