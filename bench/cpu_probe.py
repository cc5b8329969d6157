"""Server CPU per small request, steadier than req/s on a shared machine: starts one server (mock, mock-disk,
null or s3rver), replays a small-request phase with wrk for a few seconds and divides the server process's
utime+stime (from /proc/PID/stat, all threads) by the requests wrk completed. mock-disk-fsync is mock-disk with
--fsync (every write durable on the disk before it is acknowledged).

    .venv/bin/python bench/cpu_probe.py [--servers mock,mock-disk] [--phases put-1k-sse,get-1k] [--seconds 4]
                                        [--connections 16] [--rounds 3] [--py-spy DIR]

--py-spy DIR also records a flame graph (py-spy record --native) of each server during one extra round.
Not a test; prints one line per server and phase (the best, i.e. lowest, of the rounds).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench.run import BUCKET, STARTERS, prepare
from bench.servers import WORK, start_mock_disk_fsync
from bench.wrk_phase import phase_requests, run_load


def probe(server, phase: str, connections: int, seconds: int, tag: str) -> tuple[float, float]:
    """(server CPU microseconds per request, req/s) of one wrk run."""
    requests = phase_requests(server, phase, BUCKET)
    before = server.cpu_seconds()
    result = run_load(requests, connections, seconds, WORK, tag)
    after = server.cpu_seconds()
    if not result.requests or before is None or after is None or result.non_2xx or result.errors:
        raise RuntimeError(f"{tag}: {result}")
    return (after - before) * 1e6 / result.requests, result.rps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", default="mock,mock-disk")
    parser.add_argument("--phases", default="put-1k-sse,get-1k")
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--py-spy", default=None, help="directory for py-spy flame graphs (one extra round)")
    args = parser.parse_args(argv)
    os.makedirs(WORK, exist_ok=True)
    starters = {**STARTERS, "mock-disk-fsync": start_mock_disk_fsync}
    for name in args.servers.split(","):
        server = starters[name]()
        try:
            if name != "null":
                prepare(server)
            for phase in args.phases.split(","):
                runs = [probe(server, phase, args.connections, args.seconds, f"probe-{name}-{phase}")
                        for _ in range(args.rounds)]
                cpu, _ = min(runs)
                print(f"{name:9} {phase:12} c={args.connections:<2} {cpu:7.1f} CPU us/request "
                      f"(rounds: {', '.join(f'{c:.0f}' for c, _ in runs)}; {max(r for _, r in runs):.0f} req/s best), "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
                if args.py_spy:
                    os.makedirs(args.py_spy, exist_ok=True)
                    out = os.path.join(args.py_spy, f"{name}-{phase}.txt")
                    spy = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "py-spy"), "record",
                                            "--native", "-r", "500", "-f", "raw", "-o", out, "-p", str(server.process.pid),
                                            "-d", str(args.seconds + 2)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    try:
                        probe(server, phase, args.connections, args.seconds, f"spy-{name}-{phase}")
                    finally:
                        spy.wait(timeout=60)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
