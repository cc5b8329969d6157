"""The server root key: wraps SSE-S3 data keys, DSSE outer-layer keys and (in snapshots) KMS key material.

In memory without a data dir; with one it lives in `<data_dir>/root.key` (0600), written atomically once.
A mock server's root key next to its data is no secret from the machine's owner; it keeps every stored
blob and metadata file free of plaintext and plain keys, which is what the data-dir search checks.
"""
from __future__ import annotations

import os

from mockserver.crypto.keywrap import KEY_SIZE, new_key

ROOT_KEY_FILE = "root.key"


def load_or_create_root_key(data_dir: str | None) -> bytes:
    if data_dir is None:
        return new_key()
    path = os.path.join(data_dir, ROOT_KEY_FILE)
    try:
        with open(path, "rb") as f:
            key = f.read()
        if len(key) != KEY_SIZE:
            raise ValueError(f"{path}: root key must be {KEY_SIZE} bytes, found {len(key)}")
        return key
    except FileNotFoundError:
        pass
    os.makedirs(data_dir, exist_ok=True)
    key = new_key()
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)              # atomic and never overwrites a key another process just created
    except FileExistsError:
        os.unlink(tmp)
        return load_or_create_root_key(data_dir)
    os.unlink(tmp)
    return key
