"""Case files (YAML) -> Case objects. Every problem is reported as `path:line: message`; nothing raises
past load_cases(): the caller prints the problems (the CLI exits 2, the pytest plugin fails collection)."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from .. import capabilities
from . import checks, yamlsource
from .model import Case, VarRef
from .yamlsource import LinedDocument, Problem

CASE_SUFFIXES = (".yaml", ".yml")


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
        case_problems: list[Problem] = []
        refs = checks.check_case(raw, ("cases", index), _collector(case_problems, document, name))
        capabilities.check_case(raw, ("cases", index), _collector(case_problems, document, name))
        if case_problems:
            problems += sorted(case_problems, key=lambda p: p.line)
            continue
        cases.append(Case.from_dict(
            raw, name, document.line_of, ("cases", index),
            var_refs=tuple(VarRef(r.name, r.path, r.where, document.line_of(r.path)) for r in refs)))
    return cases, problems


def _collector(problems: list[Problem], document: LinedDocument, file: str) -> checks.Report:
    def report(at: tuple[Any, ...], message: str) -> None:
        problems.append(Problem(file, document.line_of(at), message))
    return report


FileLoader = Callable[[list[Path]], list[tuple[list[Case], list[Problem]]]]


def load_cases(paths: Iterable[str | Path], load_files: FileLoader | None = None) -> tuple[list[Case], list[Problem]]:
    """All cases under `paths` (files or directories); duplicate ids are reported with both locations.
    `load_files`: `load_file` of each file, in order, done elsewhere (e.g. `-n N`'s worker processes, in
    parallel); the outcome is the same."""
    paths = list(paths)
    files, problems = case_files(paths)
    cases: list[Case] = []
    first_seen: dict[str, Case] = {}
    per_file = load_files(files) if load_files is not None and files else [load_file(path) for path in files]
    for loaded, file_problems in per_file:
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
