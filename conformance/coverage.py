"""`s3-conformance coverage`: which cases exercise each SSE and integrity member and each documented error of the
operations botocore's S3 model gives such members.

Rows are derived from botocore's model, so a model update that adds an operation or a member shows up as
uncovered: every operation whose input or output has (at any depth) a server-side encryption member, a checksum
member (Checksum*, ContentMD5), or whose name contains "Encryption" (plus POST Object, which is not in the model
and borrows PutObject's members as form fields). Its rows are
- `parameter`: request headers and query parameters among those members (and x-amz-expected-bucket-owner);
- `element`: request body elements: every element of the payload of an operation named "...Encryption", else the
  payload elements among those members (e.g. CompleteMultipartUpload's part checksums);
- `response`: response headers and body elements among those members (every element of the output payload of an
  operation named "...Encryption"), keyed `<Operation>.response.<name>`;
- `error`: the errors the model lists for the operation plus those `cases/_coverage.yaml` lists from the
  documents (an S3 error code, or "HTTP <status>" for answers without a body: HEAD).
Each step of each case is classified into the operation its request performs (method, subresource, headers), so a
GET step inside a PutObject case counts for GetObject. A step that expects an error counts as an invalid use of
every parameter it sends; a step that expects success (and every fixture write) as a valid use. A response row is
covered by a step that asserts or captures that header or element. A row without a case needs a reason in
`uncovered:` (or a note in `pending:`, for rows another branch's cases cover) of the data file; `coverage` exits 1
while one has neither.
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
    from botocore.model import OperationModel, ServiceModel, Shape

    from .casefile.model import Case, Expect, RequestSpec, Step

# Member names of the surface: server-side encryption and integrity (botocore member names).
SSE_MEMBER = re.compile(r"^(SSECustomer|CopySourceSSECustomer|ServerSideEncryption|SSEKMS|BucketKeyEnabled$)")
CHECKSUM_MEMBER = re.compile(r"^(Checksum|ContentMD5$)")
OWNER_MEMBER = re.compile(r"^(ExpectedBucketOwner|ExpectedSourceBucketOwner)$")
# Parameters whose invalid use is part of the documented surface (the issue: "valid and invalid").
BOTH_WAYS = re.compile(r"^(x-amz-server-side-encryption|x-amz-copy-source-server-side-encryption)")
DEFAULT_DATA = "_coverage.yaml"
_MAX_DEPTH = 8


@dataclass
class Row:
    operation: str
    kind: str                      # "parameter" | "element" | "response" | "error"
    name: str
    valid: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    needs_both: bool = False

    @property
    def key(self) -> str:
        if self.kind == "response":
            return f"{self.operation}.response.{self.name}"
        return f"{self.operation}.{self.name}"

    def gaps(self) -> list[str]:
        """Coverage keys still missing: the row itself, or its .valid / .invalid half."""
        if self.kind in ("error", "response"):
            return [] if self.valid else [self.key]
        if not (self.valid or self.invalid):
            return [self.key]
        if not self.needs_both:
            return []
        return [f"{self.key}.{half}" for half, ids in (("valid", self.valid), ("invalid", self.invalid)) if not ids]


# --- botocore model -------------------------------------------------------------------------------------------

def _surface_member(name: str) -> bool:
    return bool(SSE_MEMBER.match(name) or CHECKSUM_MEMBER.match(name))


def _wire(name: str, spec: Shape) -> str:
    return str(spec.serialization.get("name") or name)


def _nested(shape: Shape | None, every: bool, out: list[str], seen: frozenset[str] = frozenset(),
            depth: int = 0) -> None:
    """Wire names of the elements below `shape` (all of them, or the surface members only), depth first."""
    from botocore.model import ListShape, StructureShape

    if shape is None or depth > _MAX_DEPTH:
        return
    if isinstance(shape, ListShape):
        _nested(shape.member, every, out, seen, depth + 1)
        return
    if not isinstance(shape, StructureShape) or shape.name in seen:
        return
    for member, spec in shape.members.items():
        if spec.serialization.get("location"):
            continue                                # headers, query, URI: not body elements
        wire = _wire(member, spec)
        if (every or _surface_member(member)) and wire not in out:
            out.append(wire)
        _nested(spec, every, out, seen | {shape.name}, depth + 1)


def _has_surface(shape: Shape | None, seen: frozenset[str] = frozenset(), depth: int = 0) -> bool:
    from botocore.model import ListShape, StructureShape

    if shape is None or depth > _MAX_DEPTH:
        return False
    if isinstance(shape, ListShape):
        return _has_surface(shape.member, seen, depth + 1)
    if not isinstance(shape, StructureShape) or shape.name in seen:
        return False
    return any(_surface_member(member) or _has_surface(spec, seen | {shape.name}, depth + 1)
               for member, spec in shape.members.items())


def model_operations(model: ServiceModel) -> list[str]:
    """Operations of the surface, in the model's order, with PostObject after PutObject."""
    names = []
    for name in model.operation_names:
        op = model.operation_model(name)
        if "Encryption" in name or _has_surface(op.input_shape) or _has_surface(op.output_shape):
            names.append(name)
            if name == "PutObject":
                names.append(s3model.POST_OBJECT)
    return names


def _source(model: ServiceModel, operation: str) -> OperationModel:
    return model.operation_model("PutObject" if operation == s3model.POST_OBJECT else operation)


def _payload(shape: Shape | None) -> Shape | None:
    if shape is None:
        return None
    name = shape.serialization.get("payload")
    if name is None:
        return shape
    member = shape.members[name]
    return member if member.type_name == "structure" else None


def _payload_root(shape: Shape | None) -> str | None:
    if shape is None or shape.serialization.get("payload") is None:
        return None
    name = shape.serialization["payload"]
    member = shape.members[name]
    return _wire(name, member) if member.type_name == "structure" else None


def model_parameters(model: ServiceModel, operations: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Operation -> wire names (header and query names) of its SSE/integrity/ownership input members."""
    result: dict[str, list[str]] = {}
    for op in operations if operations is not None else model_operations(model):
        shape = _source(model, op).input_shape
        names = []
        for member, spec in (shape.members if shape is not None else {}).items():
            if spec.serialization.get("location") not in ("header", "querystring"):
                continue
            if _surface_member(member) or OWNER_MEMBER.match(member):
                names.append(_wire(member, spec))
        result[op] = names
    return result


def model_elements(model: ServiceModel, operation: str, output: bool = False) -> list[str]:
    """Body element names of an operation's request (or response): the whole payload for "...Encryption"
    operations, else the surface members in it."""
    if operation == s3model.POST_OBJECT:
        return []
    op = model.operation_model(operation)
    shape = op.output_shape if output else op.input_shape
    every = "Encryption" in operation
    out: list[str] = []
    root = _payload_root(shape)
    if every and root is not None:
        out.append(root)
    _nested(_payload(shape), every, out)
    return out


def model_response_headers(model: ServiceModel, operation: str) -> list[str]:
    shape = _source(model, operation).output_shape
    return [_wire(member, spec) for member, spec in (shape.members if shape is not None else {}).items()
            if spec.serialization.get("location") == "header" and _surface_member(member)]


def model_errors(model: ServiceModel, operation: str) -> list[str]:
    """The errors the model lists for the operation; "HTTP <status>" for HEAD (no error body)."""
    op = _source(model, operation)
    head = op.http.get("method") == "HEAD"
    out = []
    for shape in op.error_shapes:
        status = shape.metadata.get("error", {}).get("httpStatusCode")
        out.append(f"HTTP {status}" if head and status else shape.name)
    return out


def model_body_elements(model: ServiceModel) -> list[str]:
    """XML element names of ServerSideEncryptionConfiguration, depth first, as they appear on the wire."""
    return model_elements(model, "PutBucketEncryption")


# --- classification of requests -----------------------------------------------------------------------------

def classify(request: RequestSpec | None, operations: Iterable[str] | None = None) -> str | None:
    """The operation (of the surface's operations) a case request performs, or None (service calls, other
    operations, a KMS step)."""
    if request is None:
        return None
    operation = s3model.infer_operation(request.method.upper(), bool(request.bucket), bool(request.key),
                                        {str(k) for k in request.query}, {str(k).lower() for k in request.headers},
                                        form=request.form is not None)
    known = set(operations) if operations is not None else set(model_operations(s3model.service()))
    return operation if operation in known else None


def sent_parameters(operation: str, request: RequestSpec) -> set[str]:
    """Lower-cased wire names the request sends (headers, query parameters, form fields, integrity options)."""
    names = request.header_names()
    names |= {str(k).lower() for k in request.query}
    if request.form is not None:
        names |= {str(k).lower() for k in request.form.fields}
    checksum = request.checksum
    if checksum:
        names.add(f"x-amz-checksum-{checksum.algorithm}")
    md5 = request.content_md5
    if md5 in ("auto", "wrong", "malformed"):
        names.add("content-md5")
    elif md5 is None and operation in s3model.operations_requiring_integrity() and request.body and not checksum:
        names.add("content-md5")          # the runner's default for requestChecksumRequired operations
    return names


def body_elements(body: Any) -> set[str]:
    """Element names in an XML (or plain string) body spec."""
    text = body.get("xml") if isinstance(body, dict) else (body if isinstance(body, str) else None)
    return set(re.findall(r"<([A-Za-z][A-Za-z0-9_.-]*)[\s>/]", text or ""))


def asserted_response(step: Step) -> set[str]:
    """Lower-cased response header names and XML element names the step asserts (in any expectation) or
    captures."""
    names: set[str] = set()
    for expect in step.expectations():
        headers = expect.headers
        if headers is not None:
            for group in (headers.equal, headers.match, headers.present, headers.absent):
                names |= {str(n).lower() for n in group or ()}
        for check in expect.xml or ():
            names |= {part.split(":")[-1].split("}")[-1].lower() for part in check.path.split("/") if part}
    for capture in step.captures:
        if capture.header:
            names.add(capture.header.lower())
        if capture.xml:
            names |= {part.split(":")[-1].split("}")[-1].lower() for part in capture.xml.split("/") if part}
    return names


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

def model_rows(model: ServiceModel, data: dict[str, Any]) -> dict[tuple[str, str, str], Row]:
    """The empty table: every row the model (and the data file's documented errors) gives."""
    operations = model_operations(model)
    params = model_parameters(model, operations)
    documented = {op: list((spec or {}).get("errors") or []) for op, spec in (data.get("operations") or {}).items()}
    rows: dict[tuple[str, str, str], Row] = {}
    for op in operations:
        for name in params[op]:
            rows[(op, "parameter", name.lower())] = Row(op, "parameter", name,
                                                         needs_both=bool(BOTH_WAYS.match(name.lower())))
        whole = "Encryption" in op
        for element in model_elements(model, op):
            rows[(op, "element", element.lower())] = Row(op, "element", element, needs_both=whole)
        if op == s3model.POST_OBJECT:
            # Not in the model: its form fields are PutObject's members; its answers and errors are the
            # documented ones the data file lists.
            responses: list[str] = []
            errors = documented.get(op, [])
        else:
            responses = model_response_headers(model, op) + model_elements(model, op, output=True)
            errors = model_errors(model, op) + documented.get(op, [])
        for name in responses:
            rows.setdefault((op, "response", name.lower()), Row(op, "response", name))
        for error in errors:
            rows.setdefault((op, "error", error), Row(op, "error", error))
    return rows


def build_rows(cases: Iterable[Case], data: dict[str, Any], model: ServiceModel | None = None,
               vars_sets: list[dict[str, Any]] | None = None) -> list[Row]:
    model = model if model is not None else s3model.service()
    rows = model_rows(model, data)
    operations = {op for op, _, _ in rows}
    for case in cases:
        case_id, fixtures = case.id, case.fixtures
        if fixtures.encryption:
            for element in body_elements({"xml": fixtures.encryption}):
                if (row := rows.get(("PutBucketEncryption", "element", element.lower()))):
                    row.valid.add(case_id)
        for obj in fixtures.objects:
            for name in {str(k).lower() for k in obj.headers}:
                if (row := rows.get(("PutObject", "parameter", name))):
                    row.valid.add(case_id)
        for step in case.steps:
            request = step.request
            op = classify(request, operations)
            if op is None or request is None:
                continue
            negative, errors = expected_errors(step, vars_sets or [])
            for name in sent_parameters(op, request):
                if (row := rows.get((op, "parameter", name))):
                    (row.invalid if negative else row.valid).add(case_id)
            for element in body_elements(request.body):
                if (row := rows.get((op, "element", element.lower()))):
                    (row.invalid if negative else row.valid).add(case_id)
            asserted = asserted_response(step)
            if any(expect.xml for expect in step.expectations()) or any(c.xml for c in step.captures):
                root = _payload_root(model.operation_model(op).output_shape)
                if root is not None:
                    asserted.add(root.lower())          # paths are written below the document's root
            for name in asserted:
                if (row := rows.get((op, "response", name))):
                    row.valid.add(case_id)
            for label in errors:
                if (row := rows.get((op, "error", label))):
                    row.valid.add(case_id)
    return list(rows.values())


def _explained(data: dict[str, Any]) -> dict[str, Any]:
    return {**(data.get("pending") or {}), **(data.get("uncovered") or {})}


def unexplained(rows: list[Row], data: dict[str, Any]) -> list[str]:
    reasons = _explained(data)
    return [gap for row in rows for gap in row.gaps() if gap not in reasons]


def stale_reasons(rows: list[Row], data: dict[str, Any]) -> list[str]:
    gaps = {gap for row in rows for gap in row.gaps()}
    return sorted(k for k in _explained(data) if k not in gaps)


def pending(rows: list[Row], data: dict[str, Any]) -> list[str]:
    """Gaps explained only by a `pending:` note (cases that another branch brings)."""
    notes = data.get("pending") or {}
    reasons = data.get("uncovered") or {}
    return [gap for row in rows for gap in row.gaps() if gap in notes and gap not in reasons]


def render_text(rows: list[Row], data: dict[str, Any], width: int = 60) -> str:
    reasons = _explained(data)
    op_width = max([24] + [len(row.operation) for row in rows])
    lines = [f"{'operation':<{op_width}} {'kind':<9} {'name':<58} {'valid':>5} {'invalid':>7}  cases / reason"]
    for row in rows:
        ids = sorted(row.valid | row.invalid)
        note = ", ".join(ids)
        missing = row.gaps()
        if missing:
            note = " | ".join(f"{m.split('.')[-1] if m != row.key else 'uncovered'}: {reasons.get(m, 'NO REASON')}"
                              for m in missing) + (f" | {note}" if note else "")
        if len(note) > width:
            note = note[: width - 3] + "..."
        invalid = str(len(row.invalid)) if row.kind not in ("error", "response") else "-"
        lines.append(f"{row.operation:<{op_width}} {row.kind:<9} {row.name:<58} {len(row.valid):>5} {invalid:>7}  {note}")
    covered = sum(1 for r in rows if not r.gaps())
    lines.append(f"{covered} of {len(rows)} rows fully covered; {len(pending(rows, data))} gaps pending; "
                 f"{len(unexplained(rows, data))} gaps without a reason")
    return "\n".join(lines)


def render_html(rows: list[Row], data: dict[str, Any]) -> str:
    reasons = _explained(data)
    out = [('<table class="coverage"><tr><th>operation</th><th>kind</th><th>name</th><th>valid</th>'
            '<th>invalid</th><th>uncovered</th></tr>')]
    for row in rows:
        def ids(s: set[str]) -> str:
            return " ".join(f"<code>{escape(i)}</code>" for i in sorted(s))
        gaps = "; ".join(f"{escape(g)}: {escape(str(reasons.get(g, 'no reason given')))}" for g in row.gaps())
        cls = "gap" if any(g not in reasons for g in row.gaps()) else ("explained" if row.gaps() else "ok")
        invalid = ids(row.invalid) if row.kind not in ("error", "response") else ""
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
