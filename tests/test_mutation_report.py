"""The mutation harness's report (tests/mutation/harness.py write_report): the list of cases that kill no mutant is
computed from the stored results, justified ones are shown with their reason, and a hand-written "## Run notes"
section survives the regeneration. No mutant is run here."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _harness():
    sys.path.insert(0, str(ROOT / "tests" / "mutation"))
    spec = importlib.util.spec_from_file_location("s3c_mutation_harness", ROOT / "tests" / "mutation" / "harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _record(name: str, killed_by: list[str], cases_run: list[str], control: bool = False) -> dict:
    return {"name": name, "area": "x", "profile": "aws", "control": control, "description": name, "file": "f",
            "status": "killed" if killed_by else "survived", "killed_by": killed_by, "warnings": [],
            "cases_run": cases_run, "seconds": 1.0}


def test_never_killing_cases_and_run_notes(tmp_path):
    harness = _harness()
    real = [m for m in harness.MUTANTS if not m.control][:2]
    control = next(m for m in harness.MUTANTS if m.name == "control.put-always-500")
    results = tmp_path / "results"
    results.mkdir()
    justified = next(iter(harness.CASE_JUSTIFICATIONS))
    run = ["a.kills", "b.never", justified]
    records = [_record(real[0].name, ["a.kills"], run), _record(real[1].name, [], run),
               _record(control.name, ["b.never", justified], run, control=True)]
    for rec in records:
        (results / f"{rec['name']}.json").write_text(json.dumps(rec), encoding="utf-8")
    (tmp_path / "README.md").write_text("old\n\n## Run notes (x)\n\n- kept\n", encoding="utf-8")
    summary = harness.write_report(results, tmp_path, "cmd")
    # A control's kills do not count: only real mutants make a case "killing".
    assert summary["cases_never_killing"] == sorted(["b.never", justified])
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert f"- `{justified}`: " in readme and "- `b.never`: not justified yet" in readme
    assert readme.endswith("\n## Run notes (x)\n\n- kept\n") and not readme.startswith("old")
