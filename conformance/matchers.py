"""Expectation checks: every failed expectation becomes a Mismatch (data with expected/actual)."""
from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from . import xmlpath
from .casefile.model import (
    BodyExpect,
    Capture,
    ContextExpect,
    ErrorExpect,
    Evidence,
    Expect,
    HeadersExpect,
    KmsCalls,
    KmsContextExpect,
    XmlExpect,
)
from .results import Exchange, Mismatch, ResponseRecord


@dataclass
class MatchContext:
    """What body/kms expectations refer to besides the response itself."""
    objects: dict[str, bytes] = field(default_factory=dict)
    step_payloads: dict[str, bytes] = field(default_factory=dict)
    kms_delta: Callable[[str, str], int | None] | None = None   # (key, operation) -> calls made by the steps
    # (key, operation) -> the encryption contexts of the calls made since the case began, or a string saying why
    # they cannot be known (no metrics hook, a hook without contexts)
    kms_contexts: Callable[[str, str], list[Any] | str] | None = None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _regex(pattern: str, what: str, check: str = "") -> tuple[re.Pattern[str] | None, Mismatch | None]:
    try:
        return re.compile(pattern), None
    except re.error as exc:
        return None, Mismatch(what, f"a valid regular expression ({pattern!r})", f"invalid: {exc}", check=check)


def check(expect: Expect, exchange: Exchange, ctx: MatchContext, json_errors: bool = False) -> list[Mismatch]:
    """`json_errors`: the response is a JSON-protocol one (KMS), whose error is `{"__type", "message"}`."""
    if exchange.response is None:
        return [Mismatch("response", "an HTTP response", exchange.error or "no response", check="response")]
    response = exchange.response
    out: list[Mismatch] = []
    if expect.status is not None:
        out += check_status(expect.status, response)
    if expect.error is not None:
        out += check_error(expect.error, response, exchange.request.method, json_errors)
    if expect.headers is not None:
        out += check_headers(expect.headers, response)
    if expect.xml is not None:
        out += check_xml(expect.xml, response)
    if expect.body is not None:
        out += [replace(m, check="body") for m in check_body(expect.body, response, ctx)]
    if expect.kms_calls is not None:
        out += [replace(m, check="kms_calls") for m in check_kms_calls(expect.kms_calls, ctx)]
    if expect.encryption_context is not None:
        out += check_encryption_context(expect.encryption_context, response)
    if expect.kms_context is not None:
        out += check_kms_context(expect.kms_context, ctx)
    return out


CONFIDENCE_ORDER = ("recorded", "corroborated", "documented")
NEVER_UNPROVEN = {"response", "capture"}      # no answer at all, or a value later steps need: always failures


def annotate(mismatches: list[Mismatch], expect: Expect, evidence: tuple[Evidence, ...] = ()) -> list[Mismatch]:
    """Marks each mismatch unproven or not and attaches the confidence and evidence behind its check: a check
    listed in the expect's `unproven` (or any check of an expect with `confidence: unproven`) is unproven. A
    mismatch without a single check (`error`: no error document, `xml`: no XML body) is unproven when every
    check of that kind in the expect is."""
    cited = [entry for entry in evidence if entry.id in expect.evidence]
    entries = [entry.to_dict() for entry in cited]
    unproven = expect.unproven_names()
    made = expect.check_names()
    if expect.confidence is not None:
        proven_confidence = expect.confidence
    else:
        kinds = [entry.confidence for entry in cited if entry.confidence in CONFIDENCE_ORDER]
        proven_confidence = min(kinds, key=CONFIDENCE_ORDER.index) if kinds else "documented"
    for mismatch in mismatches:
        name = mismatch.check
        if name in NEVER_UNPROVEN or name.startswith("capture"):
            is_unproven = False
        elif expect.confidence == "unproven":
            is_unproven = True
        elif name in ("error", "xml"):
            group = {n for n in made if n.startswith(name + ".")}
            is_unproven = bool(group) and group <= unproven
        else:
            is_unproven = name in unproven
        mismatch.unproven = is_unproven
        mismatch.confidence = "unproven" if is_unproven else proven_confidence
        mismatch.evidence = entries
    return mismatches


def check_status(expected: int | tuple[int, ...], response: ResponseRecord) -> list[Mismatch]:
    allowed = expected if isinstance(expected, tuple) else (expected,)
    if response.status in allowed:
        return []
    return [Mismatch("status", list(expected) if isinstance(expected, tuple) else expected, response.status,
                     check="status")]


def error_fields(response: ResponseRecord) -> dict[str, str] | None:
    root = xmlpath.parse(response.body)
    if root is None or xmlpath.local(root.tag) != "Error":
        return None
    return {xmlpath.local(child.tag): xmlpath.text_of(child) for child in root}


def json_error_fields(response: ResponseRecord) -> dict[str, str] | None:
    """A JSON-protocol error (KMS): `__type` (namespace prefix `...#` removed) as Code, `message` as Message."""
    try:
        data = json.loads(response.body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("__type"), str):
        return None
    message = data.get("message", data.get("Message"))
    return {"Code": data["__type"].rsplit("#", 1)[-1], "Message": message if isinstance(message, str) else ""}


def check_error(expected: ErrorExpect, response: ResponseRecord, method: str = "GET",
                json_errors: bool = False) -> list[Mismatch]:
    fields = json_error_fields(response) if json_errors else error_fields(response)
    if fields is None:
        if json_errors:
            return [Mismatch("error", 'a JSON error ({"__type": ...})', _preview(response.body) or "an empty body",
                             check="error")]
        if response.body:
            actual = f"a non-error body: {_preview(response.body)}"
        else:
            actual = "no body (HEAD responses have none)" if method == "HEAD" else "an empty body"
        return [Mismatch("error", "an <Error> document", actual, check="error")]
    out = []
    if expected.code is not None and fields.get("Code") != expected.code:
        out.append(Mismatch("error code", expected.code, fields.get("Code"), check="error.code"))
    if expected.message is not None and fields.get("Message") != expected.message:
        out.append(Mismatch("error message", expected.message, fields.get("Message"), check="error.message"))
    if expected.message_match is not None:
        pattern, bad = _regex(expected.message_match, "error message_match", "error.message")
        if bad:
            out.append(bad)
        elif pattern and not pattern.search(fields.get("Message") or ""):
            out.append(Mismatch("error message", f"~/{expected.message_match}/", fields.get("Message"),
                                check="error.message"))
    for name, value in (expected.fields or {}).items():
        if fields.get(name) != _scalar(value):
            out.append(Mismatch(f"error field {name}", _scalar(value), fields.get(name), check=f"error.fields.{name}"))
    return out


def check_headers(expected: HeadersExpect, response: ResponseRecord) -> list[Mismatch]:
    out = []
    for name, value in (expected.equal or {}).items():
        actual = response.header(name)
        if actual != _scalar(value):
            out.append(Mismatch(f"header {name}", _scalar(value), actual, check=f"headers.{name.lower()}"))
    for name, pattern_text in (expected.match or {}).items():
        actual = response.header(name)
        pattern, bad = _regex(pattern_text, f"header {name} match", f"headers.{name.lower()}")
        if bad:
            out.append(bad)
        elif actual is None or (pattern and not pattern.search(actual)):
            out.append(Mismatch(f"header {name}", f"~/{pattern_text}/", actual, check=f"headers.{name.lower()}"))
    for name in expected.present or ():
        if response.header(name) is None:
            out.append(Mismatch(f"header {name}", "present", None, check=f"headers.{name.lower()}"))
    for name in expected.absent or ():
        actual = response.header(name)
        if actual is not None:
            out.append(Mismatch(f"header {name}", "absent", actual, check=f"headers.{name.lower()}"))
    return out


def check_xml(expected: tuple[XmlExpect, ...], response: ResponseRecord) -> list[Mismatch]:
    root = xmlpath.parse(response.body)
    if root is None:
        return [Mismatch("xml body", "an XML document", _preview(response.body) or "empty body", check="xml")]
    out: list[Mismatch] = []
    for item in expected:
        path = item.path
        first = len(out)
        found = xmlpath.find_all(root, path)
        texts = [xmlpath.text_of(e) for e in found]
        if item.count is not None and len(found) != item.count:
            out.append(Mismatch(f"xml {path} count", item.count, len(found)))
        if item.absent is not None:
            if item.absent and found:
                out.append(Mismatch(f"xml {path}", "absent", texts[0]))
            if not item.absent and not found:
                out.append(Mismatch(f"xml {path}", "present", None))
        if item.equal is not None:
            want = _scalar(item.equal)
            if want not in texts:
                out.append(Mismatch(f"xml {path}", want, texts[0] if len(texts) == 1 else (texts or None)))
        if item.match is not None:
            pattern, bad = _regex(item.match, f"xml {path} match")
            if bad:
                out.append(bad)
            elif pattern and not any(pattern.search(t) for t in texts):
                out.append(Mismatch(f"xml {path}", f"~/{item.match}/", texts[0] if len(texts) == 1
                                    else (texts or None)))
        for mismatch in out[first:]:
            mismatch.check = f"xml.{path}"
    return out


def check_body(expected: BodyExpect, response: ResponseRecord, ctx: MatchContext) -> list[Mismatch]:
    body = response.body
    out = []
    if expected.empty is not None:
        if expected.empty and body:
            out.append(Mismatch("body", "empty", _preview(body)))
        if not expected.empty and not body:
            out.append(Mismatch("body", "not empty", ""))
    if expected.text is not None:
        actual = body.decode("utf-8", "replace")
        if actual != expected.text:
            out.append(Mismatch("body", expected.text, _preview(body)))
    if expected.same_as is not None:
        ref = expected.same_as
        if ref.object is not None:
            label, want = f"object {ref.object}", ctx.objects.get(ref.object)
        else:
            label, want = f"step {ref.step}", ctx.step_payloads.get(ref.step or "")
        if want is None:
            return out + [Mismatch("body", f"bytes of {label}", f"{label} is not defined in this case")]
        if expected.range is not None:
            first, last = expected.range
            want = want[first:last + 1]
            label += f" bytes {first}-{last}"
        if body != want:
            out.append(Mismatch("body", f"{len(want)} bytes equal to {label}", _body_difference(want, body)))
    return out


def _body_difference(want: bytes, got: bytes) -> str:
    if len(want) != len(got):
        return f"{len(got)} bytes"
    first = next(i for i, (a, b) in enumerate(zip(want, got)) if a != b)
    return f"{len(got)} bytes, first difference at offset {first}"


def check_kms_calls(expected: KmsCalls, ctx: MatchContext) -> list[Mismatch]:
    if ctx.kms_delta is None:
        return [Mismatch("kms_calls", "KMS call metrics", "metrics endpoint not available")]
    key = expected.key
    out = []
    for operation, bound in expected.calls.items():
        actual = ctx.kms_delta(key, operation)
        if actual is None:
            out.append(Mismatch(f"kms {operation} calls", bound, "metrics could not be read"))
            continue
        rules = {"equal": bound} if isinstance(bound, int) else bound
        if "equal" in rules and actual != rules["equal"]:
            out.append(Mismatch(f"kms {operation} calls", rules["equal"], actual))
        if "min" in rules and actual < rules["min"]:
            out.append(Mismatch(f"kms {operation} calls", f">= {rules['min']}", actual))
        if "max" in rules and actual > rules["max"]:
            out.append(Mismatch(f"kms {operation} calls", f"<= {rules['max']}", actual))
    return out


def check_kms_context(expected: KmsContextExpect, ctx: MatchContext) -> list[Mismatch]:
    """Every `operation` call on the key since the case began (at least one) had a context with these pairs;
    each pair is its own check (`kms_context.<key>`), as with `encryption_context`."""
    what = f"encryption context of KMS {expected.operation} on {expected.key}"
    contexts = ctx.kms_contexts(expected.key, expected.operation) if ctx.kms_contexts is not None else \
        "the KMS call metrics are not available"
    if isinstance(contexts, str):
        return [Mismatch(what, "the contexts the KMS call metrics report", contexts, check="kms_context")]
    if not contexts:
        return [Mismatch(what, f"at least one {expected.operation} call since the case began", "none",
                         check="kms_context")]
    out: list[Mismatch] = []
    for index, pairs in enumerate(contexts, 1):
        label = f"{what} (call {index} of {len(contexts)})"
        if not isinstance(pairs, dict):
            out.append(Mismatch(label, "a JSON object", pairs, check="kms_context"))
            continue
        for key, want in {**(expected.contains or {}), **(expected.equal or {})}.items():
            if pairs.get(key) != want:
                out.append(Mismatch(f"{label}: pair {key!r}", want, pairs.get(key), check=f"kms_context.{key}"))
        if expected.equal is not None:
            extra = sorted(set(pairs) - set(expected.equal))
            if extra:
                out.append(Mismatch(f"{label}: pairs", f"only {sorted(expected.equal)}", f"also {extra}",
                                    check="kms_context"))
        for key in expected.lacks or ():
            if key in pairs:
                out.append(Mismatch(f"{label}: pair {key!r}", "absent", pairs[key], check=f"kms_context.{key}"))
    return out


def decode_context(value: str) -> tuple[dict[str, Any] | None, str]:
    """A base64 JSON encryption context -> (the JSON object, ""), or (None, why it is not one)."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None, f"not base64: {value!r}"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, f"base64 of something that is not UTF-8 JSON: {raw[:80]!r}"
    if not isinstance(data, dict):
        return None, f"base64 JSON that is not an object: {raw[:80]!r}"
    return data, ""


def check_encryption_context(expected: ContextExpect, response: ResponseRecord) -> list[Mismatch]:
    """Decodes the context header and compares pairs. Each pair is its own check
    (`encryption_context.<key>`), so a case can mark one pair unproven and keep the others proven."""
    header = expected.header
    value = response.header(header)
    if value is None:
        if expected.if_present:
            return []
        return [Mismatch(f"header {header}", "a base64 JSON encryption context", None, check="encryption_context")]
    pairs, why = decode_context(value)
    if pairs is None:
        return [Mismatch(f"header {header}", "a base64 JSON encryption context", why, check="encryption_context")]
    out = []
    wanted = {**(expected.contains or {}), **(expected.equal or {})}
    for key, want in wanted.items():
        if key not in pairs:
            out.append(Mismatch(f"encryption context {key!r}", want, "no such pair",
                                check=f"encryption_context.{key}"))
        elif pairs[key] != want:
            out.append(Mismatch(f"encryption context {key!r}", want, pairs[key], check=f"encryption_context.{key}"))
    if expected.equal is not None:
        extra = sorted(k for k in pairs if k not in expected.equal)
        if extra:
            out.append(Mismatch("encryption context pairs", sorted(expected.equal), sorted(pairs),
                                check="encryption_context"))
    for key in expected.lacks or ():
        if key in pairs:
            out.append(Mismatch(f"encryption context {key!r}", "absent", pairs[key], check=f"encryption_context.{key}"))
    return out


def _preview(body: bytes, limit: int = 300) -> str:
    """The start of a body as text; binary bodies are described, not dumped (they garble consoles)."""
    head = body[:limit]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:          # not merely a character cut at the limit
            return f"{len(body)} bytes of binary data (starting {body[:16].hex()})"
        text = head[:exc.start].decode("utf-8")
    if any(ord(c) < 32 and c not in "\r\n\t" for c in text):
        return f"{len(body)} bytes of binary data (starting {body[:16].hex()})"
    return text + ("..." if len(body) > limit else "")


def capture(spec: Capture, response: ResponseRecord) -> str | None:
    """Value for a `capture` entry; None when the response does not have it."""
    if spec.header is not None:
        return response.header(spec.header)
    if spec.status:
        return str(response.status)
    if spec.body:
        return response.body.decode("utf-8", "replace")
    if spec.xml is not None:
        root = xmlpath.parse(response.body)
        found = xmlpath.find_all(root, spec.xml) if root is not None else []
        return xmlpath.text_of(found[0]) if found else None
    return None
