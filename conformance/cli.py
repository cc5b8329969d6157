"""`s3-conformance` console script: run, list, validate, coverage, serve. Exit codes: 0 all applicable
cases passed, 1 failures, 2 usage / case-file / profile errors, 130 interrupted (Ctrl-C)."""
from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import assemble

if TYPE_CHECKING:
    from .casefile.model import Case
    from .profile import Profile
    from .results import CaseResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130                 # Ctrl-C (128 + SIGINT), as shells report it


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:   # argparse exits 2 already; keep its message, no traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="s3-conformance", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="{run,list,validate,coverage,serve}", parser_class=_Parser)

    run = sub.add_parser("run", help="run the cases against an endpoint (default: the built-in mock server)")
    assemble.add_cli_options(run.add_argument_group("endpoint"))
    _add_profile_args(run)
    run.add_argument("--report-dir", default="reports")
    run.add_argument("--report-name", help="report file stem (default: the profile name)")
    run.add_argument("--baseline", help="JSON file of accepted failures: only new failures fail the run")
    run.add_argument("--update-baseline", action="store_true", help="write the current failures to --baseline")
    run.add_argument("-n", "--jobs", type=int, default=1, help="cases run at the same time (threads)")
    run.add_argument("-v", "--verbose", action="store_true")

    listing = sub.add_parser("list", help="list cases with operation, requirements and source")
    _add_profile_args(listing, profile_default=None)

    validate = sub.add_parser("validate", help="schema-check case files and profiles")
    validate.add_argument("paths", nargs="*", help="case files or directories (default: --cases)")
    _add_profile_args(validate, profile_default=None)

    sub.add_parser("coverage", help="coverage of the botocore S3 model by the cases", add_help=False)
    sub.add_parser("serve", help="run the mock S3 server", add_help=False)
    return parser


def _add_profile_args(parser: argparse.ArgumentParser, profile_default: str | None = "aws") -> None:
    parser.add_argument("--profile", default=profile_default, help="profile name or YAML file")
    parser.add_argument("--cases", action="append", metavar="PATH",
                        help="case file or directory, replaces the bundled corpus (repeatable; default: the corpus "
                             "installed with the package)")
    parser.add_argument("--extra-cases", action="append", metavar="PATH",
                        help="case file or directory added on top of the corpus, e.g. a vendor's own cases "
                             "(repeatable)")
    parser.add_argument("--select", help="e.g. 'tag:sse-c and not op:PostObject'")


def _err(message: str) -> None:
    print(f"s3-conformance: {message}", file=sys.stderr)


class UsageError(Exception):
    """Exit code 2: `lines` go to stderr as they are, then `summary` (if any) prefixed with the program name."""

    def __init__(self, lines: list[str], summary: str = ""):
        super().__init__(summary or "\n".join(lines))
        self.lines = lines
        self.summary = summary


def _load(args: argparse.Namespace, paths: list[str] | None = None) -> tuple[list[Case], Profile | None]:
    """(selected cases, profile or None); raises UsageError with every problem."""
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
    cases, problems = loader.load_cases(case_paths)
    if problems:
        raise UsageError([str(p) for p in problems], f"{len(problems)} problem(s) in case files")
    try:
        cases = select.select(cases, getattr(args, "select", None))
    except select.SelectError as exc:
        raise UsageError([], f"--select: {exc}") from None
    return cases, profile


def cmd_run(args: argparse.Namespace) -> int:
    from . import baseline as baseline_mod
    from .reporters import RunInfo, console
    from .run import Clock, execute, write_reports
    from .target import TargetError

    options = assemble.run_options(lambda dest: getattr(args, dest))
    usage = _run_option_problems(args, options)
    if usage:
        _err(usage)
        return EXIT_USAGE
    cases, profile = _load(args)
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
        with assemble.open_run(options, profile) as run:
            target, effective, redactor = run.target, run.profile, run.redactor
            print(f"s3-conformance: {len(cases)} cases, profile {effective.name}, endpoint {target.endpoint}",
                  file=sys.stderr)
            progress = console.Progress(len(cases))
            done: list[CaseResult] = []

            def on_result(result: CaseResult) -> None:
                done.append(result)
                progress.update(result)

            with _graceful_sigint() as stop:
                try:
                    results = execute(cases, run.engine, args.jobs, on_result, stop=stop)
                except KeyboardInterrupt:           # a second Ctrl-C: the running case stopped where it was
                    order = {case.id: index for index, case in enumerate(cases)}
                    results = sorted(done, key=lambda r: order.get(r.case_id, 0))
            interrupted = stop.is_set()
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
                   comparison=comparison, cases=cases, interrupted=interrupted)
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
    cases, _ = _load(argparse.Namespace(cases=args.cases, extra_cases=args.extra_cases, select=args.select,
                                         profile=None), args.paths or None)
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
