"""The typed case model: frozen dataclasses built once from a schema-checked (and semantically checked) case,
each carrying the line it came from. Everything downstream (engine, request builder, matchers, coverage,
selection, reports) reads these, never the YAML mappings.

Strings may still hold `${...}` placeholders: `templating.render` renders a whole model object (every field
except those marked `TEMPLATE_OFF`) into a new one, once, right before it is used."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

LineOf = Callable[[tuple[Any, ...]], int]
TEMPLATE_OFF = {"template": False}          # field metadata: never rendered (locations, names, evidence ids)


def _line() -> Any:
    return field(default=0, metadata=TEMPLATE_OFF, compare=False, repr=False)


def _no_lines(path: tuple[Any, ...]) -> int:
    return 0


@dataclass
class VarRef:
    """A `${name}` that is not built in: a profile variable (`vars.` prefix removed)."""
    name: str
    path: tuple[Any, ...]
    where: str
    line: int = 0



# ---------------------------------------------------------------------------------------------------- request

@dataclass(frozen=True)
class Checksum:
    algorithm: str
    value: str = "auto"                     # auto | wrong | malformed


@dataclass(frozen=True)
class Form:
    """POST Object (browser upload): form fields, the file part (a body spec) and the policy."""
    fields: Mapping[str, Any]
    file: Any = None
    policy: Any = "auto"                    # "auto" | "none" | {"conditions": [...], "expiration": ...}


@dataclass(frozen=True)
class Signing:
    """A request's `signing:` block: deliberate deviations from a correct signature, for negative auth cases.
    Every field unset = sign normally."""
    time_offset: int = 0                    # seconds added to the signing time (negative: in the past)
    expires: str | None = None              # raw X-Amz-Expires (presigned) / Expires offset in seconds (presigned-v2)
    scope_region: str | None = None         # credential scope overrides (the signature is computed with them)
    scope_service: str | None = None
    scope_terminal: str | None = None
    scope_date_offset_days: int = 0         # credential scope date, in days from the signing date
    access_key: str | None = None           # "unknown": a generated access key id no account has
    unsigned_headers: Mapping[str, Any] = field(default_factory=dict)   # added after signing, not in SignedHeaders
    changed_headers: Mapping[str, Any] = field(default_factory=dict)    # signed, then sent with this value
    sign_host: bool = True                  # False: host left out of SignedHeaders
    corrupt_chunk: int | str | None = None  # aws-chunked: chunk N (1-based) or "final" gets a wrong signature
    corrupt_trailer: bool = False           # aws-chunked: a wrong x-amz-trailer-signature
    sigv2_resource: str | None = None       # SigV2: the resource signed instead of the request's own
    policy_expires_in: int | None = None    # POST policy expiration, seconds from now (negative: expired)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Signing:
        scope = raw.get("scope") or {}
        expires = raw.get("expires")
        return cls(
            time_offset=raw.get("time_offset", 0), expires=None if expires is None else str(expires),
            scope_region=scope.get("region"), scope_service=scope.get("service"),
            scope_terminal=scope.get("terminal"), scope_date_offset_days=scope.get("date_offset_days", 0),
            access_key=raw.get("access_key"), unsigned_headers=dict(raw.get("unsigned_headers") or {}),
            changed_headers=dict(raw.get("changed_headers") or {}), sign_host=raw.get("sign_host", True),
            corrupt_chunk=raw.get("corrupt_chunk"), corrupt_trailer=raw.get("corrupt_trailer", False),
            sigv2_resource=raw.get("sigv2_resource"), policy_expires_in=raw.get("policy_expires_in"))


SSE_C_KEY_PREFIXES = ("x-amz-server-side-encryption-customer-", "x-amz-copy-source-server-side-encryption-customer-")


@dataclass(frozen=True)
class RequestSpec:
    """A `request:`. `body` is a body spec (`bodies.body_bytes`); a header whose value is None is removed
    from what the builder would add."""
    method: str
    bucket: str | None = None
    key: str | None = None
    query: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, Any] = field(default_factory=dict)
    body: Any = None
    content_md5: str | None = None          # None: the builder decides from the operation
    checksum: Checksum | None = None
    payload: str = "signed"
    chunk_size: int | None = None
    auth: str = "main"
    presign_expires: int = 3600
    addressing: str | None = None           # None: the target's / profile's addressing
    scheme: str = "default"
    form: Form | None = None
    signing: Signing | None = None
    line: int = _line()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], line: int = 0) -> RequestSpec:
        checksum = raw.get("checksum")
        form = raw.get("form")
        return cls(
            method=raw["method"], bucket=raw.get("bucket"), key=raw.get("key"), query=dict(raw.get("query") or {}),
            headers=dict(raw.get("headers") or {}), body=raw.get("body"), content_md5=raw.get("content_md5"),
            checksum=Checksum(checksum["algorithm"], checksum.get("value", "auto")) if checksum else None,
            payload=raw.get("payload", "signed"), chunk_size=raw.get("chunk_size"), auth=raw.get("auth", "main"),
            presign_expires=raw.get("presign_expires", 3600), addressing=raw.get("addressing"),
            scheme=raw.get("scheme", "default"),
            form=Form(dict(form["fields"]), form.get("file"), form.get("policy", "auto")) if form is not None else None,
            signing=Signing.from_dict(raw["signing"]) if raw.get("signing") else None,
            line=line)

    def header_names(self) -> set[str]:
        """Lower-case names of the headers sent (a None value removes a header: not sent)."""
        return {str(name).lower() for name, value in self.headers.items() if value is not None}


# ---------------------------------------------------------------------------------------------------- expect

@dataclass(frozen=True)
class ErrorExpect:
    code: str | None = None
    message: str | None = None
    message_match: str | None = None
    fields: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class HeadersExpect:
    equal: Mapping[str, Any] | None = None
    match: Mapping[str, str] | None = None
    present: tuple[str, ...] | None = None
    absent: tuple[str, ...] | None = None


@dataclass(frozen=True)
class XmlExpect:
    path: str
    equal: Any = None                       # a scalar
    match: str | None = None
    absent: bool | None = None
    count: int | None = None


@dataclass(frozen=True)
class SameAs:
    object: str | None = None               # a fixture object's bytes
    step: str | None = None                 # the payload an earlier step sent


@dataclass(frozen=True)
class BodyExpect:
    same_as: SameAs | None = None
    range: tuple[int, int] | None = None    # first and last byte of same_as
    empty: bool | None = None
    text: str | None = None


@dataclass(frozen=True)
class KmsCalls:
    key: str
    calls: Mapping[str, Any] = field(default_factory=dict)    # operation -> count or {min, max, equal}


@dataclass(frozen=True)
class ContextExpect:
    """`encryption_context:` the base64 JSON encryption context of a response header, decoded and compared."""
    header: str = "x-amz-server-side-encryption-context"
    equal: Mapping[str, str] | None = None          # exactly these pairs
    contains: Mapping[str, str] | None = None       # at least these pairs
    lacks: tuple[str, ...] | None = None            # none of these keys
    if_present: bool = False                        # an absent header passes

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ContextExpect:
        return cls(raw.get("header", cls.header), dict(raw["equal"]) if "equal" in raw else None,
                   dict(raw["contains"]) if "contains" in raw else None,
                   tuple(raw["lacks"]) if "lacks" in raw else None, bool(raw.get("if_present", False)))

    def check_names(self) -> set[str]:
        """`encryption_context` (the header is there and decodes) and `encryption_context.<key>` per pair."""
        names = {"encryption_context"}
        for section in (self.equal, self.contains, self.lacks):
            names |= {f"encryption_context.{key}" for key in section or ()}
        return names


@dataclass(frozen=True)
class KmsContextExpect:
    """`kms_context:` the encryption contexts of the endpoint's KMS calls on a key since the case began (the KMS
    call metrics hook), compared pair by pair like `encryption_context`; at least one such call must exist."""
    key: str
    operation: str = "GenerateDataKey"
    equal: Mapping[str, str] | None = None
    contains: Mapping[str, str] | None = None
    lacks: tuple[str, ...] | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> KmsContextExpect:
        return cls(raw["key"], raw.get("operation", "GenerateDataKey"),
                   dict(raw["equal"]) if "equal" in raw else None,
                   dict(raw["contains"]) if "contains" in raw else None,
                   tuple(raw["lacks"]) if "lacks" in raw else None)

    def check_names(self) -> set[str]:
        """`kms_context` (such calls were made, the metrics show them) and `kms_context.<key>` per pair."""
        names = {"kms_context"}
        for section in (self.equal, self.contains, self.lacks):
            names |= {f"kms_context.{key}" for key in section or ()}
        return names


@dataclass(frozen=True)
class Expect:
    """An `expect:`. Absent parts are None. `evidence`, `confidence` and `unproven` are carried for the
    evidence rules (see the case schema); the matchers do not read them."""
    status: int | tuple[int, ...] | None = None
    error: ErrorExpect | None = None
    headers: HeadersExpect | None = None
    xml: tuple[XmlExpect, ...] | None = None
    body: BodyExpect | None = None
    kms_calls: KmsCalls | None = None
    encryption_context: ContextExpect | None = None
    kms_context: KmsContextExpect | None = None
    evidence: tuple[str, ...] = field(default=(), metadata=TEMPLATE_OFF)
    confidence: str | None = field(default=None, metadata=TEMPLATE_OFF)
    unproven: tuple[str, ...] = field(default=(), metadata=TEMPLATE_OFF)
    line: int = _line()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None, line: int = 0) -> Expect:
        raw = raw or {}
        status = raw.get("status")
        error = raw.get("error")
        headers = raw.get("headers")
        body = raw.get("body")
        kms = raw.get("kms_calls")
        context = raw.get("encryption_context")
        kms_context = raw.get("kms_context")
        same = (body or {}).get("same_as")
        return cls(
            status=tuple(status) if isinstance(status, list) else status,
            error=ErrorExpect(error.get("code"), error.get("message"), error.get("message_match"),
                              dict(error["fields"]) if "fields" in error else None) if error is not None else None,
            headers=HeadersExpect(
                dict(headers["equal"]) if "equal" in headers else None,
                dict(headers["match"]) if "match" in headers else None,
                tuple(headers["present"]) if "present" in headers else None,
                tuple(headers["absent"]) if "absent" in headers else None) if headers is not None else None,
            xml=tuple(XmlExpect(item["path"], item.get("equal"), item.get("match"), item.get("absent"),
                                item.get("count")) for item in raw["xml"]) if "xml" in raw else None,
            body=BodyExpect(SameAs(same.get("object"), same.get("step")) if same else None,
                            tuple(body["range"]) if "range" in body else None,  # type: ignore[arg-type]
                            body.get("empty"), body.get("text")) if body is not None else None,
            kms_calls=KmsCalls(kms["key"], {k: v for k, v in kms.items() if k != "key"}) if kms is not None else None,
            encryption_context=ContextExpect.from_dict(context) if context is not None else None,
            kms_context=KmsContextExpect.from_dict(kms_context) if kms_context is not None else None,
            evidence=tuple(raw.get("evidence") or ()), confidence=raw.get("confidence"),
            unproven=tuple(raw.get("unproven") or ()), line=line)

    def check_names(self) -> set[str]:
        """Every check this expect makes, in `unproven` spelling (header names lower-cased)."""
        names = set()
        if self.status is not None:
            names.add("status")
        if self.body is not None:
            names.add("body")
        if self.error is not None:
            if self.error.code is not None:
                names.add("error.code")
            if self.error.message is not None or self.error.message_match is not None:
                names.add("error.message")
            names |= {f"error.fields.{name}" for name in self.error.fields or {}}
        if self.headers is not None:
            for section in (self.headers.equal, self.headers.match, self.headers.present, self.headers.absent):
                names |= {f"headers.{str(name).lower()}" for name in section or ()}
        names |= {f"xml.{item.path}" for item in self.xml or ()}
        if self.encryption_context is not None:
            names |= self.encryption_context.check_names()
        if self.kms_context is not None:
            names |= self.kms_context.check_names()
        return names

    def unproven_names(self) -> set[str]:
        return {name.lower() if name.startswith("headers.") else name for name in self.unproven}

    def to_dict(self) -> dict[str, Any]:
        """The expectation as written (after rendering), for reports."""
        out = _plain(self)
        if self.kms_calls is not None:
            out["kms_calls"] = {"key": self.kms_calls.key, **self.kms_calls.calls}
        return out


def _plain(value: Any) -> Any:
    """Dataclasses -> dicts without unset (None / empty) fields and without lines; tuples -> lists."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {}
        for item in fields(value):
            inner = getattr(value, item.name)
            if item.name == "line" or inner is None or inner == ():
                continue
            out[item.name] = _plain(inner)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------------------------------- steps

@dataclass(frozen=True)
class When:
    """A variant's condition; each part is a name or a list of names, as written."""
    has: str | tuple[str, ...] | None = None
    lacks: str | tuple[str, ...] | None = None
    profile: str | tuple[str, ...] | None = None

    def describe(self) -> str:
        parts = [(name, getattr(self, name)) for name in ("has", "lacks", "profile")]
        return ", ".join(f"{name}: {value if isinstance(value, str) else list(value)}"
                         for name, value in parts if value is not None)


@dataclass(frozen=True)
class Variant:
    when: When
    expect: Expect
    line: int = _line()


@dataclass(frozen=True)
class Capture:
    """`capture: {name: {header|xml: ...} | {status|body: true}}`: a value of the response for later steps."""
    name: str = field(metadata=TEMPLATE_OFF)
    header: str | None = None
    xml: str | None = None
    status: bool = False
    body: bool = False
    line: int = _line()

    def describe(self) -> str:
        source = {"header": self.header} if self.header is not None else {"xml": self.xml} \
            if self.xml is not None else {"status": True} if self.status else {"body": True}
        return str(source)


KMS_STEP_OPERATIONS = ("DisableKey", "EnableKey", "ScheduleKeyDeletion", "CancelKeyDeletion", "DescribeKey")


@dataclass(frozen=True)
class KmsStep:
    """A `kms:` step: one KMS API call on a fixture key, through the runner's KMS client (the one the
    fixtures use: --kms-endpoint, else the S3 endpoint)."""
    operation: str = field(metadata=TEMPLATE_OFF)     # one of KMS_STEP_OPERATIONS
    key: str = field(metadata=TEMPLATE_OFF)           # a fixtures.kms_keys name
    account: str = field(default="main", metadata=TEMPLATE_OFF)   # main | alt
    line: int = _line()


@dataclass(frozen=True)
class Step:
    name: str = field(metadata=TEMPLATE_OFF)          # as written, or step<N>
    request: RequestSpec | None = None                # exactly one of request and kms
    kms: KmsStep | None = None
    expect: Expect = field(default_factory=Expect)     # empty when the step has none: a 2xx is expected
    variants: tuple[Variant, ...] = ()
    captures: tuple[Capture, ...] = ()
    description: str = ""
    line: int = _line()

    def expectations(self) -> list[Expect]:
        """The main expectation and every variant's."""
        return [self.expect] + [variant.expect for variant in self.variants]


# ---------------------------------------------------------------------------------------------------- fixtures

@dataclass(frozen=True)
class KmsKeyFixture:
    name: str
    state: str = "enabled"                  # enabled | disabled | pending-deletion
    line: int = _line()
    account: str = "main"                   # main | alt: the account that creates (owns) the key


@dataclass(frozen=True)
class ObjectFixture:
    name: str
    key: str
    body: Any                               # a body spec
    bucket: str | None = None               # None: ${bucket}
    headers: Mapping[str, Any] = field(default_factory=dict)
    line: int = _line()


@dataclass(frozen=True)
class Fixtures:
    bucket: bool = True
    extra_buckets: int = 0
    alt_bucket: bool = False                # ${alt_bucket}: a bucket the second account owns
    sse_c: str | None = None                # "allow": unblock SSE-C where a profile blocks it by default
    versioning: str | None = None           # Enabled | Suspended
    kms_keys: tuple[KmsKeyFixture, ...] = ()
    encryption: str | None = None           # ServerSideEncryptionConfiguration XML
    objects: tuple[ObjectFixture, ...] = ()
    line: int = _line()


# ---------------------------------------------------------------------------------------------------- case

@dataclass(frozen=True)
class Evidence:
    """Why an expectation is believed (see "Evidence format" in the case schema); carried, not yet judged."""
    id: str
    confidence: str
    recording: Mapping[str, str] | None = None
    s3tests: Mapping[str, str] | None = None
    document: str | None = None
    quote: str | None = None
    wire: str | None = None
    note: str | None = None
    line: int = _line()

    def url(self) -> str | None:
        """Where a reader can see the evidence: the recording's or the s3-tests file on GitHub, or the
        document when it is a URL."""
        if self.recording and self.recording.get("repo") and self.recording.get("file"):
            ref = self.recording.get("commit") or ("main" if self.recording["repo"] == "localstack/localstack"
                                                   else "HEAD")
            return f"https://github.com/{self.recording['repo']}/blob/{ref}/{self.recording['file']}"
        if self.s3tests and self.s3tests.get("file"):
            return f"https://github.com/ceph/s3-tests/blob/{self.s3tests.get('commit') or 'master'}/{self.s3tests['file']}"
        if self.document and self.document.startswith("https://"):
            return self.document
        return None

    def to_dict(self) -> dict[str, Any]:
        out = _plain(self)
        url = self.url()
        if url:
            out["url"] = url
        return out


def _account_refs(raw: Any) -> tuple[str, ...]:
    """Which of ${account_id} and ${alt_account_id} the case's strings use: a run that does not know the id
    makes the case not applicable (capabilities account-id, alt-account-id) instead of failing it."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, str):
            for name in ("account_id", "alt_account_id"):
                if "${" + name + "}" in node:
                    found.add(name)
        elif isinstance(node, Mapping):
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(raw)
    return tuple(sorted(found))


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    operation: str
    source: Mapping[str, str]
    steps: tuple[Step, ...]
    file: str
    line: int
    tags: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    fixtures: Fixtures = field(default_factory=Fixtures)
    evidence: tuple[Evidence, ...] = ()
    var_refs: tuple[VarRef, ...] = ()       # profile variables used, with their lines
    account_refs: tuple[str, ...] = ()      # `account_id` / `alt_account_id` when the case uses ${...} of them

    def implied_requirements(self) -> list[str]:
        """Capabilities the case needs by construction, on top of `requires`."""
        needs = set(self.requires)
        needs.update(name.replace("_", "-") for name in self.account_refs)   # account-id, alt-account-id
        if self.fixtures.kms_keys:
            needs.add("kms-admin")
            if any(key.account == "alt" for key in self.fixtures.kms_keys):
                needs.add("multi-account")
        if self.fixtures.versioning:
            needs.add("versioning")
        if self.fixtures.alt_bucket:
            needs.add("multi-account")
        for step in self.steps:
            if step.kms is not None:
                needs.add("kms-admin")
                if step.kms.account == "alt":
                    needs.add("multi-account")
            if step.request is not None and step.request.scheme == "http":
                needs.add("plain-http")
            if step.request is not None and step.request.auth == "alt":
                needs.add("multi-account")
            if any(expect.kms_calls is not None or expect.kms_context is not None for expect in step.expectations()):
                needs.add("kms-metrics")
        if self.sends_sse_c_keys():
            needs.add("sse-c-transport")
        return sorted(needs)

    def sends_sse_c_keys(self) -> bool:
        """Whether a request of the case (a fixture object or a step on the default scheme) carries SSE-C key
        headers: AWS rejects those over plain HTTP, so they need HTTPS (or an endpoint that accepts them)."""
        def carries(fields: Mapping[str, Any]) -> bool:
            return any(str(name).lower().startswith(SSE_C_KEY_PREFIXES) and value is not None
                       for name, value in fields.items())
        if any(carries(obj.headers) for obj in self.fixtures.objects):
            return True
        for step in self.steps:
            request = step.request
            if request is None or request.scheme != "default":
                continue
            if carries(request.headers) or (request.form is not None and carries(request.form.fields)):
                return True
        return False

    def uses_kms_calls(self) -> bool:
        """Whether an expect reads the KMS call metrics (kms_calls or kms_context): the runner takes a baseline."""
        return any(expect.kms_calls is not None or expect.kms_context is not None
                   for step in self.steps for expect in step.expectations())

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], file: str = "", line_of: LineOf = _no_lines,
                  at: tuple[Any, ...] = (), var_refs: tuple[VarRef, ...] = ()) -> Case:
        """Build from a schema-valid case mapping; `line_of(json_path)` gives source lines (paths from `at`)."""
        fixtures = raw.get("fixtures") or {}
        fx_at = at + ("fixtures",)
        steps = []
        for index, step in enumerate(raw.get("steps") or []):
            s_at = at + ("steps", index)
            variants = tuple(
                Variant(When(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in variant["when"].items()}),
                        Expect.from_dict(variant["expect"], line_of(s_at + ("variants", i, "expect"))),
                        line_of(s_at + ("variants", i)))
                for i, variant in enumerate(step.get("variants") or []))
            captures = tuple(
                Capture(name, spec.get("header"), spec.get("xml"), bool(spec.get("status")), bool(spec.get("body")),
                        line_of(s_at + ("capture", name)))
                for name, spec in (step.get("capture") or {}).items())
            steps.append(Step(
                name=step.get("name") or f"step{index + 1}",
                request=RequestSpec.from_dict(step["request"], line_of(s_at + ("request",)))
                if "request" in step else None,
                kms=KmsStep(step["kms"]["operation"], step["kms"]["key"], step["kms"].get("account", "main"),
                            line_of(s_at + ("kms",))) if "kms" in step else None,
                expect=Expect.from_dict(step.get("expect"), line_of(s_at + ("expect",))),
                variants=variants, captures=captures, description=step.get("description", ""), line=line_of(s_at)))
        return cls(
            id=raw["id"], title=raw.get("title", ""), operation=raw.get("operation", ""),
            source=dict(raw.get("source") or {}), steps=tuple(steps), file=file, line=line_of(at),
            tags=tuple(raw.get("tags") or ()), requires=tuple(raw.get("requires") or ()),
            fixtures=Fixtures(
                bucket=fixtures.get("bucket", True), extra_buckets=int(fixtures.get("extra_buckets", 0)),
                alt_bucket=bool(fixtures.get("alt_bucket", False)),
                sse_c=fixtures.get("sse_c"), versioning=fixtures.get("versioning"),
                kms_keys=tuple(KmsKeyFixture(k["name"], k.get("state", "enabled"),
                                             line_of(fx_at + ("kms_keys", i)), k.get("account", "main"))
                               for i, k in enumerate(fixtures.get("kms_keys") or [])),
                encryption=fixtures.get("encryption"),
                objects=tuple(ObjectFixture(o["name"], o["key"], o["body"], o.get("bucket"), dict(o.get("headers") or {}),
                                            line_of(fx_at + ("objects", i)))
                              for i, o in enumerate(fixtures.get("objects") or [])),
                line=line_of(fx_at)),
            evidence=tuple(Evidence(**{k: v for k, v in e.items()}, line=line_of(at + ("evidence", i)))
                           for i, e in enumerate(raw.get("evidence") or [])),
            var_refs=var_refs, account_refs=_account_refs(raw))
