"""Checks on a schema-valid case that JSON Schema cannot express, done at load time so `validate` finds them:
names are unique and references by name (fixture objects, same_as steps) exist, every `${...}` names
something that will exist where it is used, regular expressions compile, XML paths are paths the runner can
follow, base64 bodies decode, `kms_calls` names KMS operations. They read the YAML mapping (JSON paths give
the lines); the typed model is built from a case only once it passes.

Profile variables cannot be checked without a profile: they come back as `VarRef`s for the caller
(`validate` checks them against the profiles; `run` reports a missing one as the step's failure)."""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import s3model
from .model import VarRef
from .templating import VarTemplate

# What the engine puts in the variables of every case (see Engine._base_variables and _put_object).
BASE_NAMES = {"region", "profile", "endpoint", "account_id", "alt_account_id"}
SSEC_KEYS = {"key1", "key2", "key3", "short"}
SSEC_FIELDS = {"key", "md5"}
KMS_FIELDS = {"id", "arn", "alias", "alias_arn"}
OBJECT_FIELDS = {"key", "size", "md5", "md5_b64", "etag", "version_id"}

_PLACEHOLDER = re.compile(VarTemplate.pattern, re.VERBOSE | re.IGNORECASE) \
    if isinstance(VarTemplate.pattern, str) else VarTemplate.pattern
# One path segment: an XML name, optionally qualified by `prefix:` or `{namespace}` (see xmlpath._segments).
_XML_NAME = r"[A-Za-z_][A-Za-z0-9._-]*"
_XML_SEGMENT = re.compile(rf"^(?:\{{[^{{}}]*\}}|{_XML_NAME}:)?{_XML_NAME}$")


@dataclass
class Scope:
    """The names a placeholder may use at one place of the case."""
    buckets: set[str]
    kms: set[str]
    objects: set[str]
    steps: dict[str, set[str]]          # earlier step -> its capture names


Report = Callable[[tuple[Any, ...], str], None]


def placeholders(text: str) -> Iterator[tuple[str | None, str]]:
    """(name, "") for every `${name}`; (None, fragment) for a malformed `${...`."""
    for match in _PLACEHOLDER.finditer(text):
        if match.group("braced"):
            yield match.group("braced"), ""
        elif match.group("invalid") is not None:
            yield None, text[match.start():match.start() + 30]


def neutral(text: str) -> str:
    """The text with every placeholder replaced by `x` and `$$` by `$`: what a pattern looks like once
    rendered, as far as its syntax goes."""
    return _PLACEHOLDER.sub(lambda m: "$" if m.group("escaped") else "x", text)


def check_name(name: str, scope: Scope) -> str | None | VarRef:
    """None when the name will resolve, a VarRef for a profile variable, else what is wrong."""
    parts = name.split(".")
    root = parts[0]
    if root == "alt_bucket":
        if len(parts) > 1:
            return f"${{{name}}}: {root} has no fields"
        return None if root in scope.buckets else f"${{{name}}} needs fixtures.alt_bucket: true"
    if re.fullmatch(r"bucket\d*", root):
        if len(parts) > 1:
            return f"${{{name}}}: {root} has no fields"
        if root not in scope.buckets:
            have = ", ".join(sorted(scope.buckets)) or "none (fixtures.bucket is false)"
            return f"${{{name}}} is not a bucket of this case (buckets: {have}; more need fixtures.extra_buckets)"
        return None
    if root in BASE_NAMES:
        return f"${{{name}}}: {root} has no fields" if len(parts) > 1 else None
    if root == "vars":
        if len(parts) == 1:
            return "${vars} needs a variable name (${vars.NAME})"
        return VarRef(".".join(parts[1:]), (), "")
    groups: dict[str, tuple[str, set[str], set[str] | None]] = {
        "ssec": ("SSE-C key", SSEC_KEYS, SSEC_FIELDS),
        "kms": ("KMS key (fixtures.kms_keys)", scope.kms, KMS_FIELDS),
        "objects": ("fixture object (fixtures.objects)", scope.objects, OBJECT_FIELDS),
    }
    if root in groups:
        label, members, fields = groups[root]
        if len(parts) != 3:
            return f"${{{name}}} must be ${{{root}.NAME.FIELD}} (fields: {', '.join(sorted(fields or ()))})"
        if parts[1] not in members:
            known = ", ".join(sorted(members)) or "none defined"
            return f"${{{name}}} refers to an undefined {label} {parts[1]!r} (known: {known})"
        if fields is not None and parts[2] not in fields:
            return f"${{{name}}}: unknown field {parts[2]!r} (fields: {', '.join(sorted(fields))})"
        return None
    if root == "steps":
        if len(parts) != 3:
            return f"${{{name}}} must be ${{steps.STEP.CAPTURE}}"
        if parts[1] not in scope.steps:
            known = ", ".join(scope.steps) or "none"
            return f"${{{name}}} refers to an undefined step {parts[1]!r} (earlier steps: {known})"
        if parts[2] not in scope.steps[parts[1]]:
            known = ", ".join(sorted(scope.steps[parts[1]])) or "none"
            return f"${{{name}}}: step {parts[1]!r} captures no {parts[2]!r} (its captures: {known})"
        return None
    return VarRef(name, (), "")


def _strings(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every string of a rendered block (dict keys too: the engine renders them)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, path + (index,))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield path + (key,), key
            yield from _strings(item, path + (key,))


def check_placeholders(block: Any, at: tuple[Any, ...], scope: Scope, where: str, report: Report,
                       refs: list[VarRef]) -> None:
    for path, text in _strings(block, at):
        if "$" not in text:
            continue
        for name, fragment in placeholders(text):
            if name is None:
                report(path, f"{where}: malformed placeholder {fragment!r} (write ${{name}}, or $$ for a literal $)")
                continue
            verdict = check_name(name, scope)
            if isinstance(verdict, VarRef):
                refs.append(VarRef(verdict.name, path, where))
            elif verdict:
                report(path, f"{where}: {verdict}")


def check_regex(pattern: str, path: tuple[Any, ...], what: str, report: Report) -> None:
    try:
        re.compile(neutral(pattern))
    except re.error as exc:
        report(path, f"{what}: invalid regular expression {pattern!r}: {exc}")


def check_xml_path(text: str, path: tuple[Any, ...], what: str, report: Report) -> None:
    """The runner follows child elements by (local) name: `A/B/C`, `s3:A/B`, `{ns}A/B`. Anything else
    (XPath predicates, wildcards, `//`, a leading `/`) would silently match nothing."""
    segments = re.findall(r"\{[^}]*\}[^/]*|[^/]+|/(?=/)|^/", neutral(text))
    bad = [s for s in segments if not _XML_SEGMENT.match(s)]
    if bad or not segments or text.endswith("/"):
        detail = f"segment {bad[0]!r}" if bad else "empty segment"
        report(path, f"{what}: invalid XML path {text!r} ({detail}); write element names separated by '/', "
                     "e.g. Rule/ApplyServerSideEncryptionByDefault/SSEAlgorithm")


def check_base64(body: Any, path: tuple[Any, ...], report: Report) -> None:
    if isinstance(body, dict) and isinstance(body.get("base64"), str) and "${" not in body["base64"]:
        try:
            base64.b64decode(neutral(body["base64"]), validate=True)
        except (binascii.Error, ValueError) as exc:
            report(path + ("base64",), f"body base64 is not valid base64: {exc}")


def check_expect(expect: dict[str, Any], at: tuple[Any, ...], report: Report) -> None:
    error = expect.get("error") or {}
    if isinstance(error.get("message_match"), str):
        check_regex(error["message_match"], at + ("error", "message_match"), "error.message_match", report)
    for name, pattern in ((expect.get("headers") or {}).get("match") or {}).items():
        check_regex(pattern, at + ("headers", "match", name), f"headers.match {name}", report)
    for index, item in enumerate(expect.get("xml") or []):
        check_xml_path(item["path"], at + ("xml", index, "path"), "xml path", report)
        if isinstance(item.get("match"), str):
            check_regex(item["match"], at + ("xml", index, "match"), f"xml {item['path']} match", report)
    for operation in expect.get("kms_calls") or {}:
        if operation != "key" and operation not in s3model.kms_operation_names():
            report(at + ("kms_calls", operation),
                   f"kms_calls: {operation!r} is not a KMS operation (e.g. GenerateDataKey, Decrypt, Encrypt)")
    body = expect.get("body") or {}
    if "range" in body and body["range"][0] > body["range"][1]:
        report(at + ("body", "range"), f"body range {body['range']}: first byte after last byte")
    if "range" in body and "same_as" not in body:
        report(at + ("body", "range"), "body range needs same_as")


def check_names(raw: dict[str, Any], at: tuple[Any, ...], report: Report) -> None:
    """Duplicate names, and references by name (body objects, same_as) to what does not exist (yet)."""
    fixtures = raw.get("fixtures") or {}
    objects = [o["name"] for o in fixtures.get("objects") or []]
    keys = [k["name"] for k in fixtures.get("kms_keys") or []]
    for label, names, where in (("object", objects, "objects"), ("KMS key", keys, "kms_keys")):
        for dup in {n for n in names if names.count(n) > 1}:
            report(at + ("fixtures", where), f"duplicate {label} name {dup!r}")
    seen_steps: list[str] = []
    for index, step in enumerate(raw["steps"]):
        step_at = at + ("steps", index)
        name = step.get("name") or f"step{index + 1}"
        if name in seen_steps:
            report(step_at + ("name",), f"duplicate step name {name!r}")
        body = (step.get("request") or {}).get("body")
        if isinstance(body, dict) and "object" in body and body["object"] not in objects:
            report(step_at + ("request", "body"), f"body refers to undefined fixture object {body['object']!r}")
        for exp_at, expect in [(step_at + ("expect",), step.get("expect") or {})] + \
                [(step_at + ("variants", i, "expect"), v["expect"]) for i, v in enumerate(step.get("variants") or [])]:
            same = (expect.get("body") or {}).get("same_as") or {}
            if "object" in same and same["object"] not in objects:
                report(exp_at + ("body",), f"same_as refers to undefined fixture object {same['object']!r}")
            if "step" in same and same["step"] not in seen_steps + [name]:
                report(exp_at + ("body",), f"same_as refers to step {same['step']!r}, which does not come earlier")
        seen_steps.append(name)


def asserted_checks(expect: dict[str, Any]) -> set[str]:
    """Every check an expect mapping makes, in `unproven` spelling (header names lower-cased); the same
    names as `Expect.check_names` and the matchers' `Mismatch.check`."""
    names = set()
    if "status" in expect:
        names.add("status")
    if "body" in expect:
        names.add("body")
    error = expect.get("error") or {}
    if "code" in error:
        names.add("error.code")
    if "message" in error or "message_match" in error:
        names.add("error.message")
    names |= {f"error.fields.{k}" for k in error.get("fields") or {}}
    headers = expect.get("headers") or {}
    for section in ("equal", "match", "present", "absent"):
        names |= {f"headers.{str(k).lower()}" for k in headers.get(section) or ()}
    names |= {f"xml.{item['path']}" for item in expect.get("xml") or []}
    context = expect.get("encryption_context")
    if context is not None:
        names.add("encryption_context")
        for section in ("equal", "contains", "lacks"):
            names |= {f"encryption_context.{k}" for k in context.get(section) or ()}
    kms_context = expect.get("kms_context")
    if kms_context is not None:
        names.add("kms_context")
        for section in ("equal", "contains", "lacks"):
            names |= {f"kms_context.{k}" for k in kms_context.get(section) or ()}
    return names


def _all_expects(raw: dict[str, Any], at: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    for index, step in enumerate(raw["steps"]):
        step_at = at + ("steps", index)
        if step.get("expect") is not None:
            yield step_at + ("expect",), step["expect"]
        for v_index, variant in enumerate(step.get("variants") or []):
            yield step_at + ("variants", v_index, "expect"), variant["expect"]


def check_evidence(raw: dict[str, Any], at: tuple[Any, ...], report: Report) -> None:
    """Evidence references: every id an expect cites is in the case's `evidence` list and every entry of the
    list is cited; every `unproven` name is a check its expect makes; an expect that claims `recorded` or
    `corroborated` confidence cites the evidence for it."""
    entries = raw.get("evidence") or []
    ids = [entry["id"] for entry in entries]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        report(at + ("evidence", ids.index(dup)), f"duplicate evidence id {dup!r}")
    cited: set[str] = set()
    for exp_at, expect in _all_expects(raw, at):
        for index, name in enumerate(expect.get("evidence") or []):
            cited.add(name)
            if name not in ids:
                known = ", ".join(ids) or "none"
                report(exp_at + ("evidence", index),
                       f"evidence {name!r} is not in the case's evidence list (ids: {known})")
        made = asserted_checks(expect)
        for index, name in enumerate(expect.get("unproven") or []):
            key = name.lower() if name.startswith("headers.") else name
            if key not in made:
                report(exp_at + ("unproven", index),
                       f"unproven {name!r} names no check of this expect (its checks: {', '.join(sorted(made)) or 'none'})")
        confidence = expect.get("confidence")
        if confidence in ("recorded", "corroborated") and not expect.get("evidence"):
            report(exp_at + ("confidence",), f"confidence {confidence} needs the evidence: cite it in `evidence`")
    for index, entry in enumerate(entries):
        if entry["id"] not in cited:
            report(at + ("evidence", index), f"evidence {entry['id']!r} is cited by no expect of the case")


KMS_STEP_EXPECT = {"status", "error", "evidence", "confidence", "unproven"}


def check_kms_step(step: dict[str, Any], step_at: tuple[Any, ...], scope: Scope, report: Report) -> None:
    """A `kms:` step names a fixture key; its response is KMS JSON: only status and error can be checked."""
    key = step["kms"]["key"]
    if key not in scope.kms:
        known = ", ".join(sorted(scope.kms)) or "none defined"
        report(step_at + ("kms", "key"), f"kms step: {key!r} is not a fixtures.kms_keys name (known: {known})")
    if step.get("capture"):
        report(step_at + ("capture",), "kms step: capture is not supported (the response is KMS JSON)")
    expects = [(step_at + ("expect",), step.get("expect"))] + \
        [(step_at + ("variants", i, "expect"), v["expect"]) for i, v in enumerate(step.get("variants") or [])]
    for exp_at, expect in expects:
        for name in sorted(set(expect or {}) - KMS_STEP_EXPECT):
            report(exp_at + (name,), f"kms step: expect.{name} cannot be checked on a KMS response "
                                     "(status and error only)")
        if "fields" in ((expect or {}).get("error") or {}):
            report(exp_at + ("error", "fields"), "kms step: a KMS error has no fields (code and message only)")


def check_signing(request: dict[str, Any], at: tuple[Any, ...], report: Report) -> None:
    """A request's `signing:` deviations must fit its auth and payload (otherwise they would silently not apply)."""
    signing = request.get("signing")
    if not isinstance(signing, dict):
        return
    auth = request.get("auth", "main")
    payload = request.get("payload", "signed")
    header_v4 = ("main", "alt", "bad-signature")
    needs: list[tuple[str, bool, str]] = [
        ("expires", auth in ("presigned", "presigned-v2"), "auth: presigned or presigned-v2"),
        ("scope", auth in header_v4 + ("presigned",) or "form" in request, "SigV4 auth"),
        ("sign_host", auth in header_v4 + ("presigned",), "SigV4 auth"),
        ("access_key", auth not in ("anonymous",), "a signed request"),
        ("corrupt_chunk", payload in ("chunked-signed", "chunked-signed-trailer"),
         "payload: chunked-signed or chunked-signed-trailer"),
        ("corrupt_trailer", payload == "chunked-signed-trailer", "payload: chunked-signed-trailer"),
        ("sigv2_resource", auth in ("sigv2", "presigned-v2"), "auth: sigv2 or presigned-v2"),
        ("policy_expires_in", "form" in request, "a form: request"),
        ("unsigned_headers", "form" not in request, "a request that is not a form"),
        ("changed_headers", "form" not in request, "a request that is not a form"),
    ]
    for name, ok, what in needs:
        if name in signing and not ok:
            report(at + ("signing", name), f"signing.{name} needs {what}")
    if "scope" in signing and "form" in request:
        report(at + ("signing", "scope"), "signing.scope is not applied to POST forms")
    expires = signing.get("expires")
    if auth == "presigned-v2" and expires is not None and not str(expires).lstrip("-").isdigit():
        report(at + ("signing", "expires"), "signing.expires of a SigV2 presigned URL is whole seconds from now")
    changed = {str(n).lower() for n in signing.get("changed_headers") or {}}
    sent = {str(n).lower() for n, v in (request.get("headers") or {}).items() if v is not None}
    for name in sorted(changed - sent):
        report(at + ("signing", "changed_headers", name), f"signing.changed_headers: {name} is not in headers: "
               "(only a header the request signs can be changed after signing)")


def check_case(raw: dict[str, Any], at: tuple[Any, ...], report: Report) -> list[VarRef]:
    """Every check of this module on one schema-valid case: problems go to `report(json_path, message)`;
    returns the profile variables used."""
    check_names(raw, at, report)
    check_evidence(raw, at, report)
    refs: list[VarRef] = []
    fixtures = raw.get("fixtures") or {}
    buckets: set[str] = set()
    if fixtures.get("bucket", True):
        buckets = {"bucket"} | {f"bucket{i + 2}" for i in range(int(fixtures.get("extra_buckets", 0)))}
    if fixtures.get("alt_bucket"):
        buckets.add("alt_bucket")
    scope = Scope(buckets, {k["name"] for k in fixtures.get("kms_keys") or []}, set(), {})
    case_id = raw["id"]
    if "encryption" in fixtures:
        check_placeholders(fixtures["encryption"], at + ("fixtures", "encryption"), scope,
                           f"case {case_id} fixtures.encryption", report, refs)
    for index, obj in enumerate(fixtures.get("objects") or []):
        obj_at = at + ("fixtures", "objects", index)
        rendered = {k: v for k, v in obj.items() if k in ("key", "bucket", "headers")}
        if isinstance(obj.get("body"), str) or (isinstance(obj.get("body"), dict) and
                                                 {"text", "xml"} & set(obj["body"])):
            rendered["body"] = obj["body"]
        check_placeholders(rendered, obj_at, scope, f"case {case_id} fixture object {obj['name']}", report, refs)
        check_base64(obj.get("body"), obj_at + ("body",), report)
        scope.objects.add(obj["name"])
    for index, step in enumerate(raw["steps"]):
        step_at = at + ("steps", index)
        name = step.get("name") or f"step{index + 1}"
        where = f"case {case_id} step {name}"
        if "kms" in step:
            check_kms_step(step, step_at, scope, report)
        else:
            check_placeholders(step["request"], step_at + ("request",), scope, where, report, refs)
            check_base64(step["request"].get("body"), step_at + ("request", "body"), report)
            check_signing(step["request"], step_at + ("request",), report)
            form_file = (step["request"].get("form") or {}).get("file")
            check_base64(form_file, step_at + ("request", "form", "file"), report)
        expects = [(step_at + ("expect",), step.get("expect"))] + \
            [(step_at + ("variants", i, "expect"), v["expect"]) for i, v in enumerate(step.get("variants") or [])]
        for exp_at, expect in expects:
            if expect is None:
                continue
            check_placeholders(expect, exp_at, scope, where, report, refs)
            check_expect(expect, exp_at, report)
        for cap_name, cap in (step.get("capture") or {}).items():
            if "xml" in cap:
                check_xml_path(cap["xml"], step_at + ("capture", cap_name, "xml"), f"capture {cap_name}", report)
        scope.steps[name] = set((step.get("capture") or {}).keys())
    return refs
