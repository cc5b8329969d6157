"""JUnit XML: one testsuite per run, one testcase per case; NA and deviations are skipped with a reason;
warnings (only unproven expectations did not hold) are passed testcases with a `<system-out>` note and a
`warning` property."""
from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from ..results import Outcome
from . import RunInfo, explain

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _safe(text: str) -> str:
    """Endpoint-controlled text (status reasons, header values, bodies) may hold characters XML 1.0 cannot
    carry; they are written as \\xNN instead of making lxml refuse the whole report."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def render(info: RunInfo) -> bytes:
    summary = info.summary
    suite = etree.Element("testsuite", name=f"s3-conformance[{info.profile}]",
                          tests=str(len(info.results)), failures=str(summary.failed),
                          errors=str(summary.errors), skipped=str(summary.na + summary.deviations),
                          time=f"{info.duration:.3f}", timestamp=info.started)
    properties = etree.SubElement(suite, "properties")
    etree.SubElement(properties, "property", name="endpoint", value=info.redactor.text(info.endpoint))
    etree.SubElement(properties, "property", name="profile", value=info.profile)
    for result in info.results:
        case = etree.SubElement(suite, "testcase", classname=result.operation, name=result.case_id,
                                file=_safe(result.file), line=str(result.line), time=f"{result.duration:.3f}")
        reason = _safe(info.redactor.text(result.reason))
        if result.outcome is Outcome.FAILED:
            first = explain.failure_lines(result)[:1]
            message = _safe(info.redactor.text(first[0])) if first and first[0] else reason.splitlines()[0] \
                if reason else "failed"
            node = etree.SubElement(case, "failure", message=message)
            node.text = _details(result, info)
        elif result.outcome is Outcome.ERROR:
            node = etree.SubElement(case, "error", message=reason.splitlines()[0] if reason else "error")
            node.text = reason
        elif result.outcome in (Outcome.NA, Outcome.DEVIATION):
            etree.SubElement(case, "skipped", message=reason or result.outcome.value)
        elif result.outcome is Outcome.WARNING:
            props = etree.SubElement(case, "properties")
            etree.SubElement(props, "property", name="warning", value=reason.splitlines()[0] if reason else "")
            out = etree.SubElement(case, "system-out")
            out.text = _warning_note(result, info)
    return etree.tostring(etree.ElementTree(suite), xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _details(result, info: RunInfo) -> str:
    lines = [result.title]
    for step in result.setup + result.steps:
        for mismatch in step.mismatches:
            note = " (unproven: a warning only)" if mismatch.unproven else f" [confidence {mismatch.confidence}]"
            lines.append(f"step {step.name}: {explain.describe(mismatch)}{note}")
        if step.exchange is not None and step.mismatches:
            request = step.exchange.request
            lines.append(f"  request: {request.method} {request.url}")
            if step.exchange.response is not None:
                lines.append(f"  response: {step.exchange.response.status} {step.exchange.response.reason}")
    return _safe(info.redactor.text("\n".join(lines)))


def _warning_note(result, info: RunInfo) -> str:
    lines = ["WARNING: unproven expectations did not hold (not a failure: AWS's behaviour here is not proven)"]
    for step, mismatch in result.warnings():
        lines.append(f"step {step.name}: {explain.describe(mismatch)} [confidence {mismatch.confidence}"
                     + (f"; evidence {', '.join(e['id'] for e in mismatch.evidence)}" if mismatch.evidence else "")
                     + "]")
    return _safe(info.redactor.text("\n".join(lines)))


def write(info: RunInfo, path: Path) -> None:
    path.write_bytes(render(info))
