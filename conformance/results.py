"""Result records of a run: outcomes, per-step exchanges and mismatches. Plain data, JSON-ready."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    NA = "na"
    DEVIATION = "deviation"
    ERROR = "error"
    WARNING = "warning"             # only unproven expectations did not hold: reported, never a failure


@dataclass
class Mismatch:
    """One expectation that did not hold. `what` describes it (e.g. "status", "header x-amz-..."); `check`
    names it in the spelling of an expect's `unproven` list (`status`, `error.code`, `headers.<lower name>`,
    `xml.<path>`, ...). `unproven` mismatches are warnings, not failures; `confidence` and `evidence` (the
    case's evidence entries the expect cites, as dicts) say how the expectation is known."""
    what: str
    expected: Any
    actual: Any
    check: str = ""
    unproven: bool = False
    confidence: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.what}: expected {self.expected!r}, got {self.actual!r}"

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "expected": self.expected, "actual": self.actual, "check": self.check,
                "unproven": self.unproven, "confidence": self.confidence, "evidence": self.evidence}


@dataclass
class RequestRecord:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": [list(h) for h in self.headers],
                **body_summary(self.body)}


@dataclass
class ResponseRecord:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "headers": [list(h) for h in self.headers],
                **body_summary(self.body)}


@dataclass
class Exchange:
    """One HTTP round trip. `error` is set (and `response` None) when no response arrived."""
    request: RequestRecord
    response: ResponseRecord | None
    elapsed: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.to_dict(),
                "response": self.response.to_dict() if self.response else None,
                "elapsed": round(self.elapsed, 4), "error": self.error}


BODY_PREVIEW = 4096


def body_summary(body: bytes) -> dict[str, Any]:
    """Bodies go into reports as text when they are text, else as a length: reports stay readable."""
    if not body:
        return {"body": "", "body_length": 0}
    preview = body[:BODY_PREVIEW]
    try:
        text = preview.decode("utf-8")
    except UnicodeDecodeError:
        return {"body": f"<{len(body)} bytes of binary data>", "body_length": len(body)}
    if len(body) > BODY_PREVIEW:
        text += f"\n... <{len(body) - BODY_PREVIEW} more bytes>"
    return {"body": text, "body_length": len(body)}


@dataclass
class StepResult:
    name: str
    exchange: Exchange | None = None
    expected: dict[str, Any] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)
    error: str | None = None          # the step could not be built or sent (templating, transport)
    variant: str | None = None        # which `variants` entry replaced `expect`, if any

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.error is None

    @property
    def failures(self) -> list[Mismatch]:
        """Mismatches of proven expectations (the others are warnings)."""
        return [m for m in self.mismatches if not m.unproven]

    @property
    def warnings(self) -> list[Mismatch]:
        return [m for m in self.mismatches if m.unproven]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "error": self.error, "variant": self.variant,
                "expected": self.expected, "mismatches": [m.to_dict() for m in self.mismatches],
                "exchange": self.exchange.to_dict() if self.exchange else None}


@dataclass
class CaseResult:
    case_id: str
    title: str
    operation: str
    file: str
    line: int
    outcome: Outcome
    reason: str = ""
    tags: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    setup: list[StepResult] = field(default_factory=list)
    teardown_problems: list[str] = field(default_factory=list)
    duration: float = 0.0

    @property
    def failed(self) -> bool:
        return self.outcome in (Outcome.FAILED, Outcome.ERROR)

    def checks(self) -> list[tuple[StepResult, Mismatch]]:
        """Every check that did not hold (failed or warned), with its step."""
        return [(step, mismatch) for step in self.setup + self.steps for mismatch in step.mismatches]

    def warnings(self) -> list[tuple[StepResult, Mismatch]]:
        return [(step, mismatch) for step, mismatch in self.checks() if mismatch.unproven]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.case_id, "title": self.title, "operation": self.operation, "file": self.file,
                "line": self.line, "outcome": self.outcome.value, "reason": self.reason, "tags": self.tags,
                "requires": self.requires, "source": self.source, "duration": round(self.duration, 3),
                "setup": [s.to_dict() for s in self.setup], "steps": [s.to_dict() for s in self.steps],
                "teardown_problems": self.teardown_problems}


@dataclass
class Summary:
    passed: int = 0
    failed: int = 0
    na: int = 0
    deviations: int = 0
    errors: int = 0
    warnings: int = 0

    @classmethod
    def of(cls, results: list[CaseResult]) -> Summary:
        counts = Counter(result.outcome for result in results)
        return cls(passed=counts[Outcome.PASSED], failed=counts[Outcome.FAILED], na=counts[Outcome.NA],
                   deviations=counts[Outcome.DEVIATION], errors=counts[Outcome.ERROR],
                   warnings=counts[Outcome.WARNING])

    def last_line(self) -> str:
        # Runner errors count as failures here so the closing line keeps its fixed form.
        return (f"{self.passed} passed, {self.failed + self.errors} failed, {self.na} not applicable, "
                f"{self.warnings} warnings")

    def to_dict(self) -> dict[str, int]:
        return {"passed": self.passed, "failed": self.failed, "na": self.na, "deviations": self.deviations,
                "errors": self.errors, "warnings": self.warnings}
