"""Mutation harness: seeds one realistic vendor deviation (a named mutant, tests/mutation/mutants.py) at a time
into a temporary copy of the repository, runs the whole case corpus against the mutated built-in server, and
records which cases caught it. Not part of the default pytest run (the file name is not test_*.py) nor of CI.

    python tests/mutation/harness.py                  # every mutant, one at a time
    python tests/mutation/harness.py --jobs 2         # at most two at once
    python tests/mutation/harness.py --only 'auth.*'  # a subset (fnmatch patterns, comma separated)
    python tests/mutation/harness.py --report-only    # rebuild README/JSON from the stored per-mutant results
    python tests/mutation/harness.py --recheck-never  # run the cases that kill no mutant against the killed
                                                      # mutants whose stored run did not include them

Each mutant's result is stored in reports/mutation/results/<name>.json as soon as it is known (a later run
with --resume skips those), and reports/mutation/README.md + mutation.json are rebuilt from all of them.

The runner starts the reference server in-process (it imports `mockserver`), so each run executes
`python -m conformance.cli run` with the mutated copy as working directory and first on PYTHONPATH; the
control mutant `control.put-always-500` (PutObject always answers 500) proves the copy is the code under test:
if it survived, the installed package would have been tested instead.

A case added after a mutant's run has not been tried against it, so "Cases that kill no mutant" could list a case
that does kill one. `--recheck-never` closes that gap without a full re-run: for every killed mutant (or those
--only selects) it runs, with --select, just the cases that kill no mutant and are missing from that mutant's stored
`cases_run`, and merges what they catch into the stored result (a killed mutant stays killed; survivors are not
touched: a survivor's result must come from a whole-corpus run). `--recheck-cases PATTERN` (fnmatch on the id) adds
cases that do kill some mutant, so that "killed by" is complete for mutants run before those cases existed.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from justifications import CASE_JUSTIFICATIONS, SURVIVOR_NOTES
from mutants import MUTANTS, Mutant

KILLING_OUTCOMES = ("failed", "error")
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", ".tox", "reports", "__pycache__", "*.egg-info", ".pytest_cache",
                                     ".mypy_cache", ".ruff_cache", "node_modules", ".work")
RUN_TIMEOUT = 900


class DoesNotApply(Exception):
    pass


def apply(mutant: Mutant, root: Path) -> None:
    """Patches `root` in place (a copy!); raises DoesNotApply unless the old text occurs exactly once."""
    for edit in mutant.edits:
        path = root / edit.file
        if not path.is_file():
            raise DoesNotApply(f"{edit.file}: no such file")
        text = path.read_text(encoding="utf-8")
        count = text.count(edit.old)
        if count != 1:
            raise DoesNotApply(f"{edit.file}: old text occurs {count} times (must be exactly once)")
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")


def run_mutant(mutant: Mutant, python: str, results_dir: Path, corpus_jobs: int = 4) -> dict:
    started = time.monotonic()
    record: dict = {"name": mutant.name, "area": mutant.area, "profile": mutant.profile, "control": mutant.control,
                    "description": mutant.description, "file": mutant.file}
    with tempfile.TemporaryDirectory(prefix="s3c-mutant-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
        try:
            apply(mutant, copy)
        except DoesNotApply as exc:
            record.update(status="does-not-apply", detail=str(exc), killed_by=[], warnings=[])
            return _store(record, results_dir, started)
        report_dir = Path(tmp) / "report"
        env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [python, "-m", "conformance.cli", "run", "--report-dir", str(report_dir), "--profile", mutant.profile,
               "--jobs", str(corpus_jobs)]
        try:
            proc = subprocess.run(cmd, check=False, cwd=copy, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            record.update(status="killed", detail=f"run timed out after {RUN_TIMEOUT}s", killed_by=["<timeout>"],
                          warnings=[])
            return _store(record, results_dir, started)
        report = report_dir / f"{mutant.profile}.json"
        if not report.is_file():
            # The run could not even start (import error, server did not come up): the corpus caught it.
            record.update(status="killed", detail=f"no report (exit {proc.returncode}): {proc.stderr[-600:]}",
                          killed_by=["<run-aborted>"], warnings=[])
            return _store(record, results_dir, started)
        data = json.loads(report.read_text(encoding="utf-8"))
        cases = data["cases"]
        killed_by = sorted(c["id"] for c in cases if c["outcome"] in KILLING_OUTCOMES)
        warnings = sorted(c["id"] for c in cases if c["outcome"] == "warning")
        record.update(status="killed" if killed_by else "survived", killed_by=killed_by, warnings=warnings,
                      summary=data["summary"], cases_run=[c["id"] for c in cases])
    return _store(record, results_dir, started)


def recheck_mutant(mutant: Mutant, python: str, results_dir: Path, case_ids: list[str],
                   corpus_jobs: int = 4) -> dict | None:
    """Runs only `case_ids` against a mutant that is already killed and merges the cases that catch it into its
    stored result. Returns the updated record, or None when there is nothing to run."""
    path = results_dir / f"{mutant.name}.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    if record["status"] != "killed" or not case_ids:
        return None
    started = time.monotonic()
    expr = " or ".join(f"id:{case_id}" for case_id in case_ids)
    with tempfile.TemporaryDirectory(prefix="s3c-mutant-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
        apply(mutant, copy)
        report_dir = Path(tmp) / "report"
        env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [python, "-m", "conformance.cli", "run", "--report-dir", str(report_dir), "--profile", mutant.profile,
               "--jobs", str(corpus_jobs), "--select", expr]
        subprocess.run(cmd, check=False, cwd=copy, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        report = report_dir / f"{mutant.profile}.json"
        if not report.is_file():
            print(f"{mutant.name}: recheck produced no report, result left as it was", flush=True)
            return None
        cases = json.loads(report.read_text(encoding="utf-8"))["cases"]
    ran = {c["id"] for c in cases}
    caught = {c["id"] for c in cases if c["outcome"] in KILLING_OUTCOMES}
    warned = {c["id"] for c in cases if c["outcome"] == "warning"}
    record["killed_by"] = sorted((set(record["killed_by"]) - ran) | caught)
    record["warnings"] = sorted((set(record["warnings"]) - ran) | warned)
    before = record.get("cases_run", [])
    record["cases_run"] = before + sorted(ran - set(before))
    record["rechecked"] = sorted(set(record.get("rechecked", [])) | ran)
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"{mutant.name}: rechecked {len(ran)} cases, {len(caught)} catch it "
          f"({round(time.monotonic() - started, 1)}s)", flush=True)
    return record


def corpus_case_ids(python: str) -> list[str]:
    """The ids of the case corpus as the runner loads it (conformance.cases)."""
    code = ("import json; from conformance.corpus import bundled_dir; from conformance.casefile.loader import load_cases; "
            "print(json.dumps([c.id for c in load_cases([bundled_dir()])[0]]))")
    out = subprocess.run([python, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True).stdout
    return json.loads(out)


def _store(record: dict, results_dir: Path, started: float) -> dict:
    record["seconds"] = round(time.monotonic() - started, 1)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{record['name']}.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    shown = ", ".join(record["killed_by"][:3]) + (" ..." if len(record["killed_by"]) > 3 else "")
    print(f"{record['name']}: {record['status']} {shown} ({record['seconds']}s)", flush=True)
    return record


def selected(patterns: str | None) -> list[Mutant]:
    """The mutants to run: controls first, then round-robin over the areas (a partial run is a fair sample)."""
    pats = [p.strip() for p in (patterns or "*").split(",") if p.strip()]
    chosen = [m for m in MUTANTS if any(fnmatch.fnmatchcase(m.name, p) for p in pats)]
    by_area: dict[str, list[Mutant]] = {}
    for mutant in chosen:
        by_area.setdefault("" if mutant.control else mutant.area, []).append(mutant)
    ordered = by_area.pop("", [])
    queues = list(by_area.values())
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_report(results_dir: Path, out_dir: Path, command: str) -> dict:
    known = {m.name: m for m in MUTANTS}
    records = []
    for path in sorted(results_dir.glob("*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        if rec["name"] in known:
            records.append(rec)
    by_name = {r["name"]: r for r in records}
    ordered = [by_name[m.name] for m in MUTANTS if m.name in by_name]
    not_run = [m.name for m in MUTANTS if m.name not in by_name]
    real = [r for r in ordered if not r["control"]]
    applicable = [r for r in real if r["status"] != "does-not-apply"]
    killed = [r for r in applicable if r["status"] == "killed"]
    survived = [r for r in applicable if r["status"] == "survived"]
    controls = [r for r in ordered if r["control"]]
    all_cases: set[str] = set()
    killing: set[str] = set()
    for r in ordered:
        all_cases.update(r.get("cases_run", []))
        if not r["control"]:
            killing.update(c for c in r["killed_by"] if not c.startswith("<"))
    never = sorted(all_cases - killing)
    single: dict[str, int] = {}
    for r in killed:
        if len(r["killed_by"]) == 1:
            single[r["killed_by"][0]] = single.get(r["killed_by"][0], 0) + 1
    areas: dict[str, list[int]] = {}
    for r in applicable:
        a = areas.setdefault(r["area"], [0, 0])
        a[1] += 1
        a[0] += r["status"] == "killed"
    score = len(killed) / len(applicable) if applicable else 0.0
    summary = {
        "command": command, "mutants": len(MUTANTS), "results": len(ordered), "not_run": not_run,
        "non_control_applicable": len(applicable), "killed": len(killed), "survived": [r["name"] for r in survived],
        "does_not_apply": [r["name"] for r in ordered if r["status"] == "does-not-apply"],
        "score": round(score, 4), "by_area": {k: {"killed": v[0], "applicable": v[1]} for k, v in sorted(areas.items())},
        "controls": {r["name"]: r["status"] for r in controls},
        "cases_never_killing": never, "cases_total": len(all_cases),
        "killed_by_a_single_case": len([r for r in killed if len(r["killed_by"]) == 1]),
        "run_seconds": round(sum(r.get("seconds", 0) for r in ordered), 1),
        "mutants_detail": [{k: v for k, v in r.items() if k != "cases_run"} for r in ordered],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "mutation.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    lines = [
        "# Mutation score of the case corpus",
        "",
        ("Each mutant is a realistic vendor deviation seeded into a temporary copy of the reference server "
        "(`mockserver/`) by an exact-text patch (`tests/mutation/mutants.py`); the whole corpus runs against the "
        "mutated built-in server under the mutant's profile. A mutant is *killed* when at least one case fails "
        "(or errors); warnings (checks marked unproven) do not kill and are listed separately."),
        "",
        (f"Reproduce: `{command}` (or `tox -e mutation`); per-mutant results are kept in `results/`, "
        "`--resume` skips those already there, `--only PATTERN` runs a subset."),
        "",
        (f"**Score: {len(killed)}/{len(applicable)} = {score:.1%}** of the applicable non-control mutants killed "
        f"({len(MUTANTS)} mutants defined, {len(controls)} controls, "
        f"{len(summary['does_not_apply'])} do not apply, {len(not_run)} not run). "
        f"{summary['killed_by_a_single_case']} killed mutants were caught by a single case. "
        f"Summed run time: {summary['run_seconds'] / 60:.0f} min."),
        "",
        "Controls (equivalent mutants, must survive; `control.put-always-500` must be killed, it proves the "
        "mutated copy is what runs): " + ", ".join(f"`{r['name']}` {r['status']}" for r in controls),
        "",
        "## By area",
        "",
        "| area | killed | applicable |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {k} | {v[0]} | {v[1]} |" for k, v in sorted(areas.items())]
    lines += ["", "## Surviving mutants", ""]
    lines += [f"- `{r['name']}` ({r['area']}): {_md_cell(r['description'])}"
              + (f" -- why: {_md_cell(SURVIVOR_NOTES[r['name']])}" if r["name"] in SURVIVOR_NOTES else "")
              for r in survived] or ["none"]
    if not_run:
        lines += ["", "## Not run", "",
                  (f"Partial run: {len(ordered)} of {len(MUTANTS)} mutants have a result; the score above is over "
                   "those. The harness runs the controls first, then round-robin over the areas, so a partial run "
                   "samples every area. `python tests/mutation/harness.py --jobs 2 --resume` runs the rest."), "",
                  ", ".join(f"`{n}`" for n in not_run)]
    lines += ["", "## Every mutant", "", "| mutant | area | profile | killed by | warnings | does not apply |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in ordered:
        kb = r["killed_by"]
        killed_text = ("survived" if r["status"] == "survived" else
                       "" if r["status"] == "does-not-apply" else
                       ", ".join(f"`{c}`" for c in kb[:6]) + (f" (+{len(kb) - 6} more)" if len(kb) > 6 else ""))
        name = f"`{r['name']}`" + (" (control)" if r["control"] else "")
        lines.append(f"| {name} | {r['area']} | {r['profile']} | {killed_text} | {len(r['warnings']) or ''} | "
                     f"{_md_cell(r.get('detail', '')) if r['status'] == 'does-not-apply' else ''} |")
    lines += ["", f"## Cases that kill no mutant ({len(never)} of {len(all_cases)})", "",
              ("Each is to be strengthened (a mutant it should catch) or justified (it guards something no mutant "
              "here seeds, e.g. robustness or a profile-specific path)."), ""]
    lines += [", ".join(f"`{c}`" for c in never) or "none"]
    justified = [c for c in never if c in CASE_JUSTIFICATIONS]
    unjustified = [c for c in never if c not in CASE_JUSTIFICATIONS]
    lines += ["", (f"justification: ({len(justified)} justified, {len(unjustified)} not yet; "
                   "`tests/mutation/justifications.py`)"), ""]
    lines += [f"- `{c}`: {_md_cell(CASE_JUSTIFICATIONS[c])}" for c in justified]
    lines += [f"- `{c}`: not justified yet" for c in unjustified]
    readme = out_dir / "README.md"
    notes = ""
    if readme.is_file():
        # A hand-written "## Run notes" section (what ran on which tree) survives the regeneration.
        previous = readme.read_text(encoding="utf-8")
        at = previous.find("\n## Run notes")
        notes = previous[at:] if at >= 0 else ""
    readme.write_text("\n".join(lines) + "\n" + notes, encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (at most 2)")
    parser.add_argument("--only", help="fnmatch patterns of mutant names, comma separated")
    parser.add_argument("--corpus-jobs", type=int, default=4, help="cases run at once within one corpus run (threads)")
    parser.add_argument("--resume", action="store_true", help="skip mutants that already have a result")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--recheck-never", action="store_true",
                        help="run the cases that kill no mutant against the killed mutants that have not run them")
    parser.add_argument("--recheck-cases", action="append", default=[], metavar="PATTERN",
                        help="with --recheck-never: also these cases (fnmatch on the id), where a mutant has not run them")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the project's dependencies")
    parser.add_argument("--out", default=str(ROOT / "reports" / "mutation"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    results_dir = out / "results"
    command = "python tests/mutation/harness.py --jobs 2"
    if args.recheck_never:
        if not 1 <= args.jobs <= 2:
            parser.error("--jobs must be 1 or 2 (the machine is shared)")
        candidates = set(write_report(results_dir, out, command)["cases_never_killing"])
        corpus = set(corpus_case_ids(args.python))
        candidates |= {c for c in corpus if any(fnmatch.fnmatchcase(c, p) for p in args.recheck_cases)}
        candidates |= corpus - set().union(*(json.loads(f.read_text(encoding="utf-8")).get("cases_run", [])
                                        for f in results_dir.glob("*.json")))   # cases no mutant ever ran
        jobs = []
        for mutant in selected(args.only):
            path = results_dir / f"{mutant.name}.json"
            if mutant.control or not path.is_file():
                continue
            rec = json.loads(path.read_text(encoding="utf-8"))
            todo = sorted((candidates & corpus) - set(rec.get("cases_run", [])))
            if rec["status"] == "killed" and todo:
                jobs.append((mutant, todo))
        print(f"{len(jobs)} killed mutants to recheck, {args.jobs} at once", flush=True)
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda job: recheck_mutant(job[0], args.python, results_dir, job[1], args.corpus_jobs),
                          jobs))
    elif not args.report_only:
        if not 1 <= args.jobs <= 2:
            parser.error("--jobs must be 1 or 2 (the machine is shared)")
        todo = selected(args.only)
        if args.resume:
            todo = [m for m in todo if not (results_dir / f"{m.name}.json").is_file()]
        print(f"{len(todo)} mutants to run, {args.jobs} at once", flush=True)
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda m: run_mutant(m, args.python, results_dir, args.corpus_jobs), todo))
    summary = write_report(results_dir, out, command)
    print(f"score {summary['killed']}/{summary['non_control_applicable']} = {summary['score']:.1%}; "
          f"controls {summary['controls']}; does not apply: {summary['does_not_apply']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
