"""YAML with line numbers: PyYAML's compose() keeps node marks, which map schema error paths to lines."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[Any, ...]


@dataclass
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        # line 0: the problem concerns the path itself (missing file, empty directory), not a line in it
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass
class LinedDocument:
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)   # JSON path -> 1-based line

    def line_of(self, path: Path_) -> int:
        """Line of the deepest known prefix of `path` (a missing key reports its parent's line)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class _Loader(yaml.SafeLoader):
    pass


_CParser: Any
try:
    _CParser = importlib.import_module("yaml.cyaml").CParser
except (ImportError, AttributeError):       # PyYAML built without libyaml: the pure-Python loader only
    _CParser = None


class _FastLoader(yaml.composer.Composer, _CParser or yaml.parser.Parser, yaml.resolver.Resolver):  # type: ignore[misc]
    """libyaml's scanner and parser (about 9x faster: the corpus loads in a fraction of a second) under PyYAML's
    own Composer, so nodes, marks and recursion limits are those of the pure-Python path."""

    def __init__(self, stream: str) -> None:
        _CParser.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        yaml.resolver.Resolver.__init__(self)


def _compose_fast(text: str) -> Any:
    loader = _FastLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _compose(text: str) -> yaml.Node | None:
    """The document's node tree. Anything libyaml rejects goes through the pure-Python loader, whose error
    messages (and verdicts) are the reference."""
    if _CParser is not None:
        try:
            return _compose_fast(text)
        except (yaml.YAMLError, RecursionError, ValueError, TypeError):
            pass
    return yaml.compose(text, Loader=_Loader)


MAX_NODES = 200_000      # after alias expansion: a "billion laughs" file must not hang the loader
MAX_DEPTH = 60           # case files nest about 10 deep


class _TooBig(Exception):
    pass


def _record(node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[str],
            budget: list[int] | None = None) -> None:
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig(f"more than {MAX_NODES} YAML nodes once anchors and aliases are expanded")
    if len(path) > MAX_DEPTH:
        raise _TooBig(f"nested more than {MAX_DEPTH} levels deep (or an alias that contains itself)")
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(f"{line}:duplicate key {key!r} (first at line {seen[key]})")
            seen[key] = line
            lines[path + (key,)] = line
            _record(value_node, path + (key,), lines, problems, budget)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _record(item, path + (index,), lines, problems, budget)


def load(text: str, file: str) -> tuple[LinedDocument | None, list[Problem]]:
    """Parse YAML; syntax errors and duplicate keys come back as Problems, never as exceptions."""
    try:
        node = _compose(text)
    except RecursionError:          # PyYAML's composer recurses once per nesting level
        return None, [Problem(file, 1, "YAML nested too deeply to read")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(file, line, f"YAML syntax error: {problem}")]
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
        return None, [Problem(file, 1, "empty file (no YAML content)")]
    lines: dict[Path_, int] = {}
    duplicate_notes: list[str] = []
    try:
        _record(node, (), lines, duplicate_notes)
    except _TooBig as exc:
        return None, [Problem(file, 1, f"document too large: {exc}")]
    problems = [Problem(file, int(n.split(":", 1)[0]), n.split(":", 1)[1]) for n in duplicate_notes]
    try:
        loader = _Loader("")
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        return None, problems + [Problem(file, mark.line + 1 if mark else 1, f"YAML error: {problem}")]
    except RecursionError:          # a recursive alias (`&a [*a]`) cannot be built
        return None, problems + [Problem(file, 1, "YAML alias refers to itself")]
    return LinedDocument(data, lines), problems


def schema_problems(document: LinedDocument, validator: Any, file: str) -> list[Problem]:
    """jsonschema errors located by line; oneOf/anyOf failures report their most relevant sub-error."""
    from jsonschema.exceptions import best_match

    problems = []
    for error in validator.iter_errors(document.data):
        note = ""
        if error.context:          # oneOf/anyOf: say which alternative came closest, skipping bare type clashes
            closer = [e for e in error.context if e.validator != "type"] or list(error.context)
            best = best_match(closer)
            if best is not None:
                if error.validator in ("oneOf", "anyOf") and best.validator != "type":
                    note = f" ({best.message})"
                    best = error
                error = best
        path = tuple(error.absolute_path)
        where = "/".join(str(p) for p in path) or "(top level)"
        message = error.message
        if error.validator in ("oneOf", "anyOf"):
            message = f"{_short(error.instance)} is not one of the allowed forms{note}"
        problems.append(Problem(file, document.line_of(path), f"{where}: {message}"))
    return sorted(problems, key=lambda p: p.line)


def kind_of(value: Any) -> str:
    """'a list', 'a string', ... for messages about the wrong kind of YAML value."""
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
