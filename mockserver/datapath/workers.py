"""The worker threads of the data path: hashing, encryption, decryption and blob I/O run here so that they release
the GIL while the event loop keeps receiving and sending."""
from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any

BATCH = 4 * 1024 * 1024     # big batches: fewer GIL hand-offs between the MD5 lane and the AES lane
POOL = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="mock-io")
# Read-ahead of stored ciphertext for long GETs (gcm_stream.BufferPool.read_ahead): its own threads, because the
# decrypting job that waits for a read runs in POOL (sharing POOL could leave every worker waiting for a read
# queued behind them). Its jobs wait for nothing.
READ_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="mock-read")


async def run_blocking(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(POOL, fn, *args)
