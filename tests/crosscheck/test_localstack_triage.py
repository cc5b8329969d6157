"""The LocalStack triage is well formed and the committed README lists every failed case of the committed report
once (tests/crosscheck/localstack_readme.py); no LocalStack is started here."""
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
        assert str(group["class"]) in {"1", "2", "3", "undecided"}, group["id"]
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
    _text, problems, _stale = module.render(data, _groups(), "2026.3.0")
    assert problems == []
    readme = (REPORT_DIR / "README.md").read_text().split("## Triaged on an earlier run")[0]
    listed = Counter(line.split("`")[1] for line in readme.splitlines() if line.startswith("- `"))
    failed = {c["id"] for c in data["cases"] if c["outcome"] == "failed"}
    assert set(listed) == failed
    assert [cid for cid, n in listed.items() if n > 1] == []
