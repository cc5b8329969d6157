"""docs/DESIGN.md is the map of the code: every module of the runner and the reference server is named in it,
and every module path it names exists."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESIGN = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
PACKAGES = ("conformance", "mockserver")


def _docstring_only(path: Path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def _modules() -> list[tuple[str, str]]:
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT / package).as_posix()
            if relative.endswith("__init__.py") and _docstring_only(path):
                continue          # package markers with only a docstring say nothing the layout must name
            out.append((package, relative))
    return out


def _named(relative: str) -> bool:
    """A module counts as named when its path relative to its package appears, or (for modules listed inside a
    folder's block, e.g. `handlers/` followed by `copy.py, ...`) its folder appears and its file name does."""
    if re.search(rf"(?<![\w/.]){re.escape(relative)}(?!\w)", DESIGN):
        return True
    folder, _, name = relative.rpartition("/")
    if not folder:
        return False
    block = re.search(rf"^\s*{re.escape(folder)}/\s.*?(?=^\S|^  \S+/\s|\Z)", DESIGN, re.MULTILINE | re.DOTALL)
    return bool(block and re.search(rf"(?<![\w/.]){re.escape(name)}(?!\w)", block.group(0)))


@pytest.mark.parametrize("package,relative", _modules(), ids=lambda v: v)
def test_every_module_is_named_in_design(package: str, relative: str) -> None:
    assert _named(relative), f"{package}/{relative} is not named in docs/DESIGN.md's layout"


def test_named_module_paths_exist() -> None:
    named = set(re.findall(r"`((?:conformance|mockserver)/[\w/]+\.py)`", DESIGN))
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == [], f"docs/DESIGN.md names modules that do not exist: {missing}"


def test_no_working_notes_folder() -> None:
    assert not (ROOT / "docs" / "requests").exists()
