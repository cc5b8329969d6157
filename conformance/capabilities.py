"""The capability vocabulary: the one list of names that cases (`requires:`, `when: {has/lacks}`), profiles
(`capabilities:`) and `--capability`/`--without` may use. A name outside it is a typo and an error
(`validate`, and loading for `run`/`list`), not a case that is silently "not applicable" forever.

A vendor's own capability (for its own cases) is spelled with the prefix `x-`, e.g. `x-acme-object-lock`."""
from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

VENDOR_PREFIX = "x-"

VOCABULARY: dict[str, str] = {
    "sse-s3": "SSE-S3 (AES256) encryption",
    "kms": "SSE-KMS encryption",
    "kms-admin": "the endpoint serves a KMS API the runner can create/disable keys through",
    "kms-metrics": "the endpoint exposes per-key KMS call counters (the built-in mock server)",
    "kms-default-key": "the aws/s3 managed KMS key is used when no key id is given",
    "kms-key-formats": "key ids, ARNs and aliases are all accepted",
    "dsse": "DSSE-KMS (aws:kms:dsse)",
    "sse-c": "SSE-C (customer-provided keys)",
    "sse-c-blocked-by-default": "new buckets block SSE-C (AWS since April 2026)",
    "blocked-encryption-types": "PutBucketEncryption BlockedEncryptionTypes",
    "bucket-keys": "S3 Bucket Keys",
    "post-object": "browser-based uploads (POST Object)",
    "versioning": "bucket versioning",
    "multi-account": "a second account's keys are given",
    "account-id": "the main account's id is known (discovered, or --account-id); implied by ${account_id}",
    "alt-account-id": "the second account's id is known (discovered, or --alt-account-id); implied by "
                      "${alt_account_id}",
    "default-encryption": "buckets encrypt with SSE-S3 by default (AWS since 2023)",
    "content-md5-required": "operations that require Content-MD5 or a checksum",
    "checksums": "x-amz-checksum-* headers",
    "checksums-2026": "the checksum algorithms botocore 1.44 added in 2026: SHA512, MD5, XXHASH64, XXHASH3, XXHASH128",
    "update-object-encryption": "UpdateObjectEncryption (PUT /{Bucket}/{Key+}?encryption; AWS since January 2026)",
    "get-part": "GetPart (GET /{Bucket}/{Key+}?part&uploadId=&partNumber=; AWS for uploads initiated after "
                "November 29, 2026)",
    "object-annotations": "object annotations (Put/Get/List/DeleteObjectAnnotation, "
                          "/{Bucket}/{Key+}?annotation; AWS since 2026)",
    "presign": "presigned URLs",
    "sigv2-rejected": "Signature Version 2 is rejected",
    "plain-http": "a plain-HTTP URL of the same service is known",
    "tls": "the endpoint is HTTPS",
    "sse-c-over-http": "a plain-HTTP endpoint accepts SSE-C keys (AWS rejects them; serve --allow-sse-c-over-http)",
    "sse-c-transport": "SSE-C keys can go to the endpoint on its default scheme: tls or sse-c-over-http "
                       "(derived; implied by every case that sends SSE-C headers there)",
}

# capabilities that hold when any of the listed ones does
DERIVED: dict[str, tuple[str, ...]] = {"sse-c-transport": ("tls", "sse-c-over-http")}

_NA_HINTS = {
    "sse-c-transport": "SSE-C needs HTTPS and the endpoint is plain HTTP (give an https:// --endpoint with "
                       "--ca-file, or --capability sse-c-over-http if the endpoint accepts SSE-C over HTTP)",
}

# what the endpoint (not the profile) decides; discovery (conformance/discovery.py) finds them or says why not.
# These reasons are used when a run has no discovery result for the capability (e.g. `--without` was not given
# but the pytest plugin's profile lacks it).
ENDPOINT_HINTS = {
    "kms-admin": "no KMS API known for the endpoint: give --kms-endpoint URL (or --capability kms-admin)",
    "kms-metrics": "the endpoint counts no KMS calls per key (the built-in mock server and `s3-conformance serve` do)",
    "plain-http": "no plain-HTTP URL of the endpoint is known: give --plain-endpoint URL",
    "tls": "the endpoint is plain HTTP: give an https:// --endpoint (with --ca-file when its CA is not a system one)",
    "multi-account": "no second account: give --alt-access-key and --alt-secret-key",
    "account-id": "the main account's id is unknown: give --account-id",
    "alt-account-id": "the second account's id is unknown: give --alt-account-id",
}


def holds(name: str, present: frozenset[str] | set[str]) -> bool:
    """`name` is among `present`, or is derived from one of them."""
    return name in present or any(other in present for other in DERIVED.get(name, ()))


def na_reason(profile: str, missing: list[str], unavailable: dict[str, str] | None = None) -> str:
    """Why a case is not applicable: for what the endpoint lacks, the reason discovery gave (`unavailable`),
    naming the flag or endpoint feature that would make the case run; the profile is named only for the
    capabilities it lacks itself."""
    unavailable = unavailable or {}
    parts: list[str] = []
    plain = []
    for name in missing:
        text = unavailable.get(name) or ENDPOINT_HINTS.get(name)
        if name in _NA_HINTS and name not in unavailable:
            text = _NA_HINTS[name]           # a derived capability: its hint says what it stands for
        elif text is not None:
            text = f"{name}: {text}"
        if text is None:
            plain.append(name)
        elif text not in parts:
            parts.append(text)
    if plain:
        parts.append(f"profile {profile} lacks: {', '.join(plain)} (--capability {plain[0]} adds it if the "
                     "endpoint supports it)")
    return "; ".join(parts)


def is_known(name: str) -> bool:
    return name in VOCABULARY or (name.startswith(VENDOR_PREFIX) and len(name) > len(VENDOR_PREFIX))


def unknown_message(name: str, where: str) -> str:
    close = difflib.get_close_matches(name, list(VOCABULARY), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return (f"{where}: unknown capability {name!r}{hint} (known: {', '.join(sorted(VOCABULARY))}; "
            f"a vendor's own capability starts with {VENDOR_PREFIX!r})")


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def check_case(raw: dict[str, Any], at: tuple[Any, ...], report: Callable[[tuple[Any, ...], str], None]) -> None:
    """Reports every unknown capability of one schema-valid case: `requires:` and every `when: {has, lacks}`."""
    case_id = raw.get("id", "?")
    for index, name in enumerate(_names(raw.get("requires"))):
        if not is_known(name):
            report(at + ("requires", index), unknown_message(name, f"case {case_id} requires"))

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "when" and isinstance(value, dict):
                    for kind in ("has", "lacks"):
                        item = value.get(kind)
                        for index, name in enumerate(_names(item)):
                            if not is_known(name):
                                where = path + ("when", kind) + ((index,) if isinstance(item, list) else ())
                                report(where, unknown_message(name, f"case {case_id} when.{kind}"))
                walk(value, path + (key,))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, path + (index,))

    walk({k: v for k, v in raw.items() if k != "requires"}, at)


def unknown_flags(names: list[str], flag: str) -> list[str]:
    return [unknown_message(name, flag) for name in names if not is_known(name)]
