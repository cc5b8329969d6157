"""The packages' module import graphs: no cycles (imports inside functions and under TYPE_CHECKING count too) and
no module importing another module's private name (`from x import _y`).

An edge runs from a module to each module of the same package it names in an import; importing `a.b.c` also
runs `a/b/__init__.py`, but that implicit edge to the parent package is not counted (a package that imports its
own submodules, as mockserver.handlers does to register them, would otherwise be a cycle by construction).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("conformance", "mockserver")


def modules(package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's __init__)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


def _owner(name: str, known: dict[str, tuple[Path, bool]]) -> str | None:
    """The longest known module that `name` is or lies in."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(package: str) -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """(module -> modules of the package it imports, [(importer, module, private name)])."""
    known = modules(package)
    graph: dict[str, set[str]] = {name: set() for name in known}
    private: list[tuple[str, str, str]] = []
    for name, (path, is_package) in known.items():
        base = name.split(".") if is_package else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = _owner(alias.name, known)
                    if target is not None and target != name:
                        graph[name].add(target)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = base[:len(base) - node.level + 1]
                    source = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    if submodule in known:          # `from pkg import module`
                        if submodule != name:
                            graph[name].add(submodule)
                        if alias.name.startswith("_") and not alias.name.startswith("__"):
                            private.append((name, source, alias.name))
                        continue
                    target = _owner(source, known)
                    if target is None:
                        continue
                    if target != name:
                        graph[name].add(target)
                    if alias.name.startswith("_") and not alias.name.startswith("__") and target != name:
                        private.append((name, target, alias.name))
    return graph, private


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_type_only_cycle(tmp_path: Path) -> None:
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert cycles(graph) == [["p.a", "p.b", "p.c"]]
    assert cycles({"p.a": {"p.b"}, "p.b": set()}) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package: str) -> None:
    graph, _ = import_graph(package)
    assert cycles(graph) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_private_names_imported_across_modules(package: str) -> None:
    _, private = import_graph(package)
    assert [f"{importer} imports {name} from {source}" for importer, source, name in private] == []
