"""Console output: a progress bar while cases run, then failures, warnings (briefly) and the closing summary
line (`N passed, M failed, K not applicable, W warnings`; deviations and baseline notes go on the lines before)."""
from __future__ import annotations

import sys
import threading
from typing import TextIO

from ..results import CaseResult, Outcome
from . import RunInfo, explain

_MARK = {Outcome.PASSED: ".", Outcome.FAILED: "F", Outcome.NA: "s", Outcome.DEVIATION: "x", Outcome.ERROR: "E",
         Outcome.WARNING: "W"}


class Progress:
    """A `[#####.....] 12/40` bar on a terminal; on a pipe, one mark per case wrapped at 80 columns."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30):
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.width = width
        self.done = 0
        self.failed = 0
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._lock = threading.Lock()

    def update(self, result: CaseResult) -> None:
        with self._lock:
            self.done += 1
            self.failed += result.failed
            if self.tty:
                filled = int(self.width * self.done / self.total)
                bar = "#" * filled + "." * (self.width - filled)
                self.stream.write(f"\r[{bar}] {self.done}/{self.total} ({self.failed} failed) {result.case_id[:40]:<40}")
            else:
                self.stream.write(_MARK[result.outcome])
                if self.done % 80 == 0 or self.done == self.total:
                    self.stream.write(f" {self.done}/{self.total}\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def render_summary(info: RunInfo, verbose: bool = False) -> str:
    lines: list[str] = []
    for result in info.results:
        if result.failed:
            lines.append(f"{result.outcome.value.upper()} {result.case_id} ({result.file}:{result.line})")
            lines += [f"    {line}" for line in explain.failure_lines(result, verbose)]
    for result in info.results:
        if result.outcome is Outcome.WARNING:
            lines.append(f"WARNING {result.case_id} ({result.file}:{result.line})")
            for step, mismatch in result.warnings()[:None if verbose else 1]:
                lines.append(f"    step {step.name}: unproven {explain.describe(mismatch)}")
    for result in info.results:       # a case's outcome stands; what it left behind is listed apart
        for problem in result.teardown_problems:
            lines.append(f"TEARDOWN {result.case_id}: {problem.splitlines()[0] if problem else ''}")
    summary = info.summary
    if info.comparison is not None:
        comparison = info.comparison
        lines.append(f"baseline: {len(comparison.new_failures)} new failures, "
                     f"{len(comparison.known_failures)} known failures, "
                     f"{len(comparison.newly_passing)} newly passing")
        for case_id in comparison.new_failures:
            lines.append(f"  new failure: {case_id}")
        for case_id in comparison.newly_passing:
            lines.append(f"  newly passing: {case_id}")
    if summary.deviations:
        lines.append(f"{summary.deviations} known deviations")
    lines.append(summary.last_line())
    return info.redactor.text("\n".join(lines))       # reasons may quote headers that carry secrets
