"""The Target a run talks to, and how it is built: a given endpoint, or the built-in mock server started for
the run (with the accounts of `mockserver.accounts`)."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .profile import ENDPOINT_CAPABILITIES_BUILTIN, Profile
from .request import signing


@dataclass
class Target:
    """Where and as whom the suite runs."""
    endpoint: str
    region: str
    main: signing.Keys
    alt: signing.Keys | None = None
    account_id: str = ""
    alt_account_id: str = ""
    plain_endpoint: str | None = None
    kms_endpoint: str | None = None
    metrics_url: str | None = None
    ca_file: str | None = None
    addressing: str | None = None          # overrides the profile's default
    bucket_prefix: str = "s3c"


class TargetError(Exception):
    pass


@dataclass
class TargetOptions:
    endpoint: str | None = None
    plain_endpoint: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    alt_access_key: str | None = None
    alt_secret_key: str | None = None
    account_id: str | None = None
    alt_account_id: str | None = None
    region: str | None = None
    kms_endpoint: str | None = None
    ca_file: str | None = None
    addressing: str | None = None
    bucket_prefix: str = "s3c"
    add_capabilities: list[str] = field(default_factory=list)
    remove_capabilities: list[str] = field(default_factory=list)


@contextlib.contextmanager
def open_target(options: TargetOptions, profile: Profile) -> Iterator[tuple[Target, Profile]]:
    """Yields (target, effective profile). Without an endpoint the built-in mock server runs, in the
    profile's dialect, for as long as the context lasts."""
    if options.kms_endpoint:
        check_url("--kms-endpoint", options.kms_endpoint)
    if options.ca_file and not os.path.isfile(options.ca_file):
        raise TargetError(f"--ca-file {options.ca_file}: no such file")
    if options.endpoint:
        target = external_target(options, profile)
        yield target, external_profile(options, profile, target)
        return
    try:
        from mockserver.accounts import ALT, MAIN
        from mockserver.server import running_server
    except ImportError as exc:
        raise TargetError(f"the built-in mock server is not available ({exc}); pass --endpoint") from None
    try:
        server_cm = running_server(dialect=profile.dialect, tls=True, plain_http_too=True, main=MAIN, alt=ALT)
        server = server_cm.__enter__()
    except Exception as exc:  # noqa: BLE001 - any start-up failure becomes a usage error with its reason
        raise TargetError(f"the built-in mock server did not start: {type(exc).__name__}: {exc}") from None
    try:
        target = Target(
            endpoint=server.endpoint, region=server.region,
            main=signing.Keys(MAIN.access_key, MAIN.secret_key), alt=signing.Keys(ALT.access_key, ALT.secret_key),
            account_id=MAIN.account_id, alt_account_id=ALT.account_id,
            plain_endpoint=server.plain_endpoint, kms_endpoint=options.kms_endpoint or server.endpoint,
            metrics_url=server.endpoint.rstrip("/") + "/_mockserver/metrics", ca_file=server.ca_file,
            addressing=options.addressing, bucket_prefix=options.bucket_prefix)
        effective = profile.adjusted(add=list(ENDPOINT_CAPABILITIES_BUILTIN) + options.add_capabilities,
                                     remove=options.remove_capabilities)
        yield target, effective
    finally:
        server_cm.__exit__(None, None, None)


def check_url(flag: str, url: str) -> None:
    """An http(s) URL with a host and, if any, a numeric port; else a TargetError naming the option."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"{flag} {url!r} is not an http(s) URL (e.g. https://s3.example.com:9000)")
    try:
        parts.port                      # noqa: B018 - the property validates the port
    except ValueError as exc:
        raise TargetError(f"{flag} {url!r}: {exc}") from None
    if parts.query or parts.fragment:
        raise TargetError(f"{flag} {url!r}: an endpoint takes no query or fragment")


def external_target(options: TargetOptions, profile: Profile) -> Target:
    endpoint = options.endpoint or ""
    check_url("--endpoint", endpoint)
    for flag, other in (("--plain-endpoint", options.plain_endpoint), ("--kms-endpoint", options.kms_endpoint)):
        if other:
            check_url(flag, other)
    if not (options.access_key and options.secret_key):
        raise TargetError("--endpoint needs --access-key and --secret-key")
    alt = None
    if options.alt_access_key and options.alt_secret_key:
        alt = signing.Keys(options.alt_access_key, options.alt_secret_key)
    plain = options.plain_endpoint or (endpoint if urlsplit(endpoint).scheme == "http" else None)
    return Target(endpoint=endpoint.rstrip("/"), region=options.region or profile.region,
                  main=signing.Keys(options.access_key, options.secret_key), alt=alt,
                  account_id=options.account_id or "", alt_account_id=options.alt_account_id or "",
                  plain_endpoint=plain.rstrip("/") if plain else None, kms_endpoint=options.kms_endpoint,
                  metrics_url=endpoint.rstrip("/") + "/_mockserver/metrics", ca_file=options.ca_file,
                  addressing=options.addressing, bucket_prefix=options.bucket_prefix)


def external_profile(options: TargetOptions, profile: Profile, target: Target) -> Profile:
    """An external endpoint keeps the profile's capabilities, except what the endpoint itself decides:
    `tls` follows the scheme, `plain-http` needs a plain endpoint, `multi-account` needs the alt keys."""
    remove = list(options.remove_capabilities)
    add = list(options.add_capabilities)
    if target.endpoint.startswith("https://"):
        add.append("tls")
    else:
        remove.append("tls")
    if target.plain_endpoint is None:
        remove.append("plain-http")
    if target.alt is None:
        remove.append("multi-account")
    return profile.adjusted(add=[a for a in add if a not in options.remove_capabilities], remove=remove)
