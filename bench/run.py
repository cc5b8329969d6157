"""Benchmark: the mock server against moto and s3rver, side by side, same pre-signed request streams; large
transfers against the references of issue 15 (single-core hashlib MD5, a null ASGI app on the same uvicorn); how
costs grow with the objects in a bucket (bench/growth.py); the suite's speed (bench/suite.py).

    .venv/bin/python bench/run.py [--phases small,large,growth,suite] [--seconds 5] [--rounds 2]
                                  [--only mock,mock-disk,moto,s3rver] [--large-rounds 1]
                                  [--growth-sizes 1000,10000,100000] [--parts 10000] [--s3tests-dir DIR]

Small requests run through wrk (Debian's `wrk`, keep-alive, concurrency 1 and 16); large transfers through
bench/transfer.py in a separate process. Prints markdown tables and writes bench/results/latest.md.
Every phase is bounded in time; servers are stopped at the end (also on error). A run that fits in ~10 minutes
on a quiet 2-core machine: `--rounds 1 --seconds 3 --growth-sizes 1000,10000,100000 --parts 10000`.
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

from bench import growth, suite
from bench.servers import WORK, start_mock, start_mock_disk, start_moto, start_null, start_s3rver
from bench.wrk_phase import NULL_PHASES, phase_requests, run_load

BUCKET = "bench"
PHASES = ["put-1k-sse", "get-1k", "head", "bucket-encryption"]
LARGE = ["multipart-64m", "put-1g", "put-1g-kms", "put-1g-ssec", "get-1g"]
# The null app's reference PUTs (bench/nullapp.py): what any correct SSE PUT must do at least, without a server.
BOUNDS = {"put-1g-seal": "null app + AES-256-GCM + CRC64NVME",
          "put-1g-store": "null app + AES-256-GCM + CRC64NVME + tmpfs write"}
STARTERS = {"mock": start_mock, "mock-disk": start_mock_disk, "moto": start_moto, "s3rver": start_s3rver,
            "null": start_null}
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
    parser.add_argument("--phases", default="small,large,growth,suite")
    parser.add_argument("--growth-sizes", default="1000,10000,100000")
    parser.add_argument("--growth-modes", default="memory,disk")
    parser.add_argument("--growth-seconds", type=float, default=1.0)
    parser.add_argument("--parts", type=int, default=10000, help="parts of the growth multipart upload (0: none)")
    parser.add_argument("--s3tests-dir", default=os.environ.get("S3TESTS_DIR"),
                        help="a ceph/s3-tests checkout: its SSE tier runs beside the suite (tests/crosscheck)")
    args = parser.parse_args(argv)
    if args.skip_large:
        args.phases = ",".join(p for p in args.phases.split(",") if p != "large")
    phases = set(args.phases.split(","))
    os.makedirs(WORK, exist_ok=True)
    load_at_start = os.getloadavg()[0]
    names = [n for n in args.only.split(",") if n]
    if ("large" in phases or "small" in phases) and "null" not in names:
        names.append("null")        # the framework ceiling (small phase) and the transfer references (large)
    servers = {}
    small: dict[tuple[str, str, int], object] = {}
    large: dict[tuple[str, str], dict] = {}
    rss: dict[str, float | None] = {}
    sections: list[str] = []
    try:
        for name in names:
            servers[name] = STARTERS[name]()
            if name != "null":
                prepare(servers[name])
        for phase in PHASES if "small" in phases else []:
            for connections in (1, 16):
                # Rounds alternate between the servers; the best round of each counts (the machine is shared,
                # so a single round mostly measures who else was busy at that moment).
                for round_number in range(args.rounds):
                    for name, server in servers.items():
                        if name == "null" and phase not in NULL_PHASES:
                            continue
                        requests = phase_requests(server, phase, BUCKET)
                        result = run_load(requests, connections, args.seconds, WORK,
                                          f"{name}-{phase}-{connections}")
                        best = small.get((phase, name, connections))
                        if best is None or result.rps > best.rps:
                            small[(phase, name, connections)] = result
                        print(f"{phase:18} c={connections:<2} {name:7} round {round_number + 1}: {result.rps:9.0f} "
                              f"req/s  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                              f"non-2xx {result.non_2xx}  errors {result.errors}", flush=True)
        if "large" in phases:
            # Like the small phases: rounds alternate between the servers and the best rate counts.
            for round_number in range(args.large_rounds):
                md5 = large_transfer(servers[names[0]], "md5-1g")
                if md5.get("mb_per_s", 0) > large.get(("md5-1g", "-"), {}).get("mb_per_s", 0):
                    large[("md5-1g", "-")] = md5
                print(f"{'md5-1g':18} round {round_number + 1}: {md5}", flush=True)
                for mode in LARGE + list(BOUNDS):
                    for name, server in servers.items():
                        if (name == "null" and mode == "multipart-64m") or (name != "null" and mode in BOUNDS):
                            continue
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
    if "growth" in phases:
        load = os.getloadavg()[0]
        sizes = sorted(int(n) for n in args.growth_sizes.split(",") if n)
        modes = [m for m in args.growth_modes.split(",") if m]
        results = [growth.run_mode(mode, sizes, args.growth_seconds,
                                   args.parts if mode == "disk" or "disk" not in modes else 0) for mode in modes]
        sections.append(growth.render(results, load))
    if "suite" in phases:
        rows = [suite.run_corpus(1), suite.run_corpus(2)]
        if args.s3tests_dir:
            rows.append(suite.run_s3tests(args.s3tests_dir))
        sections.append(suite.render(rows))
    report = render([n for n in names if n != "null"], small, large, rss, args.seconds, args.rounds, load_at_start,
                    args.large_rounds, phases)
    if "small" in phases:
        report += "\n" + render_ceiling([n for n in names if n in MOCKS], small, load_at_start)
    report += "".join("\n" + section for section in sections)
    print(report)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "latest.md"), "w") as handle:
        handle.write(report)
    return 0


def render_ceiling(mocks: list[str], small: dict, load: float, peer: str = "s3rver", target: float = 3.0) -> str:
    """The framework ceiling of the small phases: the null app (bench/nullapp.py, the mock's own uvicorn set-up,
    no S3 work at all) driven by the same wrk streams. mock/null is how much of that ceiling the mock reaches;
    `target` x the peer's rate as a fraction of the null app's is the share of the ceiling the target demands (at
    or above 1.0 no server on this framework could meet it here)."""
    header = (["phase", "conc.", "null req/s (p50/p99 ms)"] + [f"{m}/null" for m in mocks]
              + [f"{target:g} x {peer} / null"])
    lines = ["### Framework ceiling: the null app on the same uvicorn, same wrk streams (issue 15, small requests)", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    notes = []
    for phase in NULL_PHASES:
        for connections in (1, 16):
            null = small.get((phase, "null", connections))
            if null is None:
                continue
            null_rate = null.rps if not null.non_2xx and not null.errors else None
            cells = [phase, str(connections), f"{null.rps:.0f} ({null.p50_ms:.2f}/{null.p99_ms:.2f})"]
            for mock in mocks:
                r = small.get((phase, mock, connections))
                cells.append(fmt_ratio(r.rps if r is not None and not r.non_2xx and not r.errors else None,
                                       null_rate))
            p = small.get((phase, peer, connections))
            needed = target * p.rps / null_rate if p is not None and not p.non_2xx and not p.errors and null_rate \
                else None
            cells.append(f"{needed:.2f}" if needed is not None else "-")
            if needed is not None and needed >= 1.0:
                notes.append(f"{phase} c={connections}: the null app itself answers {null_rate:.0f} req/s, "
                             f"{null_rate / p.rps:.2f}x {peer} (< {target:g}x): no server on this framework can "
                             f"reach {target:g}x here")
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", (f"mock/null: the share of the framework's own ceiling the mock reaches; {target:g} x {peer} / null: "
                   f"the share the target demands (load average {load:.1f} at start; wrk shares the cores).")]
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _cpu_per_gib(result: dict) -> float | None:
    """Server + client CPU seconds of one 1 GiB transfer (both run on this machine's cores)."""
    server, client = result.get("server_cpu_s"), result.get("client_cpu_s")
    if not result.get("mb_per_s") or server is None or client is None:
        return None
    return (server + client) * (1024 ** 3) / result["bytes"]


def ceiling_note(large: dict, target: float = 0.7) -> str:
    """How fast the physical bound could go at best on this machine, from CPU seconds (steadier than rates under
    load): a transfer that needs C CPU seconds (server + client process) cannot finish in less than C / cores
    seconds, whatever the scheduling. Compared with the null app PUT's rate measured in the same run."""
    cores = os.cpu_count() or 1
    null_rate = large.get(("put-1g", "null"), {}).get("mb_per_s")
    null_cpu = _cpu_per_gib(large.get(("put-1g", "null"), {}))
    parts = []
    for bound, label in BOUNDS.items():
        cpu = _cpu_per_gib(large.get((bound, "null"), {}))
        if cpu is None or not null_rate:
            continue
        ceiling = 1024 ** 3 / 1e6 / (cpu / cores)
        verdict = (f"below {target}: out of reach for any server doing this work here" if ceiling / null_rate < target
                   else f"not below {target}: this run does not prove the target out of reach")
        parts.append(f"- {label}: {cpu:.2f} CPU s per GiB (server + client; the null app PUT: "
                     f"{null_cpu if null_cpu is not None else 0:.2f}), so at most {ceiling:.0f} MB/s on {cores} cores "
                     f"with every core busy for it = {ceiling / null_rate:.2f} of the null app PUT measured in this run "
                     f"({null_rate:.0f} MB/s), {verdict}")
    if not parts:
        return ""
    return "Ceilings from CPU seconds (a transfer needing C CPU seconds takes at least C / cores seconds):\n" + \
        "\n".join(parts)


def render(names, small, large, rss, seconds, rounds, load, large_rounds=1, phases=("small", "large")) -> str:
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
    for phase in PHASES if "small" in phases else []:
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
        lines += ["", "### Transfer targets (issue 15), each against its reference measured in this run", "",
                  ("| server | transfer | MB/s | reference | reference MB/s | ratio | target | CPU s (server) | "
                  "reference CPU s | CPU ratio |"), "|---|---|---|---|---|---|---|---|---|---|"]
        md5 = large.get(("md5-1g", "-"), {}).get("mb_per_s")
        null = {m: large.get((m, "null"), {}).get("mb_per_s") for m in LARGE}
        cpu_refs = {"put-1g": large.get(("md5-1g", "-"), {}).get("client_cpu_s"),
                    "put-1g-kms": large.get(("put-1g", "null"), {}).get("server_cpu_s"),
                    "put-1g-ssec": large.get(("put-1g", "null"), {}).get("server_cpu_s"),
                    "get-1g": large.get(("get-1g", "null"), {}).get("server_cpu_s")}
        for mock in mocks:
            targets = [("put-1g", "hashlib MD5, one core", md5, 0.8),
                       ("put-1g-kms", "null app PUT", null["put-1g"], 0.7),
                       ("put-1g-ssec", "null app PUT", null["put-1g"], 0.7),
                       ("get-1g", "null app GET", null["get-1g"], 0.4)]
            for mode, reference, ref_rate, target in targets:
                rate = large.get((mode, mock), {}).get("mb_per_s")
                ratio = rate / ref_rate if rate and ref_rate else None
                verdict = "-" if ratio is None else ("met" if ratio >= target else "NOT met")
                cpu = large.get((mode, mock), {}).get("server_cpu_s")
                ref_cpu = cpu_refs[mode]
                cpu_ratio = f"{ref_cpu / cpu:.2f}" if cpu and ref_cpu else "-"
                lines.append(f"| {mock} | {mode} | {rate or 0:.0f} | {reference} | {ref_rate or 0:.0f} | "
                             f"{ratio or 0:.2f} | >= {target} {verdict} | {cpu or '-'} | {ref_cpu or '-'} | "
                             f"{cpu_ratio} |")
        bounds = {m: large.get((m, "null"), {}) for m in BOUNDS}
        if any(b.get("mb_per_s") for b in bounds.values()):
            lines += ["", ("### SSE-KMS / SSE-C PUT against the physical bound (the null app doing the work any correct "
                           "server must do, bench/nullapp.py ?reference=, measured in this run)"), "",
                      "| server | transfer | MB/s | bound | bound MB/s | ratio | CPU s (server) | bound CPU s | CPU ratio |",
                      "|---|---|---|---|---|---|---|---|---|"]
            for mock in mocks:
                for mode in ("put-1g-kms", "put-1g-ssec"):
                    rate = large.get((mode, mock), {}).get("mb_per_s")
                    cpu = large.get((mode, mock), {}).get("server_cpu_s")
                    for bound, label in BOUNDS.items():
                        ref_rate = bounds[bound].get("mb_per_s")
                        ref_cpu = bounds[bound].get("server_cpu_s")
                        ratio = f"{rate / ref_rate:.2f}" if rate and ref_rate else "-"
                        cpu_ratio = f"{ref_cpu / cpu:.2f}" if cpu and ref_cpu else "-"
                        lines.append(f"| {mock} | {mode} | {rate or 0:.0f} | {label} | {ref_rate or 0:.0f} | {ratio} | "
                                     f"{cpu or '-'} | {ref_cpu or '-'} | {cpu_ratio} |")
            lines += ["", ceiling_note(large)]
        lines += ["", ("CPU ratio: the reference's CPU seconds for the same bytes over the server's (the MD5 reference: "
                      "the client process hashing 1 GiB); on a loaded machine the rates mostly measure the neighbours, "
                      "CPU seconds much less so.")]
    lines += ["", "Peak RSS (VmHWM): " + ", ".join(f"{n} {v:.0f} MiB" if v else f"{n} -" for n, v in rss.items()),
              "", "non-2xx: the server answered with an error status (rates with errors are not compared)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
