"""obstore (Rust object_store) in its own venv, default configuration (no checksum unless configured, so one
configuration only)."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from ..base import Adapter, Installation
from ..installer import Cache

DRIVER = Path(__file__).resolve().parent.parent / "drivers" / "drive_obstore.py"


class Obstore(Adapter):
    name = "obstore"
    title = "obstore (Rust object_store)"
    multipart_note = "put() of a file, 5 MiB chunks (its default): 4 parts"
    not_applicable: ClassVar[dict[str, str]] = {"create-bucket": "object_store has no bucket creation"}

    wire_capture = "proxy"          # no request hook: the runner's recording proxy keeps the exchanges

    def install(self, cache: Cache) -> Installation:
        return cache.python(self.name, ["obstore"], "obstore", timeout=self.install_timeout)

    def command(self, installation: Installation) -> list[str]:
        return [installation.extra["python"], str(DRIVER)]


ADAPTER = Obstore()
