"""Reporters: console (progress + summary), JUnit XML, JSON (every exchange, redacted), self-contained HTML."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..baseline import Comparison
from ..casefile.model import Case
from ..redact import Redactor
from ..results import CaseResult, Summary


@dataclass
class RunInfo:
    profile: str
    endpoint: str
    capabilities: list[str]
    results: list[CaseResult]
    started: str
    duration: float
    redactor: Redactor = field(default_factory=Redactor)
    comparison: Comparison | None = None
    cases: list[Case] = field(default_factory=list)      # the cases run (for the coverage section)
    interrupted: bool = False                            # Ctrl-C: the results are those of the cases that ran
    unavailable: dict[str, str] = field(default_factory=dict)   # capability the endpoint lacks -> why, what adds it
    discovery: list[str] = field(default_factory=list)   # what discovery printed before the run (lines)

    @property
    def summary(self) -> Summary:
        return Summary.of(self.results)
