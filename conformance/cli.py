"""`s3-conformance` console script: run, list, validate, coverage, serve. Exit codes: 0 all applicable
cases passed, 1 failures, 2 usage / case-file / profile errors, 130 interrupted (Ctrl-C)."""
from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import assemble

if TYPE_CHECKING:
    from .casefile.loader import FileLoader
    from .casefile.model import Case
    from .profile import Profile
    from .results import CaseResult
    from .run import CasePool
    from .target import Launch

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130                 # Ctrl-C (128 + SIGINT), as shells report it


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:   # argparse exits 2 already; keep its message, no traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


TOP_DESCRIPTION = """\
Conformance suite for S3 server-side encryption: runs YAML cases (SSE-S3, SSE-KMS, DSSE-KMS, SSE-C,
bucket default encryption, bucket keys, checksums, presigned URLs, POST Object) against an S3 endpoint,
or against the built-in mock server when no --endpoint is given. The case corpus is installed with the
package."""

EXIT_CODES = """\
exit codes: 0 every applicable case passed, 1 failures, 2 usage / case-file / profile errors or a failed
preflight, 130 interrupted (Ctrl-C)"""


def _run_epilog() -> str:
    from .capabilities import VOCABULARY
    from .profile import ProfileError, load_profile, shipped_profiles

    profiles = []
    for name in shipped_profiles():
        try:
            description = " ".join(load_profile(name).description.split())
        except ProfileError:
            description = ""
        first = description.split(": ")[0].split(". ")[0]
        profiles.append(f"  {name:<12} {first[:90]}")
    return "\n".join([
        "profiles (--profile NAME, or a YAML file):", *profiles, "",
        "environment variables:",
        "  S3C_ACCESS_KEY, S3C_SECRET_KEY          defaults of --access-key, --secret-key",
        "  S3C_ALT_ACCESS_KEY, S3C_ALT_SECRET_KEY  defaults of --alt-access-key, --alt-secret-key", "",
        "capabilities (--capability, --without; vendor-defined ones start with x-):",
        *textwrap.wrap(", ".join(VOCABULARY), width=100, initial_indent="  ", subsequent_indent="  ",
                      break_on_hyphens=False), "",
        "examples:",
        "  s3-conformance run                                   # the built-in mock server, profile aws",
        "  s3-conformance run --endpoint https://s3.example.com --ca-file ca.pem --profile aws \\",
        "      --access-key AK --secret-key SK --alt-access-key AK2 --alt-secret-key SK2 --account-id 111122223333",
        "  s3-conformance run --select 'tag:sse-c and not op:PostObject' -n 4", "",
        EXIT_CODES])


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog="s3-conformance", description=TOP_DESCRIPTION, epilog=EXIT_CODES + "\n\n"
                     "s3-conformance COMMAND --help describes each command.", formatter_class=raw)
    sub = parser.add_subparsers(dest="command", metavar="{run,list,validate,coverage,serve,clients}",
                                parser_class=_Parser)

    run = sub.add_parser(
        "run", help="run the cases against an endpoint (default: the built-in mock server)", formatter_class=raw,
        description="Run the case corpus (or --cases) against an S3 endpoint, or against the built-in mock server\n"
                    "when no --endpoint is given. Before any case a preflight signs one ListBuckets per account.\n"
                    "Progress goes to stderr, failures and the summary line to stdout; the HTML, JSON and JUnit\n"
                    "reports go to --report-dir. A first Ctrl-C finishes the running cases and writes the reports.",
        epilog=_run_epilog())
    assemble.add_cli_options(run.add_argument_group("endpoint"))
    _add_profile_args(run)
    out = run.add_argument_group("reports and gating")
    out.add_argument("--report-dir", default="reports", metavar="DIR",
                     help="where the reports are written, created if missing (default: reports)")
    out.add_argument("--report-name", metavar="NAME",
                     help="report file stem: NAME.html, NAME.json, NAME.junit.xml (default: the profile name)")
    out.add_argument("--baseline", metavar="FILE",
                     help="JSON file of accepted failures: only new failures fail the run (default: none)")
    out.add_argument("--update-baseline", action="store_true", help="write the current failures to --baseline")
    out.add_argument("-n", "--jobs", type=int, default=1, metavar="N",
                     help="cases run at the same time, each on a worker process of its own (default: 1)")
    out.add_argument("-v", "--verbose", action="store_true",
                     help="every mismatch of a failed case, not only the first three of its failing step")

    listing = sub.add_parser("list", help="list cases with operation, requirements and source",
                             description="List the cases (one line each: id, operation, required capabilities, "
                                         "source document; with --profile, the capabilities it lacks).",
                             epilog=EXIT_CODES)
    _add_profile_args(listing, profile_default=None)

    validate = sub.add_parser("validate", help="schema-check case files and profiles",
                              description="Check case files and profiles: schema, placeholders, capability names, "
                                          "deviation ids. Problems are printed as path:line: message (exit 2).",
                              epilog=EXIT_CODES)
    validate.add_argument("paths", nargs="*", metavar="PATH",
                          help="case files or directories (default: --cases, else the bundled corpus); "
                               "--extra-cases are checked too")
    _add_profile_args(validate, profile_default=None)

    sub.add_parser("coverage", help="coverage of the S3 encryption surface by the cases (coverage --help)",
                   add_help=False)
    sub.add_parser("serve", help="run the mock S3 server (serve --help: dialects, port, TLS)", add_help=False)
    sub.add_parser("clients", help="client compatibility matrix: real S3 clients (boto3, AWS CLI, JS SDK, ...) "
                   "against an endpoint (clients --help)", add_help=False)
    return parser


def _add_profile_args(parser: argparse.ArgumentParser, profile_default: str | None = "aws") -> None:
    from .profile import shipped_profiles

    names = ", ".join(shipped_profiles())
    default = f"default: {profile_default}" if profile_default else "default: every shipped profile for validate, " \
        "none for list"
    parser.add_argument("--profile", default=profile_default, metavar="NAME|FILE",
                        help=f"profile name ({names}) or YAML file ({default})")
    parser.add_argument("--cases", action="append", metavar="PATH",
                        help="case file or directory, replaces the bundled corpus (repeatable; default: the corpus "
                             "installed with the package)")
    parser.add_argument("--extra-cases", action="append", metavar="PATH",
                        help="case file or directory added on top of the corpus, e.g. a vendor's own cases "
                             "(repeatable)")
    parser.add_argument("--select", metavar="EXPR",
                        help="cases to keep, e.g. 'tag:sse-c and not op:PostObject'; terms id:GLOB (or a bare GLOB), "
                             "tag:, op:, requires:, file:; and, or, not, parentheses (default: every case)")


def _err(message: str) -> None:
    print(f"s3-conformance: {message}", file=sys.stderr)


class UsageError(Exception):
    """Exit code 2: `lines` go to stderr as they are, then `summary` (if any) prefixed with the program name."""

    def __init__(self, lines: list[str], summary: str = ""):
        super().__init__(summary or "\n".join(lines))
        self.lines = lines
        self.summary = summary


def _load(args: argparse.Namespace, paths: list[str] | None = None,
          load_files: FileLoader | None = None) -> tuple[list[Case], Profile | None]:
    """(selected cases, profile or None); raises UsageError with every problem. `load_files`: see
    loader.load_cases."""
    from . import corpus, select
    from .casefile import loader
    from .profile import ProfileError, load_profile

    profile = None
    if getattr(args, "profile", None):
        try:
            profile = load_profile(args.profile)
        except ProfileError as exc:
            raise UsageError(exc.problems) from None
    try:
        case_paths = paths or corpus.case_paths(args.cases, getattr(args, "extra_cases", None))
    except corpus.CorpusMissing as exc:
        raise UsageError([], str(exc)) from None
    cases, problems = loader.load_cases(case_paths, load_files)
    if problems:
        raise UsageError([str(p) for p in problems], f"{len(problems)} problem(s) in case files")
    try:
        cases = select.select(cases, getattr(args, "select", None))
    except select.SelectError as exc:
        raise UsageError([], f"--select: {exc}") from None
    return cases, profile


def cmd_run(args: argparse.Namespace) -> int:
    from .run import CasePool

    options = assemble.run_options(lambda dest: getattr(args, dest))
    usage = _run_option_problems(args, options)
    if usage:
        _err(usage)
        return EXIT_USAGE
    # -n N: the worker processes start first, before the run starts any thread (server, watchdogs); they load
    # the case files with this process, then run the cases
    pool = CasePool.start(args.jobs) if args.jobs > 1 else None
    try:
        with contextlib.ExitStack() as late:
            return _run_cases(args, options, pool, late)
    finally:
        if pool is not None:
            pool.close()


def _run_cases(args: argparse.Namespace, options: assemble.RunOptions, pool: CasePool | None,
               late: contextlib.ExitStack) -> int:
    from . import baseline as baseline_mod
    from .reporters import RunInfo, console
    from .run import Clock, execute, write_reports
    from .target import TargetError

    launched = _launch_builtin_server(args, options, late)
    cases, profile = _load(args, load_files=pool.load_files if pool is not None else None)
    assert profile is not None          # `run` always has a profile (default: aws)
    if not cases:
        _err(f"--select {args.select!r} matches none of the cases: nothing to run")
        return EXIT_USAGE
    known: set[str] | None = None
    if args.baseline and not args.update_baseline:
        try:
            known = baseline_mod.load(args.baseline)
        except baseline_mod.BaselineError as exc:
            _err(str(exc))
            return EXIT_USAGE
    if args.update_baseline and not args.baseline:
        _err("--update-baseline needs --baseline FILE")
        return EXIT_USAGE
    clock = Clock()
    try:
        # entered on `late`: the run (and the built-in server) closes after the reports are written; the server
        # begins its shutdown when the cases are done (run.release), while the reports are written
        run = late.enter_context(assemble.open_run(options, profile, launched))
        if pool is not None:
            late.callback(pool.close)       # on any way out: the workers end before the server stops
        target, effective, redactor = run.target, run.profile, run.redactor
        if run.discovery is not None:
            print("\n".join(run.discovery.lines()), file=sys.stderr)
        print(f"s3-conformance: {len(cases)} cases, profile {effective.name}, endpoint {target.endpoint}",
              file=sys.stderr)
        progress = console.Progress(len(cases))
        done: list[CaseResult] = []

        def on_result(result: CaseResult) -> None:
            done.append(result)
            progress.update(result)

        with _graceful_sigint() as stop:
            try:
                results = execute(cases, run.engine, args.jobs, on_result, stop=stop, pool=pool)
            except KeyboardInterrupt:           # a second Ctrl-C: the running case stopped where it was
                order = {case.id: index for index, case in enumerate(cases)}
                results = sorted(done, key=lambda r: order.get(r.case_id, 0))
        interrupted = stop.is_set()
        if pool is not None:
            pool.close()        # the workers and their keep-alive connections end before the server stops
        run.release()
        progress.finish()
    except TargetError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:                       # before any case (preflight, server start-up)
        _err("interrupted before any case ran")
        return EXIT_INTERRUPTED
    comparison = baseline_mod.compare(results, known) if known is not None else None
    info = RunInfo(profile=effective.name, endpoint=target.endpoint, capabilities=sorted(effective.capabilities),
                   results=results, started=clock.started_iso, duration=clock.elapsed, redactor=redactor,
                   comparison=comparison, cases=cases, interrupted=interrupted,
                   unavailable=dict(effective.unavailable),
                   discovery=run.discovery.lines() if run.discovery is not None else [])
    try:
        paths = write_reports(info, Path(args.report_dir), args.report_name or effective.name)
        if args.update_baseline and interrupted:
            _err(f"--update-baseline: not written, the run was interrupted ({args.baseline} unchanged)")
        elif args.update_baseline:
            baseline_mod.write(args.baseline, results, effective.name)
            print(f"baseline written: {args.baseline}", file=sys.stderr)
    except OSError as exc:
        print(console.render_summary(info, verbose=args.verbose))
        _err(f"cannot write reports: {exc}")
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - a reporter bug must not hide the results: summary first
        print(console.render_summary(info, verbose=args.verbose))
        _err(f"writing the reports failed (a runner bug, please report it): {type(exc).__name__}: {exc}")
        return EXIT_USAGE
    print(f"reports: {paths['html']} {paths['json']} {paths['junit']}", file=sys.stderr)
    print(console.render_summary(info, verbose=args.verbose))
    if interrupted:
        _err(f"interrupted: {len(results)} of {len(cases)} cases ran; the reports hold those")
        return EXIT_INTERRUPTED
    if comparison is not None:
        return EXIT_OK if comparison.gate_ok else EXIT_FAILED
    return EXIT_FAILED if any(r.failed for r in results) else EXIT_OK


def _launch_builtin_server(args: argparse.Namespace, options: assemble.RunOptions,
                           late: contextlib.ExitStack) -> Launch | None:
    """Without --endpoint the built-in server starts now, in the profile's dialect, and comes up while the cases
    load; ended with the run, or unused if the run stops before (a problem in the case files)."""
    from .profile import ProfileError, load_profile
    from .target import BuiltinServer

    if options.target.endpoint:
        return None
    try:
        dialect = load_profile(args.profile).dialect
    except ProfileError:
        return None                         # _load reports it
    launched = BuiltinServer.launch(dialect)
    late.callback(launched.abandon)
    return launched


@contextlib.contextmanager
def _graceful_sigint() -> Iterator[threading.Event]:
    """While the cases run, a first Ctrl-C (SIGINT) sets the event: no new case starts, the running ones
    finish and tear down, the reports are written. A second Ctrl-C raises KeyboardInterrupt as usual."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_sigint(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\ns3-conformance: interrupted: finishing the running case(s), then teardown and reports "
              "(Ctrl-C again to stop at once)", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_option_problems(args: argparse.Namespace, options: assemble.RunOptions) -> str | None:
    """Option values argparse cannot judge, checked before anything runs (a report directory that cannot
    be written must not cost a whole run first)."""
    if args.jobs < 1:
        return f"-n must be at least 1 (got {args.jobs})"
    from .capabilities import unknown_flags
    unknown = unknown_flags(args.capability or [], "--capability") + unknown_flags(args.without or [], "--without")
    if unknown:
        return unknown[0]
    problem = options.problem()
    if problem:
        return problem
    problem = _unwritable_dir(Path(args.report_dir))
    if problem:
        return f"--report-dir {args.report_dir}: {problem}"
    if args.update_baseline and args.baseline:
        parent = Path(args.baseline).parent
        problem = _unwritable_dir(parent)
        if problem:
            return f"--baseline {args.baseline}: directory {parent} {problem}"
        if Path(args.baseline).is_dir():
            return f"--baseline {args.baseline}: is a directory"
    return None


def _unwritable_dir(directory: Path) -> str | None:
    """None when files can be created in `directory` (created if missing), else why not."""
    import tempfile

    if directory.exists() and not directory.is_dir():
        return "exists and is not a directory"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        return f"not writable ({exc.strerror or exc})"
    return None


def cmd_list(args: argparse.Namespace) -> int:
    cases, profile = _load(args)
    for case in cases:
        requires = ",".join(case.implied_requirements()) or "-"
        na = ""
        if profile is not None:
            missing = [c for c in case.implied_requirements() if not profile.has(c)]
            na = f"  [NA: {','.join(missing)}]" if missing else ""
        print(f"{case.id}  {case.operation}  requires={requires}  source={case.source.get('document')}{na}")
    print(f"{len(cases)} cases")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from . import profile as profiles
    from .profile import ProfileError, load_profile, shipped_profiles, unresolved_var_problems

    problems = 0
    names = [args.profile] if args.profile else shipped_profiles()
    loaded_profiles = []
    for name in names:
        try:
            loaded_profiles.append(load_profile(name))
        except ProfileError as exc:
            problems += len(exc.problems)
            for problem in exc.problems:
                print(problem, file=sys.stderr)
    paths = list(args.paths) + list(args.extra_cases or []) if args.paths else None   # PATHs replace the corpus
    cases, _ = _load(argparse.Namespace(cases=args.cases, extra_cases=args.extra_cases, select=args.select,
                                         profile=None), paths)
    if problems:
        return EXIT_USAGE
    unresolved = unresolved_var_problems(cases, loaded_profiles)
    case_ids = {case.id for case in cases} | _bundled_case_ids()
    for loaded in loaded_profiles:
        unresolved += profiles.stale_deviation_problems(loaded, case_ids)
    for found in unresolved:
        print(found, file=sys.stderr)
    if unresolved:
        _err(f"{len(unresolved)} problem(s) in case files and profiles")
        return EXIT_USAGE
    print(f"{len(cases)} cases and {len(names)} profiles are valid")
    return EXIT_OK


def _bundled_case_ids() -> set[str]:
    """Ids of the bundled corpus (a profile's deviations may name them even when --cases replaces it)."""
    from . import corpus
    from .casefile import loader

    try:
        cases, _ = loader.load_cases([corpus.bundled_dir()])
    except corpus.CorpusMissing:
        return set()
    return {case.id for case in cases}


def _delegate(module: str, argv: list[str]) -> int:
    import importlib

    try:
        target = importlib.import_module(module)
    except ImportError as exc:
        _err(f"{module} is not available: {exc}")
        return EXIT_USAGE
    result = target.main(argv)
    return int(result or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "coverage":
        return _delegate("conformance.coverage", argv[1:])
    if argv and argv[0] == "serve":
        return _delegate("mockserver.server", argv[1:])
    if argv and argv[0] == "clients":          # the client matrix: conformance/clients/cli.py
        return _delegate("conformance.clients.cli", argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:          # --help (0) or a usage error (2): a return code, not an exception
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return {"run": cmd_run, "list": cmd_list, "validate": cmd_validate}[args.command](args)
    except UsageError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        if exc.summary:
            _err(exc.summary)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
