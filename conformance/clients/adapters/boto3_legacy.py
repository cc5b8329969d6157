"""boto3 pinned below 1.36: the defaults before flexible checksums (Content-MD5 where required, no CRC32 by
default, no aws-chunked trailers); it has no checksum setting, so it runs in its default configuration only."""
from __future__ import annotations

from ..base import DEFAULT
from .boto3 import Boto3


class Boto3Legacy(Boto3):
    name = "boto3-legacy"
    title = "boto3 < 1.36"
    configs = (DEFAULT,)
    requirement = "boto3<1.36"


ADAPTER = Boto3Legacy()
