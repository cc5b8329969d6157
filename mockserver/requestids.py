"""Request ids (x-amz-request-id) and host ids (x-amz-id-2) for responses, error documents and logs."""
from __future__ import annotations

import binascii
import os
import random

# They need uniqueness, not secrecy, and os.urandom is a system call per request on the hot path.
_ids = random.Random(int.from_bytes(os.urandom(16), "big"))


def request_id() -> str:
    return f"{_ids.getrandbits(64):016X}"


def host_id() -> str:
    # base64.b64encode's text of 48 random bytes (randbytes(48) is this getrandbits call, one Python call more)
    return binascii.b2a_base64(_ids.getrandbits(384).to_bytes(48, "little"), newline=False).decode()
