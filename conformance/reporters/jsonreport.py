"""JSON report: every case with every request and response; secrets redacted."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import RunInfo


def build(info: RunInfo) -> dict[str, Any]:
    data = {
        "tool": "s3-conformance", "profile": info.profile, "endpoint": info.endpoint,
        "capabilities": sorted(info.capabilities), "started": info.started, "duration": round(info.duration, 3),
        "summary": info.summary.to_dict(), "interrupted": info.interrupted, "discovery": info.discovery,
        "baseline": None if info.comparison is None else {
            "new_failures": info.comparison.new_failures, "known_failures": info.comparison.known_failures,
            "newly_passing": info.comparison.newly_passing},
        "cases": [r.to_dict() for r in info.results],
        "checks": failed_checks(info),
    }
    return info.redactor.deep(data)


def failed_checks(info: RunInfo) -> list[dict[str, Any]]:
    """Every check that failed or warned, with the confidence and the evidence behind it (the same data as
    in the cases' step mismatches, gathered in one list)."""
    out = []
    for result in info.results:
        for step, mismatch in result.checks():
            out.append({"case": result.case_id, "file": result.file, "line": result.line, "step": step.name,
                        "outcome": "warning" if mismatch.unproven else "failed", **mismatch.to_dict()})
    return out


def write(info: RunInfo, path: Path, data: dict[str, Any] | None = None) -> None:
    """`data`: build(info) when the caller has it already (the HTML report reads the same tree)."""
    data = build(info) if data is None else data
    path.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
