"""boto3, current release from PyPI: default configuration, and with checksums at WHEN_REQUIRED."""
from __future__ import annotations

from pathlib import Path

from ..base import DEFAULT, WHEN_REQUIRED, Adapter, Config, Installation
from ..installer import Cache

DRIVERS = Path(__file__).resolve().parent.parent / "drivers"


class Boto3(Adapter):
    name = "boto3"
    title = "boto3 (current)"
    configs: tuple[Config, ...] = (DEFAULT, WHEN_REQUIRED)
    requirement = "boto3"

    def install(self, cache: Cache) -> Installation:
        return cache.python(self.name, [self.requirement], "boto3", timeout=self.install_timeout)

    def command(self, installation: Installation) -> list[str]:
        return [installation.extra["python"], str(DRIVERS / "drive_boto3.py")]


ADAPTER = Boto3()
