"""The scenarios of the client matrix (exactly issue 14's list) and what the runner checks around each one.

For every scenario the runner prepares what the client needs (objects to read, a KMS key, SSE-C unblocked),
hands the client's driver a job, then checks both what the driver observed (bytes, the SSE fields the client
exposes) and, independently through botocore, what the endpoint stored (bytes, SSE and checksum headers): a client
whose upload leaves trailer bytes inside the object fails here even when it reads its own bytes back."""
from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

BOTO_ERRORS = (BotoCoreError, ClientError)      # what a botocore call raises for an endpoint's or transport's error

SCENARIOS: tuple[tuple[str, str], ...] = (
    ("create-bucket", "create a bucket"),
    ("put-get", "small PUT and GET, byte-exact"),
    ("multipart", "multipart upload at the client's own threshold (>= 3 parts) and download"),
    ("ranged-get", "ranged GET"),
    ("copy", "server-side copy"),
    ("list", "list a prefix"),
    ("delete", "delete an object"),
    ("sse-s3", "PUT and GET with SSE-S3"),
    ("sse-kms", "PUT and GET with SSE-KMS and a key id (key created through the KMS API)"),
    ("sse-kms-bucket-key", "PUT and GET with SSE-KMS and a bucket key"),
    ("sse-c", "PUT and GET with SSE-C (SSE-C unblocked on the bucket first, over TLS)"),
    ("presigned-get", "presigned GET URL made by the client, fetched"),
    ("presigned-put", "presigned PUT URL made by the client, uploaded to"),
    ("checksums", "the checksum the client sends by default, read back with HEAD checksum mode, and the bytes"),
    ("empty-object", "a 0-byte object"),
    ("unicode-key", "a key with unicode and spaces"),
)
NAMES = tuple(name for name, _ in SCENARIOS)
UNICODE_KEY = "dir with spaces/ünïcödé ✓ file (1)+plus.txt"
RANGE = (100, 1123)


class CheckFailed(Exception):
    """A check around a scenario failed: the message says which and how."""


@dataclass
class Target:
    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    ca_file: str | None = None
    kms_endpoint: str | None = None
    alt_access_key: str | None = None
    alt_secret_key: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str = "s3") -> Any:
        if service not in self._clients:
            import botocore.session
            from botocore.config import Config

            session = botocore.session.get_session()
            endpoint = self.kms_endpoint or self.endpoint if service == "kms" else self.endpoint
            self._clients[service] = session.create_client(
                service, endpoint_url=endpoint, region_name=self.region, aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key, verify=self.ca_file or True,
                config=Config(retries={"total_max_attempts": 2}, connect_timeout=20, read_timeout=60,
                              s3={"addressing_style": "path"}))
        return self._clients[service]


@dataclass
class Payloads:
    small: Path
    large: Path
    empty: Path

    @classmethod
    def make(cls, directory: Path, large_size: int) -> Payloads:
        directory.mkdir(parents=True, exist_ok=True)
        small, large, empty = directory / "small.bin", directory / f"large-{large_size}.bin", directory / "empty.bin"
        if not small.exists():
            small.write_bytes(os.urandom(3000) + "ünïcode payload\n".encode())
        if not large.exists():
            with large.open("wb") as handle:
                remaining = large_size
                while remaining:
                    block = os.urandom(min(remaining, 1 << 20))
                    handle.write(block)
                    remaining -= len(block)
        empty.write_bytes(b"")
        return cls(small, large, empty)


@dataclass
class RunContext:
    """What a scenario's preparation and checks share for one client configuration."""
    target: Target
    bucket: str
    payloads: Payloads
    kms_key_id: str | None
    kms_key_arn: str | None
    sse_c_key: bytes
    workdir: Path


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stored(ctx: RunContext, key: str, **extra: Any) -> tuple[bytes, dict[str, Any]]:
    s3 = ctx.target.client()
    try:
        response = s3.get_object(Bucket=ctx.bucket, Key=key, **extra)
    except BOTO_ERRORS as exc:
        raise CheckFailed(f"reading {key!r} back through botocore failed: {_describe(exc)}") from None
    return response["Body"].read(), response


def _head(ctx: RunContext, key: str, **extra: Any) -> dict[str, Any]:
    try:
        return dict(ctx.target.client().head_object(Bucket=ctx.bucket, Key=key, **extra))
    except BOTO_ERRORS as exc:
        raise CheckFailed(f"HEAD {key!r} through botocore failed: {_describe(exc)}") from None


def _describe(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        meta = response.get("ResponseMetadata", {})
        return f"{meta.get('HTTPStatusCode')} {response['Error'].get('Code')}: {response['Error'].get('Message')}"
    return f"{type(exc).__name__}: {exc}"


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _same_bytes(ctx: RunContext, key: str, payload: Path, observed: dict[str, Any] | None,
                **read: Any) -> dict[str, Any]:
    """The client read the payload's bytes (when it says what it read) and the endpoint stored exactly them."""
    want = sha256_file(payload)
    size = payload.stat().st_size
    if observed is not None and "sha256" in observed:
        _expect(observed["sha256"] == want, f"the client read {observed.get('size', '?')} bytes that differ from "
                                            f"the {size} bytes it wrote")
    data, response = _stored(ctx, key, **read)
    _expect(hashlib.sha256(data).hexdigest() == want,
            f"the endpoint stored {len(data)} bytes that differ from the {size} bytes written"
            + (" (it holds more: trailer or chunk framing stored inside the object?)" if len(data) > size else ""))
    return response


def _client_sse(observed: dict[str, Any], field_name: str, want: Any, label: str) -> None:
    """A field the client exposes (in its PUT or GET result), when it exposes it, has the right value."""
    for where in ("sse", "get_sse"):
        value = observed.get(where, {}).get(field_name)
        if value is None:
            continue
        ok = want(value) if callable(want) else value == want
        _expect(ok, f"the client exposes {field_name}={value!r} in its {'PUT' if where == 'sse' else 'GET'} result; "
                    f"expected {label}")


@dataclass(frozen=True)
class Scenario:
    name: str
    payload: str = "small"           # small | large | empty | none
    prepare: Callable[[RunContext, dict[str, Any]], None] | None = None
    check: Callable[[RunContext, dict[str, Any], dict[str, Any]], str] | None = None


def _put_fixture(ctx: RunContext, key: str, body: bytes) -> None:
    try:
        ctx.target.client().put_object(Bucket=ctx.bucket, Key=key, Body=body)
    except BOTO_ERRORS as exc:
        raise CheckFailed(f"preparing object {key!r} through botocore failed: {_describe(exc)}") from None


def _prep_read(ctx: RunContext, job: dict[str, Any]) -> None:
    _put_fixture(ctx, job["key"], ctx.payloads.small.read_bytes())


def _prep_copy(ctx: RunContext, job: dict[str, Any]) -> None:
    job["source"] = job["key"] + ".source"
    _put_fixture(ctx, job["source"], ctx.payloads.small.read_bytes())


def _prep_list(ctx: RunContext, job: dict[str, Any]) -> None:
    job["prefix"] = job["key"] + "/"
    job["expected_keys"] = [f"{job['prefix']}{name}" for name in ("a.txt", "b/c.txt", "d e.txt")]
    for key in job["expected_keys"]:
        _put_fixture(ctx, key, b"listed")


def _check_create(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    s3 = ctx.target.client()
    try:
        s3.head_bucket(Bucket=job["bucket"])
    except BOTO_ERRORS as exc:
        raise CheckFailed(f"HeadBucket of the new bucket failed: {_describe(exc)}") from None
    return "bucket exists"


def _check_put_get(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    payload = Path(job["payload"])
    _same_bytes(ctx, job["key"], payload, observed)
    return f"{payload.stat().st_size} bytes written and read back"


def _check_multipart(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    payload = Path(job["payload"])
    _same_bytes(ctx, job["key"], payload, observed)
    etag = _head(ctx, job["key"]).get("ETag", "").strip('"')
    parts = int(etag.rsplit("-", 1)[1]) if "-" in etag else 1
    _expect(parts >= 3, f"the object's ETag {etag!r} says {parts} part(s); expected a multipart upload of >= 3")
    return f"{payload.stat().st_size} bytes in {parts} parts, downloaded byte-exact"


def _check_range(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    start, end = job["range"]
    want = ctx.payloads.small.read_bytes()[start:end + 1]
    _expect(observed.get("sha256") == hashlib.sha256(want).hexdigest(),
            f"the client read {observed.get('size', '?')} bytes for bytes={start}-{end}, not the {len(want)} expected")
    return f"bytes={start}-{end}: {len(want)} bytes"


def _check_copy(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    _same_bytes(ctx, job["key"], ctx.payloads.small, observed)
    return "copy holds the source's bytes"


def _check_list(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    keys = sorted(observed.get("keys", []))
    _expect(keys == sorted(job["expected_keys"]), f"the client listed {keys}, expected {sorted(job['expected_keys'])}")
    return f"{len(keys)} keys listed"


def _check_delete(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    try:
        ctx.target.client().head_object(Bucket=ctx.bucket, Key=job["key"])
    except BOTO_ERRORS as exc:
        if "404" in _describe(exc) or "Not Found" in str(exc):
            return "object gone (HEAD 404)"
        raise CheckFailed(f"HEAD after delete: {_describe(exc)}") from None
    raise CheckFailed("the object still exists after the client deleted it")


def _check_sse_s3(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    response = _same_bytes(ctx, job["key"], Path(job["payload"]), observed)
    _expect(response.get("ServerSideEncryption") == "AES256",
            f"the stored object reports ServerSideEncryption={response.get('ServerSideEncryption')!r}, not AES256")
    _client_sse(observed, "ServerSideEncryption", "AES256", "AES256")
    return "stored with AES256" + _exposed(observed)


def _kms_ok(ctx: RunContext) -> Callable[[Any], bool]:
    def ok(value: Any) -> bool:
        return value in (ctx.kms_key_id, ctx.kms_key_arn)
    return ok


def _check_sse_kms(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any], bucket_key: bool = False) -> str:
    response = _same_bytes(ctx, job["key"], Path(job["payload"]), observed)
    _expect(response.get("ServerSideEncryption") == "aws:kms",
            f"the stored object reports ServerSideEncryption={response.get('ServerSideEncryption')!r}, not aws:kms")
    _expect(_kms_ok(ctx)(response.get("SSEKMSKeyId")),
            f"the stored object reports SSEKMSKeyId={response.get('SSEKMSKeyId')!r}, not the key {ctx.kms_key_arn}")
    _client_sse(observed, "ServerSideEncryption", "aws:kms", "aws:kms")
    _client_sse(observed, "SSEKMSKeyId", _kms_ok(ctx), f"the key ({ctx.kms_key_arn})")
    if bucket_key:
        _expect(response.get("BucketKeyEnabled") is True,
                f"the stored object reports BucketKeyEnabled={response.get('BucketKeyEnabled')!r}, not true")
        _client_sse(observed, "BucketKeyEnabled", lambda v: v in (True, "true", "True"), "true")
    return f"stored with aws:kms under the key{' and a bucket key' if bucket_key else ''}" + _exposed(observed)


def _check_sse_c(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    key_md5 = base64.b64encode(hashlib.md5(ctx.sse_c_key).digest()).decode()
    response = _same_bytes(ctx, job["key"], Path(job["payload"]), observed, SSECustomerAlgorithm="AES256",
                           SSECustomerKey=ctx.sse_c_key)
    _expect(response.get("SSECustomerKeyMD5") == key_md5,
            f"the stored object reports SSECustomerKeyMD5={response.get('SSECustomerKeyMD5')!r}, not the key's MD5")
    _client_sse(observed, "SSECustomerAlgorithm", "AES256", "AES256")
    _client_sse(observed, "SSECustomerKeyMD5", key_md5, "the key's MD5")
    try:
        ctx.target.client().head_object(Bucket=ctx.bucket, Key=job["key"])
    except BOTO_ERRORS as exc:
        _expect("400" in _describe(exc) or "Bad Request" in str(exc),
                f"HEAD without the key answered {_describe(exc)}, expected 400")
    else:
        raise CheckFailed("HEAD without the SSE-C key succeeded: the object is not encrypted with the client's key")
    return "stored under the customer key (HEAD without it: 400)" + _exposed(observed)


def _exposed(observed: dict[str, Any]) -> str:
    fields = sorted({*observed.get("sse", {}), *observed.get("get_sse", {})})
    return f"; client exposes {', '.join(fields)}" if fields else "; client exposes no SSE fields"


def _check_presigned_get(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    _expect(observed.get("status") == 200, f"the presigned GET answered {observed.get('status')}")
    _check_put_get(ctx, job, observed)
    return "presigned GET answered 200 with the bytes"


def _check_presigned_put(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    _expect(observed.get("status") == 200, f"the presigned PUT answered {observed.get('status')}")
    _same_bytes(ctx, job["key"], Path(job["payload"]), None)
    return "presigned PUT answered 200 and stored the bytes"


CHECKSUM_NAMES = ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1", "ChecksumSHA256")


def checksum_of(name: str, data: bytes) -> str:
    if name == "ChecksumSHA1":
        return base64.b64encode(hashlib.sha1(data).digest()).decode()
    if name == "ChecksumSHA256":
        return base64.b64encode(hashlib.sha256(data).digest()).decode()
    from awscrt import checksums

    if name == "ChecksumCRC32":
        return base64.b64encode(checksums.crc32(data).to_bytes(4, "big")).decode()
    if name == "ChecksumCRC32C":
        return base64.b64encode(checksums.crc32c(data).to_bytes(4, "big")).decode()
    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


def _check_checksums(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    payload = Path(job["payload"])
    data = payload.read_bytes()
    _same_bytes(ctx, job["key"], payload, observed)
    head = _head(ctx, job["key"], ChecksumMode="ENABLED")
    stored = {name: head[name] for name in CHECKSUM_NAMES if name in head}
    for name, value in stored.items():
        _expect(value == checksum_of(name, data), f"HEAD (checksum mode) reports {name}={value}, which is not the "
                                                  f"{name[8:]} of the bytes written ({checksum_of(name, data)})")
    for where in ("checksums", "head_checksums"):
        for name, value in observed.get(where, {}).items():
            if name in CHECKSUM_NAMES:
                _expect(value == checksum_of(name, data), f"the client saw {name}={value} in its "
                                                          f"{'PUT' if where == 'checksums' else 'HEAD'} result, not "
                                                          f"the {name[8:]} of the bytes")
    sent = observed.get("sent_checksum")
    if sent:
        return f"sent {sent}; stored {', '.join(stored) or 'no checksum'}; bytes exact"
    return f"stored {', '.join(sorted(stored)) or 'no checksum (none sent)'}; bytes exact"


def _check_empty(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    _same_bytes(ctx, job["key"], ctx.payloads.empty, observed)
    _expect(_head(ctx, job["key"]).get("ContentLength") == 0, "the stored object is not 0 bytes long")
    return "0 bytes written and read back"


def _check_unicode(ctx: RunContext, job: dict[str, Any], observed: dict[str, Any]) -> str:
    _same_bytes(ctx, job["key"], ctx.payloads.small, observed)
    if "keys" in observed:
        _expect(job["key"] in observed["keys"], f"the client's listing {observed['keys']} lacks {job['key']!r}")
    return f"key {job['key']!r} written, listed and read back"


def _prep_unicode(ctx: RunContext, job: dict[str, Any]) -> None:
    job["key"] = f"{job['key']}/{UNICODE_KEY}"
    job["prefix"] = job["key"].rsplit("/", 1)[0] + "/"


def _prep_range(ctx: RunContext, job: dict[str, Any]) -> None:
    job["range"] = list(RANGE)
    _prep_read(ctx, job)


def _prep_create(ctx: RunContext, job: dict[str, Any]) -> None:
    job["bucket"] = f"{ctx.bucket[:40]}-new-{uuid.uuid4().hex[:6]}"


DEFINITIONS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("create-bucket", "none", _prep_create, _check_create),
    Scenario("put-get", "small", None, _check_put_get),
    Scenario("multipart", "large", None, _check_multipart),
    Scenario("ranged-get", "none", _prep_range, _check_range),
    Scenario("copy", "none", _prep_copy, _check_copy),
    Scenario("list", "none", _prep_list, _check_list),
    Scenario("delete", "none", _prep_read, _check_delete),
    Scenario("sse-s3", "small", None, _check_sse_s3),
    Scenario("sse-kms", "small", None, _check_sse_kms),
    Scenario("sse-kms-bucket-key", "small", None, lambda c, j, o: _check_sse_kms(c, j, o, bucket_key=True)),
    Scenario("sse-c", "small", None, _check_sse_c),
    Scenario("presigned-get", "small", _prep_read, _check_presigned_get),
    Scenario("presigned-put", "small", None, _check_presigned_put),
    Scenario("checksums", "small", None, _check_checksums),
    Scenario("empty-object", "empty", None, _check_empty),
    Scenario("unicode-key", "small", _prep_unicode, _check_unicode),
)}
assert tuple(DEFINITIONS) == NAMES
