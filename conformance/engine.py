"""Runs one case: requirements, fixtures, steps with captures and variants, teardown (always)."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any

from botocore import xform_name
from lxml import etree

from . import capabilities, matchers, xmlpath
from .casefile import templating
from .casefile.model import Case, Expect, KmsKeyFixture, KmsStep, ObjectFixture, RequestSpec, Step, When
from .profile import Profile
from .redact import Redactor
from .request import bodies, builder
from .request.integrity import md5_b64
from .request.transport import Transport
from .results import CaseResult, Exchange, Mismatch, Outcome, RequestRecord, StepResult
from .target import Target

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
BLOCK_NONE = "<BlockedEncryptionTypes><EncryptionType>NONE</EncryptionType></BlockedEncryptionTypes>"
MAX_LIST_PAGES = 20


class FixtureError(Exception):
    pass


class KmsResponseProblem(Exception):
    """A KMS answer the runner cannot use (a 2xx that is not a JSON object, CreateKey without KeyMetadata):
    reported as a problem of the endpoint's response, never as the KeyError it would otherwise become."""


def _kms_failures() -> tuple[type[Exception], ...]:
    """What a botocore KMS call raises when the endpoint fails or misbehaves: service errors, transport
    errors, and responses it cannot parse (ResponseParserError is not a BotoCoreError)."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    return (ClientError, BotoCoreError, ResponseParserError, KmsResponseProblem, KeyError, TypeError)


_KMS_FAILURES = _kms_failures()
_KMS_CLIENT_FAILURES: tuple[type[Exception], ...] = (ValueError, *_KMS_FAILURES)


def bucket_name(prefix: str) -> str:
    """`<prefix>-<random>`: lowercase, DNS-safe, <= 63 chars; the random part makes it unique across
    processes (xdist workers) and threads."""
    prefix = re.sub(r"[^a-z0-9-]", "-", prefix.lower()).strip("-")[:40] or "s3c"
    return f"{prefix}-{secrets.token_hex(6)}{os.getpid() % 1000:03d}"


@dataclass
class _CaseState:
    case: Case
    variables: dict[str, Any]
    buckets: list[str] = field(default_factory=list)
    alt_buckets: list[str] = field(default_factory=list)     # owned (created, deleted) by the second account
    kms_keys: list[dict[str, str]] = field(default_factory=list)
    objects: dict[str, bytes] = field(default_factory=dict)
    step_payloads: dict[str, bytes] = field(default_factory=dict)
    setup: list[StepResult] = field(default_factory=list)
    kms_baseline: dict[str, dict[str, int]] | None = None
    posted: bool = False        # a POST was sent: only a POST (CreateMultipartUpload) can leave an upload behind


class Engine:
    def __init__(self, target: Target, profile: Profile, transport: Transport | None = None,
                 redactor: Redactor | None = None):
        self.target = target
        self.profile = profile
        self.transport = transport or Transport()
        self.redactor = redactor or Redactor()
        self.redactor.add(target.main.secret_key, *( [target.alt.secret_key] if target.alt else []))
        self._local = threading.local()

    # ------------------------------------------------------------------ public
    def run_case(self, case: Case) -> CaseResult:
        started = time.monotonic()
        result = CaseResult(case.id, case.title, case.operation, case.file, case.line, Outcome.PASSED,
                            tags=list(case.tags), requires=list(case.requires), source=dict(case.source))
        try:
            missing = [c for c in case.implied_requirements() if not self.profile.has(c)]
            if missing:
                na_reason = capabilities.na_reason(self.profile.name, missing, self.profile.unavailable)
            else:
                state = _CaseState(case, self._base_variables())
        except Exception:  # noqa: BLE001 - a runner bug checking requirements is this case's `error`, not a traceback
            result.outcome = Outcome.ERROR
            result.reason = "runner error:\n" + traceback.format_exc(limit=8)
            result.duration = time.monotonic() - started
            return result
        if missing:
            result.outcome = Outcome.NA
            result.reason = na_reason
            return result
        try:
            try:
                self._setup(state)
            except (FixtureError, templating.TemplateError, builder.RequestBuildError) as exc:
                result.outcome, result.reason = Outcome.FAILED, f"setup failed: {exc}"
            else:
                self._run_steps(state, result)
        except Exception:  # noqa: BLE001 - a runner bug must not end the run: it becomes an `error` result
            result.outcome = Outcome.ERROR
            result.reason = "runner error:\n" + traceback.format_exc(limit=8)
        finally:
            result.setup = state.setup
            try:
                result.teardown_problems = self._teardown(state)
            except Exception:  # noqa: BLE001 - same for teardown: reported with the case
                result.teardown_problems = ["teardown crashed:\n" + traceback.format_exc(limit=5)]
        if result.outcome is Outcome.FAILED:
            reason = self.profile.deviation_for(case.id)
            if reason:
                result.outcome = Outcome.DEVIATION
                result.reason = f"known deviation: {reason}; {result.reason}"
        result.duration = time.monotonic() - started
        return result

    # ------------------------------------------------------------------ variables
    def _base_variables(self) -> dict[str, Any]:
        ssec: dict[str, dict[str, str]] = {}
        for name, size in (("key1", 32), ("key2", 32), ("key3", 32), ("short", 16)):
            raw = secrets.token_bytes(size)
            key_b64 = base64.b64encode(raw).decode()
            self.redactor.add(key_b64)
            ssec[name] = {"key": key_b64, "md5": md5_b64(raw)}
        variables: dict[str, Any] = dict(self.profile.vars)
        variables.update({
            "vars": dict(self.profile.vars), "region": self.target.region, "profile": self.profile.name,
            "account_id": self.target.account_id, "alt_account_id": self.target.alt_account_id,
            "endpoint": self.target.endpoint, "ssec": ssec, "kms": {}, "objects": {}, "steps": {},
        })
        return variables

    def _render(self, state: _CaseState, value: Any, where: str) -> Any:
        return templating.render(value, templating.Variables(state.variables), where)

    def _build_context(self, state: _CaseState) -> builder.BuildContext:
        return builder.BuildContext(
            endpoint=self.target.endpoint, region=self.target.region, main=self.target.main, alt=self.target.alt,
            plain_endpoint=self.target.plain_endpoint,
            addressing=self.target.addressing or self.profile.addressing, operation=state.case.operation,
            objects=state.objects)

    # ------------------------------------------------------------------ HTTP
    def _send(self, spec: RequestSpec, state: _CaseState) -> tuple[Exchange, bytes]:
        """Sends a rendered spec (templating happened once, before)."""
        outgoing = builder.build(spec, self._build_context(state))
        if outgoing.method == "POST":
            state.posted = True
        return self.transport.send(outgoing.method, outgoing.url, outgoing.headers, outgoing.body), outgoing.payload

    def _fixture_call(self, state: _CaseState, label: str, spec: RequestSpec,
                      ok: tuple[int, ...] = (200, 204)) -> Exchange:
        exchange, _ = self._send(spec, state)
        step = StepResult(f"setup: {label}", exchange, expected={"status": list(ok)})
        if exchange.response is None:
            step.mismatches.append(Mismatch("response", "an HTTP response", exchange.error))
        elif exchange.response.status not in ok:
            step.mismatches.append(Mismatch("status", list(ok), exchange.response.status))
        state.setup.append(step)
        if step.mismatches:
            raise FixtureError(f"{label}: {step.mismatches[0].describe()}")
        return exchange

    # ------------------------------------------------------------------ fixtures
    def _setup(self, state: _CaseState) -> None:
        fixtures = state.case.fixtures
        names = []
        if fixtures.bucket:
            names.append(bucket_name(self.target.bucket_prefix))
            for index in range(fixtures.extra_buckets):
                names.append(f"{names[0][:60]}-{index + 2}")
        elif fixtures.extra_buckets:
            raise FixtureError("extra_buckets needs bucket: true")
        body = "" if self.target.region == "us-east-1" else (
            f'<CreateBucketConfiguration xmlns="{S3_NS}"><LocationConstraint>{self.target.region}'
            "</LocationConstraint></CreateBucketConfiguration>")
        for index, name in enumerate(names):
            state.variables["bucket" if index == 0 else f"bucket{index + 1}"] = name
            self._fixture_call(state, f"create bucket {name}",
                               RequestSpec("PUT", bucket=name, body={"xml": body} if body else None))
            state.buckets.append(name)
        if fixtures.alt_bucket:
            name = f"{bucket_name(self.target.bucket_prefix)[:59]}-alt"
            state.variables["alt_bucket"] = name
            self._fixture_call(state, f"create bucket {name} as the second account",
                               RequestSpec("PUT", bucket=name, body={"xml": body} if body else None, auth="alt"))
            state.alt_buckets.append(name)
        bucket = state.variables.get("bucket")
        if fixtures.kms_keys:
            self._create_kms_keys(state, fixtures.kms_keys)
        if bucket and fixtures.versioning:
            self._fixture_call(state, "enable versioning", RequestSpec(
                "PUT", bucket=bucket, query={"versioning": ""}, content_md5="auto",
                body={"xml": f'<VersioningConfiguration xmlns="{S3_NS}"><Status>{fixtures.versioning}'
                             "</Status></VersioningConfiguration>"}))
        encryption = fixtures.encryption
        if encryption is not None:
            encryption = self._render(state, encryption, f"case {state.case.id} fixtures.encryption")
        if fixtures.sse_c == "allow" and self.profile.has("sse-c-blocked-by-default"):
            encryption = unblock_sse_c(encryption)
        if bucket and encryption:
            self._fixture_call(state, "PutBucketEncryption", RequestSpec(
                "PUT", bucket=bucket, query={"encryption": ""}, content_md5="auto", body={"xml": encryption}))
        for obj in fixtures.objects:
            self._put_object(state, obj)

    def _put_object(self, state: _CaseState, obj: ObjectFixture) -> None:
        where = f"case {state.case.id} fixture object {obj.name}"
        # textual bodies hold placeholders; generated and base64 ones are taken literally
        textual = isinstance(obj.body, str) or (isinstance(obj.body, dict) and {"text", "xml", "base64"} & set(obj.body))
        spec = self._render(state, RequestSpec("PUT", bucket=obj.bucket if obj.bucket is not None else "${bucket}", key=obj.key,
                                                headers=obj.headers, body=obj.body if textual else None), where)
        try:
            data = bodies.body_bytes(spec.body if textual else obj.body, state.objects)
        except bodies.BodyError as exc:
            raise FixtureError(f"object {obj.name}: {exc}") from None
        spec = replace(spec, body={"base64": base64.b64encode(data).decode()}, content_md5="auto")
        exchange = self._fixture_call(state, f"put object {obj.name} ({obj.key})", spec, ok=(200,))
        state.objects[obj.name] = data
        assert exchange.response is not None
        state.variables["objects"][obj.name] = {
            "key": spec.key, "size": len(data), "md5": hashlib.md5(data).hexdigest(),
            "md5_b64": md5_b64(data),
            "etag": exchange.response.header("ETag") or "",
            "version_id": exchange.response.header("x-amz-version-id") or ""}

    # ------------------------------------------------------------------ KMS
    def _kms(self, account: str = "main") -> Any:
        """The runner's KMS client (per thread and account): botocore signs and parses; the request goes
        through the run's Transport (its TLS settings, timeouts and response deadline), see `_kms_send`."""
        clients = getattr(self._local, "kms", None)
        if clients is None:
            clients = self._local.kms = {}
        client = clients.get(account)
        if client is None:
            import botocore.session
            from botocore.config import Config

            keys = self.target.main if account == "main" else self.target.alt
            if keys is None:
                raise ValueError(f"no credentials for the {account} account")
            session = botocore.session.get_session()
            client = session.create_client(
                "kms", region_name=self.target.region,
                endpoint_url=self.target.kms_endpoint or self.target.endpoint,
                aws_access_key_id=keys.access_key, aws_secret_access_key=keys.secret_key,
                verify=self.target.ca_file if self.target.ca_file else True,
                # botocore's retries.max_attempts counts retries after the first call: with it a call the
                # deadline cut off was sent again, doubling the time a hostile endpoint held the run
                config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                              connect_timeout=self.transport.config.connect_timeout,
                              read_timeout=self.transport.config.read_timeout))
            client.meta.events.register("before-send.kms", self._kms_send)
            client = clients[account] = _KmsClient(client, self._local)
        return client

    def _kms_send(self, request: Any, **_: Any) -> Any:
        """botocore's before-send hook: sends the signed KMS request with the run's Transport and hands
        botocore the response; the exchange is kept for the step that made the call."""
        from botocore.awsrequest import AWSResponse
        from botocore.exceptions import HTTPClientError

        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = [(str(name), value.decode("latin-1") if isinstance(value, bytes) else str(value))
                   for name, value in request.headers.items()]
        exchange = self.transport.send(request.method, request.url, headers, body or b"",
                                       max_body=self.transport.config.max_kms_body)
        self._local.kms_exchange = exchange
        if exchange.response is None:
            raise HTTPClientError(error=exchange.error)
        _check_kms_json(request.headers.get("X-Amz-Target"), exchange)
        return AWSResponse(request.url, exchange.response.status, exchange.response.headers,
                           _Raw(exchange.response.body))

    def _create_kms_keys(self, state: _CaseState, specs: tuple[KmsKeyFixture, ...]) -> None:
        """Each key is created (and owned) by its fixture's account, main or alt (the second account), through
        that account's KMS client; its alias lives in that account too."""
        base = state.variables.get("bucket") or bucket_name(self.target.bucket_prefix)
        for spec in specs:
            name = spec.name
            try:
                kms = self._kms(spec.account)
            except _KMS_CLIENT_FAILURES as exc:          # e.g. an unusable --kms-endpoint URL, no alt keys
                raise FixtureError(f"KMS client: {type(exc).__name__}: {exc}") from None
            try:
                key = _key_metadata(kms.create_key(Description=f"s3-conformance {state.case.id} {name}"))
                record = {"id": key["KeyId"], "arn": key["Arn"], "alias": f"alias/{base}-{name}", "name": name,
                          "account": spec.account}
                state.kms_keys.append(record)
                kms.create_alias(AliasName=record["alias"], TargetKeyId=key["KeyId"])
                record["alias_arn"] = key["Arn"].split(":key/")[0] + ":" + record["alias"]
                state_wanted = spec.state
                if state_wanted == "disabled":
                    kms.disable_key(KeyId=key["KeyId"])
                elif state_wanted == "pending-deletion":
                    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
                    record["pending"] = "yes"
            except KmsResponseProblem as exc:
                raise FixtureError(f"KMS key {name}: {exc}") from None
            except _KMS_FAILURES as exc:
                raise FixtureError(f"KMS key {name}: {type(exc).__name__}: {exc}") from None
            state.variables["kms"][name] = {k: v for k, v in record.items() if k not in ("pending", "name", "account")}

    def _metrics_document(self) -> dict[str, Any] | None:
        if not self.target.metrics_url:
            return None
        exchange = self.transport.send("GET", self.target.metrics_url, [], b"")
        if exchange.response is None or exchange.response.status != 200:
            return None
        try:
            data = json.loads(exchange.response.body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _kms_metrics(self) -> dict[str, dict[str, int]] | None:
        data = self._metrics_document()
        if data is None:
            return None
        counts = data.get("kms", {})
        return counts if isinstance(counts, dict) else None

    def _kms_contexts_fn(self, state: _CaseState) -> Any:
        """(key, operation) -> the encryption contexts of that key's `operation` calls made since the case began
        (the hook numbers each call as its counter does; those after the baseline count are the case's), or why
        they cannot be known."""
        def contexts(key: str, operation: str) -> list[Any] | str:
            data = self._metrics_document()
            if data is None or state.kms_baseline is None:
                return "the KMS call metrics could not be read"
            seen = data.get("kms_contexts")
            if not isinstance(seen, dict):
                return "the KMS call metrics report no encryption contexts (no kms_contexts)"
            arn = _metrics_key(seen, key)
            if arn is None:
                return []
            before = _metrics_key(state.kms_baseline, key)
            start = int(state.kms_baseline.get(before, {}).get(operation, 0)) if before else 0
            calls = (seen.get(arn) or {}).get(operation) or []
            return [call.get("context") for call in calls if isinstance(call, dict)
                    and isinstance(call.get("call"), int) and call["call"] > start]
        return contexts

    def _kms_delta_fn(self, state: _CaseState) -> Any:
        def delta(key: str, operation: str) -> int | None:
            now = self._kms_metrics()
            if now is None or state.kms_baseline is None:
                return None
            arn = _metrics_key(now, key) or _metrics_key(state.kms_baseline, key)
            if arn is None:
                return 0
            return int(now.get(arn, {}).get(operation, 0)) - int(state.kms_baseline.get(arn, {}).get(operation, 0))
        return delta

    # ------------------------------------------------------------------ steps
    def _choose_expect(self, step: Step) -> tuple[Expect, str | None]:
        for index, variant in enumerate(step.variants):
            if self._holds(variant.when):
                return variant.expect, f"variant {index + 1} ({variant.when.describe()})"
        return step.expect, None

    def _holds(self, when: When) -> bool:
        def names(value: str | tuple[str, ...]) -> tuple[str, ...]:
            return (value,) if isinstance(value, str) else value
        ok = True
        if when.has is not None:
            ok &= all(self.profile.has(c) for c in names(when.has))
        if when.lacks is not None:
            ok &= not any(self.profile.has(c) for c in names(when.lacks))
        if when.profile is not None:
            ok &= self.profile.name in names(when.profile)
        return ok

    def _run_steps(self, state: _CaseState, result: CaseResult) -> None:
        """Steps in order. A step whose mismatches are all unproven is a warning and the case goes on; the
        first proven mismatch fails the case and ends it."""
        case = state.case
        if case.uses_kms_calls():
            state.kms_baseline = self._kms_metrics()
        ctx = matchers.MatchContext(state.objects, state.step_payloads, self._kms_delta_fn(state),
                                    self._kms_contexts_fn(state))
        warned: StepResult | None = None
        for step in case.steps:
            name = step.name
            where = f"case {case.id} step {name}"
            expect, variant = self._choose_expect(step)
            step_result = StepResult(name, variant=variant)
            result.steps.append(step_result)
            payload = b""
            try:
                expect = self._render(state, expect, where)
                step_result.expected = expect.to_dict()
                if step.kms is not None:
                    exchange = self._kms_step(state, step.kms)
                else:
                    assert step.request is not None
                    spec = self._render(state, step.request, where)
                    exchange, payload = self._send(spec, state)
            except (templating.TemplateError, builder.RequestBuildError, FixtureError) as exc:
                # the case (or the profile it runs under) asks for something that cannot be sent: the
                # case fails with the step named; `error` stays reserved for runner bugs
                step_result.error = str(exc)
                result.outcome, result.reason = Outcome.FAILED, f"step {name}: cannot build the request: {exc}"
                return
            step_result.exchange = exchange
            state.step_payloads[name] = payload
            mismatches = expectation_mismatches(expect, exchange, ctx, kms=step.kms is not None)
            captured: dict[str, str] = {}
            if exchange.response is not None:
                for capture in step.captures:
                    value = matchers.capture(capture, exchange.response)
                    if value is None:
                        mismatches.append(Mismatch(f"capture {capture.name}",
                                                   f"a value from {capture.describe()}", None, check="capture"))
                    else:
                        captured[capture.name] = value
            step_result.mismatches = matchers.annotate(mismatches, expect, case.evidence)
            state.variables["steps"][name] = captured
            if step.kms is not None and exchange.response is not None and exchange.response.status == 200:
                self._note_key_state(state, step.kms)
            if step_result.failures:
                result.outcome = Outcome.FAILED
                first = step_result.failures[0]
                result.reason = f"step {name}: {first.describe()}" if exchange.response is not None else \
                    f"step {name}: no response: {exchange.error}"
                return
            if step_result.warnings and warned is None:
                warned = step_result
        if warned is not None:
            first = warned.warnings[0]
            count = sum(len(s.warnings) for s in result.steps)
            result.outcome = Outcome.WARNING
            result.reason = (f"step {warned.name}: unproven expectation did not hold: {first.describe()}"
                             + (f" (and {count - 1} more)" if count > 1 else ""))

    def _kms_step(self, state: _CaseState, spec: KmsStep) -> Exchange:
        """One KMS call of a `kms:` step through the runner's KMS client; the exchange it made."""
        record = next((k for k in state.kms_keys if k.get("name") == spec.key), None)
        if record is None:
            raise FixtureError(f"kms step: {spec.key!r} is not a KMS key of this case (fixtures.kms_keys)")
        try:
            client = self._kms(spec.account)
        except _KMS_CLIENT_FAILURES as exc:
            raise FixtureError(f"KMS client: {type(exc).__name__}: {exc}") from None
        params: dict[str, Any] = {"KeyId": record["id"]}
        if spec.operation == "ScheduleKeyDeletion":
            params["PendingWindowInDays"] = 7
        self._local.kms_exchange = None
        problem = ""
        try:
            getattr(client, xform_name(spec.operation))(**params)
        except _KMS_FAILURES as exc:         # an error answer is data for the matchers
            problem = f"{type(exc).__name__}: {exc}"
        exchange: Exchange | None = self._local.kms_exchange
        if exchange is None:                 # botocore gave up before sending (e.g. parameter validation)
            return Exchange(RequestRecord("POST", self.target.kms_endpoint or self.target.endpoint, []), None,
                            error=f"KMS {spec.operation} not sent: {problem}")
        return exchange

    @staticmethod
    def _note_key_state(state: _CaseState, spec: KmsStep) -> None:
        """Keeps teardown right: a key a step scheduled for deletion is not scheduled again."""
        record = next((k for k in state.kms_keys if k.get("name") == spec.key), None)
        if record is None:
            return
        if spec.operation == "ScheduleKeyDeletion":
            record["pending"] = "yes"
        elif spec.operation == "CancelKeyDeletion":
            record.pop("pending", None)

    # ------------------------------------------------------------------ teardown
    def _teardown(self, state: _CaseState) -> list[str]:
        problems: list[str] = []
        for bucket in reversed(state.buckets):
            problems += self._empty_and_delete(state, bucket)
        for bucket in state.alt_buckets:
            problems += self._empty_and_delete(state, bucket, auth="alt")
        if state.kms_keys:
            calls: list[tuple[str, Any]] = []
            for key in state.kms_keys:
                kms = self._kms(key.get("account", "main"))      # its owner's client (created it before)
                calls.append((f"delete alias {key['alias']}",
                              lambda key=key, kms=kms: kms.delete_alias(AliasName=key["alias"])))
                if not key.get("pending"):
                    calls.append((f"schedule deletion of KMS key {key['id']}",
                                  lambda key=key, kms=kms: kms.schedule_key_deletion(KeyId=key["id"],
                                                                                     PendingWindowInDays=7)))
            for index, (what, call) in enumerate(calls):
                try:
                    call()
                except _KMS_FAILURES as exc:
                    problems.append(f"{what}: {exc}")
                    exchange: Exchange | None = getattr(self._local, "kms_exchange", None)
                    if exchange is not None and exchange.response is None and "timeout" in (exchange.error or ""):
                        # the KMS endpoint did not answer in time: one deadline per teardown, not one per call
                        problems += [f"{rest}: not attempted (the KMS endpoint timed out)" for rest, _ in
                                     calls[index + 1:]]
                        break
        return problems

    def _call(self, state: _CaseState, spec: RequestSpec) -> Exchange:
        exchange, _ = self._send(spec, state)
        return exchange

    def _empty_and_delete(self, state: _CaseState, bucket: str, auth: str = "main") -> list[str]:
        """Every upload, version and delete marker, then the bucket, as the account that owns it (`auth`)."""
        problems: list[str] = []
        # multipart uploads: only CreateMultipartUpload (a POST) makes one, so a case that sent no POST has none
        # to abort (one listing saved per bucket: the teardown is a large share of a run's requests)
        for _ in range(MAX_LIST_PAGES if state.posted else 0):
            listing = self._call(state, RequestSpec("GET", bucket=bucket, query={"uploads": ""}, auth=auth))
            root = _xml(listing)
            uploads = [] if root is None else [
                (_child(u, "Key"), _child(u, "UploadId"))
                for u in xmlpath.find_all(root, "Upload")]
            for key, upload_id in uploads:
                self._call(state, RequestSpec("DELETE", bucket=bucket, key=key, query={"uploadId": upload_id}, auth=auth))
            if root is None or _child(root, "IsTruncated") != "true" or not uploads:
                break
        # every version and delete marker (falls back to plain listing when versions are unsupported)
        for _ in range(MAX_LIST_PAGES):
            listing = self._call(state, RequestSpec("GET", bucket=bucket, query={"versions": ""}, auth=auth))
            root = _xml(listing)
            entries: list[tuple[str, str | None]] = []
            if root is not None and xmlpath.local(root.tag) == "ListVersionsResult":
                for node in xmlpath.find_all(root, "Version") + xmlpath.find_all(root, "DeleteMarker"):
                    entries.append((_child(node, "Key"), _child(node, "VersionId")))
            else:
                plain = self._call(state, RequestSpec("GET", bucket=bucket, query={"list-type": "2"}, auth=auth))
                proot = _xml(plain)
                entries = [] if proot is None else [(_child(c, "Key"), None) for c in xmlpath.find_all(proot, "Contents")]
            all_deleted = True
            for key, version in entries:
                query = {"versionId": version} if version and version != "null" else {}
                gone = self._call(state, RequestSpec("DELETE", bucket=bucket, key=key, query=query, auth=auth))
                all_deleted = all_deleted and gone.response is not None and 200 <= gone.response.status < 300
            if not entries:
                break
            if (all_deleted and root is not None and xmlpath.local(root.tag) == "ListVersionsResult"
                    and _child(root, "IsTruncated") != "true"):
                break       # a complete version listing, every entry deleted: listing again would find nothing
        deleted = self._call(state, RequestSpec("DELETE", bucket=bucket, auth=auth))
        if deleted.response is None:
            problems.append(f"delete bucket {bucket}: {deleted.error}")
        elif deleted.response.status not in (200, 204, 404):
            problems.append(f"delete bucket {bucket}: HTTP {deleted.response.status} "
                            f"{(matchers.error_fields(deleted.response) or {}).get('Code', '')}")
        return problems


def expectation_mismatches(expect: Expect, exchange: Exchange, ctx: matchers.MatchContext,
                           kms: bool = False) -> list[Mismatch]:
    """Without `status`, an expectation with `error` wants a 4xx/5xx and one without wants a 2xx: a step
    never checks nothing. `kms`: the response is a KMS one (JSON errors)."""
    mismatches = matchers.check(expect, exchange, ctx, json_errors=kms)
    if exchange.response is not None and expect.status is None:
        status = exchange.response.status
        if expect.error is not None and status < 400:
            mismatches.insert(0, Mismatch("status", "an error status (>= 400)", status, check="status"))
        elif expect.error is None and not 200 <= status < 300:
            mismatches.insert(0, Mismatch("status", "a success status (2xx)", status, check="status"))
    return mismatches


def _kms_operation(target: Any) -> str:
    text = target.decode("latin-1") if isinstance(target, bytes) else str(target or "")
    return text.rpartition(".")[2] or "call"


def _check_kms_json(target: Any, exchange: Exchange) -> None:
    """A 2xx KMS answer carries a JSON object, or nothing (KMS's CreateAlias: an empty body; moto's: `null`);
    anything else is the endpoint's response problem (botocore would parse it into {"message": body} and a later
    lookup would fail)."""
    response = exchange.response
    if response is None or not 200 <= response.status < 300 or not response.body.strip():
        return
    try:
        parsed = json.loads(response.body)
    except ValueError:
        parsed = ()
    if parsed is not None and not isinstance(parsed, dict):
        raise KmsResponseProblem(f"KMS {_kms_operation(target)}: response problem: HTTP {response.status} body is "
                                 f"not a JSON object: {response.body[:80]!r}")


def _key_metadata(answer: Any) -> dict[str, Any]:
    """CreateKey's KeyMetadata with a KeyId and an Arn (strings), or a KmsResponseProblem naming what is missing."""
    metadata = answer.get("KeyMetadata") if isinstance(answer, dict) else None
    if not isinstance(metadata, dict):
        raise KmsResponseProblem("KMS CreateKey: response problem: no KeyMetadata object in the answer")
    for name in ("KeyId", "Arn"):
        if not isinstance(metadata.get(name), str) or not metadata[name]:
            raise KmsResponseProblem(f"KMS CreateKey: response problem: no KeyMetadata.{name} in the answer")
    return metadata


class _KmsClient:
    """A botocore KMS client whose calls turn an answer botocore cannot parse into its shapes (an AttributeError
    or TypeError deep in its parser, e.g. for `{"KeyMetadata": "x"}`) into a KmsResponseProblem."""

    def __init__(self, client: Any, local: threading.local) -> None:
        self._client = client
        self._local = local

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method) or name.startswith("_") or name in ("meta", "exceptions"):
            return method

        def call(**params: Any) -> Any:
            self._local.kms_exchange = None
            try:
                return method(**params)
            except (AttributeError, TypeError, ValueError, IndexError, KeyError) as exc:
                exchange: Exchange | None = getattr(self._local, "kms_exchange", None)
                if exchange is None or exchange.response is None:
                    raise
                operation = _kms_operation(dict(exchange.request.headers).get("X-Amz-Target"))
                raise KmsResponseProblem(f"KMS {operation}: response problem: HTTP {exchange.response.status} answer "
                                         f"does not fit the operation's shape ({type(exc).__name__}: {exc})") from None
        return call


class _Raw:
    """The raw body botocore's AWSResponse reads (`stream()`)."""

    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def unblock_sse_c(encryption: str | None) -> str:
    """Add BlockedEncryptionTypes NONE to every Rule of the configuration (or to a default AES256 rule)."""
    if not encryption:
        return (f'<ServerSideEncryptionConfiguration xmlns="{S3_NS}"><Rule><ApplyServerSideEncryptionByDefault>'
                "<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
                f"{BLOCK_NONE}</Rule></ServerSideEncryptionConfiguration>")
    root = xmlpath.parse(encryption.encode())
    if root is None:
        return encryption          # not XML: sent as written, the case expects what it expects
    for rule in xmlpath.find_all(root, "Rule"):
        if any(xmlpath.local(child.tag) == "BlockedEncryptionTypes" for child in rule):
            continue
        prefix = f"{{{etree.QName(rule).namespace}}}" if etree.QName(rule).namespace else ""
        blocked = etree.SubElement(rule, f"{prefix}BlockedEncryptionTypes")
        etree.SubElement(blocked, f"{prefix}EncryptionType").text = "NONE"
    return etree.tostring(root, encoding="unicode")


def _metrics_key(metrics: dict[str, Any], key: str) -> str | None:
    if key in metrics:
        return key
    for arn in metrics:
        if arn.endswith((f"/{key}", f":{key}")):
            return arn
    return None


def _xml(exchange: Exchange) -> etree._Element | None:
    if exchange.response is None or exchange.response.status != 200:
        return None
    return xmlpath.parse(exchange.response.body)


def _child(node: etree._Element, name: str) -> str:
    found = xmlpath.find_all(node, name)
    return xmlpath.text_of(found[0]) if found else ""
