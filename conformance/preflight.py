"""Preflight: before any case, connect to the endpoint and sign one cheap request (ListBuckets) with each
account's keys. A failure stops the run (exit 2) with a few lines: the endpoint, what came back (the S3
error code and message) and what to check, instead of hundreds of identical failures."""
from __future__ import annotations

import email.utils
import hashlib
import time
from typing import TYPE_CHECKING

from .matchers import error_fields
from .request import signing
from .target import TargetError

if TYPE_CHECKING:
    from .request.transport import Transport
    from .target import Target

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW = 300                     # seconds: AWS answers RequestTimeTooSkewed beyond 15 min; warn earlier

_HINTS = {
    "SignatureDoesNotMatch": "the secret key (--secret-key / $S3C_SECRET_KEY) and --region",
    "InvalidAccessKeyId": "the access key (--access-key / $S3C_ACCESS_KEY)",
    "RequestTimeTooSkewed": "this machine's clock (the request time must be within 15 minutes of the server's)",
    "AuthorizationHeaderMalformed": "--region (the signing region must be the endpoint's)",
    "AccessDenied": "the keys' permissions (the preflight needs s3:ListAllMyBuckets; "
                    "--no-preflight skips it)",
}


class PreflightError(TargetError):
    """`lines`: what to print (stderr), one fact per line."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def check(target: Target, transport: Transport) -> None:
    """Raises PreflightError unless ListBuckets signed with the main (and, when given, the second) account's
    keys answers 2xx."""
    accounts = [("main account", target.main, "--access-key/--secret-key")]
    if target.alt is not None:
        accounts.append(("second account", target.alt, "--alt-access-key/--alt-secret-key"))
    for label, keys, flags in accounts:
        problem = _list_buckets(target, transport, keys, label, flags)
        if problem:
            raise PreflightError(problem)


def _list_buckets(target: Target, transport: Transport, keys: signing.Keys, label: str, flags: str
                  ) -> list[str] | None:
    url = target.endpoint.rstrip("/") + "/"
    signed = signing.sign_v4("GET", url, [("x-amz-content-sha256", EMPTY_SHA256)], b"", keys, target.region,
                             EMPTY_SHA256)
    exchange = transport.send("GET", signed.url, signed.headers, b"")
    head = f"preflight failed: ListBuckets ({label}) at {target.endpoint}"
    response = exchange.response
    if response is None:
        error = exchange.error or "no response"
        checks = ["the endpoint URL (scheme http/https, host, port) and that the service is running"]
        if "TLS" in error or "certificate" in error.lower():
            checks.insert(0, "--ca-file (the CA that signed the endpoint's certificate) or the URL's scheme")
        return [head, f"  no response: {error}", *(f"  check: {c}" for c in checks)]
    if 200 <= response.status < 300:
        return None
    fields = error_fields(response) or {}
    code, message = fields.get("Code"), fields.get("Message")
    answer = f"  HTTP {response.status} {response.reason}".rstrip()
    if code:
        answer += f": {code}"
    if message:
        answer += f' "{message}"'
    elif not code and response.body:
        answer += f": {response.body[:200].decode('utf-8', 'replace')!r}"
    lines = [head, answer]
    skew = _clock_skew(response.header("Date"))
    if skew is not None and abs(skew) > MAX_SKEW:
        lines.append(f"  this machine's clock is {abs(skew):.0f} s {'behind' if skew > 0 else 'ahead of'} "
                     "the server's Date header")
    hint = _HINTS.get(code or "")
    if hint:
        lines.append(f"  check: {hint}")
    else:
        lines.append(f"  check: the credentials ({flags}), the clock of this machine, --region, --ca-file and "
                     "the endpoint URL")
    if code in ("SignatureDoesNotMatch", "InvalidAccessKeyId") and label == "second account":
        lines[-1] = f"  check: the second account's keys ({flags})"
    return lines


def _clock_skew(date: str | None) -> float | None:
    """Server time minus local time, seconds (None without a parseable Date header)."""
    if not date:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return None
    return parsed.timestamp() - time.time()
