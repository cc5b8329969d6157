"""Baselines: the failing case ids a vendor accepts for now. Known failures don't fail the gate; the
comparison lists new failures and cases that now pass (so the baseline can be tightened)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .results import CaseResult


class BaselineError(Exception):
    pass


@dataclass
class Comparison:
    new_failures: list[str] = field(default_factory=list)
    known_failures: list[str] = field(default_factory=list)
    newly_passing: list[str] = field(default_factory=list)

    @property
    def gate_ok(self) -> bool:
        return not self.new_failures


def failing_ids(results: list[CaseResult]) -> list[str]:
    return sorted(r.case_id for r in results if r.failed)


def load(path: str | Path) -> set[str]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline file not found (create it with --update-baseline)") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{path}: not a readable baseline: {exc}") from None
    failures = data.get("failures") if isinstance(data, dict) else None
    if not isinstance(failures, list) or not all(isinstance(f, str) for f in failures):
        raise BaselineError(f"{path}: expected {{\"failures\": [case ids]}}")
    return set(failures)


def compare(results: list[CaseResult], known: set[str]) -> Comparison:
    comparison = Comparison()
    for result in sorted(results, key=lambda r: r.case_id):
        if result.failed:
            (comparison.known_failures if result.case_id in known else comparison.new_failures).append(result.case_id)
        elif result.case_id in known and result.outcome.value in ("passed", "warning"):   # warnings are not failures
            comparison.newly_passing.append(result.case_id)
    return comparison


def write(path: str | Path, results: list[CaseResult], profile: str) -> None:
    data = {"version": 1, "profile": profile, "failures": failing_ids(results)}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
