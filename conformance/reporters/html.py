"""One self-contained HTML file: summary, operation x outcome matrix, every case expandable to its exact
requests, responses and expected-vs-actual diff, and the coverage table. No external resources."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from . import RunInfo, explain, jsonreport

OUTCOMES = ["passed", "failed", "warning", "deviation", "na", "error"]
LABELS = {"passed": "passed", "failed": "failed", "warning": "warning", "deviation": "known deviation",
          "na": "not applicable", "error": "error"}

CSS = """
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2329;background:#f5f6f8}
header{background:#1f2d3d;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}header .meta{opacity:.85;font-size:13px}
main{padding:18px 28px;max-width:1400px}section{overflow-x:auto;background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:14px 18px;margin-bottom:18px}
h2{font-size:17px;margin:0 0 10px}.cards{display:flex;gap:12px;flex-wrap:wrap}.card{padding:10px 16px;border-radius:8px;min-width:130px;color:#fff}
.card b{display:block;font-size:24px}.o-passed{background:#2e7d32}.o-failed{background:#c62828}.o-deviation{background:#ef6c00}.o-na{background:#78909c}.o-warning{background:#b28704}.o-error{background:#6a1b9a}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e6e9ed;vertical-align:top}
th{background:#f0f2f5;font-weight:600}.matrix td.n{text-align:center;cursor:pointer}.matrix td.zero{color:#b0b8c1;cursor:default}
.matrix td.n.hit-failed{background:#fde2e2;font-weight:700}.matrix td.n.hit-na{background:#eef1f4}.matrix td.n.hit-error{background:#f1e4f7;font-weight:700}.matrix td.n.hit-passed{background:#e3f4e4}.matrix td.n.hit-deviation{background:#fff0dc}.matrix td.n.hit-warning{background:#fff8d6}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;min-width:64px;text-align:center}
details.case{border:1px solid #e1e5ea;border-radius:6px;margin:6px 0;background:#fff}details.case>summary{padding:7px 10px;cursor:pointer;list-style:none;display:flex;gap:10px;align-items:baseline}
details.case>summary::-webkit-details-marker{display:none}details.case[open]>summary{border-bottom:1px solid #e1e5ea;background:#fafbfc}
.cid{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}.op{color:#5b6773;font-size:12px;margin-left:auto}.body{padding:8px 14px}
pre{background:#f6f8fa;border:1px solid #e1e5ea;border-radius:4px;padding:8px;overflow:auto;max-height:340px;font-size:12px;white-space:pre-wrap;word-break:break-all}
.diff td.exp{background:#e8f5e9}.diff td.act{background:#ffebee}.diff tr.unproven td.act{background:#fff8d6}.diff td.ev{font-size:12px}.conf{font-weight:600}.reason{color:#b71c1c;font-weight:600;white-space:pre-wrap}
.step{border-left:3px solid #cfd8dc;padding-left:10px;margin:10px 0}.step.bad{border-left-color:#c62828}.step.warn{border-left-color:#b28704}.cols{display:grid;grid-template-columns:1fr 1fr;gap:10px}
.toolbar{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin-bottom:8px}.toolbar button{border:1px solid #c5ccd3;background:#fff;border-radius:14px;padding:3px 12px;cursor:pointer}
.toolbar button.on{background:#1f2d3d;color:#fff}.toolbar input{padding:4px 8px;border:1px solid #c5ccd3;border-radius:4px;min-width:240px}
table.coverage{font-size:12px;table-layout:fixed}table.coverage code{display:inline-block;overflow-wrap:anywhere;font-size:11px;margin:0 3px 2px 0;background:#eef1f4;padding:0 4px;border-radius:3px}
table.coverage th:nth-child(1){width:15%}table.coverage th:nth-child(2){width:7%}table.coverage th:nth-child(3){width:14%}
table.coverage th:nth-child(4),table.coverage th:nth-child(5){width:26%}table.coverage td{overflow-wrap:anywhere}table.coverage tr.gap td{background:#fde2e2}table.coverage tr.explained td:last-child{color:#6b7785}
.interrupted{border-color:#ef6c00;background:#fff6ec}table.na td:nth-child(2){text-align:right}
.quote{border-left:3px solid #90a4ae;padding-left:8px;color:#37474f;font-style:italic}.muted{color:#6b7785}.hidden{display:none}
"""

JS = """
(function(){
  var errors=[];window.addEventListener('error',function(e){errors.push(String(e.message));document.body.dataset.jsErrors=errors.join(' | ');});
  var state={outcome:'',op:'',text:''};
  function apply(){var shown=0;document.querySelectorAll('details.case').forEach(function(d){
    var ok=(!state.outcome||d.dataset.outcome===state.outcome)&&(!state.op||d.dataset.op===state.op)&&
      (!state.text||d.dataset.search.indexOf(state.text)>=0);d.classList.toggle('hidden',!ok);if(ok)shown++;});
    document.getElementById('shown').textContent=shown+' shown';
    document.querySelectorAll('.toolbar button[data-outcome]').forEach(function(b){b.classList.toggle('on',b.dataset.outcome===state.outcome);});}
  document.querySelectorAll('.toolbar button[data-outcome]').forEach(function(b){b.addEventListener('click',function(){state.outcome=b.dataset.outcome;state.op='';apply();});});
  document.querySelectorAll('.matrix td.n').forEach(function(td){td.addEventListener('click',function(){
    if(td.classList.contains('zero'))return;state.outcome=td.dataset.outcome;state.op=td.dataset.op;apply();
    document.getElementById('cases').scrollIntoView();});});
  document.getElementById('search').addEventListener('input',function(e){state.text=e.target.value.toLowerCase();apply();});
  document.getElementById('expand').addEventListener('click',function(){document.querySelectorAll('details.case:not(.hidden)').forEach(function(d){d.open=true;});});
  document.getElementById('collapse').addEventListener('click',function(){document.querySelectorAll('details.case').forEach(function(d){d.open=false;});});
  if(location.hash==='#open-failures'){document.querySelectorAll('details.case[data-outcome=failed],details.case[data-outcome=error]').forEach(function(d){d.open=true;});}
  apply();document.body.dataset.ready='1';
})();
"""


def _badge(outcome: str) -> str:
    return f'<span class="badge o-{outcome}">{escape(LABELS.get(outcome, outcome))}</span>'


def _link(text: str) -> str:
    """`text` escaped, as a link when it is an http(s) URL (source documents, evidence)."""
    if text.startswith(("https://", "http://")):
        return f'<a href="{escape(text, quote=True)}" rel="noreferrer">{escape(text)}</a>'
    return escape(text)


def _headers(headers: list[list[str]]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in headers)


def _exchange(exchange: dict[str, Any] | None) -> str:
    if not exchange:
        return '<p class="muted">not sent</p>'
    request = exchange["request"]
    req_text = f"{request['method']} {request['url']}\n{_headers(request['headers'])}"
    if request.get("body"):
        req_text += f"\n\n{request['body']}"
    response = exchange.get("response")
    if response:
        resp_text = f"HTTP {response['status']} {response['reason']}\n{_headers(response['headers'])}"
        if response.get("body"):
            resp_text += f"\n\n{response['body']}"
    else:
        resp_text = f"no response: {exchange.get('error')}"
    return (f'<div class="cols"><div><b>Request</b><pre>{escape(req_text)}</pre></div>'
            f'<div><b>Response</b> <span class="muted">({exchange.get("elapsed", 0)} s)</span>'
            f'<pre>{escape(resp_text)}</pre></div></div>')


def _evidence(entries: list[dict[str, Any]]) -> str:
    """Each evidence entry: its id and confidence, where it is (a link when it has a URL), quote, wire, note."""
    parts = []
    for entry in entries:
        recording, s3tests = entry.get("recording") or {}, entry.get("s3tests") or {}
        if recording:
            where = f'{recording.get("file", "")} · {recording.get("test", "")} · key {recording.get("key", "")}'
        elif s3tests:
            where = f's3-tests {s3tests.get("test", "")} ({s3tests.get("file", "")})'
        else:
            where = str(entry.get("document") or "")
        label = _link(where)
        if entry.get("url"):
            label = f'<a href="{escape(str(entry["url"]), quote=True)}" rel="noreferrer">{escape(where)}</a>'
        text = f'<div><b>{escape(str(entry.get("id", "")))}</b> ({escape(str(entry.get("confidence", "")))}): {label}'
        for key in ("quote", "wire", "note"):
            if entry.get(key):
                text += f'<br><span class="muted">{key}:</span> {escape(str(entry[key]))}'
        parts.append(text + "</div>")
    return "".join(parts) or '<span class="muted">no evidence cited</span>'


UNPROVEN_BADGE = ' <span class="badge o-warning">unproven</span>'


def _diff(mismatches: list[dict[str, Any]]) -> str:
    if not mismatches:
        return ""
    rows = "".join(
        f'<tr class="{"unproven" if m.get("unproven") else "proven"}"><td>{escape(str(m["what"]))}'
        f'{UNPROVEN_BADGE if m.get("unproven") else ""}</td>'
        f'<td class="exp">{escape(explain.value_text(m["expected"]))}</td>'
        f'<td class="act">{escape(explain.value_text(m["actual"]))}</td>'
        f'<td class="conf">{escape(str(m.get("confidence") or ""))}</td>'
        f'<td class="ev">{_evidence(m.get("evidence") or [])}</td></tr>' for m in mismatches)
    return ('<table class="diff"><tr><th>check</th><th>expected</th><th>actual</th><th>confidence</th>'
            f'<th>evidence</th></tr>{rows}</table>')


def _warnings(cases: list[dict[str, Any]]) -> str:
    """The cases whose only mismatches are unproven expectations: reported, not failed."""
    warned = [c for c in cases if c["outcome"] == "warning"]
    if not warned:
        return ""
    rows = []
    for case in warned:
        for step in case["steps"]:
            for m in step.get("mismatches") or []:
                if m.get("unproven"):
                    rows.append(f'<tr><td class="cid">{escape(case["id"])}</td><td>{escape(step["name"])}</td>'
                                f'<td>{escape(str(m["what"]))}</td><td>{escape(explain.value_text(m["expected"]))}</td>'
                                f'<td>{escape(explain.value_text(m["actual"]))}</td><td>{_evidence(m.get("evidence") or [])}</td></tr>')
    return ('<section id="warnings"><h2>Warnings</h2><p class="muted">Expectations that rest on no evidence of '
            "AWS's behaviour (`unproven`) did not hold: reported, never failed.</p>"
            '<table class="diff"><tr><th>case</th><th>step</th><th>check</th><th>expected</th><th>actual</th>'
            f'<th>evidence</th></tr>{"".join(rows)}</table></section>')


def _step(step: dict[str, Any]) -> str:
    mismatches = step.get("mismatches") or []
    warned = bool(mismatches) and not step.get("error") and all(m.get("unproven") for m in mismatches)
    kind = " warn" if warned else " bad" if not step["ok"] else ""
    parts = [f'<div class="step{kind}"><b>{escape(step["name"])}</b>']
    if step.get("variant"):
        parts.append(f' <span class="muted">expectation from {escape(step["variant"])}</span>')
    if step.get("error"):
        parts.append(f'<p class="reason">{escape(step["error"])}</p>')
    parts.append(_diff(step.get("mismatches") or []))
    parts.append(_exchange(step.get("exchange")))
    if step.get("expected"):
        parts.append(f'<details><summary class="muted">expected (as written)</summary>'
                     f'<pre>{escape(json.dumps(step["expected"], indent=1))}</pre></details>')
    parts.append("</div>")
    return "".join(parts)


def _case(case: dict[str, Any], lines: dict[str, str] | None = None) -> str:
    outcome = case["outcome"]
    search = " ".join([case["id"], case["title"], case["operation"], " ".join(case["tags"])]).lower()
    source = case.get("source") or {}
    setup = case["setup"] if outcome != "passed" else []
    meta = (f'<p class="muted">{escape(case["file"])}:{case["line"]} · tags: {escape(", ".join(case["tags"]) or "-")}'
            f' · requires: {escape(", ".join(case["requires"]) or "-")} · {case["duration"]} s</p>')
    body = [f'<p>{escape(case["title"])}</p>', meta]
    if source:
        body.append(f'<p class="muted">source: {_link(str(source.get("document", "")))}'
                    f'{(" — " + escape(str(source["section"]))) if source.get("section") else ""}</p>'
                    f'<p class="quote">{escape(str(source.get("quote", "")))}</p>')
    reason = (lines or {}).get(case["id"]) or case.get("reason")
    if reason:
        body.append(f'<p class="reason">{escape(reason)}</p>')
    if setup:
        failed_setup = any(not s["ok"] for s in setup)
        body.append(f'<details{" open" if failed_setup else ""}><summary class="muted">setup ({len(setup)} requests'
                    f'{", one failed" if failed_setup else ""})</summary>{"".join(_step(s) for s in setup)}</details>')
    body += [_step(s) for s in case["steps"]]
    if case.get("teardown_problems"):
        body.append(f'<p class="muted">teardown: {escape("; ".join(case["teardown_problems"]))}</p>')
    return (f'<details class="case" data-outcome="{outcome}" data-op="{escape(case["operation"])}" '
            f'data-search="{escape(search)}"><summary>{_badge(outcome)} <span class="cid">{escape(case["id"])}</span>'
            f'<span class="title muted">{escape(case["title"])}</span><span class="op">{escape(case["operation"])}</span></summary><div class="body">{"".join(body)}</div></details>')


def _matrix(cases: list[dict[str, Any]]) -> str:
    ops = sorted({c["operation"] for c in cases})
    head = "".join(f"<th>{escape(LABELS[o])}</th>" for o in OUTCOMES)
    rows = []
    for op in ops:
        cells = []
        for outcome in OUTCOMES:
            n = sum(1 for c in cases if c["operation"] == op and c["outcome"] == outcome)
            cls = "n zero" if n == 0 else f"n hit-{outcome}"
            cells.append(f'<td class="{cls}" data-op="{escape(op)}" data-outcome="{outcome}">{n}</td>')
        rows.append(f"<tr><td>{escape(op)}</td>{''.join(cells)}</tr>")
    return f'<table class="matrix"><tr><th>operation</th>{head}</tr>{"".join(rows)}</table>'


def _not_applicable(info: RunInfo, cases: list[dict[str, Any]]) -> str:
    """The not-applicable cases grouped by the capability they miss: how many, why, and the flag or endpoint
    feature that would make them run (a case missing two capabilities counts in both groups)."""
    from ..capabilities import holds, na_reason

    na_ids = [c["id"] for c in cases if c["outcome"] == "na"]
    if not na_ids:
        return ""
    by_id = {case.id: case for case in info.cases}
    present = set(info.capabilities)
    groups: dict[str, list[str]] = {}
    for case_id in na_ids:
        case = by_id.get(case_id)
        missing = [c for c in case.implied_requirements() if not holds(c, present)] if case is not None else []
        if not missing:                  # a case unknown here (no case list): grouped by its reason
            reason = next((c.get("reason") or "" for c in cases if c["id"] == case_id), "")
            missing = [f"reason: {reason}"]
        for name in missing:
            groups.setdefault(name, []).append(case_id)
    rows = []
    for name, ids in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        if name.startswith("reason: "):
            label, why = "-", name[len("reason: "):]
        else:
            label, why = name, na_reason(info.profile, [name], info.unavailable)
            why = why[len(name) + 2:] if why.startswith(f"{name}: ") else why
        listed = "".join(f'<div class="cid">{escape(i)}</div>' for i in sorted(ids))
        rows.append(f'<tr><td class="cid">{escape(label)}</td><td>{len(ids)}</td><td>{escape(why)}</td>'
                    f'<td><details><summary class="muted">{len(ids)} cases</summary>{listed}</details></td></tr>')
    return (f'<section id="not-applicable"><h2>Not applicable ({len(na_ids)})</h2><p class="muted">Grouped by the '
            "capability the cases need; the reason names the flag or endpoint feature that would make them run.</p>"
            '<table class="na"><tr><th>capability</th><th>cases</th><th>why, and what would make them run</th>'
            f'<th>which</th></tr>{"".join(rows)}</table></section>')


def coverage_section(cases: list[Any]) -> str:
    """The coverage table of the cases run; a coverage failure (e.g. an unreadable cases/_coverage.yaml)
    leaves a note instead of breaking the report."""
    from .. import coverage

    try:
        return coverage.coverage_html(cases)
    except Exception as exc:  # noqa: BLE001 - the report must still be written
        return f'<p class="muted">coverage table not available: {escape(type(exc).__name__)}: {escape(str(exc))}</p>'


def render(info: RunInfo, data: dict[str, Any] | None = None) -> str:
    """`data`: jsonreport.build(info) when the caller has it already (it is only read here)."""
    data = jsonreport.build(info) if data is None else data
    summary = data["summary"]
    counts = {"passed": summary["passed"], "failed": summary["failed"], "warning": summary["warnings"],
              "deviation": summary["deviations"], "na": summary["na"], "error": summary["errors"]}
    cards = "".join(f'<div class="card o-{o}"><b>{counts[o]}</b>{escape(LABELS[o])}</div>' for o in OUTCOMES)
    order = {"failed": 0, "error": 1, "warning": 2, "deviation": 3, "passed": 4, "na": 5}
    cases = sorted(data["cases"], key=lambda c: (order.get(c["outcome"], 5), c["id"]))
    buttons = '<button data-outcome="" class="on">all</button>' + "".join(
        f'<button data-outcome="{o}">{escape(LABELS[o])}</button>' for o in OUTCOMES)
    baseline = ""
    if data.get("baseline"):
        b = data["baseline"]
        baseline = ('<section><h2>Baseline</h2>'
                    f'<p>{len(b["new_failures"])} new failures, {len(b["known_failures"])} known failures, '
                    f'{len(b["newly_passing"])} newly passing</p>'
                    + "".join(f'<div class="cid">new failure: {escape(i)}</div>' for i in b["new_failures"])
                    + "".join(f'<div class="cid">newly passing: {escape(i)}</div>' for i in b["newly_passing"])
                    + "</section>")
    last_line = info.summary.last_line()
    lines = {r.case_id: info.redactor.text("\n".join(explain.failure_lines(r, verbose=True)))
             for r in info.results if r.failed}
    interrupted = ""
    if info.interrupted:
        total = max(len(info.cases), len(info.results))
        interrupted = (f'<section id="interrupted" class="interrupted"><h2>Interrupted</h2><p>The run was stopped '
                       f"(Ctrl-C) after {len(info.results)} of {total} cases: this report holds only the cases that "
                       "ran; the others were not started.</p></section>")
    discovered = ""
    if info.discovery:
        discovered = (f'<details><summary class="muted">what the endpoint offers (discovery)</summary>'
                      f'<pre>{escape(info.redactor.text(chr(10).join(info.discovery)))}</pre></details>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>s3-conformance: {escape(data['profile'])}</title><style>{CSS}</style></head>
<body><header><h1>S3 SSE conformance — profile {escape(data['profile'])}</h1>
<div class="meta">endpoint {escape(data['endpoint'])} · started {escape(data['started'])} · {data['duration']} s ·
{escape(last_line)}{" · interrupted" if info.interrupted else ""}</div></header><main>
{interrupted}
<section><h2>Summary</h2><div class="cards">{cards}</div>
<p class="muted">capabilities: {escape(', '.join(data['capabilities']))}</p>{discovered}</section>
{baseline}
{_warnings(cases)}
{_not_applicable(info, cases)}
<section><h2>Operations × outcome</h2>{_matrix(cases)}</section>
<section id="cases"><h2>Cases</h2><div class="toolbar">{buttons}
<input id="search" type="search" placeholder="filter by id, title, tag…" aria-label="filter">
<button id="expand">expand shown</button><button id="collapse">collapse all</button><span id="shown" class="muted"></span></div>
{''.join(_case(c, lines) for c in cases)}</section>
<section id="coverage"><h2>Coverage</h2>{coverage_section(info.cases)}</section>
</main><script>{JS}</script></body></html>
"""


def write(info: RunInfo, path: Path, data: dict[str, Any] | None = None) -> None:
    path.write_text(render(info, data), encoding="utf-8")
