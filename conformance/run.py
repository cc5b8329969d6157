"""Running a selection of cases (in this process, or on worker processes) and writing every report."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

from .casefile.model import Case
from .casefile.yamlsource import Problem
from .engine import Engine
from .reporters import RunInfo
from .results import CaseResult, Outcome


def execute(cases: list[Case], engine: Engine, jobs: int = 1,
            on_result: Callable[[CaseResult], None] | None = None,
            stop: threading.Event | None = None, pool: CasePool | None = None) -> list[CaseResult]:
    """Results in case order; -n N runs N cases at a time, each on a worker process of its own (each case has
    its own buckets; `pool`: workers started earlier, see CasePool). Once `stop` is set (Ctrl-C), no further
    case starts: the running ones finish (teardown included) and the results of the cases that ran are
    returned."""
    if jobs <= 1 and pool is None:
        results = []
        for case in cases:
            if stop is not None and stop.is_set():
                break
            result = engine.run_case(case)
            if on_result:
                on_result(result)
            results.append(result)
        return results
    own = pool is None
    if pool is None:
        pool = CasePool.start(jobs)
    try:
        return pool.run(cases, engine, on_result, stop)
    finally:
        if own:
            pool.close()


# ---------------------------------------------------------------------------------------------- worker processes
# A worker starts before the run starts any thread (cmd_run: first thing). It may first load a share of the case
# files (the runner loads another share meanwhile), then it gets the selected cases and the engine's parts
# once (target, profile, transport settings: known only once the target is open), then case indexes one at a
# time; it answers each with the CaseResult and the secrets its engine learnt meanwhile (SSE-C keys: the
# reports are redacted in the runner).

_LOAD, _ENGINE, _CASE = "load", "engine", "case"


def _worker_main(conn: Connection, inherited: list[Connection]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl-C is the runner's: it stops handing out cases
    for other in inherited:                           # the runner's ends of the pipes (so they see EOF)
        other.close()
    from .redact import Redactor
    from .request.transport import Transport

    engine: Engine | None = None
    cases: list[Case] = []
    sent: set[str] = set()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return                                    # the runner is done (or gone)
        if message[0] == _LOAD:
            from .casefile import loader
            try:
                conn.send([loader.load_file(path) for path in message[1]])
            except Exception:  # noqa: BLE001 - the runner loads these files itself then
                conn.send(None)
            continue
        if message[0] == _ENGINE:
            cases, target, profile, config, secrets = message[1:]
            engine = Engine(target, profile, Transport(config), Redactor(set(secrets)))
            sent = set(engine.redactor.secrets)
            continue
        index = message[1]
        assert engine is not None
        try:
            result = engine.run_case(cases[index])
        except BaseException:  # noqa: BLE001 - run_case reports its own errors; this is the last resort
            result = error_result(cases[index], "runner error:\n" + traceback.format_exc(limit=8))
        learnt = engine.redactor.secrets - sent
        sent |= learnt
        try:
            conn.send((index, result, sorted(learnt)))
        except (EOFError, OSError):
            return
        except Exception:  # noqa: BLE001 - a result that cannot be pickled is reported, not lost
            conn.send((index, error_result(cases[index], "runner error: the result could not be passed on:\n"
                                           + traceback.format_exc(limit=4)), sorted(learnt)))


def error_result(case: Case, reason: str) -> CaseResult:
    return CaseResult(case.id, case.title, case.operation, case.file, case.line, Outcome.ERROR, reason=reason,
                      tags=list(case.tags), requires=list(case.requires), source=dict(case.source))


def _start_method() -> str:
    """fork while this process has no other thread (cheap: the workers inherit the loaded cases and modules);
    else spawn, since fork() with threads can deadlock the child (and warns on Python 3.12+)."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _warm() -> None:
    """What every worker needs and caches (botocore's S3 and KMS models, the case schema's validator), made
    once here before the fork instead of once in each worker."""
    from . import s3model
    from .casefile import loader

    loader.case_validator()
    s3model.kms_operation_names()
    s3model.routes()
    s3model.operations_requiring_integrity()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _Worker:
    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.index: int | None = None         # the case it runs


def _death(process: Any) -> str:
    process.join(timeout=5)
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class CasePool:
    """N worker processes for the cases (the run's mock server stays one process shared by all). Start it
    before the run starts any thread (cmd_run: before anything else). They can load the case files with the
    runner (`load_files`). A worker that dies is reported as an `error` result of the case it ran; the other
    workers go on; when none is left, each case not run is an `error` too. Never a hang."""

    def __init__(self, workers: list[_Worker]) -> None:
        self.workers = workers
        self.cases: list[Case] = []

    @classmethod
    def start(cls, jobs: int) -> CasePool:
        method = _start_method()
        if method == "fork":
            _warm()
        context: Any = multiprocessing.get_context(method)
        workers: list[_Worker] = []
        for number in range(max(1, jobs)):
            ours, theirs = context.Pipe()
            # a forked worker holds copies of the runner's pipe ends: it closes them (spawn passes none)
            inherited = [w.conn for w in workers] + [ours] if context.get_start_method() == "fork" else []
            process = context.Process(target=_worker_main, name=f"s3c-case-worker-{number + 1}",
                                      args=(theirs, inherited), daemon=True)
            process.start()
            theirs.close()
            workers.append(_Worker(process, ours))
        return cls(workers)

    def load_files(self, files: list[Path]) -> list[tuple[list[Case], list[Problem]]]:
        """`loader.load_file` of each file, in order: the runner and each worker load a share at the same time
        (shares balanced by file size); a share a worker could not load is loaded here."""
        from .casefile import loader

        shares: list[list[int]] = [[] for _ in range(len(self.workers) + 1)]     # the last share is ours
        weight = [0] * len(shares)
        sizes = {index: _size(path) for index, path in enumerate(files)}
        for index in sorted(sizes, key=lambda i: -sizes[i]):
            lightest = weight.index(min(weight))
            shares[lightest].append(index)
            weight[lightest] += sizes[index]
        asked: list[tuple[_Worker, list[int]]] = []
        for worker, share in zip(self.workers, shares, strict=False):
            if not share:
                continue
            try:
                worker.conn.send((_LOAD, [files[i] for i in share]))
                asked.append((worker, share))
            except (OSError, EOFError):
                shares[-1] += share
        loaded: dict[int, tuple[list[Case], list[Problem]]] = {}
        for index in shares[-1]:
            loaded[index] = loader.load_file(files[index])
        for worker, share in asked:
            try:
                answer = worker.conn.recv()
            except (OSError, EOFError):
                answer = None
            if answer is None or len(answer) != len(share):
                answer = [loader.load_file(files[i]) for i in share]
            loaded.update(zip(share, answer, strict=True))
        return [loaded[index] for index in range(len(files))]

    def run(self, cases: list[Case], engine: Engine, on_result: Callable[[CaseResult], None] | None = None,
            stop: threading.Event | None = None) -> list[CaseResult]:
        self.cases = cases
        # pickled once for all workers (the cases are ~1.4 MB for the corpus); recv() unpickles it
        setup = bytes(ForkingPickler.dumps((_ENGINE, cases, engine.target, engine.profile, engine.transport.config,
                                            sorted(engine.redactor.secrets))))
        alive: list[_Worker] = []
        for worker in self.workers[:len(cases)]:
            try:
                worker.conn.send_bytes(setup)
                alive.append(worker)
            except (OSError, EOFError):             # it ended before it got any case
                worker.conn.close()
        results: dict[int, CaseResult] = {}
        upcoming = deque(range(len(self.cases)))

        def report(index: int, result: CaseResult) -> None:
            results[index] = result
            if on_result:
                on_result(result)

        def stopped() -> bool:
            return stop is not None and stop.is_set()

        def hand_out(worker: _Worker) -> None:
            worker.index = None
            if not upcoming or stopped():
                return
            index = upcoming.popleft()
            try:
                worker.conn.send((_CASE, index))
            except (OSError, EOFError):             # it ended while idle: the case goes to another worker
                upcoming.appendleft(index)
                worker.conn.close()
                alive.remove(worker)
                return
            worker.index = index

        for worker in list(alive):              # noqa: PERF101 - hand_out may remove a worker from it
            hand_out(worker)
        while True:
            busy = [w for w in alive if w.index is not None]
            if not busy:
                idle = [w for w in alive if w.index is None]
                if idle and upcoming and not stopped():
                    hand_out(idle[0])
                    continue
                break
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for worker in busy:
                if worker.conn not in ready and worker.process.sentinel not in ready:
                    continue
                assert worker.index is not None
                try:
                    if not worker.conn.poll():
                        raise EOFError
                    index, result, learnt = worker.conn.recv()
                except (EOFError, OSError):
                    report(worker.index, error_result(
                        self.cases[worker.index], f"runner error: the worker process running this case died "
                                                  f"({_death(worker.process)}); its teardown did not run"))
                    worker.index = None
                    worker.conn.close()
                    alive.remove(worker)
                    continue
                engine.redactor.add(*learnt)
                report(index, result)
                hand_out(worker)
        if upcoming and not stopped():              # every worker died
            for index in upcoming:
                report(index, error_result(self.cases[index], "runner error: not run, every worker process died"))
        return [results[index] for index in sorted(results)]

    def close(self) -> None:
        """Ends the workers: idle ones leave at the end of their pipe, a busy one (a second Ctrl-C) is
        terminated."""
        for worker in self.workers:
            worker.conn.close()
        for worker in self.workers:
            worker.process.join(timeout=0 if worker.index is not None else 10)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)


# ---------------------------------------------------------------------------------------------- reports
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
