"""Failure lines for people: the failing step's mismatches, with what the endpoint answered (HTTP status,
S3 error code and message) next to a status mismatch, e.g.
`step get: status: expected 200, got 403 AccessDenied "Access Denied"`."""
from __future__ import annotations

import json

from ..matchers import error_fields
from ..results import CaseResult, Mismatch, ResponseRecord, StepResult

MAX_MESSAGE = 160
ABSENT = "(absent)"          # what a check found nothing for: no such header, element or body


def value_text(value: object) -> str:
    """One spelling of an expected or actual value for every report (console, JUnit, HTML): `(absent)` for
    nothing found (never Python's None in one place and JSON's null in another), other values as Python
    literals ('AES256', 403, ['a', 'b'])."""
    return ABSENT if value is None else repr(value)


def describe(mismatch: Mismatch) -> str:
    """`header x-amz-server-side-encryption: expected 'AES256', got (absent)`."""
    return f"{mismatch.what}: expected {value_text(mismatch.expected)}, got {value_text(mismatch.actual)}"


def s3_error(response: ResponseRecord) -> tuple[str | None, str | None]:
    """(code, message) of an S3 XML <Error> or a JSON error (KMS: `__type`, `message`)."""
    fields = error_fields(response)
    if fields is not None:
        return fields.get("Code"), fields.get("Message")
    if response.body[:1] == b"{":
        try:
            data = json.loads(response.body)
        except ValueError:
            return None, None
        if isinstance(data, dict):
            code = data.get("__type") or data.get("code")
            message = data.get("message") or data.get("Message")
            return (str(code).rsplit("#", 1)[-1] if code else None), (str(message) if message else None)
    return None, None


def answer(response: ResponseRecord) -> str:
    """`403 AccessDenied "Access Denied"` (code and message when the body carries them)."""
    code, message = s3_error(response)
    text = str(response.status)
    if code:
        text += f" {code}"
    if message:
        short = message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE - 3] + "..."
        text += f' "{short}"'
    return text


def step_lines(step: StepResult, limit: int | None = 3) -> list[str]:
    """One line per mismatch of a failed step (at most `limit`), the status one with the answer's error."""
    response = step.exchange.response if step.exchange is not None else None
    failures = step.failures                  # unproven checks that mismatch are warnings, not failures
    if step.error and not failures:
        return [f"step {step.name}: {step.error.splitlines()[0]}"]
    lines = []
    shown_answer = False
    for mismatch in failures[:limit] if limit else failures:
        if mismatch.what == "status" and response is not None:
            lines.append(f"step {step.name}: status: expected {_expected(mismatch.expected)}, got {answer(response)}")
            shown_answer = True
        elif mismatch.what == "response" and response is None:
            lines.append(f"step {step.name}: no response: {mismatch.actual}")
        else:
            lines.append(f"step {step.name}: {describe(mismatch)}")
    if limit and len(failures) > limit:
        lines.append(f"step {step.name}: ... {len(failures) - limit} more mismatches (-v shows all)")
    if not shown_answer and response is not None and response.status >= 300:
        lines.append(f"step {step.name}: the endpoint answered {answer(response)}")
    return lines


def failure_lines(result: CaseResult, verbose: bool = False) -> list[str]:
    """What went wrong in a failed case: the failing step's lines, else the case's reason."""
    failing = [step for step in result.setup + result.steps if step.failures or step.error]
    if not failing:
        return [result.reason.splitlines()[0] if result.reason else ""]
    lines = []
    for step in failing if verbose else failing[-1:]:
        lines += step_lines(step, limit=None if verbose else 3)
    return lines


def _expected(value: object) -> str:
    if isinstance(value, list):
        return " or ".join(str(v) for v in value)
    return str(value)
