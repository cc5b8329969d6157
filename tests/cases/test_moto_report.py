"""The committed moto report (reports/moto/) is consistent: its README lists every failed case exactly once,
under one deviation, and states the run's totals."""
from __future__ import annotations

import json
import re

from .conftest import REPO

MOTO = REPO / "reports" / "moto"


def test_readme_lists_each_moto_failure_once():
    report = json.loads((MOTO / "moto.json").read_text(encoding="utf-8"))
    readme = (MOTO / "README.md").read_text(encoding="utf-8")
    failed = {c["id"] for c in report["cases"] if c["outcome"] == "failed"}
    listed = re.findall(r"^- `([a-z0-9][a-z0-9._-]*)` — ", readme, re.MULTILINE)
    assert sorted(listed) == sorted(failed)
    summary = report["summary"]
    assert f"{summary['passed']} passed, {summary['failed']} failed, {summary['na']} not applicable" in readme


def test_every_listed_case_exists_in_the_corpus(corpus):
    cases, _ = corpus
    ids = {c.id for c in cases}
    readme = (MOTO / "README.md").read_text(encoding="utf-8")
    assert set(re.findall(r"^- `([a-z0-9][a-z0-9._-]*)`", readme, re.MULTILINE)) <= ids
