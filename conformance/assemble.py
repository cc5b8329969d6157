"""One way to assemble a run for both front ends: the target options, declared once (`--x` for the CLI,
`--s3-x` for the pytest plugin), and `open_run`, which builds Target, Transport and Engine from them.

Imported by every pytest run (through the plugin) and by `s3-conformance --help`: the runner itself is
imported only when a run is assembled."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .discovery import Discovery
    from .engine import Engine
    from .profile import Profile
    from .redact import Redactor
    from .request.transport import Transport
    from .target import Launch, Target, TargetOptions

PYTEST_PREFIX = "s3-"


@dataclass(frozen=True)
class Option:
    """A target option: `name` is the flag without dashes (`access-key`); `env` supplies the default."""
    name: str
    help: str
    default: Any = None
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    append: bool = False
    env: str | None = None
    metavar: str | None = None
    flag: bool = False                  # a switch (store_true)

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def argparse_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"help": self.help}
        default = os.environ.get(self.env) if self.env else self.default
        if self.flag:
            kwargs["action"] = "store_true"
        elif self.append:
            kwargs.update(action="append", default=[])
        elif default is not None:
            kwargs["default"] = default
        for key in ("type", "choices", "metavar"):
            if getattr(self, key) is not None:
                kwargs[key] = list(self.choices or ()) if key == "choices" else getattr(self, key)
        return kwargs


TARGET_OPTIONS: tuple[Option, ...] = (
    Option("endpoint", "S3 endpoint URL, e.g. https://s3.example.com:9000 (default: none, the built-in mock server "
                       "is started with its own keys)", metavar="URL"),
    Option("plain-endpoint", "plain-HTTP URL of the same service, for the cases that send over http:// (default: "
                             "--endpoint when it is http://; else those cases are not applicable)", metavar="URL"),
    Option("access-key", "access key of the main account (default: $S3C_ACCESS_KEY)", env="S3C_ACCESS_KEY",
           metavar="KEY"),
    Option("secret-key", "secret key of the main account (default: $S3C_SECRET_KEY)", env="S3C_SECRET_KEY",
           metavar="SECRET"),
    Option("alt-access-key", "access key of a second account, for cross-account cases (default: "
                             "$S3C_ALT_ACCESS_KEY; without it those cases are not applicable)",
           env="S3C_ALT_ACCESS_KEY", metavar="KEY"),
    Option("alt-secret-key", "secret key of the second account (default: $S3C_ALT_SECRET_KEY)",
           env="S3C_ALT_SECRET_KEY", metavar="SECRET"),
    Option("account-id", "main account id, ${account_id} in cases, e.g. in KMS key ARNs (default: the built-in mock "
                         "server's own; with --endpoint, discovered from a KMS ARN or STS, else unknown and the cases "
                         "using it are not applicable)", metavar="ID"),
    Option("alt-account-id", "second account id, ${alt_account_id} in cases (default: discovered like "
                             "--account-id)", metavar="ID"),
    Option("region", "region requests are signed for (default: the profile's region)", metavar="REGION"),
    Option("kms-endpoint", "KMS API URL for the key fixtures and kms steps (default: the S3 endpoint, when a KMS "
                           "API answers there; else the cases needing kms-admin are not applicable)", metavar="URL"),
    Option("ca-file", "CA bundle (PEM) that signed the endpoint's TLS certificate (default: the system's CAs)",
           metavar="FILE"),
    Option("addressing", "path: https://host/bucket/key, virtual: https://bucket.host/key (default: the "
                         "profile's addressing)", choices=("path", "virtual")),
    Option("timeout", "read timeout per request, seconds (default: 60)", default=60.0, type=float,
           metavar="SECONDS"),
    Option("connect-timeout", "connect timeout per request, seconds (default: 10)", default=10.0, type=float,
           metavar="SECONDS"),
    Option("bucket-prefix", "prefix of the per-case bucket names (default: s3c)", default="s3c",
           metavar="PREFIX"),
    Option("capability", "add a capability to the profile (repeatable; names: see below)", append=True,
           metavar="CAP"),
    Option("without", "remove a capability from the profile (repeatable)", append=True, metavar="CAP"),
    Option("no-preflight", "skip the preflight (one signed ListBuckets per account before any case; a failure "
                           "stops the run with exit 2)", flag=True),
    Option("no-discovery", "with --endpoint, skip discovery (probing the endpoint for a KMS API, KMS call counters, "
                           "a plain-HTTP URL and the account ids): the profile's capabilities and the flags are taken "
                           "as given", flag=True),
)


def add_cli_options(group: Any) -> None:
    """Declares every target option on an argparse parser or group as `--name`."""
    for option in TARGET_OPTIONS:
        group.add_argument(f"--{option.name}", dest=option.dest, **option.argparse_kwargs())


def add_pytest_options(group: Any) -> None:
    """Declares every target option on a pytest option group as `--s3-name`."""
    for option in TARGET_OPTIONS:
        group.addoption(f"--{PYTEST_PREFIX}{option.name}", dest=f"s3_{option.dest}", **option.argparse_kwargs())


@dataclass(frozen=True)
class RunOptions:
    target: TargetOptions
    timeout: float = 60.0
    connect_timeout: float = 10.0
    preflight: bool = True
    discovery: bool = True
    flag_prefix: str = "--"             # how the front end spells the options, for messages

    def problem(self) -> str | None:
        """What argparse cannot judge about the values (also rejects nan)."""
        for name, value in (("timeout", self.timeout), ("connect-timeout", self.connect_timeout)):
            if not value > 0:
                return f"{self.flag_prefix}{name} must be a positive number of seconds (got {value})"
        return None


def run_options(value: Callable[[str], Any], flag_prefix: str = "--") -> RunOptions:
    """RunOptions from parsed values; `value(dest)` returns the value of an option (`access_key`)."""
    from .target import TargetOptions

    return RunOptions(
        target=TargetOptions(
            endpoint=value("endpoint"), plain_endpoint=value("plain_endpoint"), access_key=value("access_key"),
            secret_key=value("secret_key"), alt_access_key=value("alt_access_key"),
            alt_secret_key=value("alt_secret_key"), account_id=value("account_id"),
            alt_account_id=value("alt_account_id"), region=value("region"), kms_endpoint=value("kms_endpoint"),
            ca_file=value("ca_file"), addressing=value("addressing"), bucket_prefix=value("bucket_prefix"),
            add_capabilities=list(value("capability") or []), remove_capabilities=list(value("without") or [])),
        timeout=value("timeout"), connect_timeout=value("connect_timeout"),
        preflight=not value("no_preflight"), discovery=not value("no_discovery"), flag_prefix=flag_prefix)


@dataclass
class Run:
    target: Target
    profile: Profile                    # the effective profile (capabilities adjusted to the target)
    transport: Transport
    engine: Engine
    redactor: Redactor
    discovery: Discovery | None = None          # what a given endpoint offers (None: the built-in mock server)
    release: Callable[[], None] = lambda: None  # the cases are done: see open_run


@contextlib.contextmanager
def open_run(options: RunOptions, profile: Profile, launched: Launch | None = None) -> Iterator[Run]:
    """The run's target (the built-in mock server runs for as long as the context lasts), transport and
    engine; a TargetError says why there is none (a failed preflight is one: preflight.PreflightError).
    Against a given endpoint, discovery (conformance/discovery.py) then learns what it offers: the effective
    profile gains what was found and says why each missing endpoint capability is missing. `Run.release()`
    says the cases are done: the transport's connections close and the built-in server begins its shutdown
    while the caller writes its reports (the context's end awaits it). `launched`: the built-in server, launched
    earlier (target.open_target)."""
    from .engine import Engine
    from .redact import Redactor
    from .request.transport import Transport, TransportConfig
    from .target import TargetError, open_target

    problem = options.problem()
    if problem:
        raise TargetError(problem)
    servers: list[Any] = []
    with open_target(options.target, profile, servers, launched) as (target, effective):
        transport = Transport(TransportConfig(options.connect_timeout, options.timeout, target.ca_file))

        def release() -> None:
            transport.close()
            for server in servers:
                server.begin_stop()

        redactor = Redactor()
        try:
            if options.preflight:
                from .preflight import check
                check(target, transport)
            if options.target.remove_capabilities:
                from dataclasses import replace
                unavailable = {**effective.unavailable, **{name: f"left out with --without {name}"
                                                           for name in options.target.remove_capabilities}}
                effective = replace(effective, unavailable=unavailable)
            found = None
            if options.target.endpoint and options.discovery:
                from .discovery import discover
                found = discover(target, transport, options.target, preflight_ran=options.preflight)
                effective = found.apply(effective, options.target)
            yield Run(target, effective, transport, Engine(target, effective, transport, redactor), redactor, found,
                      release)
        finally:
            transport.close()
