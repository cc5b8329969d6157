"""The LocalStack triage is well formed, the committed README lists every failed case of the committed report
once and every warning with its unproven checks (tests/crosscheck/localstack_readme.py), and the generator refuses
an untriaged failure and a triaged case that did not fail; no LocalStack is started here."""
from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REPORT_DIR = ROOT / "reports" / "localstack"
TRIAGE = HERE / "localstack_triage.yaml"


def _readme_module():
    spec = importlib.util.spec_from_file_location("localstack_readme", HERE / "localstack_readme.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _groups() -> list[dict]:
    return yaml.safe_load(TRIAGE.read_text())["groups"]


def test_triage_groups_are_well_formed():
    groups = _groups()
    ids = Counter(g["id"] for g in groups)
    assert not [g for g, n in ids.items() if n > 1]
    for group in groups:
        assert str(group["class"]) in {"1", "2", "3"}, group["id"]
        assert group["title"].strip() and group["evidence"].strip(), group["id"]
        assert group["cases"], group["id"]


def test_no_case_is_triaged_twice():
    module = _readme_module()
    seen = Counter(cid for g in _groups() for cid, _ in module.case_entries(g))
    assert [cid for cid, n in seen.items() if n > 1] == []


@pytest.mark.skipif(not (REPORT_DIR / "localstack.json").exists(), reason="no LocalStack report committed")
def test_committed_readme_lists_every_failed_case_once():
    """Every failed case of the committed report is triaged, and listed exactly once in the committed README
    (the README's notes also read cases/, which may have moved on since the run, so the text is not compared)."""
    module = _readme_module()
    data = json.loads((REPORT_DIR / "localstack.json").read_text())
    _text, problems, stale = module.render(data, _groups(), "2026.3.0")
    assert problems == []
    assert stale == []
    readme, warnings = (REPORT_DIR / "README.md").read_text().split("\n## Warnings")
    listed = Counter(line.split("`")[1] for line in readme.splitlines() if line.startswith("- `"))
    failed = {c["id"] for c in data["cases"] if c["outcome"] == "failed"}
    assert set(listed) == failed
    assert [cid for cid, n in listed.items() if n > 1] == []
    warned = Counter(line.split("`")[1] for line in warnings.splitlines() if line.startswith("- `"))
    assert set(warned) == {c["id"] for c in data["cases"] if c["outcome"] == "warning"}
    assert [cid for cid, n in warned.items() if n > 1] == []
    s = data["summary"]
    assert (f"**Result: {s['passed']} passed, {s['failed']} failed, {s['na']} not applicable, "
            f"{s['warnings']} warnings**") in readme


def _case(cid: str, outcome: str, mismatches: list[dict]) -> dict:
    return {"id": cid, "file": "cases/x.yaml", "line": 1, "outcome": outcome, "reason": "step s1: status",
            "steps": [{"name": "s1", "ok": not mismatches, "mismatches": mismatches}]}


SUMMARY = {"passed": 1, "failed": 1, "na": 0, "warnings": 1}
PROVEN = {"what": "status", "check": "status", "expected": 400, "actual": 200, "unproven": False}
UNPROVEN = {"what": "error message", "check": "error.message", "expected": "A", "actual": "B", "unproven": True}


def test_render_lists_warnings_with_their_unproven_checks():
    module = _readme_module()
    data = {"summary": SUMMARY, "cases": [_case("c.failed", "failed", [PROVEN, UNPROVEN]),
                                          _case("c.warned", "warning", [UNPROVEN]), _case("c.ok", "passed", [])]}
    groups = [{"id": "g", "class": 1, "title": "t", "evidence": "e", "cases": ["c.failed"]}]
    text, problems, stale = module.render(data, groups, "v")
    assert problems == [] and stale == []
    assert "1 passed, 1 failed, 0 not applicable, 1 warnings" in text
    failed_part, warning_part = text.split("\n## Warnings")
    assert "`c.failed`" in failed_part and "also differs on unproven checks (warnings only): s1: error.message" in failed_part
    assert "`c.warned`" in warning_part and "step s1, `error.message`: expected A, LocalStack B" in warning_part
    assert "`c.failed`" not in warning_part and "`c.warned`" not in failed_part


def test_render_refuses_untriaged_failures_and_stale_entries():
    module = _readme_module()
    data = {"summary": SUMMARY, "cases": [_case("c.failed", "failed", [PROVEN]),
                                          _case("c.warned", "warning", [UNPROVEN]), _case("c.ok", "passed", [])]}
    groups = [{"id": "g", "class": 3, "title": "t", "evidence": "e", "cases": ["c.warned", "c.ok", "c.gone"]}]
    _text, problems, stale = module.render(data, groups, "v")
    assert stale == ["c.gone", "c.ok", "c.warned"]
    assert "failed but not triaged: c.failed" in problems
    assert "triaged but not failed (warning): c.warned" in problems
    assert "triaged but not failed (passed): c.ok" in problems
    assert "triaged but not failed (not in the report): c.gone" in problems
