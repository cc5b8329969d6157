"""Every mutant of the mutation harness (tests/mutation/mutants.py) still applies to the current tree: each edit's
old text occurs exactly once in its file and the patched file still compiles. A refactor of mockserver/ that moves
a mutant's text makes this fail loudly (fix the mutant's text), instead of the harness silently testing nothing."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_mutants():
    spec = importlib.util.spec_from_file_location("s3c_mutation_mutants", ROOT / "tests" / "mutation" / "mutants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses look the module up while the class is built
    spec.loader.exec_module(module)
    return module


MUTANTS = _load_mutants().MUTANTS


def test_names_unique_and_controls_present():
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names))
    assert any(m.control for m in MUTANTS) and any(m.name == "control.put-always-500" for m in MUTANTS)
    assert len([m for m in MUTANTS if not m.control]) >= 120


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_applies_exactly_once(mutant):
    texts: dict[str, str] = {}
    for edit in mutant.edits:
        path = ROOT / edit.file
        assert path.is_file(), f"{mutant.name}: {edit.file} does not exist"
        text = texts.get(edit.file, path.read_text(encoding="utf-8"))
        count = text.count(edit.old)
        assert count == 1, f"{mutant.name}: old text occurs {count} times in {edit.file} (must be exactly once)"
        assert edit.old != edit.new
        texts[edit.file] = text.replace(edit.old, edit.new)
    for file, text in texts.items():
        compile(text, file, "exec")          # a mutant must be a deviation, not a syntax error
