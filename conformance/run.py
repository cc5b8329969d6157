"""Running a selection of cases (optionally on a thread pool) and writing every report."""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .casefile.model import Case
from .engine import Engine
from .reporters import RunInfo
from .results import CaseResult


def execute(cases: list[Case], engine: Engine, jobs: int = 1,
            on_result: Callable[[CaseResult], None] | None = None,
            stop: threading.Event | None = None) -> list[CaseResult]:
    """Results in case order; -n N runs N cases at a time (each case has its own buckets). Once `stop` is
    set (Ctrl-C), no further case starts: the running ones finish (teardown included) and the results of
    the cases that ran are returned."""
    def one(case: Case) -> CaseResult | None:
        if stop is not None and stop.is_set():
            return None
        result = engine.run_case(case)
        if on_result:
            on_result(result)
        return result
    if jobs <= 1:
        results = []
        for case in cases:
            result = one(case)
            if result is None:
                break
            results.append(result)
        return results
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="case") as pool:
        return [r for r in pool.map(one, cases) if r is not None]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def write_reports(info: RunInfo, report_dir: Path, name: str) -> dict[str, Path]:
    from .reporters import html, jsonreport, junit

    report_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": report_dir / f"{name}.html", "json": report_dir / f"{name}.json",
             "junit": report_dir / f"{name}.junit.xml"}
    data = jsonreport.build(info)          # one redacted tree for the JSON and the HTML report
    jsonreport.write(info, paths["json"], data)
    junit.write(info, paths["junit"])
    html.write(info, paths["html"], data)
    return paths


class Clock:
    def __init__(self) -> None:
        self.started_iso = now_iso()
        self._start = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start
