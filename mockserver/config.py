"""Server configuration shared by the app, the CLI (`s3-conformance serve`) and the context manager."""
from __future__ import annotations

from dataclasses import dataclass, field

from mockserver.accounts import ALT, MAIN, Account


@dataclass
class ServerConfig:
    dialect: str = "aws"
    region: str = "us-east-1"
    domain: str = "localhost"            # virtual-hosted style: <bucket>.<domain>:<port>
    data_dir: str | None = None          # None: in memory
    main: Account = MAIN
    alt: Account = ALT
    allow_sse_c_over_http: bool = False
    # --data-dir durability. Without fsync an acknowledged write survives a kill -9 of the server (its bytes are
    # in the kernel before the response is sent); fsync=True also survives an OS crash / power loss, at the
    # cost of four fsyncs per write.
    fsync: bool = False
    # Test hook: an unsigned GET /_mockserver/metrics answers every account's KMS counters. Off for `serve`
    # (signed requests see their own account only); on in running_server(), the in-process harness whose
    # runner reads the counters of both accounts' keys without signing.
    open_metrics: bool = False
    # The server's root key (wraps SSE-S3 data keys, bucket keys, DSSE outer keys and KMS key material). By default
    # it is <data_dir>/root.key, i.e. beside the data it protects: whoever copies the data directory can decrypt
    # everything but SSE-C objects. A path outside the data directory (or S3C_MOCK_ROOT_KEY_FILE) keeps the two
    # apart: a 32-byte file, created (mode 0600) when missing.
    root_key_file: str | None = None
    # HTTP-level limits (mockserver/protocol.py; None: the module's default, which tests may lower).
    # request_timeout: seconds a header section may take to arrive, and seconds of silence within a body
    # (default 20, about S3's); body_min_rate: bytes per second a body must average once body_rate_grace seconds
    # have passed since its headers (defaults 500 and 20: a body dripping one byte every 5 s ends in
    # RequestTimeout instead of holding the connection forever).
    request_timeout: float | None = None
    body_min_rate: float | None = None
    body_rate_grace: float | None = None
    extra: dict[str, object] = field(default_factory=dict)
