"""Discovery: before the cases run against a given endpoint, learn what it offers instead of assuming it.

- `tls`: the endpoint's scheme.
- `plain-http`: `--plain-endpoint`, an http:// endpoint, a plain URL the endpoint advertises (the mock server's
  `GET /_mockserver/endpoints`), or, for an https:// endpoint on port 443, http:// on port 80 answering a signed
  ListBuckets.
- `kms-admin`: a KMS API (signed `TrentService.ListKeys`) at `--kms-endpoint`, else at the S3 endpoint.
- `kms-metrics`: per-key KMS call counters at the endpoint (the mock server's `GET /_mockserver/metrics`,
  signed); the runner then reads them through a presigned URL.
- the account ids: `--account-id` / `--alt-account-id`, else a KMS key or alias ARN (ListKeys, ListAliases),
  STS GetCallerIdentity at the endpoint, or the ARN of the AWS managed key `alias/aws/s3` (DescribeKey).
- `multi-account`: the second account's keys are given (and passed the preflight).

Every capability the endpoint lacks gets a reason naming the flag or endpoint feature that would make its
cases run; the effective profile carries those reasons (`Profile.unavailable`) so a not-applicable case says
what to do, instead of blaming the profile for what the endpoint lacks."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import xmlpath
from .matchers import error_fields
from .request import signing

if TYPE_CHECKING:
    from .profile import Profile
    from .request.transport import Transport
    from .results import Exchange
    from .target import Target, TargetOptions

ENDPOINTS_HOOK = "/_mockserver/endpoints"
METRICS_HOOK = "/_mockserver/metrics"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
PRESIGN_SECONDS = 7 * 24 * 3600             # SigV4's longest validity: the metrics URL outlives any run
_ARN_ACCOUNT = re.compile(r"^arn:[\w-]+:kms:[\w-]*:(\d{12}):")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass
class Discovery:
    """What the endpoint offers (`found`: capability -> how it was found), what it lacks (`missing`:
    capability -> why, and the flag or feature that would make its cases run), and what was assumed
    (`assumed`), for the few lines printed before the run."""
    endpoint: str
    found: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    assumed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"discovered at {self.endpoint}:"]
        out += [f"  {name}: {how}" for name, how in self.found.items()]
        out += [f"  not available: {name}: {why}" for name, why in self.missing.items()]
        out += [f"  assumed: {text}" for text in self.assumed]
        return out

    def apply(self, profile: Profile, options: TargetOptions) -> Profile:
        """The effective profile: what was found added, what is missing removed with its reason; a capability
        given with --capability stays, one given with --without goes."""
        forced, removed = set(options.add_capabilities), set(options.remove_capabilities)
        for name in sorted(forced & set(self.missing)):
            self.assumed.append(f"{name} (--capability), although: {self.missing[name]}")
        add = [name for name in self.found if name not in removed] + sorted(forced)
        remove = [name for name in self.missing if name not in forced] + sorted(removed)
        unavailable = dict(profile.unavailable)
        unavailable.update({name: why for name, why in self.missing.items() if name not in forced})
        unavailable.update({name: f"left out with --without {name}" for name in removed})
        return replace(profile.adjusted(add=add, remove=remove), unavailable=unavailable)


class _Prober:
    def __init__(self, target: Target, transport: Transport):
        self.target = target
        self.transport = transport

    def s3(self, method: str, url: str, keys: signing.Keys | None, body: bytes = b"",
           headers: list[tuple[str, str]] | None = None, service: str = "s3") -> Exchange:
        headers = list(headers or [])
        if keys is None:
            return self.transport.send(method, url, headers, body, max_body=1 << 20)
        if service == "s3":
            payload = hashlib.sha256(body).hexdigest()
            signed = signing.sign_v4(method, url, headers + [("x-amz-content-sha256", payload)], body, keys,
                                     self.target.region, payload)
        else:
            signed = signing.sign_v4_generic(method, url, headers, body, keys, self.target.region, service)
        return self.transport.send(method, signed.url, signed.headers, body, max_body=1 << 20)

    def kms(self, url: str, operation: str, params: dict[str, Any], keys: signing.Keys
            ) -> tuple[dict[str, Any] | None, str]:
        """(the JSON answer of a 2xx, else None; what came back, for the reasons)."""
        body = json.dumps(params).encode()
        exchange = self.s3("POST", url.rstrip("/") + "/", keys, body,
                           [("Content-Type", "application/x-amz-json-1.1"),
                            ("X-Amz-Target", f"TrentService.{operation}")], service="kms")
        response = exchange.response
        if response is None:
            return None, f"no response: {exchange.error}"
        document = _json(response.body)
        if 200 <= response.status < 300 and isinstance(document, dict):
            return document, f"HTTP {response.status}"
        return None, describe(exchange)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def describe(exchange: Exchange) -> str:
    """`HTTP 403 AccessDenied "Access Denied"`, or why there was no response."""
    response = exchange.response
    if response is None:
        return f"no response: {exchange.error}"
    text = f"HTTP {response.status}"
    fields = error_fields(response)
    if fields:
        code, message = fields.get("Code"), fields.get("Message")
    else:
        document = _json(response.body)
        document = document if isinstance(document, dict) else {}
        code, message = document.get("__type"), document.get("message") or document.get("Message")
    if code:
        text += f" {str(code).rsplit('#', 1)[-1]}"
    if message:
        text += f' "{str(message)[:120]}"'
    return text


def _arn_account(value: Any) -> str | None:
    match = _ARN_ACCOUNT.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def discover(target: Target, transport: Transport, options: TargetOptions, preflight_ran: bool = False) -> Discovery:
    """Probes the endpoint; updates `target` (account ids, KMS endpoint, metrics URL, plain endpoint) and
    returns what was found, what is missing and why. Never raises for what the endpoint answers."""
    probe = _Prober(target, transport)
    found = Discovery(target.endpoint)
    scheme = urlsplit(target.endpoint).scheme
    if scheme == "https":
        found.found["tls"] = "the endpoint is https://"
    else:
        found.missing["tls"] = ("the endpoint is plain HTTP: give an https:// --endpoint (with --ca-file when "
                                "its CA is not a system one)")
    advertised = _advertised(probe)
    _plain_http(probe, found, options, advertised)
    kms_arns = _kms(probe, found, options)
    _metrics(probe, found)
    _accounts(probe, found, options, kms_arns)
    if not options.region:
        found.assumed.append(f"region {target.region} (the profile's; --region sets it)")
    if target.alt is not None:
        found.found["multi-account"] = "second account keys given" + \
            (" (valid: the preflight's ListBuckets passed)" if preflight_ran else "")
    else:
        found.missing["multi-account"] = "no second account: give --alt-access-key and --alt-secret-key"
    return found


def _advertised(probe: _Prober) -> dict[str, Any]:
    """The mock server's `GET /_mockserver/endpoints` (no secrets): its plain-HTTP and KMS URLs."""
    exchange = probe.s3("GET", probe.target.endpoint + ENDPOINTS_HOOK, None)
    if exchange.response is None or exchange.response.status != 200:
        return {}
    document = _json(exchange.response.body)
    return document if isinstance(document, dict) else {}


def _signed_ok(probe: _Prober, url: str) -> bool:
    exchange = probe.s3("GET", url.rstrip("/") + "/", probe.target.main)
    return exchange.response is not None and 200 <= exchange.response.status < 300


def _plain_http(probe: _Prober, found: Discovery, options: TargetOptions, advertised: dict[str, Any]) -> None:
    target = probe.target
    if target.plain_endpoint:
        how = "--plain-endpoint" if options.plain_endpoint else "the endpoint is http://"
        found.found["plain-http"] = f"{target.plain_endpoint} ({how})"
        return
    plain = advertised.get("plain_endpoint")
    if isinstance(plain, str) and plain.startswith("http://") and _signed_ok(probe, plain):
        target.plain_endpoint = plain.rstrip("/")
        found.found["plain-http"] = f"{target.plain_endpoint} (advertised by the endpoint, ListBuckets answered)"
        return
    parts = urlsplit(target.endpoint)
    if parts.scheme == "https" and parts.port in (None, 443) and parts.hostname:
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        guess = f"http://{host}{parts.path.rstrip('/')}"
        if _signed_ok(probe, guess):
            target.plain_endpoint = guess
            found.found["plain-http"] = f"{guess} (ListBuckets answered over http://)"
            return
    found.missing["plain-http"] = ("no plain-HTTP URL of the endpoint is known: give --plain-endpoint URL (the "
                                   "same service over http://)")


def _kms(probe: _Prober, found: Discovery, options: TargetOptions) -> list[str]:
    """kms-admin when ListKeys answers; the ARNs seen (for the account id)."""
    target = probe.target
    url = (options.kms_endpoint or target.endpoint).rstrip("/")
    document, answer = probe.kms(url, "ListKeys", {"Limit": 10}, target.main)
    if document is None or not isinstance(document.get("Keys", []), list):
        if options.kms_endpoint:
            found.missing["kms-admin"] = (f"the KMS API at --kms-endpoint {url} did not answer ListKeys ({answer}): "
                                          "check --kms-endpoint and the keys' kms:ListKeys permission")
        else:
            found.missing["kms-admin"] = (f"no KMS API found at {url} (ListKeys: {answer}); give --kms-endpoint "
                                          "URL")
        return []
    target.kms_endpoint = url
    found.found["kms-admin"] = f"KMS API at {url}" + (" (--kms-endpoint)" if options.kms_endpoint else "")
    return [str(key.get("KeyArn")) for key in document.get("Keys", []) if isinstance(key, dict)]


def _metrics(probe: _Prober, found: Discovery) -> None:
    target = probe.target
    url = target.endpoint + METRICS_HOOK
    exchange = probe.s3("GET", url, target.main)
    document = _json(exchange.response.body) if exchange.response is not None else None
    if exchange.response is not None and exchange.response.status == 200 and isinstance(document, dict) \
            and isinstance(document.get("kms", {}), dict):
        target.metrics_url = signing.presign_v4("GET", url, [], target.main, target.region,
                                                expires=PRESIGN_SECONDS).url
        found.found["kms-metrics"] = f"KMS call counters at {url}"
        return
    target.metrics_url = None
    found.missing["kms-metrics"] = (f"the endpoint counts no KMS calls per key (GET {METRICS_HOOK}: "
                                    f"{describe(exchange)}): the kms_calls checks run against the built-in mock "
                                    "server or `s3-conformance serve`")


def _accounts(probe: _Prober, found: Discovery, options: TargetOptions, kms_arns: list[str]) -> None:
    target = probe.target
    kms_ok = "kms-admin" in found.found
    for label, keys, attr, flag in (("account id", target.main, "account_id", "--account-id"),
                                    ("second account id", target.alt, "alt_account_id", "--alt-account-id")):
        capability = attr.replace("_", "-")
        if keys is None:
            found.missing[capability] = f"no second account: give --alt-access-key and --alt-secret-key (and {flag})"
            continue
        given = getattr(target, attr)
        learned, how = _account_id(probe, keys, kms_ok, kms_arns if keys is target.main else [])
        if given:
            note = f"{label} {given} ({flag})"
            if learned and learned != given:
                note += f"; the endpoint says {learned} ({how}): check {flag}"
            found.found[capability] = note
        elif learned:
            setattr(target, attr, learned)
            found.found[capability] = f"{learned} ({how})"
        else:
            found.missing[capability] = (f"the {label} is unknown (no KMS key ARN, no STS GetCallerIdentity at the "
                                         f"endpoint): give {flag}")


def _account_id(probe: _Prober, keys: signing.Keys, kms_ok: bool, arns: list[str]) -> tuple[str | None, str]:
    """(account id, how it was learned) or (None, "")."""
    url = probe.target.kms_endpoint or probe.target.endpoint
    for arn in arns:
        if _arn_account(arn):
            return _arn_account(arn), "from a KMS key ARN (ListKeys)"
    if kms_ok:
        document, _ = probe.kms(url, "ListKeys", {"Limit": 10}, keys) if not arns else (None, "")
        for key in (document or {}).get("Keys", []) or []:
            if isinstance(key, dict) and _arn_account(key.get("KeyArn")):
                return _arn_account(key.get("KeyArn")), "from a KMS key ARN (ListKeys)"
        document, _ = probe.kms(url, "ListAliases", {"Limit": 10}, keys)
        for alias in (document or {}).get("Aliases", []) or []:
            if isinstance(alias, dict) and _arn_account(alias.get("AliasArn")):
                return _arn_account(alias.get("AliasArn")), "from a KMS alias ARN (ListAliases)"
    account = _sts_account(probe, keys)
    if account:
        return account, "from STS GetCallerIdentity at the endpoint"
    if kms_ok:
        document, _ = probe.kms(url, "DescribeKey", {"KeyId": "alias/aws/s3"}, keys)
        metadata = (document or {}).get("KeyMetadata")
        if isinstance(metadata, dict):
            account = _arn_account(metadata.get("Arn")) or (
                metadata.get("AWSAccountId") if _ACCOUNT_ID.match(str(metadata.get("AWSAccountId"))) else None)
            if account:
                return account, "from the ARN of the AWS managed key alias/aws/s3 (DescribeKey)"
    return None, ""


def _sts_account(probe: _Prober, keys: signing.Keys) -> str | None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    exchange = probe.s3("POST", probe.target.endpoint + "/", keys, body,
                        [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], service="sts")
    response = exchange.response
    if response is None or response.status != 200:
        return None
    root = xmlpath.parse(response.body)
    if root is None:
        return None
    for element in xmlpath.find_all(root, "GetCallerIdentityResult/Account"):
        text = xmlpath.text_of(element).strip()
        if _ACCOUNT_ID.match(text):
            return text
    return None
