"""Reports of the client matrix: the console matrix (scenarios x client configurations), JSON
(`{"clients": [{"name", "version", "config", "scenarios": [{"name", "outcome", "detail", "request",
"response"}]}]}`), JUnit (one testsuite per client configuration) and a self-contained HTML matrix page."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from lxml import etree

from ..reporters.html import CSS
from .base import FAIL, NA, PASS, ClientResult
from .scenarios import SCENARIOS

SYMBOL = {PASS: "ok", FAIL: "FAIL", NA: "-"}


def column_label(result: ClientResult) -> str:
    return result.name if result.config == "default" else f"{result.name}/{result.config}"


def _scenario_names(results: list[ClientResult]) -> list[str]:
    seen = [s.name for r in results for s in r.scenarios]
    return [name for name, _ in SCENARIOS if name in seen]


def console(results: list[ClientResult], endpoint: str, verbose: bool = False) -> str:
    names = _scenario_names(results)
    lines = [f"client matrix against {endpoint}", ""]
    for index, result in enumerate(results, 1):
        version = result.version if not result.install_error else f"not installed: {result.install_error}"
        lines.append(f"  [{index:>2}] {result.name} {version} ({result.config})")
    lines.append("")
    width = max([len(n) for n in names] + [8])
    lines.append(" " * width + " " + "".join(f"{f'[{i}]':>6}" for i in range(1, len(results) + 1)))
    for name in names:
        cells = []
        for result in results:
            outcome = next((s.outcome for s in result.scenarios if s.name == name), "")
            cells.append(f"{SYMBOL.get(outcome, '?'):>6}")
        lines.append(f"{name:<{width}} " + "".join(cells))
    totals = {o: sum(s.outcome == o for r in results for s in r.scenarios) for o in (PASS, FAIL, NA)}
    lines += ["", (f"{totals[PASS]} passed, {totals[FAIL]} failed, {totals[NA]} not applicable "
                   "(ok = pass, FAIL = fail, - = not applicable)")]
    failures = [(r, s) for r in results for s in r.scenarios if s.outcome == FAIL]
    if failures:
        lines += ["", "failures:"]
        for result, scenario in failures:
            lines.append(f"  {column_label(result)} {scenario.name}: {scenario.detail}")
            if scenario.request:
                lines.append(f"      request: {scenario.request.get('method', '')} {scenario.request.get('url', '')}")
            if scenario.response:
                lines.append(f"      response: {scenario.response.get('status', '')} "
                             f"{(scenario.response.get('body') or '')[:200]}".rstrip())
    reasons = sorted({(column_label(r), s.name, s.detail) for r in results for s in r.scenarios if s.outcome == NA})
    if reasons and verbose:
        lines += ["", "not applicable:"] + [f"  {c} {n}: {d}" for c, n, d in reasons]
    return "\n".join(lines)


def build_json(results: list[ClientResult], endpoint: str) -> dict[str, Any]:
    return {"endpoint": endpoint, "scenarios": [{"name": n, "description": d} for n, d in SCENARIOS],
            "clients": [r.as_json() for r in results]}


def junit(results: list[ClientResult]) -> bytes:
    root = etree.Element("testsuites", name="s3-conformance clients")
    for result in results:
        suite = etree.SubElement(
            root, "testsuite", name=f"{result.name}[{result.config}] {result.version}",
            tests=str(len(result.scenarios)), failures=str(sum(s.outcome == FAIL for s in result.scenarios)),
            skipped=str(sum(s.outcome == NA for s in result.scenarios)))
        for scenario in result.scenarios:
            case = etree.SubElement(suite, "testcase", classname=f"clients.{result.name}.{result.config}",
                                    name=scenario.name, time=f"{scenario.seconds:.3f}")
            if scenario.outcome == FAIL:
                node = etree.SubElement(case, "failure", message=_xml_safe(scenario.detail[:300]))
                node.text = _xml_safe(json.dumps({"request": scenario.request, "response": scenario.response},
                                                 indent=1, ensure_ascii=False))
            elif scenario.outcome == NA:
                etree.SubElement(case, "skipped", message=_xml_safe(scenario.detail))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _xml_safe(text: str) -> str:
    return "".join(c if c in "\t\n\r" or 0x20 <= ord(c) < 0xD800 or 0xE000 <= ord(c) < 0xFFFE else f"\\x{ord(c):02x}"
                   for c in text)


_CELL = {PASS: "hit-passed", FAIL: "hit-failed", NA: "hit-na"}


def _exchange(title: str, record: dict[str, Any] | None) -> str:
    if not record:
        return ""
    head = " ".join(str(record.get(k, "")) for k in ("method", "url", "status") if record.get(k) is not None)
    headers = "\n".join(f"{k}: {v}" for k, v in record.get("headers") or [])
    body = record.get("body") or ""
    return f"<div><b>{escape(title)}</b><pre>{escape(head)}\n{escape(headers)}\n\n{escape(body)}</pre></div>"


def html(results: list[ClientResult], endpoint: str) -> str:
    names = _scenario_names(results)
    totals = {o: sum(s.outcome == o for r in results for s in r.scenarios) for o in (PASS, FAIL, NA)}
    head = "".join(f"<th title='{escape(r.name)} {escape(r.version)} ({escape(r.config)})'>{escape(r.name)}<br>"
                   f"<span class=muted>{escape(r.version)}<br>{escape(r.config)}</span></th>" for r in results)
    rows = []
    details = []
    for name in names:
        cells = []
        for index, result in enumerate(results):
            scenario = next((s for s in result.scenarios if s.name == name), None)
            if scenario is None:
                cells.append("<td class='n zero'></td>")
                continue
            anchor = f"d-{index}-{name}"
            cells.append(f"<td class='n {_CELL[scenario.outcome]}' title='{escape(scenario.detail)}'>"
                         f"<a href='#{anchor}'>{SYMBOL[scenario.outcome]}</a></td>")
            css = {PASS: "passed", FAIL: "failed", NA: "na"}[scenario.outcome]
            details.append(
                    f"<details class=case id='{anchor}' data-outcome='{css}'{' open' if scenario.outcome == FAIL else ''}>"
                    f"<summary><span class='badge o-{css}'>"
                    f"{escape(scenario.outcome)}</span><span class=cid>{escape(column_label(result))} "
                    f"{escape(name)}</span></summary><div class=body><p class=reason>{escape(scenario.detail)}</p>"
                    f"<div class=cols>{_exchange('request', scenario.request)}"
                    f"{_exchange('response', scenario.response)}</div></div></details>")
        rows.append(f"<tr><th>{escape(name)}</th>{''.join(cells)}</tr>")
    cards = "".join(f"<div class='card o-{cls}'><b>{totals[o]}</b>{escape(o)}</div>"
                    for o, cls in ((PASS, "passed"), (FAIL, "failed"), (NA, "na")))
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>s3-conformance client matrix</title>"
            f"<style>{CSS}</style></head><body><header><h1>Client compatibility matrix</h1>"
            f"<div class=meta>endpoint {escape(endpoint)}</div></header><main>"
            f"<section><div class=cards>{cards}</div></section>"
            f"<section><h2>Scenarios x clients</h2><table class=matrix><tr><th>scenario</th>{head}</tr>"
            f"{''.join(rows)}</table></section>"
            f"<section id=cases><h2>Every scenario (failures open)</h2>{''.join(details) or '<p>none</p>'}</section>"
            f"</main></body></html>")


def write_all(results: list[ClientResult], endpoint: str, directory: Path, name: str = "clients") -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / f"{name}.json", "junit": directory / f"{name}.junit.xml",
             "html": directory / f"{name}.html"}
    paths["json"].write_text(json.dumps(build_json(results, endpoint), indent=1, ensure_ascii=False) + "\n")
    paths["junit"].write_bytes(junit(results))
    paths["html"].write_text(html(results, endpoint), encoding="utf-8")
    return paths
