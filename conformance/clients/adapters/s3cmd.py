"""s3cmd in its own venv, its defaults except the endpoint, SigV4 and the CA (config file)."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from ..base import Adapter, Installation
from ..installer import Cache

DRIVER = Path(__file__).resolve().parent.parent / "drivers" / "drive_s3cmd.py"


class S3cmd(Adapter):
    name = "s3cmd"
    title = "s3cmd"
    multipart_size = 31 * 1024 * 1024 + 4321
    multipart_note = "15 MiB parts (multipart_chunk_size_mb default): 3 parts"
    not_applicable: ClassVar[dict[str, str]] = {
        "ranged-get": "s3cmd get has no byte-range option",
        "sse-kms-bucket-key": "s3cmd has no bucket-key option",
        "sse-c": "s3cmd has no SSE-C options",
        "presigned-put": "s3cmd signurl makes GET URLs only",
    }

    wire_capture = "proxy"          # no request hook: the runner's recording proxy keeps the exchanges

    def install(self, cache: Cache) -> Installation:
        return cache.python(self.name, ["s3cmd"], "s3cmd", timeout=self.install_timeout)

    def command(self, installation: Installation) -> list[str]:
        return [installation.extra["python"], str(DRIVER)]


ADAPTER = S3cmd()
