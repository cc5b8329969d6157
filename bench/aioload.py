"""Keep-alive load generator for HEAD (wrk waits for a body after HEAD responses that carry Content-Length):
`python bench/aioload.py HOST PORT CONNECTIONS SECONDS REQUESTS_FILE` where the file holds raw requests
separated by NUL bytes. Prints the same RESULT line as the wrk script (microseconds)."""
from __future__ import annotations

import asyncio
import sys
import time

import uvloop


async def worker(host: str, port: int, requests: list[bytes], deadline: float, latencies: list[float],
                 counts: dict[str, int]) -> None:
    reader = writer = None
    index = 0
    while time.perf_counter() < deadline:
        request = requests[index % len(requests)]
        index += 1
        started = time.perf_counter()
        try:
            if writer is None:       # (re)connect: servers that answer "Connection: close" (moto) need it
                reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            status = int(head[9:12])
            length, close = 0, False
            for line in head.split(b"\r\n")[1:]:
                lower = line.lower()
                if lower.startswith(b"content-length:"):
                    length = int(line[15:])
                elif lower.startswith(b"connection:") and b"close" in lower:
                    close = True
            if not request.startswith(b"HEAD ") and length:
                await asyncio.wait_for(reader.readexactly(length), 5)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            counts["errors"] += 1
            close = True
        else:
            latencies.append(time.perf_counter() - started)
            if status >= 400:
                counts["status"] += 1
        if close and writer is not None:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def main(host: str, port: int, connections: int, seconds: float, requests: list[bytes]) -> str:
    latencies: list[float] = []
    counts = {"status": 0, "errors": 0}
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.wait_for(asyncio.gather(*(worker(host, port, requests, deadline, latencies, counts)
                                            for _ in range(connections))), seconds + 30)
    duration = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> int:
        return int(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1e6) if latencies else 0

    return (f"RESULT {len(latencies)} {int(duration * 1e6)} {pct(0.5)} {pct(0.99)} {counts['status']} "
            f"{counts['errors']}")


if __name__ == "__main__":
    host, port, conns, secs, path = sys.argv[1:6]
    with open(path, "rb") as handle:
        reqs = handle.read().split(b"\0")
    print(uvloop.run(main(host, int(port), int(conns), float(secs), reqs)))
