"""Runs the matrix: installs each client, prepares a bucket per client configuration (SSE-C unblocked) and a KMS
key per run, then runs every scenario as its own process (its own process group, a time limit, killed by its
process group when it overruns) and checks the outcome."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..redact import Redactor
from .base import FAIL, NA, PASS, Adapter, ClientResult, Config, InstallError, ScenarioResult
from .installer import Cache
from .proxy import RecordingProxy
from .scenarios import BOTO_ERRORS, DEFINITIONS, CheckFailed, Payloads, RunContext, Target

SCENARIO_TIMEOUT = 180.0        # seconds per scenario process


def _describe(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return f"{response['Error'].get('Code')}: {response['Error'].get('Message')}"
    return f"{type(exc).__name__}: {exc}"


class KmsKey:
    def __init__(self, target: Target):
        self.key_id: str | None = None
        self.arn: str | None = None
        self.error = ""
        try:
            meta = target.client("kms").create_key(Description="s3-conformance client matrix")["KeyMetadata"]
            self.key_id, self.arn = meta["KeyId"], meta["Arn"]
        except BOTO_ERRORS as exc:
            self.error = f"the KMS API could not create a key ({_describe(exc)})"


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Ends the process group this runner started for one scenario (and only it)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def run_process(command: list[str], job: dict[str, Any], env: dict[str, str], timeout: float,
                cwd: Path) -> tuple[dict[str, Any] | None, str]:
    """(the driver's JSON answer or None, a problem description)."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, **env}, cwd=cwd, start_new_session=True)
    try:
        out, err = process.communicate(json.dumps(job).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        return None, f"the client did not finish in {timeout:.0f} s: its process group was killed"
    except BaseException:
        kill_group(process)
        raise
    for line in reversed(out.decode("utf-8", "replace").splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line), ""
            except ValueError:
                break
    tail = " | ".join(err.decode("utf-8", "replace").strip().splitlines()[-3:])[-500:]
    return None, f"the driver exited {process.returncode} without an answer: {tail or 'no output'}"


def _pairs(exchange: dict[str, Any] | None) -> dict[str, Any] | None:
    if not exchange:
        return None
    out = dict(exchange)
    if isinstance(out.get("headers"), dict):
        out["headers"] = [[k, v] for k, v in out["headers"].items()]
    return out


def _failing_exchange(wire: list[dict[str, Any]]) -> dict[str, Any]:
    for entry in reversed(wire):
        response = entry.get("response") or {}
        if response.get("status", 0) >= 300 or not response:
            return entry
    return wire[-1] if wire else {}


class MatrixRunner:
    def __init__(self, target: Target, cache: Cache, workdir: Path, scenarios: list[str] | None = None,
                 timeout: float = SCENARIO_TIMEOUT, on_result: Callable[[ClientResult, ScenarioResult], None] | None
                 = None, configs: list[str] | None = None):
        self.target = target
        self.cache = cache
        self.workdir = workdir
        self.scenarios = scenarios or list(DEFINITIONS)
        self.timeout = timeout
        self.on_result = on_result
        self.configs = configs
        self.notes: list[str] = []       # what went wrong around the scenarios (setup, cleanup)
        self.redactor = Redactor({target.secret_key, target.alt_secret_key or ""})
        self._kms: KmsKey | None = None
        self.sse_c_key = os.urandom(32)
        self.redactor.add(__import__("base64").b64encode(self.sse_c_key).decode())

    @property
    def kms(self) -> KmsKey:
        if self._kms is None:
            self._kms = KmsKey(self.target)
        return self._kms

    def run(self, adapters: list[Adapter]) -> list[ClientResult]:
        results: list[ClientResult] = []
        for adapter in adapters:
            results.extend(self.run_client(adapter))
        return results

    def run_client(self, adapter: Adapter) -> list[ClientResult]:
        try:
            installation = adapter.install(self.cache)
        except InstallError as exc:
            reason = f"not applicable: could not install {adapter.name} ({exc})"
            result = ClientResult(adapter.name, "not installed", "default", install_error=str(exc))
            for name in self.scenarios:
                scenario = ScenarioResult(name, NA, reason)
                result.scenarios.append(scenario)
                if self.on_result:
                    self.on_result(result, scenario)
            return [result]
        results = []
        for config in adapter.configs:
            if self.configs and config.name not in self.configs:
                continue
            result = ClientResult(adapter.name, installation.version, config.name)
            self.run_config(adapter, installation, config, result)
            results.append(result)
        return results

    def _bucket(self, adapter: Adapter, config: Config) -> tuple[str, str]:
        """A bucket for one client configuration, SSE-C unblocked (BlockedEncryptionTypes NONE) where the endpoint
        knows the setting; (name, problem)."""
        name = f"s3c-{adapter.name}-{config.name}".replace("_", "-").lower()[:40] + "-" + uuid.uuid4().hex[:8]
        s3 = self.target.client()
        try:
            s3.create_bucket(Bucket=name)
        except BOTO_ERRORS as exc:
            return name, f"creating the bucket {name} through botocore failed: {_describe(exc)}"
        try:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]})
        except BOTO_ERRORS as exc:      # an endpoint without the setting does not block SSE-C: the scenario shows
            self.notes.append(f"PutBucketEncryption with BlockedEncryptionTypes on {name}: {_describe(exc)}")
        return name, ""

    def run_config(self, adapter: Adapter, installation: Any, config: Config, result: ClientResult) -> None:
        workdir = self.workdir / f"{adapter.name}-{config.name}"
        workdir.mkdir(parents=True, exist_ok=True)
        payloads = Payloads.make(self.workdir / "payloads", adapter.multipart_size)
        bucket, problem = self._bucket(adapter, config)
        needs_kms = any(n.startswith("sse-kms") for n in self.scenarios)
        kms = self.kms if needs_kms else None
        ctx = RunContext(self.target, bucket, payloads, kms.key_id if kms else None, kms.arn if kms else None,
                         self.sse_c_key, workdir)
        command = adapter.command(installation)
        env = adapter.environment(installation, config)
        with contextlib.ExitStack() as stack:
            proxy = stack.enter_context(RecordingProxy(self.target.endpoint, self.target.ca_file)) \
                if adapter.wire_capture == "proxy" else None
            for name in self.scenarios:
                started = time.monotonic()
                scenario = self.run_scenario(adapter, ctx, name, command, env, problem, proxy)
                scenario.seconds = time.monotonic() - started
                result.scenarios.append(scenario)
                if self.on_result:
                    self.on_result(result, scenario)
        self._cleanup(bucket)

    def run_scenario(self, adapter: Adapter, ctx: RunContext, name: str, command: list[str], env: dict[str, str],
                     problem: str, proxy: RecordingProxy | None = None) -> ScenarioResult:
        if name in adapter.not_applicable:
            return ScenarioResult(name, NA, adapter.not_applicable[name])
        definition = DEFINITIONS[name]
        if problem and name != "create-bucket":
            return ScenarioResult(name, FAIL, problem)
        if name.startswith("sse-kms") and not ctx.kms_key_id:
            return ScenarioResult(name, NA, self.kms.error)
        target = self.target
        payload = {"small": ctx.payloads.small, "large": ctx.payloads.large, "empty": ctx.payloads.empty}.get(
            definition.payload)
        job: dict[str, Any] = {
            "scenario": name, "endpoint": target.endpoint, "region": target.region, "access_key": target.access_key,
            "secret_key": target.secret_key, "ca_file": target.ca_file, "bucket": ctx.bucket,
            "key": f"{name}/{uuid.uuid4().hex[:8]}", "workdir": str(ctx.workdir),
            "payload": str(payload) if payload else None, "kms_key_id": ctx.kms_key_id,
            "sse_c_key": __import__("base64").b64encode(ctx.sse_c_key).decode(),
        }
        try:
            if definition.prepare:
                definition.prepare(ctx, job)
        except CheckFailed as exc:
            return ScenarioResult(name, FAIL, f"preparation: {exc}")
        if proxy is not None:                     # the client talks to the recording proxy
            proxy.take()
            job["endpoint"], job["ca_file"] = proxy.endpoint, proxy.ca_file
        answer, trouble = run_process(command, job, env, self.timeout, ctx.workdir)
        recorded = proxy.take() if proxy is not None else []
        if answer is None:
            return self._with_wire(ScenarioResult(name, FAIL, trouble), recorded)
        wire = (answer.get("wire") or []) + recorded
        if "na" in answer:
            return ScenarioResult(name, NA, str(answer["na"]))
        if "error" in answer:
            return self._with_wire(ScenarioResult(name, FAIL, f"the client failed: {answer['error']}"), wire)
        try:
            detail = definition.check(ctx, job, answer.get("observed") or {}) if definition.check else ""
        except CheckFailed as exc:
            return self._with_wire(ScenarioResult(name, FAIL, str(exc)), wire)
        except Exception as exc:  # noqa: BLE001 - a check's own bug must not crash the matrix
            return self._with_wire(ScenarioResult(name, FAIL, f"check error: {type(exc).__name__}: {exc}"), wire)
        if name == "checksums":
            sent = _sent_checksum(wire, job["key"])
            detail = f"client sent {sent}; {detail}"
        return ScenarioResult(name, PASS, detail)

    def _with_wire(self, result: ScenarioResult, wire: list[dict[str, Any]]) -> ScenarioResult:
        exchange = _failing_exchange(wire)
        result.request = self.redactor.deep(_pairs(exchange.get("request")))
        result.response = self.redactor.deep(_pairs(exchange.get("response")))
        return result

    def _cleanup(self, bucket: str) -> None:
        s3 = self.target.client()
        try:
            listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
            for item in listed:
                s3.delete_object(Bucket=bucket, Key=item["Key"])
            s3.delete_bucket(Bucket=bucket)
        except BOTO_ERRORS as exc:      # best effort: the embedded server goes away anyway
            self.notes.append(f"cleaning up {bucket}: {_describe(exc)}")


def _sent_checksum(wire: list[dict[str, Any]], key: str) -> str:
    """What the client put on the wire for its upload of `key`: a checksum header or trailer, Content-MD5, or
    nothing."""
    from urllib.parse import quote

    name = key.rsplit("/", 1)[-1]
    for entry in wire:
        request = entry.get("request") or {}
        url = str(request.get("url", "")).split("?", 1)[0]
        if request.get("method") != "PUT" or not url.endswith((name, quote(name))):
            continue
        headers = {k.lower(): v for k, v in (request.get("headers") or {}).items()}
        found = [name for name in headers if name.startswith("x-amz-checksum-") and name != "x-amz-checksum-type"]
        trailer = headers.get("x-amz-trailer")
        parts = []
        if trailer:
            parts.append(f"trailer {trailer} ({headers.get('content-encoding', '')}, "
                         f"{headers.get('x-amz-content-sha256', '')})")
        parts.extend(f"header {name}" for name in found)
        if "content-md5" in headers:
            parts.append("Content-MD5")
        payload_hash = headers.get("x-amz-content-sha256", "")
        if len(payload_hash) == 64 and all(c in "0123456789abcdef" for c in payload_hash):
            parts.append("signed payload SHA-256")
        return " + ".join(parts) or "no checksum"
    return "(wire not captured)"
