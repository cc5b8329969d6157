"""Benchmark: the mock server against moto and s3rver, side by side, same pre-signed request streams.

    .venv/bin/python bench/run.py [--seconds 5] [--rounds 2] [--only mock,moto,s3rver] [--skip-large]
                                  [--large-rounds 1]

Small requests run through wrk (Debian's `wrk`, keep-alive, concurrency 1 and 16); large transfers through
bench/transfer.py in a separate process. Prints a markdown table and writes bench/results/latest.md.
Every phase is bounded in time; servers are stopped at the end (also on error).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import boto3
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench.servers import WORK, start_mock, start_mock_disk, start_moto, start_s3rver
from bench.wrk_phase import phase_requests, run_load

BUCKET = "bench"
PHASES = ["put-1k-sse", "get-1k", "head", "bucket-encryption"]
LARGE = ["multipart-64m", "put-1g", "get-1g"]
STARTERS = {"mock": start_mock, "mock-disk": start_mock_disk, "moto": start_moto, "s3rver": start_s3rver}
MOCKS = ("mock", "mock-disk")


def prepare(server) -> None:
    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                      aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
                      config=Config(signature_version="s3v4", retries={"max_attempts": 2},
                                    s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="object-1k", Body=b"x" * 1024)


def large_transfer(server, mode: str) -> dict:
    """One transfer in a separate process; adds the server's CPU seconds spent meanwhile and the load average
    (on a shared machine the rate alone mostly measures who else was busy)."""
    cmd = [sys.executable, os.path.join(HERE, "transfer.py"), mode, server.endpoint, server.access_key,
           server.secret_key, BUCKET]
    cpu_before = server.cpu_seconds()
    try:
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600).stdout.strip().splitlines()
        result = json.loads(out[-1]) if out else {"mode": mode, "error": "no output"}
    except subprocess.TimeoutExpired:
        return {"mode": mode, "error": "timeout (600 s)"}
    cpu_after = server.cpu_seconds()
    if cpu_before is not None and cpu_after is not None:
        result["server_cpu_s"] = round(cpu_after - cpu_before, 2)
    result["load"] = round(os.getloadavg()[0], 1)
    return result


def fmt_ratio(mine: float | None, theirs: float | None) -> str:
    if not mine or not theirs:
        return "-"
    return f"{mine / theirs:.2f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="rounds per small-request phase (best counts)")
    parser.add_argument("--only", default="mock,mock-disk,moto,s3rver")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--large-rounds", type=int, default=1, help="rounds of the large transfers (best counts)")
    args = parser.parse_args(argv)
    os.makedirs(WORK, exist_ok=True)
    load_at_start = os.getloadavg()[0]
    names = [n for n in args.only.split(",") if n]
    servers = {}
    small: dict[tuple[str, str, int], object] = {}
    large: dict[tuple[str, str], dict] = {}
    rss: dict[str, float | None] = {}
    try:
        for name in names:
            servers[name] = STARTERS[name]()
            prepare(servers[name])
        for phase in PHASES:
            for connections in (1, 16):
                # Rounds alternate between the servers; the best round of each counts (the machine is shared,
                # so a single round mostly measures who else was busy at that moment).
                for round_number in range(args.rounds):
                    for name, server in servers.items():
                        requests = phase_requests(server, phase, BUCKET)
                        result = run_load(requests, connections, args.seconds, WORK,
                                          f"{name}-{phase}-{connections}")
                        best = small.get((phase, name, connections))
                        if best is None or result.rps > best.rps:
                            small[(phase, name, connections)] = result
                        print(f"{phase:18} c={connections:<2} {name:7} round {round_number + 1}: {result.rps:9.0f} "
                              f"req/s  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                              f"non-2xx {result.non_2xx}  errors {result.errors}", flush=True)
        if not args.skip_large:
            # Like the small phases: rounds alternate between the servers and the best rate counts.
            for round_number in range(args.large_rounds):
                for mode in LARGE:
                    for name, server in servers.items():
                        outcome = large_transfer(server, mode)
                        best = large.get((mode, name))
                        if best is None or outcome.get("mb_per_s", 0) > best.get("mb_per_s", 0):
                            large[(mode, name)] = outcome
                        print(f"{mode:18} {name:7} round {round_number + 1}: {outcome}", flush=True)
        for name, server in servers.items():
            rss[name] = server.peak_rss_mib()
    finally:
        for server in servers.values():
            server.stop()
    report = render(names, small, large, rss, args.seconds, args.rounds, load_at_start, args.large_rounds)
    print(report)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "latest.md"), "w") as handle:
        handle.write(report)
    return 0


def render(names, small, large, rss, seconds, rounds, load, large_rounds=1) -> str:
    peers = [n for n in names if n not in MOCKS]
    mocks = [n for n in names if n in MOCKS]
    pairs = [(m, p) for m in mocks for p in peers]
    lines = [(f"# Benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
             f"{os.cpu_count()} CPUs, load average {load:.1f} at start, best of {rounds} x {seconds} s per phase, "
             f"best of {large_rounds} per transfer, "
              "wrk keep-alive (HEAD: bench/aioload.py), pre-signed SigV4 requests)"), "",
             "| phase | conc. | " + " | ".join(f"{n} req/s (p50/p99 ms)" for n in names) + " | "
             + " | ".join(f"{m}/{p}" for m, p in pairs) + " |",
             "|---|---|" + "---|" * (len(names) + len(pairs))]
    for phase in PHASES:
        for connections in (1, 16):
            cells, rates = [], {}
            for name in names:
                r = small.get((phase, name, connections))
                if r is None:
                    cells.append("-")
                    continue
                bad = f", {r.non_2xx} non-2xx" if r.non_2xx else ""
                bad += f", {r.errors} errors" if r.errors else ""
                cells.append(f"{r.rps:.0f} ({r.p50_ms:.2f}/{r.p99_ms:.2f}{bad})")
                rates[name] = r.rps if not r.non_2xx and not r.errors else None
            ratios = [fmt_ratio(rates.get(m), rates.get(p)) for m, p in pairs]
            lines.append(f"| {phase} | {connections} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    if large:
        header = (["transfer"] + [f"{n} MB/s" for n in names] + [f"{m}/{p}" for m, p in pairs]
                  + [f"{m} server CPU s" for m in mocks] + ["load avg"])
        lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for mode in LARGE:
            rates = {n: large.get((mode, n), {}).get("mb_per_s") for n in names}
            cells = [f"{rates[n]:.0f}" if rates[n] else large.get((mode, n), {}).get("error", "-") for n in names]
            row = ([mode] + cells + [fmt_ratio(rates.get(m), rates.get(p)) for m, p in pairs]
                   + [str(large.get((mode, m), {}).get("server_cpu_s", "-")) for m in mocks]
                   + [str(large.get((mode, (mocks or names)[0]), {}).get("load", "-"))])
            lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Peak RSS (VmHWM): " + ", ".join(f"{n} {v:.0f} MiB" if v else f"{n} -" for n, v in rss.items()),
              "", "non-2xx: the server answered with an error status (rates with errors are not compared)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
