"""Writes reports/localstack/README.md from the LocalStack run (localstack.json) and the triage
(tests/crosscheck/localstack_triage.yaml): every failed case under exactly one cause, with the first expectation
that did not hold, and every warning (a case whose only mismatches are checks it marks `unproven`) with the
unproven checks named. Exits 1 (and writes nothing) when a failed case is triaged nowhere or twice, or when the
triage names a case that did not fail (passed, warned, not applicable or absent): the triage must then be edited."""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CLASS_ORDER = ("3", "1", "2")
CLASS_TITLES = {
    "3": "Class 3: the case is wrong, or asserts more than its evidence proves (reported to the coordinator)",
    "1": "Class 1: LocalStack deviates from AWS",
    "2": "Class 2: the case needs what this LocalStack cannot do",
}

HEADER = """# The suite against LocalStack

A second, independent implementation as a cross-check. LocalStack's S3 tests are snapshot tests
validated against AWS (`tests/aws/services/s3/*.snapshot.json` in localstack/localstack, validation dates in
`*.validation.json`), so where LocalStack matches a recording and a case disagrees, the case is wrong.

**LocalStack** `localstack-core` {version} (PyPI, Python 3.13, with `cbor2==5.9.0`, `pyopenssl<25`,
`service_identity<25`), services `s3,kms`, started in-process (no docker) by `tests/crosscheck/localstack_suite.py`
on 127.0.0.1 with `S3_SKIP_KMS_KEY_VALIDATION=0` and `S3_SKIP_SIGNATURE_VALIDATION=0` (LocalStack's own switches
towards AWS behaviour; both default to skipping the check). Recordings cited: localstack/localstack at 8b9a79f0
(2026-03-23), the SSE tests validated against AWS on 2026-02-21.

**Reproduce** (not in CI):

```
tox -e localstack                      # needs python3.13 on PATH, else: tox -e localstack --discover /path/to/python3.13
# or, with LocalStack installed in another venv:
.venv/bin/python tests/crosscheck/localstack_suite.py --localstack-python /path/to/venv-localstack/bin/python
.venv/bin/python tests/crosscheck/localstack_readme.py      # this README, from localstack.json + the triage
```

which runs

```
s3-conformance run --endpoint https://127.0.0.1:PORT --ca-file CA --plain-endpoint http://127.0.0.1:PORT \\
    --kms-endpoint http://127.0.0.1:PORT --access-key 000000000000 --secret-key test \\
    --alt-access-key 111111111111 --alt-secret-key test --account-id 000000000000 --alt-account-id 111111111111 \\
    --profile aws --capability kms-admin --capability plain-http --report-dir reports/localstack --report-name localstack
```

LocalStack takes a 12-digit access key id as the account id (`localstack/aws/accounts.py`), so 111111111111 is a
real second account (checked: a bucket it creates is not in 000000000000's ListBuckets); it serves KMS, HTTP and HTTPS on the same port (its certificate is one the harness makes for
127.0.0.1 with a throw-away CA, given through `CUSTOM_SSL_CERT_PATH`).

**Result: {passed} passed, {failed} failed, {na} not applicable, {warnings} warnings** (`localstack.json`,
`localstack.html`, `localstack.junit.xml`). Not applicable: {na_text}.

**Failed cases by class:** {class_counts}.

Each failed case is listed once, under the cause that makes it fail, with the first expectation that did not hold
(checks the case marks `unproven` that also differ are named after it). A **warning** is a case where LocalStack
differs only on checks the case marks `unproven` (AWS's answer there is recorded nowhere we know of): never a
failure, listed at the end with those checks. `tests/crosscheck/localstack_triage.yaml` holds the triage;
`localstack_readme.py` refuses a failed case that is not in it, and a triaged case that no longer fails.
"""


def load(report: Path, triage: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = json.loads(report.read_text())
    groups = yaml.safe_load(triage.read_text())["groups"]
    return data, groups


def case_entries(group: dict[str, Any]) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for item in group["cases"]:
        if isinstance(item, str):
            out.append((item, None))
        else:
            out.append((item["id"], item.get("note")))
    return out


def _check_name(mismatch: dict[str, Any]) -> str:
    """The check a runner mismatch is about, in the cases' `unproven` spelling (e.g. error.message)."""
    return str(mismatch.get("check") or mismatch.get("what") or "?")


def _short(value: Any, width: int = 70) -> str:
    text = "absent" if value is None else " ".join(str(value).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def unproven_mismatches(case: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(step name, mismatch) for every check of the case that differed and that the case marks unproven."""
    return [(step["name"], m) for step in case.get("steps", []) for m in step.get("mismatches") or []
            if m.get("unproven")]


def unproven_note(case: dict[str, Any]) -> str | None:
    """For a failed case: the unproven checks that differed too (each a warning on its own)."""
    found = unproven_mismatches(case)
    if not found:
        return None
    names = sorted({f"{step}: {_check_name(m)}" for step, m in found})
    return "also differs on unproven checks (warnings only): " + ", ".join(names)


def warning_lines(case: dict[str, Any]) -> list[str]:
    out = [f"- `{case['id']}` ({case['file']}:{case['line']}) — unproven checks that differ:"]
    for step, m in unproven_mismatches(case):
        out.append(f"  - step {step}, `{_check_name(m)}`: expected {_short(m.get('expected'))}, "
                   f"LocalStack {_short(m.get('actual'))}")
    return out


def render(data: dict[str, Any], groups: list[dict[str, Any]], version: str) -> tuple[str, list[str], list[str]]:
    cases = {c["id"]: c for c in data["cases"]}
    failed = {cid for cid, c in cases.items() if c["outcome"] == "failed"}
    seen: Counter[str] = Counter()
    for group in groups:
        for cid, _ in case_entries(group):
            seen[cid] += 1
    problems = [f"failed but not triaged: {cid}" for cid in sorted(failed - set(seen))]
    problems += [f"triaged {n} times: {cid}" for cid, n in sorted(seen.items()) if n > 1 and cid in failed]
    stale = sorted(cid for cid in seen if cid not in failed)
    problems += [f"triaged but not failed ({cases[cid]['outcome'] if cid in cases else 'not in the report'}): {cid}"
                 for cid in stale]

    per_class: Counter[str] = Counter()
    sections: dict[str, list[str]] = {k: [] for k in CLASS_ORDER}
    for group in groups:
        entries = [(cid, note) for cid, note in case_entries(group) if cid in failed]
        if not entries:
            continue
        cls = str(group["class"])
        per_class[cls] += len(entries)
        lines = [f"### {group['title']} ({len(entries)})", "", " ".join(group["evidence"].split()), ""]
        for cid, note in entries:
            case = cases[cid]
            line = f"- `{cid}` ({case['file']}:{case['line']}) — {case.get('reason') or ''}"
            if note:
                line += f". *Note:* {' '.join(note.split()).rstrip('.')}"
            if (marked := unproven_note(case)):
                line += f". *Unproven:* {marked}"
            lines.append(line)
        lines.append("")
        sections[cls].extend(lines)

    summary = data["summary"]
    na = [c for c in data["cases"] if c["outcome"] == "na"]
    na_reasons = Counter(c.get("reason") or "" for c in na)
    na_text = "; ".join(f"{n} × {r}" for r, n in na_reasons.items()) or "none"
    if any("kms-metrics" in r for r in na_reasons):
        na_text += " (the KMS call-count cases read a built-in mock server endpoint that LocalStack does not have)"
    class_counts = ", ".join(f"class {k} {per_class[k]}" for k in ("1", "2", "3"))
    out = [HEADER.format(version=version, passed=summary["passed"], failed=summary["failed"], na=summary["na"],
                         warnings=summary.get("warnings", 0), na_text=na_text, class_counts=class_counts)]
    for cls in CLASS_ORDER:
        out += [f"## {CLASS_TITLES[cls]} ({per_class[cls]})", ""]
        out += sections[cls] or ["None.", ""]
    warned = [c for c in data["cases"] if c["outcome"] == "warning"]
    out += [f"## Warnings: LocalStack differs only on checks the case marks unproven ({len(warned)})", ""]
    if warned:
        out += [("Not failures: each case asserts these checks without evidence of AWS's answer (`unproven` in the "
                 "case), and LocalStack answers otherwise. Every other check of these cases held."), ""]
        for case in warned:
            out += warning_lines(case)
        out.append("")
    else:
        out += ["None.", ""]
    return "\n".join(out).rstrip() + "\n", problems, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--report-dir", default="reports/localstack")
    parser.add_argument("--triage", default=str(HERE / "localstack_triage.yaml"))
    parser.add_argument("--localstack-version", default="2026.3.0")
    args = parser.parse_args(argv)
    report_dir = Path(args.report_dir)
    data, groups = load(report_dir / "localstack.json", Path(args.triage))
    text, problems, _stale = render(data, groups, args.localstack_version)
    if problems:
        for p in problems:
            print(f"localstack_readme: {p}", file=sys.stderr)
        return 1
    (report_dir / "README.md").write_text(text)
    print(f"wrote {report_dir / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
