"""minio-py (MinIO's Python SDK) in its own venv, default configuration."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from ..base import Adapter, Installation
from ..installer import Cache

DRIVER = Path(__file__).resolve().parent.parent / "drivers" / "drive_minio.py"


class MinioPy(Adapter):
    name = "minio-py"
    title = "minio-py"
    multipart_note = "fput_object, 5 MiB parts (its minimum part size, chosen for this size): 4 parts"
    not_applicable: ClassVar[dict[str, str]] = {"sse-kms-bucket-key": "minio-py's SseKMS has no bucket-key setting"}

    def install(self, cache: Cache) -> Installation:
        return cache.python(self.name, ["minio"], "minio", timeout=self.install_timeout)

    def command(self, installation: Installation) -> list[str]:
        return [installation.extra["python"], str(DRIVER)]


ADAPTER = MinioPy()
