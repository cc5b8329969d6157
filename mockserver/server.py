"""Runs the mock server: uvicorn (uvloop + httptools) in a background thread, optional TLS with a generated CA,
optionally a second plain-HTTP listener on the same app and state.

`running_server(...)` is the Python entry point (context manager); `main(argv)` is `s3-conformance serve`.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
import uvloop

from mockserver.accounts import ALT, MAIN, Account
from mockserver.config import ServerConfig
from mockserver.protocol import guarded_protocol
from mockserver.tls import generate_tls_files

log = logging.getLogger("mockserver.server")


@dataclass
class RunningServer:
    endpoint: str                          # https when tls
    plain_endpoint: str | None             # the plain-HTTP endpoint, None when only TLS is served
    ca_file: str | None                    # CA to trust for the TLS endpoint (None: plain, or --cert given)
    credentials: dict[str, dict[str, str]]  # main/alt -> access_key, secret_key, account_id
    region: str
    app: Any = field(repr=False, default=None)
    pid: int = 0

    def client(self, service: str = "s3", account: str = "main", plain: bool = False, **kwargs: Any) -> Any:
        """A boto3 client for this server (boto3 must be installed)."""
        import boto3

        creds = self.credentials[account]
        endpoint = self.plain_endpoint if plain else self.endpoint
        if endpoint is None:
            raise ValueError("this server has no plain-HTTP endpoint (start it with plain_http_too=True)")
        kwargs.setdefault("verify", self.ca_file if endpoint.startswith("https") and self.ca_file else None)
        kwargs.setdefault("region_name", self.region)
        return boto3.client(service, endpoint_url=endpoint, aws_access_key_id=creds["access_key"],
                            aws_secret_access_key=creds["secret_key"], **kwargs)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _url(scheme: str, host: str, port: int) -> str:
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


class _ServerThread(threading.Thread):
    """One event loop (uvloop) serving every listener of one app."""

    def __init__(self, app: Any, listeners: list[tuple[socket.socket, dict[str, Any]]],
                 config: ServerConfig | None = None) -> None:
        super().__init__(name="mockserver", daemon=True)
        self.app = app
        self.config = config
        self.listeners = listeners
        self.servers: list[uvicorn.Server] = []
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def run(self) -> None:
        loop = self.loop = uvloop.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self.error = exc
        finally:
            self.ready.set()
            loop.close()

    async def _serve(self) -> None:
        for sock, options in self.listeners:
            # The app writes Date/Server itself; nothing sits in front of it, so no proxy-header rewriting.
            # ws="none": S3 has no WebSockets; an Upgrade: websocket request is served as plain HTTP (with
            # WebSockets on, the app's missing handshake turned it into uvicorn's text/plain 500).
            config = uvicorn.Config(self.app, http=guarded_protocol(self.config), lifespan="off", access_log=False,
                                    log_level="warning", timeout_graceful_shutdown=5, server_header=False,
                                    date_header=False, proxy_headers=False, ws="none", **options)
            self.servers.append(uvicorn.Server(config))
        tasks = [asyncio.ensure_future(s.serve(sockets=[sock])) for s, (sock, _) in zip(self.servers, self.listeners)]
        while not all(s.started for s in self.servers):
            if any(t.done() for t in tasks):      # a listener failed to start: stop the others, report why
                for server in self.servers:
                    server.should_exit = True
                await asyncio.gather(*tasks)
                raise RuntimeError("uvicorn did not start")
            await asyncio.sleep(0.01)
        self.ready.set()
        await asyncio.gather(*tasks)
        shutdown = getattr(self.app, "shutdown", None)
        if shutdown is not None:
            await shutdown()

    def stop(self, timeout: float = 15.0) -> None:
        loop = self.loop
        if loop is not None and self.is_alive():
            try:
                loop.call_soon_threadsafe(self._begin_stop)
            except RuntimeError:      # loop already closed
                pass
        self.join(timeout)

    def _begin_stop(self) -> None:
        for server in self.servers:
            server.should_exit = True
        assert self.loop is not None
        self.loop.call_later(1.0, self._abort_lingering)

    def _abort_lingering(self) -> None:
        """Idle keep-alive TLS connections wait for the client's close_notify, which an idle client in the same
        process never sends: after a grace period they are cut."""
        for server in self.servers:
            for connection in list(server.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.abort()


ENDPOINTS_PATH = "/_mockserver/endpoints"


class _EndpointsHook:
    """Answers `GET /_mockserver/endpoints` (unsigned, no secrets) with the URLs this server serves, so a client
    given one endpoint can find the others (the runner's discovery finds the plain-HTTP listener so); every
    other request goes to the app unchanged."""

    def __init__(self, app: Any, document: dict[str, Any]) -> None:
        self.app = app
        self.body = json.dumps(document).encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and scope.get("path") == ENDPOINTS_PATH and scope.get("method") == "GET":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(self.body)).encode())]})
            await send({"type": "http.response.body", "body": self.body})
            return
        await self.app(scope, receive, send)

    async def shutdown(self) -> None:
        shutdown = getattr(self.app, "shutdown", None)
        if shutdown is not None:
            await shutdown()


def build_app(config: ServerConfig) -> Any:
    from mockserver.app import create_app

    return create_app(config)


@contextlib.contextmanager
def running_server(dialect: str = "aws", host: str = "127.0.0.1", port: int = 0, tls: bool = False,
                   plain_http_too: bool = False, data_dir: str | None = None, allow_sse_c_over_http: bool = False,
                   *, region: str = "us-east-1", domain: str = "localhost", main: Account = MAIN,
                   alt: Account = ALT, cert_file: str | None = None, key_file: str | None = None,
                   plain_port: int = 0, fsync: bool = False, app: Any = None,
                   startup_timeout: float = 20.0, open_metrics: bool = True,
                   root_key_file: str | None = None, request_timeout: float | None = None,
                   body_min_rate: float | None = None,
                   body_rate_grace: float | None = None) -> Iterator[RunningServer]:
    """Starts the server in a background thread of this process and stops it on exit.

    tls=True serves HTTPS with a freshly generated CA (`.ca_file`) unless cert_file/key_file are given;
    plain_http_too=True adds a plain-HTTP listener (`.plain_endpoint`) on the same app and state.
    fsync=True makes --data-dir writes survive an OS crash too (slower; see ServerConfig.fsync).
    `app` replaces the mock S3 application (any ASGI app), e.g. in tests of the runner itself.
    request_timeout / body_min_rate / body_rate_grace: see ServerConfig (None: protocol.py's defaults).
    open_metrics=True (the harness default) lets an unsigned GET /_mockserver/metrics read every account's KMS
    counters, as the runner's kms_calls matcher does; `serve` answers signed requests with the caller's own.
    """
    config = ServerConfig(dialect=dialect, region=region, domain=domain, data_dir=data_dir, main=main, alt=alt,
                          allow_sse_c_over_http=allow_sse_c_over_http, fsync=fsync, open_metrics=open_metrics,
                          root_key_file=root_key_file, request_timeout=request_timeout,
                          body_min_rate=body_min_rate, body_rate_grace=body_rate_grace)
    application = app if app is not None else build_app(config)
    with contextlib.ExitStack() as stack:
        listeners: list[tuple[socket.socket, dict[str, Any]]] = []
        ca_file = None
        main_sock = _bind(host, port)
        stack.callback(main_sock.close)
        if tls or cert_file:
            if cert_file is None:
                directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="mockserver-tls-"))
                files = generate_tls_files(directory, domain=domain, host=host)
                cert_file, key_file, ca_file = files.cert_file, files.key_file, files.ca_file
            listeners.append((main_sock, {"ssl_certfile": cert_file, "ssl_keyfile": key_file or cert_file}))
            endpoint = _url("https", host, main_sock.getsockname()[1])
            plain_endpoint = None
            if plain_http_too:
                plain_sock = _bind(host, plain_port)
                stack.callback(plain_sock.close)
                listeners.append((plain_sock, {}))
                plain_endpoint = _url("http", host, plain_sock.getsockname()[1])
        else:
            listeners.append((main_sock, {}))
            endpoint = plain_endpoint = _url("http", host, main_sock.getsockname()[1])
        served = _EndpointsHook(application, {"endpoint": endpoint, "plain_endpoint": plain_endpoint,
                                               "kms_endpoint": endpoint, "region": region})
        thread = _ServerThread(served, listeners, config)
        thread.start()
        if not thread.ready.wait(startup_timeout) or thread.error is not None or not thread.is_alive():
            thread.stop()
            raise RuntimeError(f"mock server failed to start: {thread.error!r}")
        credentials = {a.name: {"access_key": a.access_key, "secret_key": a.secret_key, "account_id": a.account_id}
                       for a in (main, alt)}
        try:
            yield RunningServer(endpoint, plain_endpoint, ca_file, credentials, region, application, os.getpid())
        finally:
            thread.stop()
            if thread.error is not None:
                log.error("mock server stopped with an error: %r", thread.error)


class _DefaultsHelp(argparse.HelpFormatter):
    """Shows a flag's default unless it is None/False or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


def _parser() -> argparse.ArgumentParser:
    from mockserver.dialects import DIALECTS

    p = argparse.ArgumentParser(prog="s3-conformance serve", formatter_class=_DefaultsHelp,
                                description="Run the reference mock S3 server (S3 + KMS API on one endpoint) until "
                                            "Ctrl-C / SIGTERM. Plain HTTP by default: SSE-C needs --tls (or "
                                            "--allow-sse-c-over-http).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=9000, help="port to listen on; 0 picks a free port")
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA (its path is printed)")
    p.add_argument("--cert", help="PEM certificate (chain) to serve HTTPS with; implies --tls")
    p.add_argument("--key", help="PEM private key for --cert")
    p.add_argument("--plain-http-port", type=int, default=0, metavar="PORT",
                   help="with TLS, plain HTTP is served too (as AWS does), on this port (default: 0, a free port; "
                        "the banner prints it and GET /_mockserver/endpoints tells clients)")
    p.add_argument("--no-plain-http", action="store_true", help="with TLS, serve HTTPS only")
    p.add_argument("--data-dir", help="keep buckets, objects and keys in DIR (default: in memory)")
    p.add_argument("--fsync", action="store_true",
                   help="with --data-dir, fsync every write (survives an OS crash, not only a kill -9)")
    p.add_argument("--dialect", default="aws", metavar="{" + ",".join(sorted(DIALECTS)) + "}",
                   help="which vendor's behaviour to imitate")
    p.add_argument("--access-key", default=MAIN.access_key, help="main account's access key")
    p.add_argument("--secret-key", default=MAIN.secret_key, help="main account's secret key")
    p.add_argument("--alt-access-key", default=ALT.access_key, help="second account's access key")
    p.add_argument("--alt-secret-key", default=ALT.secret_key, help="second account's secret key")
    p.add_argument("--region", default="us-east-1", help="the region requests must be signed for")
    p.add_argument("--domain", default="localhost", help="virtual-hosted style: <bucket>.<domain>:<port>")
    p.add_argument("--allow-sse-c-over-http", action="store_true",
                   help="accept SSE-C keys over plain HTTP (AWS rejects SSE-C requests made over HTTP)")
    p.add_argument("--root-key-file", default=None,
                   help="the server's root key (32 bytes; created when missing) outside the data directory; default "
                        "$S3C_MOCK_ROOT_KEY_FILE, else DATA_DIR/root.key, which sits beside the data it protects")
    p.add_argument("--open-metrics", action="store_true",
                   help="test hook: let unsigned GET /_mockserver/metrics read every account's KMS call counters "
                        "(default: signed requests only, each sees its own account's keys)")
    p.add_argument("--request-timeout", type=float, default=None, metavar="SECONDS",
                   help="seconds a request's header section may take, and seconds of silence within a body, before "
                        "RequestTimeout (default: 20)")
    p.add_argument("--body-min-rate", type=float, default=None, metavar="BYTES_PER_S",
                   help="bytes per second a request body must average once --body-rate-grace has passed, else "
                        "RequestTimeout (default: 500)")
    p.add_argument("--body-rate-grace", type=float, default=None, metavar="SECONDS",
                   help="seconds after a request's headers before --body-min-rate applies (default: 20)")
    machine = p.add_argument_group("for test suites in other languages")
    machine.add_argument("--print-json", action="store_true",
                         help="when ready, print one JSON line on stdout (endpoint, plain_endpoint, kms_endpoint, "
                              "region, ca_file, accounts main/alt with access_key, secret_key, account_id, pid); the "
                              "human banner goes to stderr")
    machine.add_argument("--write-json", metavar="PATH",
                         help="when ready, write the same JSON document to PATH (atomically: a reader never sees a "
                              "partial file; removed when the server stops)")
    return p


def server_document(server: RunningServer) -> dict[str, Any]:
    """What a client needs to use the server: `--print-json` / `--write-json`."""
    return {"endpoint": server.endpoint, "plain_endpoint": server.plain_endpoint, "kms_endpoint": server.endpoint,
            "region": server.region, "ca_file": server.ca_file, "accounts": server.credentials, "pid": server.pid}


def _write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".s3c-serve-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def main(argv: list[str] | None = None) -> int:
    """`s3-conformance serve ...` (the leading "serve" is optional). Stops cleanly on SIGTERM/SIGINT."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["serve"]:
        args_list = args_list[1:]
    parser = _parser()
    args = parser.parse_args(args_list)
    if bool(args.cert) != bool(args.key):
        parser.error("--cert and --key go together")
    from mockserver.dialects import DIALECTS

    if args.dialect not in DIALECTS:
        parser.error(f"unknown dialect {args.dialect!r}; known: {', '.join(sorted(DIALECTS))}")
    for flag in ("request_timeout", "body_min_rate", "body_rate_grace"):
        value = getattr(args, flag)
        if value is not None and not value > 0:
            parser.error(f"--{flag.replace('_', '-')} must be a positive number (got {value})")
    if args.write_json:
        directory = os.path.dirname(os.path.abspath(args.write_json))
        if not os.path.isdir(directory) or os.path.isdir(args.write_json):
            parser.error(f"--write-json {args.write_json}: no such directory, or a directory")
        with contextlib.suppress(OSError):
            os.unlink(args.write_json)        # a file left by an earlier server must not be mistaken for this one
    main_account = Account("main", args.access_key, args.secret_key, MAIN.account_id)
    alt_account = Account("alt", args.alt_access_key, args.alt_secret_key, ALT.account_id)
    if main_account.access_key == alt_account.access_key:
        parser.error("the main and alt accounts need different access keys")
    # The handler only appends to a list. It used to call threading.Event.set(), which takes the Event's lock: a
    # signal handled while the main thread held that same lock (inside Event.wait, between its checks) waited
    # for it forever, and serve ignored SIGTERM (seen once under a loaded test run). The main loop polls instead.
    stop_requested: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stop_requested.append(signum))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server_cm = running_server(dialect=args.dialect, host=args.host, port=args.port,
                                   tls=args.tls or bool(args.cert), plain_http_too=not args.no_plain_http,
                                   plain_port=args.plain_http_port, data_dir=args.data_dir,
                                   allow_sse_c_over_http=args.allow_sse_c_over_http, fsync=args.fsync,
                                   region=args.region,
                                   domain=args.domain, main=main_account, alt=alt_account, cert_file=args.cert,
                                   key_file=args.key, open_metrics=args.open_metrics,
                                   root_key_file=args.root_key_file, request_timeout=args.request_timeout,
                                   body_min_rate=args.body_min_rate, body_rate_grace=args.body_rate_grace)
        with server_cm as server:
            human = sys.stderr if args.print_json else sys.stdout
            _announce(server, args.dialect, args.allow_sse_c_over_http, out=human)
            document = json.dumps(server_document(server))
            if args.write_json:
                _write_atomically(args.write_json, document + "\n")
            if args.print_json:
                print(document, flush=True)
            try:
                while not stop_requested:
                    time.sleep(0.1)      # a signal's handler runs during the sleep; the loop sees it within 0.1 s
            finally:
                if args.write_json:
                    with contextlib.suppress(OSError):
                        os.unlink(args.write_json)
            print("stopping", file=human, flush=True)
    except OSError as exc:
        print(f"s3-conformance serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"s3-conformance serve: {exc}", file=sys.stderr)
        return 1
    return 0


def _announce(server: RunningServer, dialect: str, allow_sse_c_over_http: bool = False, out: Any = None) -> None:
    lines = [f"mock S3 server (dialect {dialect}, region {server.region}) pid {server.pid}",
             f"endpoint: {server.endpoint}"]
    if server.plain_endpoint and server.plain_endpoint != server.endpoint:
        lines.append(f"plain endpoint: {server.plain_endpoint}")
    if server.ca_file:
        lines.append(f"CA file: {server.ca_file}")
    for name, creds in server.credentials.items():
        lines.append(f"{name} account: access key {creds['access_key']}  secret key {creds['secret_key']}  "
                     f"account id {creds['account_id']}")
    lines += _sse_c_notes(server, dialect, allow_sse_c_over_http)
    print("\n".join(lines), file=out or sys.stdout, flush=True)


def _sse_c_notes(server: RunningServer, dialect: str, allow_sse_c_over_http: bool) -> list[str]:
    """Why SSE-C requests may fail against this server, and how to make them work."""
    from mockserver.dialects import DIALECTS

    notes = []
    if not allow_sse_c_over_http and server.endpoint.startswith("http://"):
        notes.append("note: SSE-C over plain HTTP is rejected, as AWS does: use the https:// endpoint (--tls; clients "
                     "need the CA file), or start with --allow-sse-c-over-http (and run the suite with "
                     "--capability sse-c-over-http)")
    if DIALECTS[dialect].sse_c_blocked_by_default:
        notes.append("note: new buckets block SSE-C, as AWS does since April 2026: unblock a bucket with "
                     "PutBucketEncryption whose Rule has <BlockedEncryptionTypes><EncryptionType>NONE"
                     "</EncryptionType></BlockedEncryptionTypes>")
    return notes
