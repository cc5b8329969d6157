"""Reporters: console (progress + summary), JUnit XML, JSON (every exchange, redacted), self-contained HTML."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..baseline import Comparison
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
    cases: list[Any] = field(default_factory=list)      # loader.Case list (for the coverage section)

    @property
    def summary(self) -> Summary:
        return Summary.of(self.results)
