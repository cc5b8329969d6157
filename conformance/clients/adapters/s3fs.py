"""s3fs (fsspec on aiobotocore) in its own venv: default configuration, and with checksums at WHEN_REQUIRED
(aiobotocore reads botocore's variables). Its multipart threshold is its 50 MiB block size."""
from __future__ import annotations

from pathlib import Path

from ..base import DEFAULT, WHEN_REQUIRED, Adapter, Installation
from ..installer import Cache

DRIVER = Path(__file__).resolve().parent.parent / "drivers" / "drive_s3fs.py"


class S3fs(Adapter):
    name = "s3fs"
    title = "s3fs (fsspec, aiobotocore)"
    configs = (DEFAULT, WHEN_REQUIRED)
    multipart_size = 101 * 1024 * 1024 + 4321
    multipart_note = "put_file, 50 MiB chunks (its default): 3 parts"

    def install(self, cache: Cache) -> Installation:
        return cache.python(self.name, ["s3fs"], "s3fs", timeout=self.install_timeout)

    def command(self, installation: Installation) -> list[str]:
        return [installation.extra["python"], str(DRIVER)]


ADAPTER = S3fs()
