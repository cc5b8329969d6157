"""The AWS CLI v1 (PyPI `awscli`) in its own venv: default configuration, and with checksums at WHEN_REQUIRED."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from ..base import DEFAULT, WHEN_REQUIRED, Adapter, Installation
from ..installer import Cache

DRIVER = Path(__file__).resolve().parent.parent / "drivers" / "drive_awscli.py"


class AwsCli(Adapter):
    name = "awscli"
    title = "AWS CLI v1"
    configs = (DEFAULT, WHEN_REQUIRED)
    multipart_note = "`aws s3 cp`, 8 MiB parts (its default): 3 parts"
    not_applicable: ClassVar[dict[str, str]] = {"presigned-put": "`aws s3 presign` makes GET URLs only"}

    def install(self, cache: Cache) -> Installation:
        return cache.python(self.name, ["awscli"], "awscli", timeout=self.install_timeout)

    def command(self, installation: Installation) -> list[str]:
        return [installation.extra["python"], str(DRIVER)]


ADAPTER = AwsCli()
