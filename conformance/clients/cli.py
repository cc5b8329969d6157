"""`s3-conformance clients`: the client compatibility matrix. Exit codes as `run`: 0 every applicable scenario
passed, 1 failures, 2 usage errors or an endpoint that refuses the credentials, 130 interrupted."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from . import adapters
from .base import ClientResult, ScenarioResult
from .installer import ENV_CACHE, Cache
from .runner import SCENARIO_TIMEOUT, MatrixRunner
from .scenarios import NAMES, SCENARIOS, Target

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    clients = ", ".join(adapters.names())
    parser = argparse.ArgumentParser(
        prog="s3-conformance clients", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Drive real S3 clients (each installed on demand into a cache, each scenario in its own process\n"
                    "with a time limit) against an endpoint, or against the built-in mock server over HTTPS when no\n"
                    "--endpoint is given, and report a clients x scenarios matrix.",
        epilog=f"clients: {clients}\nscenarios:\n" + "\n".join(f"  {n:<20} {d}" for n, d in SCENARIOS) +
               f"\n\nclients install into ~/.cache/s3-conformance/clients/<client>-<version> ({ENV_CACHE} or "
               "--clients-cache to change)\nexit codes: 0 every applicable scenario passed, 1 failures, 2 usage "
               "errors or refused credentials, 130 interrupted")
    parser.add_argument("--endpoint", help="S3 endpoint URL (default: start the built-in mock server with TLS)")
    parser.add_argument("--access-key", default=os.environ.get("S3C_ACCESS_KEY"))
    parser.add_argument("--secret-key", default=os.environ.get("S3C_SECRET_KEY"))
    parser.add_argument("--alt-access-key", default=os.environ.get("S3C_ALT_ACCESS_KEY"))
    parser.add_argument("--alt-secret-key", default=os.environ.get("S3C_ALT_SECRET_KEY"))
    parser.add_argument("--kms-endpoint", help="KMS endpoint for creating the SSE-KMS key (default: --endpoint)")
    parser.add_argument("--ca-file", help="CA bundle the clients trust for the endpoint")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--client", action="append", choices=adapters.names(), metavar="NAME",
                        help="run only this client (repeatable; default: all)")
    parser.add_argument("--scenario", action="append", choices=NAMES, metavar="NAME",
                        help="run only this scenario (repeatable; default: all)")
    parser.add_argument("--config", action="append", choices=["default", "when_required"], metavar="NAME",
                        help="run only this client configuration: default, when_required (repeatable; default: "
                             "every configuration a client has)")
    parser.add_argument("--report-dir", default="reports/clients")
    parser.add_argument("--report-name", default="clients")
    parser.add_argument("--clients-cache", help=f"install cache (default: ${ENV_CACHE} or "
                                                "~/.cache/s3-conformance/clients)")
    parser.add_argument("--refresh", action="store_true", help="install the newest release even when cached")
    parser.add_argument("--timeout", type=float, default=SCENARIO_TIMEOUT, help="seconds per scenario process")
    parser.add_argument("-v", "--verbose", action="store_true", help="list not-applicable reasons too")
    return parser


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[Target]:
    if args.endpoint:
        yield Target(args.endpoint, args.access_key, args.secret_key, args.region, args.ca_file, args.kms_endpoint,
                     args.alt_access_key, args.alt_secret_key)
        return
    from mockserver.server import running_server

    with running_server(tls=True, region=args.region) as server:
        main, alt = server.credentials["main"], server.credentials["alt"]
        yield Target(server.endpoint, main["access_key"], main["secret_key"], server.region, server.ca_file,
                     args.kms_endpoint, alt["access_key"], alt["secret_key"])


def _preflight(target: Target) -> str:
    try:
        target.client().list_buckets()
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never a traceback
        response = getattr(exc, "response", None)
        reason = (f"{response['Error'].get('Code')}: {response['Error'].get('Message')}"
                  if isinstance(response, dict) and "Error" in response else f"{type(exc).__name__}: {exc}")
        return f"preflight ListBuckets against {target.endpoint} failed ({reason}); check the endpoint, keys, CA"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.endpoint and not (args.access_key and args.secret_key):
        print("s3-conformance clients: --endpoint needs --access-key and --secret-key (or S3C_ACCESS_KEY, "
              "S3C_SECRET_KEY)", file=sys.stderr)
        return EXIT_USAGE
    chosen = [adapters.load(name) for name in (args.client or adapters.names())]
    cache = Cache(Path(args.clients_cache) if args.clients_cache else None, refresh=args.refresh)
    results: list[ClientResult] = []
    interrupted = False

    def progress(result: ClientResult, scenario: ScenarioResult) -> None:
        print(f"  {result.name} {result.version} [{result.config}] {scenario.name}: {scenario.outcome}",
              file=sys.stderr, flush=True)

    endpoint = args.endpoint or "built-in mock server"
    try:
        with _target(args) as target, tempfile.TemporaryDirectory(prefix="s3c-clients-") as workdir:
            endpoint = target.endpoint if args.endpoint else f"built-in mock server ({target.endpoint})"
            problem = _preflight(target)
            if problem:
                print(f"s3-conformance clients: {problem}", file=sys.stderr)
                return EXIT_USAGE
            print(f"s3-conformance clients: {len(chosen)} clients against {endpoint}; cache {cache.root}",
                  file=sys.stderr)
            runner = MatrixRunner(target, cache, Path(workdir), args.scenario, args.timeout, progress, args.config)
            for adapter in chosen:
                results.extend(runner.run_client(adapter))
            if args.verbose:
                for note in runner.notes:
                    print(f"note: {note}", file=sys.stderr)
    except KeyboardInterrupt:
        interrupted = True
    from .reports import console, write_all

    try:
        paths = write_all(results, endpoint, Path(args.report_dir), args.report_name)
        print(f"reports: {paths['html']} {paths['json']} {paths['junit']}", file=sys.stderr)
    except OSError as exc:
        print(f"s3-conformance clients: cannot write reports: {exc}", file=sys.stderr)
    print(console(results, endpoint, verbose=args.verbose))
    if interrupted:
        print("s3-conformance clients: interrupted; the reports hold the scenarios that ran", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_FAILED if any(r.failed for r in results) else EXIT_OK
