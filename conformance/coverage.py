"""`s3-conformance coverage`: which cases exercise each SSE-related request parameter, body element and
documented error of the encryption operations.

Rows come from botocore's S3 model (the input members of each operation whose names relate to server-side
encryption, integrity and bucket ownership, plus the elements of ServerSideEncryptionConfiguration); the
documented errors and the reasons for anything left uncovered come from `cases/_coverage.yaml`. Each step of
each case is classified into the operation its request performs (method, subresource, headers), so a GET
step inside a PutObject case counts for GetObject. A step that expects an error counts as an invalid use of
every parameter it sends; a step that expects success (and every fixture write) as a valid use.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import s3model
from .casefile.model import ErrorExpect

if TYPE_CHECKING:
    from botocore.model import ServiceModel, Shape

    from .casefile.model import Case, Expect, RequestSpec, Step

OPERATIONS = ("PutBucketEncryption", "GetBucketEncryption", "DeleteBucketEncryption", "PutObject", "CopyObject",
              "PostObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
              "HeadObject", "GetObject")
# Members whose names relate to SSE, integrity or ownership (botocore member names).
MEMBER_PATTERN = re.compile(r"^(SSECustomer|CopySourceSSECustomer|ServerSideEncryption$|SSEKMS|BucketKeyEnabled$|"
                            r"Checksum|ContentMD5$|ExpectedBucketOwner$|ExpectedSourceBucketOwner$)")
# Parameters whose invalid use is part of the documented surface (the issue: "valid and invalid").
BOTH_WAYS = re.compile(r"^(x-amz-server-side-encryption|x-amz-copy-source-server-side-encryption)")
BODY_SHAPE = "ServerSideEncryptionConfiguration"
DEFAULT_DATA = "_coverage.yaml"


@dataclass
class Row:
    operation: str
    kind: str                      # "parameter" | "element" | "error"
    name: str
    valid: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    needs_both: bool = False

    @property
    def key(self) -> str:
        return f"{self.operation}.{self.name}"

    def gaps(self) -> list[str]:
        """Coverage keys still missing: the row itself, or its .valid / .invalid half."""
        if self.kind == "error":
            return [] if self.valid else [self.key]
        if not (self.valid or self.invalid):
            return [self.key]
        if not self.needs_both:
            return []
        return [f"{self.key}.{half}" for half, ids in (("valid", self.valid), ("invalid", self.invalid)) if not ids]


# --- botocore model -------------------------------------------------------------------------------------------

def model_parameters(model: ServiceModel) -> dict[str, list[str]]:
    """Operation -> wire names (header names) of its SSE/integrity/ownership input members."""
    result: dict[str, list[str]] = {}
    for op in OPERATIONS:
        source_op = "PutObject" if op == s3model.POST_OBJECT else op          # POST Object is not in the model
        shape = model.operation_model(source_op).input_shape
        names = []
        for member, spec in (shape.members if shape is not None else {}).items():
            if MEMBER_PATTERN.match(member) and spec.serialization.get("location") == "header":
                names.append(spec.serialization.get("name", member))
        result[op] = names
    return result


def model_body_elements(model: ServiceModel) -> list[str]:
    """XML element names of ServerSideEncryptionConfiguration, depth first, as they appear on the wire."""
    from botocore.model import ListShape, StructureShape

    names: list[str] = [BODY_SHAPE]

    def walk(shape: Shape) -> None:
        if isinstance(shape, ListShape):
            walk(shape.member)
            return
        for member, spec in (shape.members if isinstance(shape, StructureShape) else {}).items():
            wire = spec.serialization.get("name") or member        # flattened lists carry the element name here
            if wire not in names:
                names.append(wire)
            if spec.type_name in ("structure", "list"):
                walk(spec)
    walk(model.shape_for(BODY_SHAPE))
    return names


# --- classification of requests -----------------------------------------------------------------------------

def classify(request: RequestSpec | None) -> str | None:
    """The operation (of OPERATIONS) a case request performs, or None (service calls, other operations, a
    KMS step)."""
    if request is None:
        return None
    operation = s3model.infer_operation(request.method.upper(), bool(request.bucket), bool(request.key),
                                        {str(k) for k in request.query}, {str(k).lower() for k in request.headers},
                                        form=request.form is not None)
    return operation if operation in OPERATIONS else None


def sent_parameters(operation: str, request: RequestSpec) -> set[str]:
    """Lower-cased wire names the request sends (headers, form fields, integrity options)."""
    names = request.header_names()
    if request.form is not None:
        names |= {str(k).lower() for k in request.form.fields}
    checksum = request.checksum
    if checksum:
        names.add(f"x-amz-checksum-{checksum.algorithm}")
    md5 = request.content_md5
    if md5 in ("auto", "wrong", "malformed"):
        names.add("content-md5")
    elif md5 is None and operation == "PutBucketEncryption" and request.body and not checksum:
        names.add("content-md5")          # the runner's default for requestChecksumRequired operations
    return names


def body_elements(body: Any) -> set[str]:
    """Element names in an XML (or plain string) body spec."""
    text = body.get("xml") if isinstance(body, dict) else (body if isinstance(body, str) else None)
    return set(re.findall(r"<([A-Za-z][A-Za-z0-9]*)[\s>/]", text or ""))


def expected_errors(step: Step, vars_sets: list[dict[str, Any]]) -> tuple[bool, set[str]]:
    """(expects an error in its main expectation, error labels over the expectation and its variants)."""
    labels: set[str] = set()
    for expect in step.expectations():
        code = expect.error.code if expect.error is not None else None
        if code:
            labels |= _resolve(code, vars_sets)
        elif _negative(expect):
            statuses = expect.status
            for status in statuses if isinstance(statuses, tuple) else [statuses]:
                labels.add(f"HTTP {status}")
    return _negative(step.expect), labels


def _negative(expect: Expect) -> bool:
    status = expect.status
    statuses = status if isinstance(status, tuple) else [status]
    has_error = expect.error is not None and expect.error != ErrorExpect()      # `error: {}` asks for nothing
    return has_error or any(isinstance(s, int) and s >= 400 for s in statuses)


def _resolve(text: str, vars_sets: list[dict[str, Any]]) -> set[str]:
    if "${" not in text:
        return {text}
    pattern = re.compile(r"\$\{(?:vars\.)?([A-Za-z_][A-Za-z0-9_]*)\}")
    out = set()
    for variables in vars_sets or [{}]:
        def value(match: re.Match[str], variables: dict[str, Any] = variables) -> str:
            return str(variables.get(match.group(1), match.group(0)))
        out.add(pattern.sub(value, text))
    return out


# --- the table ------------------------------------------------------------------------------------------------

def build_rows(cases: Iterable[Case], data: dict[str, Any], model: ServiceModel | None = None,
               vars_sets: list[dict[str, Any]] | None = None) -> list[Row]:
    model = model if model is not None else s3model.service()
    params = model_parameters(model)
    elements = model_body_elements(model)
    documented = {op: list((spec or {}).get("errors") or []) for op, spec in (data.get("operations") or {}).items()}
    rows: dict[tuple[str, str, str], Row] = {}
    for op in OPERATIONS:
        for name in params[op]:
            rows[(op, "parameter", name.lower())] = Row(op, "parameter", name, needs_both=bool(BOTH_WAYS.match(name.lower())))
        if op == "PutBucketEncryption":
            for element in elements:
                rows[(op, "element", element)] = Row(op, "element", element, needs_both=True)
        for error in documented.get(op, []):
            rows[(op, "error", error)] = Row(op, "error", error)

    for case in cases:
        case_id, fixtures = case.id, case.fixtures
        if fixtures.encryption:
            for element in body_elements({"xml": fixtures.encryption}):
                if (row := rows.get(("PutBucketEncryption", "element", element))):
                    row.valid.add(case_id)
        for obj in fixtures.objects:
            for name in {str(k).lower() for k in obj.headers}:
                if (row := rows.get(("PutObject", "parameter", name))):
                    row.valid.add(case_id)
        for step in case.steps:
            request = step.request
            classified = classify(request)
            if classified is None or request is None:
                continue
            op = classified
            negative, errors = expected_errors(step, vars_sets or [])
            for name in sent_parameters(op, request):
                if (row := rows.get((op, "parameter", name))):
                    (row.invalid if negative else row.valid).add(case_id)
            if op == "PutBucketEncryption":
                for element in body_elements(request.body):
                    if (row := rows.get((op, "element", element))):
                        (row.invalid if negative else row.valid).add(case_id)
            for label in errors:
                if (row := rows.get((op, "error", label))):
                    row.valid.add(case_id)
    return list(rows.values())


def unexplained(rows: list[Row], data: dict[str, Any]) -> list[str]:
    reasons = data.get("uncovered") or {}
    return [gap for row in rows for gap in row.gaps() if gap not in reasons]


def stale_reasons(rows: list[Row], data: dict[str, Any]) -> list[str]:
    gaps = {gap for row in rows for gap in row.gaps()}
    return sorted(k for k in (data.get("uncovered") or {}) if k not in gaps)


def render_text(rows: list[Row], data: dict[str, Any], width: int = 60) -> str:
    reasons = data.get("uncovered") or {}
    lines = [f"{'operation':<24} {'kind':<9} {'name':<58} {'valid':>5} {'invalid':>7}  cases / reason"]
    for row in rows:
        ids = sorted(row.valid | row.invalid)
        note = ", ".join(ids)
        missing = row.gaps()
        if missing:
            note = " | ".join(f"{m.split('.')[-1] if m != row.key else 'uncovered'}: {reasons.get(m, 'NO REASON')}"
                              for m in missing) + (f" | {note}" if note else "")
        if len(note) > width:
            note = note[: width - 3] + "..."
        invalid = str(len(row.invalid)) if row.kind != "error" else "-"
        lines.append(f"{row.operation:<24} {row.kind:<9} {row.name:<58} {len(row.valid):>5} {invalid:>7}  {note}")
    covered = sum(1 for r in rows if not r.gaps())
    lines.append(f"{covered} of {len(rows)} rows fully covered; {len(unexplained(rows, data))} gaps without a reason")
    return "\n".join(lines)


def render_html(rows: list[Row], data: dict[str, Any]) -> str:
    reasons = data.get("uncovered") or {}
    out = [('<table class="coverage"><tr><th>operation</th><th>kind</th><th>name</th><th>valid</th>'
            '<th>invalid</th><th>uncovered</th></tr>')]
    for row in rows:
        def ids(s: set[str]) -> str:
            return " ".join(f"<code>{escape(i)}</code>" for i in sorted(s))
        gaps = "; ".join(f"{escape(g)}: {escape(str(reasons.get(g, 'no reason given')))}" for g in row.gaps())
        cls = "gap" if any(g not in reasons for g in row.gaps()) else ("explained" if row.gaps() else "ok")
        invalid = ids(row.invalid) if row.kind != "error" else ""
        out.append(f'<tr class="{cls}"><td>{escape(row.operation)}</td><td>{escape(row.kind)}</td>'
                   f"<td>{escape(row.name)}</td><td>{ids(row.valid)}</td><td>{invalid}</td><td>{gaps}</td></tr>")
    out.append("</table>")
    return "".join(out)


# --- entry points ---------------------------------------------------------------------------------------------

def load_data(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or "operations" not in data:
        raise ValueError(f"{path}: expected a mapping with `operations:`")
    return data


def _profile_vars() -> list[dict[str, Any]]:
    """Vars of every shipped profile, so `${err_invalid_config}` counts for each code it stands for."""
    out = []
    for path in sorted((Path(__file__).parent / "profiles").glob("*.yaml")):
        try:
            out.append((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("vars") or {})
        except (OSError, yaml.YAMLError):
            continue
    return out


def coverage_html(cases: list[Case], data_path: str | Path | None = None) -> str:
    """HTML fragment for the runner's report. Data file: the given path, else cases/_coverage.yaml next to
    the first case's file, else the bundled corpus's _coverage.yaml."""
    if data_path is None:
        candidates = []
        for case in cases:
            if case.file:
                for parent in Path(case.file).resolve().parents:
                    candidates.append(parent / DEFAULT_DATA)
                break
        from .corpus import CorpusMissing, bundled_dir
        try:
            candidates.append(bundled_dir() / DEFAULT_DATA)
        except CorpusMissing:
            candidates.append(Path("cases") / DEFAULT_DATA)
        data_path = next((c for c in candidates if c.is_file()), candidates[-1])
    data = load_data(Path(data_path))
    rows = build_rows(cases, data, vars_sets=_profile_vars())
    summary = (f"<p>{sum(1 for r in rows if not r.gaps())} of {len(rows)} rows covered; "
               f"{len(unexplained(rows, data))} gaps without a stated reason.</p>")
    return summary + render_html(rows, data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="s3-conformance coverage",
                                     description="Coverage of the S3 encryption surface by the case corpus.")
    parser.add_argument("--cases", action="append", metavar="PATH",
                        help="case file or directory, replaces the bundled corpus (repeatable; default: the corpus "
                             "installed with the package)")
    parser.add_argument("--extra-cases", action="append", metavar="PATH",
                        help="case file or directory added on top of the corpus (repeatable)")
    parser.add_argument("--data", default=None, metavar="FILE",
                        help="coverage data file (default: _coverage.yaml of the first --cases folder, else of the "
                             "bundled corpus)")
    parser.add_argument("--format", choices=("text", "html"), default="text",
                        help="text table or an HTML fragment (default: text)")
    parser.add_argument("--width", type=int, default=100, help="text mode: width of the cases column (default: 100)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from .casefile.loader import load_cases
    from .corpus import CorpusMissing, case_paths, coverage_data
    try:
        paths = case_paths(args.cases, args.extra_cases)
        data_path = Path(args.data) if args.data else coverage_data(args.cases)
    except CorpusMissing as exc:
        print(f"s3-conformance coverage: {exc}", file=sys.stderr)
        return 2
    cases, problems = load_cases(paths)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 2
    try:
        data = load_data(data_path)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"s3-conformance coverage: {exc}", file=sys.stderr)
        return 2
    rows = build_rows(cases, data, vars_sets=_profile_vars())
    if args.format == "html":
        print(render_html(rows, data))
    else:
        print(render_text(rows, data, width=args.width))
    for key in stale_reasons(rows, data):
        print(f"note: {data_path}: reason for {key} is no longer needed (covered or not a row)", file=sys.stderr)
    missing = unexplained(rows, data)
    for key in missing:
        print(f"uncovered without a reason: {key}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
