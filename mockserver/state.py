"""The server's long-lived state (what handlers reach through ctx.state): storage, the embedded KMS, the root key
and the encryption service, loaded from --data-dir (created there on first start) or made up in memory."""
from __future__ import annotations

import json
import os
from typing import Any

from mockserver.accounts import Accounts
from mockserver.config import ServerConfig
from mockserver.dialects import get_dialect
from mockserver.kms.engine import KmsEngine
from mockserver.sse.service import EncryptionService
from mockserver.storage.base import Storage
from mockserver.storage.disk import atomic_write, disk_storage
from mockserver.storage.memory import memory_storage

ROOT_KEY_FILE = "root.key"
KMS_FILE = "kms.json"


class AppState:
    """What handlers reach through ctx.state."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.dialect = get_dialect(config.dialect)
        self.accounts = Accounts([config.main, config.alt])
        self.region = config.region
        self.durable = config.data_dir is not None and config.fsync   # blob commits block on fsync
        if config.data_dir is not None:
            self.storage: Storage = disk_storage(config.data_dir, config.fsync)
            self.root_key = load_root_key(config.data_dir)
            self.kms = load_kms(config.data_dir, config.region, self.root_key)
        else:
            self.storage = memory_storage()
            self.root_key = os.urandom(32)
            self.kms = KmsEngine(config.region, root_key=self.root_key)
        self.encryption = EncryptionService(dialect=self.dialect, kms=self.kms, root_key=self.root_key,
                                            region=config.region,
                                            allow_sse_c_over_http=config.allow_sse_c_over_http)


def load_root_key(data_dir: str) -> bytes:
    """The server's own key (wraps SSE-S3 data keys and KMS key material); created once per data dir."""
    path = os.path.join(data_dir, ROOT_KEY_FILE)
    if not os.path.exists(path):
        atomic_write(path, os.urandom(32), os.path.join(data_dir, "tmp"))
    with open(path, "rb") as f:
        key = f.read()
    if len(key) != 32:
        raise RuntimeError(f"{path} is not a 32-byte key")
    return key


def load_kms(data_dir: str, region: str, root_key: bytes) -> KmsEngine:
    """The KMS engine of a data dir: restored from its snapshot, persisting every change back to it."""
    path = os.path.join(data_dir, KMS_FILE)
    tmp = os.path.join(data_dir, "tmp")

    def persist(snapshot: dict[str, Any]) -> None:
        atomic_write(path, json.dumps(snapshot, separators=(",", ":")).encode(), tmp)

    if os.path.exists(path):
        with open(path, "rb") as f:
            return KmsEngine.restore(json.loads(f.read()), region, persist, root_key=root_key)
    return KmsEngine(region, persist, root_key=root_key)
