"""pytest plugin (pytest11 entry point): `pytest cases/ --s3-endpoint URL --s3-profile NAME` runs the YAML
cases through the same engine as `s3-conformance run`, one test item per case (NA -> skipped, known
deviation -> xfail, warning -> passed with an UnprovenExpectationWarning). Without --s3-endpoint each process (each xdist worker) starts the built-in mock server
once. Only YAML files whose top level has `cases:` are collected, so unrelated runs are undisturbed.

This module is imported by every pytest run in the environment: it must stay importable and cheap, so
the runner is imported lazily."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from .assemble import PYTEST_PREFIX, add_pytest_options, open_run, run_options

_RUNTIME_KEY: Any = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("s3-conformance", "S3 conformance cases (YAML)")
    add_pytest_options(group)
    group.addoption("--s3-profile", default="aws", help="profile name or YAML file (default: aws)")
    group.addoption("--s3-select", help="select cases, e.g. 'tag:sse-c and not op:PostObject'")
    group.addoption("--s3-no-cases", action="store_true", help="do not collect YAML case files")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml") or parent.config.getoption("s3_no_cases"):
        return None
    try:
        text = file_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    from .casefile.loader import looks_like_case_file

    if not looks_like_case_file(text):
        return None
    return CaseFile.from_parent(parent, path=file_path)


class CaseFile(pytest.File):
    def collect(self):  # type: ignore[override]
        from . import select
        from .casefile import loader

        cases, problems = loader.load_file(Path(self.path))
        if problems:
            raise self.CollectError("\n".join(str(p) for p in problems))
        expression = self.config.getoption("s3_select")
        try:
            cases = select.select(cases, expression)
        except select.SelectError as exc:
            raise self.CollectError(f"--s3-select: {exc}") from None
        for case in cases:
            yield CaseItem.from_parent(self, name=case.id, case=case)


class UnprovenExpectationWarning(UserWarning):
    """A case passed, but an expectation that rests on no evidence of AWS's behaviour (`unproven`) did not
    hold: worth a look, never a failure."""


class CaseFailed(Exception):
    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


class CaseItem(pytest.Item):
    def __init__(self, *, case: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.case = case
        for tag in case.tags:
            self.keywords[tag] = True

    def runtest(self) -> None:
        from .results import Outcome

        runtime = _runtime(self.config)
        result = runtime.engine.run_case(self.case)
        self.user_properties.append(("outcome", result.outcome.value))
        if result.outcome is Outcome.NA:
            pytest.skip(result.reason)
        if result.outcome is Outcome.DEVIATION:
            pytest.xfail(result.reason)
        if result.failed:
            raise CaseFailed(runtime.engine.redactor.text(_describe(result)))
        if result.outcome is Outcome.WARNING:
            import warnings

            warnings.warn(UnprovenExpectationWarning(runtime.engine.redactor.text(_describe_warning(result))),
                          stacklevel=1)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseFailed):
            return excinfo.value.text
        if isinstance(excinfo.value, _TargetUnavailable):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, self.case.line - 1, f"{self.case.id}: {self.case.title}"


def _describe(result: Any) -> str:
    lines = [f"{result.case_id} ({result.file}:{result.line}) {result.outcome.value}: {result.title}",
             result.reason]
    for step in result.setup + result.steps:
        if step.ok:
            continue
        for mismatch in step.mismatches:
            lines.append(f"  step {step.name}: {mismatch.describe()}")
        if step.exchange is not None:
            request, response = step.exchange.request, step.exchange.response
            lines.append(f"  > {request.method} {request.url}")
            for name, value in request.headers:
                lines.append(f"  > {name}: {value}")
            if response is not None:
                lines.append(f"  < {response.status} {response.reason}")
                for name, value in response.headers:
                    lines.append(f"  < {name}: {value}")
                if response.body:
                    lines.append("  < " + response.body[:1500].decode("utf-8", "replace").replace("\n", "\n  < "))
            else:
                lines.append(f"  < no response: {step.exchange.error}")
    return "\n".join(lines)


def _describe_warning(result: Any) -> str:
    lines = [f"{result.case_id} ({result.file}:{result.line}): unproven expectations did not hold"]
    for step, mismatch in result.warnings():
        lines.append(f"  step {step.name}: {mismatch.describe()}")
    return "\n".join(lines)


class _TargetUnavailable(Exception):
    pass


class _Runtime:
    def __init__(self, config: pytest.Config):
        from .profile import ProfileError, load_profile
        from .target import TargetError

        self.stack = contextlib.ExitStack()
        try:
            profile = load_profile(config.getoption("s3_profile"))
        except ProfileError as exc:
            raise _TargetUnavailable(f"--s3-profile: {exc}") from None
        options = run_options(lambda dest: config.getoption(f"s3_{dest}"), flag_prefix=f"--{PYTEST_PREFIX}")
        try:
            run = self.stack.enter_context(open_run(options, profile))
        except TargetError as exc:
            raise _TargetUnavailable(str(exc)) from None
        self.engine = run.engine
        # What the run found and assumed about the endpoint (as `run` prints to stderr), shown in the summary.
        self.summary = [f"profile {run.profile.name}, endpoint {run.target.endpoint}"]
        if run.discovery is not None:
            self.summary += run.discovery.lines()

    def close(self) -> None:
        self.stack.close()


def _runtime(config: pytest.Config) -> _Runtime:
    existing = config.stash.get(_RUNTIME_KEY, None)
    if isinstance(existing, _TargetUnavailable):
        raise existing
    if existing is None:
        try:
            existing = _Runtime(config)
        except _TargetUnavailable as exc:
            config.stash[_RUNTIME_KEY] = exc
            raise
        config.stash[_RUNTIME_KEY] = existing
    return existing


_WORKER_SUMMARY = "s3_conformance_target"
_SUMMARY_KEY = pytest.StashKey[list[str]]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its target summary to the controller, which prints it."""
    runtime = session.config.stash.get(_RUNTIME_KEY, None)
    workeroutput = getattr(session.config, "workeroutput", None)
    if isinstance(runtime, _Runtime) and workeroutput is not None:
        workeroutput[_WORKER_SUMMARY] = runtime.summary


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    lines = getattr(node, "workeroutput", {}).get(_WORKER_SUMMARY)
    if lines:
        collected = node.config.stash.setdefault(_SUMMARY_KEY, [])
        collected += [line for line in lines if line not in collected]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    runtime = config.stash.get(_RUNTIME_KEY, None)
    lines = list(runtime.summary) if isinstance(runtime, _Runtime) else []
    lines += [line for line in config.stash.get(_SUMMARY_KEY, []) if line not in lines]
    if lines:
        terminalreporter.section("s3-conformance target")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_unconfigure(config: pytest.Config) -> None:
    runtime = config.stash.get(_RUNTIME_KEY, None)
    if isinstance(runtime, _Runtime):
        runtime.close()
