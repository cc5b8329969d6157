"""The Target a run talks to, and how it is built: a given endpoint, or the built-in mock server started for
the run (with the accounts of `mockserver.accounts`)."""
from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
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
def open_target(options: TargetOptions, profile: Profile, started: list[BuiltinServer] | None = None,
                launched: Launch | None = None) -> Iterator[tuple[Target, Profile]]:
    """Yields (target, effective profile). Without an endpoint the built-in mock server runs, in the
    profile's dialect, for as long as the context lasts (`started` gets it: its shutdown may begin earlier,
    see BuiltinServer.begin_stop; the context's end awaits it). `launched`: that server, launched earlier
    (used when its dialect is the profile's, else ended)."""
    if launched is not None and (options.endpoint or launched.dialect != profile.dialect):
        launched.abandon()
        launched = None
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
    except ImportError as exc:
        raise TargetError(f"the built-in mock server is not available ({exc}); pass --endpoint") from None
    server = launched.ready() if launched is not None else BuiltinServer.start(profile.dialect)
    if started is not None:
        started.append(server)
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
        server.stop()


# `python -c` program of the built-in server's process: `s3-conformance serve`, stopped (SIGTERM, a clean
# shutdown) when its stdin closes, i.e. when the run ends or the runner dies however it dies.
_SERVER_PROGRAM = """\
import os, signal, sys, threading
def _watch():
    sys.stdin.buffer.read()
    os.kill(os.getpid(), signal.SIGTERM)
threading.Thread(target=_watch, daemon=True).start()
from mockserver.server import main
sys.exit(main(sys.argv[1:]))
"""


class BuiltinServer:
    """The built-in mock server in a process of its own (HTTPS with a generated CA plus a plain-HTTP listener,
    open metrics): the runner and the server each get a core, which a server thread sharing the runner's GIL
    could not (-n 2 was no faster than -n 1), and the server starts while the cases load. Its own session: a
    Ctrl-C at the terminal reaches the runner only, which finishes its running cases against a live server."""

    def __init__(self, process: subprocess.Popen[str], endpoint: str, plain_endpoint: str | None,
                 ca_file: str | None, region: str) -> None:
        self.process = process
        self.endpoint = endpoint
        self.plain_endpoint = plain_endpoint
        self.ca_file = ca_file
        self.region = region
        self.pump: threading.Thread | None = None      # the thread draining its stdout

    @classmethod
    def start(cls, dialect: str, timeout: float = 60.0) -> BuiltinServer:
        return cls.launch(dialect).ready(timeout)

    @classmethod
    def launch(cls, dialect: str) -> Launch:
        """The server process starts; `ready()` waits for its announcement. A run launches it before it loads
        its cases, so the two overlap."""
        cmd = [sys.executable, "-c", _SERVER_PROGRAM, "--host", "127.0.0.1", "--port", "0", "--tls",
               "--plain-http-port", "0", "--open-metrics", "--dialect", dialect]
        try:
            process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                       start_new_session=True)
        except OSError as exc:
            return Launch(dialect, None, f"the built-in mock server did not start: {exc}")
        return Launch(dialect, process)

    @staticmethod
    def _end(process: subprocess.Popen[str], pump: threading.Thread | None = None) -> None:
        BuiltinServer._signal_end(process)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if pump is not None:                # it reaches the end of the output now; then its pipe closes
            pump.join(timeout=5)
        if process.stdout is not None and (pump is None or not pump.is_alive()):
            with contextlib.suppress(OSError):
                process.stdout.close()

    @staticmethod
    def _signal_end(process: subprocess.Popen[str]) -> None:
        with contextlib.suppress(OSError):
            if process.stdin is not None and not process.stdin.closed:
                process.stdin.close()

    def begin_stop(self) -> None:
        """The server begins its shutdown (its stdin closes) and is not waited for: the run writes its
        reports meanwhile; stop() awaits the end."""
        self._signal_end(self.process)

    def stop(self) -> None:
        self._end(self.process, self.pump)


class Launch:
    """A built-in server process on its way up (BuiltinServer.launch)."""

    def __init__(self, dialect: str, process: subprocess.Popen[str] | None, failure: str = "") -> None:
        self.dialect = dialect
        self.process = process
        self.failure = failure
        self.taken = False
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.pump: threading.Thread | None = None
        if process is not None:
            def pump() -> None:             # reads the announcement, then drains stdout until the process ends
                assert process.stdout is not None
                for line in process.stdout:
                    self.lines.put(line.rstrip("\n"))
                self.lines.put(None)

            self.pump = threading.Thread(target=pump, name="mock-server-stdout", daemon=True)
            self.pump.start()

    def ready(self, timeout: float = 60.0) -> BuiltinServer:
        """The running server, once it has announced its endpoints; a TargetError (and the process ended) if
        it does not."""
        self.taken = True
        process = self.process
        if process is None:
            raise TargetError(self.failure)
        found: dict[str, str] = {}
        try:
            while "main" not in found:
                line = self.lines.get(timeout=timeout)
                if line is None:
                    raise TargetError(f"the built-in mock server did not start (exit status {process.wait(10)})")
                for label, name in (("endpoint: ", "endpoint"), ("plain endpoint: ", "plain"),
                                    ("CA file: ", "ca"), ("main account: ", "main")):
                    if line.startswith(label):
                        found[name] = line[len(label):].strip()
        except queue.Empty:
            BuiltinServer._end(process, self.pump)
            raise TargetError(f"the built-in mock server did not start within {timeout:.0f} s") from None
        except TargetError:
            BuiltinServer._end(process, self.pump)
            raise
        server = BuiltinServer(process, found["endpoint"], found.get("plain"), found.get("ca"), "us-east-1")
        server.pump = self.pump
        return server

    def abandon(self) -> None:
        """Ends the process unless a run took it (ready() was called)."""
        if not self.taken and self.process is not None:
            self.taken = True
            BuiltinServer._end(self.process, self.pump)


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
