"""@aws-sdk/client-s3 with @aws-sdk/lib-storage (multipart) and @aws-sdk/s3-request-presigner (presigned URLs) on
Node (Debian's nodejs and npm), installed into an npm prefix; default configuration and checksums at
WHEN_REQUIRED (the SDK reads the same AWS_REQUEST_CHECKSUM_CALCULATION variables)."""
from __future__ import annotations

import shutil
from pathlib import Path

from ..base import DEFAULT, WHEN_REQUIRED, Adapter, Installation
from ..installer import Cache

DRIVER = Path(__file__).resolve().parent.parent / "drivers" / "drive_aws_sdk_js.cjs"
PACKAGES = ["@aws-sdk/client-s3", "@aws-sdk/lib-storage", "@aws-sdk/s3-request-presigner"]


class AwsSdkJs(Adapter):
    name = "aws-sdk-js"
    title = "@aws-sdk/client-s3 (Node)"
    configs = (DEFAULT, WHEN_REQUIRED)
    multipart_note = "lib-storage Upload, 5 MiB parts (its default): 4 parts"
    install_timeout = 300.0

    def install(self, cache: Cache) -> Installation:
        return cache.npm(self.name, PACKAGES, "@aws-sdk/client-s3", timeout=self.install_timeout)

    def command(self, installation: Installation) -> list[str]:
        return [shutil.which("node") or "node", str(DRIVER)]

    def environment(self, installation: Installation, config: object) -> dict[str, str]:
        env = super().environment(installation, config)  # type: ignore[arg-type]
        env["NODE_PATH"] = installation.extra["node_modules"]
        return env


ADAPTER = AwsSdkJs()
