"""The client registry: one module per client, each defining ADAPTER (an `Adapter`). Adding a client (the Go or
Java SDK where their toolchains are available) is one module here plus its driver under `drivers/`."""
from __future__ import annotations

import importlib

from ..base import Adapter

MODULES = {
    "boto3": "boto3",
    "boto3-legacy": "boto3_legacy",
    "awscli": "awscli",
    "s3cmd": "s3cmd",
    "minio-py": "minio_py",
    "s3fs": "s3fs",
    "obstore": "obstore",
    "aws-sdk-js": "aws_sdk_js",
    "rclone": "rclone",
}


def names() -> list[str]:
    return list(MODULES)


def load(name: str) -> Adapter:
    module = importlib.import_module(f"{__name__}.{MODULES[name]}")
    adapter: Adapter = module.ADAPTER
    return adapter
