"""Memory per stored object, in-process (not a test): bytes one more 1 KiB SSE-S3 object costs, measured with
tracemalloc while `--count` objects are stored after `--before` others, through the real PUT path
(EncryptionService.plan_write + datapath.write.write_object into the server's Storage; no HTTP), and the
allocation sites that hold them. With `--data-dir` the disk backend is measured (a fresh directory is required).

    .venv/bin/python bench/objmem.py [--before 10000] [--count 20000] [--data-dir DIR] [--top 15]

Steadier than RSS deltas for comparing representations (RSS adds the allocators' own overhead: the growth phase of
bench/run.py measures that, on a real server); the figure beyond 1024 is the per-object overhead.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tracemalloc
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from mockserver.config import ServerConfig
from mockserver.datapath.write import write_object
from mockserver.state import AppState
from mockserver.storage.base import Bucket, now

BODY = bytes(range(256)) * 4                 # 1 KiB, as bench/growth.py
ATTRS = {"content_type": "binary/octet-stream", "headers": {}, "metadata": {}, "storage_class": "STANDARD",
         "tagging_count": 0}


def key_of(i: int) -> str:
    return f"d{i % 8}/k{i:07d}"


async def store(state: AppState, bucket: Bucket, start: int, stop: int) -> None:
    ctx = types.SimpleNamespace(state=state, auth=None)
    for i in range(start, stop):
        key = key_of(i)
        plan = state.encryption.plan_write(operation="PutObject", headers={"x-amz-server-side-encryption": "AES256"},
                                           bucket_encryption=None, account_id=bucket.owner_id, secure=False,
                                           bucket=bucket.name, key=key)

        async def body() -> object:
            yield BODY

        await write_object(ctx, bucket, key, body(), plan, dict(ATTRS), integrity=None,  # type: ignore[arg-type]
                           algorithm=None)


async def measure(before: int, count: int, data_dir: str | None, top: int) -> None:
    state = AppState(ServerConfig(data_dir=data_dir))
    bucket = Bucket("objmem", "111122223333", "us-east-1", now())
    await state.storage.save_bucket(bucket)
    await store(state, bucket, 0, before)
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    await store(state, bucket, before, before + count)
    gc.collect()
    per_object = (tracemalloc.get_traced_memory()[0] - start) / count
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    mode = f"--data-dir {data_dir}" if data_dir else "memory"
    print(f"{mode}: {per_object:.0f} bytes per stored 1 KiB SSE-S3 object ({before:,} -> {before + count:,} objects), "
          f"{per_object - len(BODY):.0f} beyond the data")
    for stat in snapshot.statistics("lineno")[:top]:
        if stat.size / count >= 1:
            print(f"  {stat.size / count:7.0f} B {stat.count / count:5.2f} blocks  {stat.traceback}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=int, default=10000)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--data-dir")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    if args.data_dir and os.path.exists(args.data_dir) and os.listdir(args.data_dir):
        parser.error(f"{args.data_dir} is not empty")
    asyncio.run(measure(args.before, args.count, args.data_dir, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
