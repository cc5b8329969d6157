"""The server's long-lived state (what handlers reach through ctx.state): storage, the embedded KMS, the root key
and the encryption service, loaded from --data-dir (created there on first start) or made up in memory."""
from __future__ import annotations

import json
import logging
import os
from typing import Any

from mockserver.accounts import Accounts
from mockserver.config import ServerConfig
from mockserver.dialects import get_dialect
from mockserver.kms.engine import KmsEngine
from mockserver.sse.service import EncryptionService
from mockserver.storage.base import Storage
from mockserver.storage.disk import atomic_write, disk_storage, write_all
from mockserver.storage.memory import memory_storage

log = logging.getLogger("mockserver")

ROOT_KEY_FILE = "root.key"
ROOT_KEY_ENV = "S3C_MOCK_ROOT_KEY_FILE"
KMS_FILE = "kms.json"              # snapshot (the only file before the journal existed)
KMS_JOURNAL = "kms.journal"        # one JSON change per line since the snapshot


class AppState:
    """What handlers reach through ctx.state."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.dialect = get_dialect(config.dialect)
        self.accounts = Accounts([config.main, config.alt])
        self.region = config.region
        self.durable = config.data_dir is not None and config.fsync   # blob commits block on fsync
        key_file = config.root_key_file or os.environ.get(ROOT_KEY_ENV) or None
        if config.data_dir is not None:
            self.storage: Storage = disk_storage(config.data_dir, config.fsync)
            self.root_key = load_root_key(config.data_dir, key_file)
            self.kms = load_kms(config.data_dir, config.region, self.root_key, config.fsync)
        else:
            self.storage = memory_storage()
            self.root_key = read_key_file(key_file) if key_file else os.urandom(32)
            self.kms = KmsEngine(config.region, root_key=self.root_key)
        self.encryption = EncryptionService(dialect=self.dialect, kms=self.kms, root_key=self.root_key,
                                            region=config.region,
                                            allow_sse_c_over_http=config.allow_sse_c_over_http)


def read_key_file(path: str) -> bytes:
    """A 32-byte root key file, created (0600) when missing."""
    if not os.path.exists(path):
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
            f.flush()
            os.fsync(f.fileno())
    with open(path, "rb") as f:
        key = f.read()
    if len(key) != 32:
        raise RuntimeError(f"{path} is not a 32-byte key")
    return key


def load_root_key(data_dir: str, key_file: str | None = None) -> bytes:
    """The server's own key (wraps SSE-S3 data keys and KMS key material). Default: <data_dir>/root.key, created
    once per data dir, which sits beside the data it wraps (a copy of the directory decrypts it). `key_file`
    (serve --root-key-file, or S3C_MOCK_ROOT_KEY_FILE) keeps it elsewhere: an existing data dir moves to it by
    moving its root.key there; a root.key left in the data dir must then hold the same key."""
    local = os.path.join(data_dir, ROOT_KEY_FILE)
    if key_file is None:
        if not os.path.exists(local):
            atomic_write(local, os.urandom(32), os.path.join(data_dir, "tmp"))
        return read_key_file(local)
    key = read_key_file(key_file)
    if os.path.exists(local) and os.path.abspath(local) != os.path.abspath(key_file):
        if read_key_file(local) != key:
            raise RuntimeError(f"{local} holds another root key than {key_file}: this data was written under "
                               f"{local}; move that file to {key_file} (or drop the option)")
        log.warning("%s duplicates the root key kept in %s: delete it so the key no longer sits beside the data",
                    local, key_file)
    return key


def load_kms(data_dir: str, region: str, root_key: bytes, fsync: bool = False) -> KmsEngine:
    """The KMS engine of a data dir. State: the snapshot kms.json plus kms.journal, one JSON line per change
    appended by each call (CreateKey costs one small append, whatever the key count). At start the journal is
    replayed onto the snapshot (a line cut short by a crash is the end of it), and when it holds anything it is
    folded into a new snapshot (written atomically) and emptied; replaying it again after a crash between the two
    is harmless (changes are upserts). A data dir holding only kms.json (older versions) loads as it is."""
    path = os.path.join(data_dir, KMS_FILE)
    journal = os.path.join(data_dir, KMS_JOURNAL)
    tmp = os.path.join(data_dir, "tmp")

    def append(change: dict[str, Any]) -> None:
        line = json.dumps(change, separators=(",", ":")).encode() + b"\n"
        fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            try:
                write_all(fd, line)
                if fsync:
                    os.fsync(fd)
            except OSError:
                os.ftruncate(fd, size)        # no torn line for the next append to follow
                raise
        finally:
            os.close(fd)

    engine = KmsEngine(region, root_key=root_key, journal=append)
    if os.path.exists(path):
        with open(path, "rb") as f:
            engine.apply(json.loads(f.read()))
    replayed = 0
    if os.path.exists(journal):
        with open(journal, "rb") as f:
            for line in f.read().split(b"\n")[:-1]:      # the part after the last newline is a torn append
                try:
                    change = json.loads(line)
                except ValueError:
                    break
                engine.apply(change)
                replayed += 1
        if replayed:
            atomic_write(path, json.dumps(engine.snapshot(), separators=(",", ":")).encode(), tmp)
        with open(journal, "wb") as out:                   # emptied (after the snapshot holds its changes)
            if fsync:
                os.fsync(out.fileno())
    return engine
