"""Growth benchmark: how request latency, listing cost, server memory and restart time grow with the number of
objects in one bucket, in memory and with --data-dir.

    .venv/bin/python bench/growth.py [--sizes 1000,10000,100000] [--modes memory,disk] [--seconds 1]
                                     [--parts 10000] [--json OUT]

For each mode a fresh server (a subprocess) gets one bucket, filled in steps up to each size with 1 KiB SSE-S3
objects named `d<i%8>/k<i:07d>` (16 keep-alive connections, pre-signed requests). At each size: PUT (overwrite),
GET, HEAD, ListObjectsV2 first page, a page of 400 keys from the middle (start-after), a delimiter listing (8 common prefixes
over the whole bucket), ListObjectVersions first page, and a full listing (every page), each timed sequentially on
one connection (p50); the server's RSS. Figures are reported as ratios to the smallest size, measured in the same
run. Then the --data-dir server is restarted on its data (time until the first object answers: after a clean
shutdown, which writes the index cache, and again after a kill -9, which leaves none) and a multipart
upload of --parts parts is measured (UploadPart p50 at the first and the last parts, ListParts, Complete, GET).

The multipart phase needs parts smaller than S3's 5 MiB minimum (10,000 x 5 MiB would not fit this machine), so
the growth servers run with the mock's MIN_PART_SIZE lowered to 1 byte (a benchmark-only patch applied in the
subprocess; nothing else differs from `python -m mockserver`).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench.rawhttp import Connection, Presigner
from bench.servers import WORK, free_port
from mockserver.accounts import MAIN

BUCKET = "growth"
BODY = bytes(range(256)) * 4                 # 1 KiB
SSE = {"x-amz-server-side-encryption": "AES256"}
PREFIXES = 8
SERVER_CODE = ("import sys; import mockserver.handlers.multipart as m; m.MIN_PART_SIZE = 1; "
               "from mockserver.server import main; sys.exit(main(sys.argv[1:]))")


def key_of(i: int) -> str:
    return f"d{i % PREFIXES}/k{i:07d}"


class GrowthServer:
    def __init__(self, data_dir: str | None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Starts the server; returns seconds until a request is answered (after its storage is loaded)."""
        cmd = [sys.executable, "-c", SERVER_CODE, "--host", "127.0.0.1", "--port", str(self.port)]
        if self.data_dir:
            cmd += ["--data-dir", self.data_dir]
        log = open(os.path.join(WORK, f"growth-{'disk' if self.data_dir else 'memory'}.log"), "ab")  # noqa: SIM115
        started = time.perf_counter()
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        presigner = Presigner(f"127.0.0.1:{self.port}", MAIN.access_key, MAIN.secret_key)
        request = presigner.raw("GET", "/")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                status, _ = asyncio.run(_once(self.port, request))
                if status == 200:
                    return time.perf_counter() - started
            except (OSError, asyncio.IncompleteReadError, TimeoutError):
                pass
            time.sleep(0.02)
        raise RuntimeError("server did not answer within 600 s")

    def rss_mib(self) -> float | None:
        return _status_field(self.process, "VmRSS:")

    def cpu_seconds(self) -> float | None:
        """CPU seconds (user + system) the server process has used: on a shared machine the steadier figure."""
        if self.process is None:
            return None
        try:
            with open(f"/proc/{self.process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _status_field(process: subprocess.Popen | None, name: str) -> float | None:
    if process is None:
        return None
    try:
        with open(f"/proc/{process.pid}/status") as status:
            for line in status:
                if line.startswith(name):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def _once(port: int, request: bytes) -> tuple[int, bytes]:
    conn = Connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(conn.request(request), 5)
    finally:
        conn.close()


async def run_concurrently(port: int, requests: list[bytes], connections: int = 16) -> int:
    """Sends every request (16 keep-alive connections); returns how many did not answer 2xx."""
    failures = 0
    position = 0

    async def worker() -> None:
        nonlocal failures, position
        conn = Connection("127.0.0.1", port)
        try:
            while position < len(requests):
                request = requests[position]
                position += 1
                status, _ = await conn.request(request)
                if status >= 300:
                    failures += 1
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return failures


async def timed(port: int, requests: list[bytes], seconds: float, minimum: int = 20) -> dict:
    """Sequential requests on one connection for `seconds` (at least `minimum`): p50 and mean in ms."""
    conn = Connection("127.0.0.1", port)
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    try:
        i = 0
        while time.perf_counter() < deadline or len(latencies) < minimum:
            started = time.perf_counter()
            status, _ = await conn.request(requests[i % len(requests)])
            latencies.append(time.perf_counter() - started)
            failures += status >= 300
            i += 1
    finally:
        conn.close()
    latencies.sort()
    return {"p50_ms": latencies[len(latencies) // 2] * 1000, "mean_ms": sum(latencies) / len(latencies) * 1000,
            "n": len(latencies), "failures": failures}


async def full_listing(port: int, presigner: Presigner) -> dict:
    conn = Connection("127.0.0.1", port)
    keys = pages = 0
    token = None
    last = ""
    in_order = True
    started = time.perf_counter()
    try:
        while True:
            query = {"list-type": "2"}
            if token:
                query["continuation-token"] = token
            status, body = await conn.request(presigner.raw("GET", f"/{BUCKET}", query))
            if status != 200:
                raise RuntimeError(f"ListObjectsV2 {status}: {body[:200]!r}")
            pages += 1
            for k in re.findall(rb"<Key>([^<]*)</Key>", body):
                text = k.decode()
                in_order = in_order and text > last
                last = text
                keys += 1
            m = re.search(rb"<NextContinuationToken>([^<]*)</NextContinuationToken>", body)
            if m is None:
                break
            token = m.group(1).decode()
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    return {"keys": keys, "pages": pages, "seconds": seconds, "per_page_ms": seconds / pages * 1000,
            "in_order": in_order}


async def measure(port: int, presigner: Presigner, n: int, seconds: float) -> dict:
    sample = [key_of(i) for i in range(0, n, max(1, n // 32))][:32]
    path = f"/{BUCKET}/"
    out: dict[str, dict] = {}
    out["put"] = await timed(port, [presigner.raw("PUT", path + k, headers=SSE, body=BODY) for k in sample], seconds)
    out["get"] = await timed(port, [presigner.raw("GET", path + k) for k in sample], seconds)
    out["head"] = await timed(port, [presigner.raw("HEAD", path + k) for k in sample], seconds)
    out["list-first"] = await timed(port, [presigner.raw("GET", f"/{BUCKET}", {"list-type": "2"})], seconds)
    # A page from the middle holds the same number of keys at every size (max-keys below n / 2): at 1,000
    # objects a default page after the middle key would hold 499 keys, at 100,000 a full 1,000, and the ratio would
    # compare different work.
    out["list-middle"] = await timed(port, [presigner.raw("GET", f"/{BUCKET}", {"list-type": "2",
                                                                                "start-after": key_of(n // 2),
                                                                                "max-keys": str(MIDDLE_PAGE)})],
                                     seconds)
    out["list-delimiter"] = await timed(port, [presigner.raw("GET", f"/{BUCKET}", {"list-type": "2",
                                                                                   "delimiter": "/"})], seconds)
    out["list-versions"] = await timed(port, [presigner.raw("GET", f"/{BUCKET}", {"versions": ""})], seconds)
    out["list-full"] = await full_listing(port, presigner)
    if out["list-full"]["keys"] != n or not out["list-full"]["in_order"]:
        out["list-full"]["error"] = f"listed {out['list-full']['keys']} keys of {n}"
    return out


async def fill(port: int, presigner: Presigner, start: int, stop: int) -> float:
    requests = [presigner.raw("PUT", f"/{BUCKET}/{key_of(i)}", headers=SSE, body=BODY) for i in range(start, stop)]
    started = time.perf_counter()
    failures = await run_concurrently(port, requests)
    if failures:
        raise RuntimeError(f"{failures} PUTs failed while filling")
    return (stop - start) / (time.perf_counter() - started)


async def multipart(port: int, presigner: Presigner, parts: int, seconds: float) -> dict:
    conn = Connection("127.0.0.1", port)
    key = "multipart/10k"
    status, body = await conn.request(presigner.raw("POST", f"/{BUCKET}/{key}", {"uploads": ""}))
    upload_id = re.search(rb"<UploadId>([^<]*)</UploadId>", body).group(1).decode()  # type: ignore[union-attr]
    conn.close()

    def part(number: int) -> bytes:
        return presigner.raw("PUT", f"/{BUCKET}/{key}", {"partNumber": str(number), "uploadId": upload_id},
                             body=BODY)

    edge = min(200, parts // 4)
    out: dict = {"parts": parts}
    started = time.perf_counter()
    out["upload-part-first"] = await timed(port, [part(i) for i in range(1, edge + 1)], 0, minimum=edge)
    if await run_concurrently(port, [part(i) for i in range(edge + 1, parts - edge + 1)]):
        raise RuntimeError("UploadPart failed")
    out["upload-part-last"] = await timed(port, [part(i) for i in range(parts - edge + 1, parts + 1)], 0,
                                          minimum=edge)
    out["upload-seconds"] = time.perf_counter() - started
    out["list-parts"] = await timed(port, [presigner.raw("GET", f"/{BUCKET}/{key}", {"uploadId": upload_id})],
                                    seconds, minimum=5)
    etag = '"' + __import__("hashlib").md5(BODY).hexdigest() + '"'
    document = ("<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{i}</PartNumber><ETag>{etag}</ETag></Part>" for i in range(1, parts + 1))
        + "</CompleteMultipartUpload>").encode()
    conn = Connection("127.0.0.1", port)
    try:
        started = time.perf_counter()
        status, body = await conn.request(presigner.raw("POST", f"/{BUCKET}/{key}", {"uploadId": upload_id},
                                                        body=document), timeout=300)
        out["complete-seconds"] = time.perf_counter() - started
        if status != 200 or b"<Error>" in body:
            out["error"] = f"Complete {status}: {body[:200]!r}"
            return out
        started = time.perf_counter()
        status, body = await conn.request(presigner.raw("GET", f"/{BUCKET}/{key}"), timeout=300)
        out["get-seconds"] = time.perf_counter() - started
        if status != 200 or len(body) != parts * len(BODY):
            out["error"] = f"GET {status}, {len(body)} bytes"
        started = time.perf_counter()
        status, body = await conn.request(presigner.raw("HEAD", f"/{BUCKET}/{key}", {"partNumber": str(parts)}))
        out["head-last-part-ms"] = (time.perf_counter() - started) * 1000
    finally:
        conn.close()
    return out


def run_mode(mode: str, sizes: list[int], seconds: float, parts: int) -> dict:
    data_dir = os.path.join(WORK, "growth-data") if mode == "disk" else None
    if data_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
    server = GrowthServer(data_dir)
    result: dict = {"mode": mode, "sizes": {}}
    try:
        server.start()
        presigner = Presigner(f"127.0.0.1:{server.port}", MAIN.access_key, MAIN.secret_key)
        status, body = asyncio.run(_once(server.port, presigner.raw("PUT", f"/{BUCKET}")))
        if status != 200:
            raise RuntimeError(f"CreateBucket {status}: {body[:200]!r}")
        result["rss_empty_mib"] = server.rss_mib()
        filled = 0
        for n in sizes:
            rate = asyncio.run(fill(server.port, presigner, filled, n))
            filled = n
            entry = asyncio.run(measure(server.port, presigner, n, seconds))
            entry["fill_per_s"] = rate
            entry["rss_mib"] = server.rss_mib()
            result["sizes"][n] = entry
            print(f"growth {mode} {n}: " + json.dumps(entry), flush=True)
        if data_dir:
            server.stop()
            result["restart_seconds"] = server.start()
            result["restart_cpu_seconds"] = server.cpu_seconds()
            result["restart_objects"] = filled
            result["rss_after_restart_mib"] = server.rss_mib()
            check = asyncio.run(full_listing(server.port, presigner))
            if check["keys"] != filled or not check["in_order"]:
                result["restart_error"] = f"after restart {check['keys']} keys listed of {filled}"
            print(f"growth {mode} restart: {result['restart_seconds']:.2f} s for {filled} objects", flush=True)
            # The start after a clean shutdown reads the index cache; after a kill -9 there is none (the start
            # consumed it): every key document is parsed.
            assert server.process is not None
            server.process.kill()
            server.process.wait(timeout=60)
            result["restart_killed_seconds"] = server.start()
            result["restart_killed_cpu_seconds"] = server.cpu_seconds()
            result["rss_after_killed_restart_mib"] = server.rss_mib()
            check = asyncio.run(full_listing(server.port, presigner))
            if check["keys"] != filled or not check["in_order"]:
                result["restart_error"] = f"after kill -9 and restart {check['keys']} keys listed of {filled}"
            print(f"growth {mode} restart after kill -9: {result['restart_killed_seconds']:.2f} s", flush=True)
        if parts:
            result["multipart"] = asyncio.run(multipart(server.port, presigner, parts, seconds))
            print(f"growth {mode} multipart: " + json.dumps(result["multipart"]), flush=True)
    finally:
        server.stop()
        if data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    return result


MIDDLE_PAGE = 400        # keys in the middle page (below half the smallest size measured)
OPS = ["put", "get", "head", "list-first", "list-middle", "list-delimiter", "list-versions"]


def _cpu(seconds: float | None) -> str:
    return "server CPU unknown" if seconds is None else f"server CPU {seconds:.2f} s, start-up included"


def render(results: list[dict], load: float) -> str:
    lines = [(f"## Growth (load average {load:.1f} at start; 1 KiB SSE-S3 objects in one bucket; p50 ms, and in "
             "brackets the ratio to the smallest size measured in the same run)"), ""]
    for result in results:
        sizes = sorted(result["sizes"])
        if not sizes:
            continue
        base = result["sizes"][sizes[0]]
        lines += [f"### {result['mode']}", "", "| operation | " + " | ".join(f"{n:,} objects" for n in sizes) + " |",
                  "|---|" + "---|" * len(sizes)]
        for op in OPS:
            cells = []
            for n in sizes:
                value = result["sizes"][n][op]["p50_ms"]
                ratio = value / base[op]["p50_ms"] if base[op]["p50_ms"] else 0
                bad = f", {result['sizes'][n][op]['failures']} failed" if result["sizes"][n][op]["failures"] else ""
                cells.append(f"{value:.2f} ({ratio:.2f}x{bad})")
            lines.append(f"| {op} | " + " | ".join(cells) + " |")
        cells = []
        for n in sizes:
            full = result["sizes"][n]["list-full"]
            ratio = full["per_page_ms"] / base["list-full"]["per_page_ms"]
            cells.append(f"{full['seconds'] * 1000:.0f} ms, {full['pages']} pages, {full['per_page_ms']:.2f} ms/page "
                         f"({ratio:.2f}x){' ' + full['error'] if 'error' in full else ''}")
        lines.append("| list-full | " + " | ".join(cells) + " |")
        lines.append("| fill (PUT/s, c=16) | " + " | ".join(f"{result['sizes'][n]['fill_per_s']:.0f}"
                                                         for n in sizes) + " |")
        lines.append("| server RSS MiB | " + " | ".join(f"{result['sizes'][n]['rss_mib']:.0f}" for n in sizes) + " |")
        if len(sizes) > 1:
            low, high = sizes[0], sizes[-1]
            per_object = ((result["sizes"][high]["rss_mib"] - result["sizes"][low]["rss_mib"]) * 1024 * 1024
                          / (high - low))
            lines += ["", (f"RSS per object ({low:,} -> {high:,}): {per_object:.0f} bytes, of which the data (1 KiB "
                          f"body) is 1024: overhead {per_object - 1024:.0f} bytes per object.")]
        if "restart_seconds" in result:
            lines += ["", (f"Restart with {result['restart_objects']:,} objects: {result['restart_seconds']:.2f} s "
                          f"until the first request is answered ({_cpu(result.get('restart_cpu_seconds'))}); "
                          f"RSS after restart "
                          f"{result['rss_after_restart_mib']:.0f} MiB"
                          f"{'; ' + result['restart_error'] if 'restart_error' in result else ''}.")]
            if "restart_killed_seconds" in result:
                lines[-1] = lines[-1].replace("Restart with", "Restart (clean shutdown: index cache) with")
                lines += ["", (f"Restart after kill -9 (no index cache: every key document parsed): "
                              f"{result['restart_killed_seconds']:.2f} s "
                              f"({_cpu(result.get('restart_killed_cpu_seconds'))}); RSS after it "
                              f"{result['rss_after_killed_restart_mib']:.0f} MiB.")]
        mp = result.get("multipart")
        if mp:
            lines += ["", (f"Multipart upload of {mp['parts']:,} parts of 1 KiB: UploadPart p50 "
                          f"{mp['upload-part-first']['p50_ms']:.2f} ms (first parts) -> "
                          f"{mp['upload-part-last']['p50_ms']:.2f} ms (last parts) "
                          f"({mp['upload-part-last']['p50_ms'] / mp['upload-part-first']['p50_ms']:.2f}x); all parts "
                          f"{mp['upload-seconds']:.1f} s; ListParts p50 {mp['list-parts']['p50_ms']:.2f} ms; "
                          f"Complete {mp.get('complete-seconds', 0):.2f} s; GET of the object "
                          f"{mp.get('get-seconds', 0):.2f} s; HEAD partNumber={mp['parts']} "
                          f"{mp.get('head-last-part-ms', 0):.2f} ms"
                          f"{'; ERROR ' + mp['error'] if 'error' in mp else ''}.")]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--modes", default="memory,disk")
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per timed operation")
    parser.add_argument("--parts", type=int, default=10000, help="parts of the multipart phase (0: skip)")
    parser.add_argument("--json", help="write the raw results here")
    args = parser.parse_args(argv)
    os.makedirs(WORK, exist_ok=True)
    load = os.getloadavg()[0]
    sizes = sorted(int(s) for s in args.sizes.split(",") if s)
    results = [run_mode(mode, sizes, args.seconds, args.parts if mode == "disk" or "disk" not in args.modes else 0)
               for mode in args.modes.split(",") if mode]
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle)
    print(render(results, load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
