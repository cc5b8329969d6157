"""Case files (YAML) -> Case objects. Every problem is reported as `path:line: message`; nothing raises
past load_cases(): the caller prints the problems (the CLI exits 2, the pytest plugin fails collection)."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from . import checks, yamlsource
from .checks import VarRef
from .yamlsource import LinedDocument, Problem

CASE_SUFFIXES = (".yaml", ".yml")


@dataclass
class Case:
    id: str
    title: str
    operation: str
    source: dict[str, Any]
    steps: list[dict[str, Any]]
    file: str
    line: int
    tags: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    fixtures: dict[str, Any] = field(default_factory=dict)
    step_lines: list[int] = field(default_factory=list)
    var_refs: list[VarRef] = field(default_factory=list)     # profile variables used, with their lines

    def step_name(self, index: int) -> str:
        return self.steps[index].get("name") or f"step{index + 1}"

    def implied_requirements(self) -> list[str]:
        """Capabilities the case needs by construction, on top of `requires`."""
        needs = set(self.requires)
        if self.fixtures.get("kms_keys"):
            needs.add("kms-admin")
        if self.fixtures.get("versioning"):
            needs.add("versioning")
        for step in self.steps:
            request = step.get("request", {})
            if request.get("scheme") == "http":
                needs.add("plain-http")
            if request.get("auth") == "alt":
                needs.add("multi-account")
            expectations = [step.get("expect") or {}] + [v.get("expect") or {} for v in step.get("variants") or []]
            if any("kms_calls" in e for e in expectations):
                needs.add("kms-metrics")
        return sorted(needs)


@lru_cache(maxsize=1)
def case_validator() -> Draft202012Validator:
    text = resources.files("conformance").joinpath("schema/case.schema.json").read_text(encoding="utf-8")
    return Draft202012Validator(json.loads(text))


def looks_like_case_file(text: str) -> bool:
    return re.search(r"^cases\s*:", text, re.MULTILINE) is not None


def case_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            # `_name.yaml` files inside a case directory are data (e.g. the coverage map), not cases
            found = sorted(p for p in path.rglob("*") if p.suffix in CASE_SUFFIXES and p.is_file()
                           and not p.name.startswith("_"))
            if not found:
                problems.append(Problem(str(path), 0, "directory holds no case files (*.yaml, *.yml)"))
            files += found
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), 0, "no such file or directory"))
    return files, problems


def load_file(path: Path) -> tuple[list[Case], list[Problem]]:
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [Problem(name, 0, f"cannot read: {exc.strerror or exc}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return [], [Problem(name, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                                        "case files are UTF-8 YAML")]
    if "\x00" in text:
        return [], [Problem(name, text[:text.index("\x00")].count("\n") + 1, "binary file (NUL byte); case files "
                                                                             "are UTF-8 YAML")]
    document, problems = yamlsource.load(text, name)
    if document is None:
        return [], problems
    if not isinstance(document.data, dict):
        kind = yamlsource.kind_of(document.data)
        return [], problems + [Problem(name, document.line_of(()),
                                       f"the top level must be a mapping with a `cases:` list, not {kind}")]
    if "cases" not in document.data and {"capabilities", "region"} & set(document.data):
        return [], problems + [Problem(name, 1, "this looks like a profile, not a case file (no `cases:`); "
                                                "pass profiles with --profile")]
    problems += yamlsource.schema_problems(document, case_validator(), name)
    if problems:
        return [], problems
    cases = []
    for index, raw in enumerate(document.data["cases"]):
        case_problems = _semantic_problems(raw, document, ("cases", index), name)
        refs = checks.check_case(raw, ("cases", index), _collector(case_problems, document, name))
        if case_problems:
            problems += sorted(case_problems, key=lambda p: p.line)
            continue
        cases.append(Case(
            id=raw["id"], title=raw["title"], operation=raw["operation"], source=raw["source"],
            steps=raw["steps"], file=name, line=document.line_of(("cases", index)),
            tags=list(raw.get("tags") or []), requires=list(raw.get("requires") or []),
            fixtures=dict(raw.get("fixtures") or {}),
            step_lines=[document.line_of(("cases", index, "steps", i)) for i in range(len(raw["steps"]))],
            var_refs=[VarRef(r.name, r.path, r.where, document.line_of(r.path)) for r in refs]))
    return cases, problems


def _collector(problems: list[Problem], document: LinedDocument, file: str) -> checks.Report:
    def report(at: tuple[Any, ...], message: str) -> None:
        problems.append(Problem(file, document.line_of(at), message))
    return report


def _semantic_problems(raw: dict[str, Any], doc: LinedDocument, at: tuple[Any, ...], file: str) -> list[Problem]:
    """Duplicate names and references by name (body objects, same_as); placeholders are casecheck's."""
    problems = []
    fixtures = raw.get("fixtures") or {}
    objects = [o["name"] for o in fixtures.get("objects") or []]
    keys = [k["name"] for k in fixtures.get("kms_keys") or []]
    for label, names, where in (("object", objects, "objects"), ("KMS key", keys, "kms_keys")):
        for dup in {n for n in names if names.count(n) > 1}:
            problems.append(Problem(file, doc.line_of(at + ("fixtures", where)), f"duplicate {label} name {dup!r}"))
    seen_steps: list[str] = []
    for index, step in enumerate(raw["steps"]):
        step_at = at + ("steps", index)
        name = step.get("name") or f"step{index + 1}"
        if name in seen_steps:
            problems.append(Problem(file, doc.line_of(step_at + ("name",)), f"duplicate step name {name!r}"))
        body = (step.get("request") or {}).get("body")
        if isinstance(body, dict) and "object" in body and body["object"] not in objects:
            problems.append(Problem(file, doc.line_of(step_at + ("request", "body")),
                                    f"body refers to undefined fixture object {body['object']!r}"))
        for exp_at, expect in [(step_at + ("expect",), step.get("expect") or {})] + \
                [(step_at + ("variants", i, "expect"), v["expect"]) for i, v in enumerate(step.get("variants") or [])]:
            same = (expect.get("body") or {}).get("same_as") or {}
            if "object" in same and same["object"] not in objects:
                problems.append(Problem(file, doc.line_of(exp_at + ("body",)),
                                        f"same_as refers to undefined fixture object {same['object']!r}"))
            if "step" in same and same["step"] not in seen_steps + [name]:
                problems.append(Problem(file, doc.line_of(exp_at + ("body",)),
                                        f"same_as refers to step {same['step']!r}, which does not come earlier"))
        seen_steps.append(name)
    return problems


def load_cases(paths: Iterable[str | Path]) -> tuple[list[Case], list[Problem]]:
    """All cases under `paths` (files or directories); duplicate ids are reported with both locations."""
    paths = list(paths)
    files, problems = case_files(paths)
    cases: list[Case] = []
    first_seen: dict[str, Case] = {}
    for path in files:
        loaded, file_problems = load_file(path)
        problems += file_problems
        for case in loaded:
            if case.id in first_seen:
                other = first_seen[case.id]
                problems.append(Problem(case.file, case.line,
                                        f"duplicate case id {case.id!r} (also defined at {other.file}:{other.line})"))
                continue
            first_seen[case.id] = case
            cases.append(case)
    if not cases and not problems:
        where = ", ".join(str(p) for p in paths)
        problems.append(Problem(where or "(no path)", 0, "no cases found"))
    return cases, problems
