"""The worker threads of the data path: hashing, encryption, decryption and blob I/O run here so that they release
the GIL while the event loop keeps receiving and sending."""
from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any

BATCH = 4 * 1024 * 1024     # big batches: fewer GIL hand-offs between the MD5 lane and the AES lane
POOL = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="mock-io")


async def run_blocking(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(POOL, fn, *args)
