"""Re-vendor the evidence extracts from the cited recordings (run after adding citations to cases).

    python cases/_evidence/refresh.py [--localstack GIT_DIR] [--s3-tests GIT_DIR]

Reads every case file, collects the LocalStack recordings and ceph/s3-tests tests that evidence entries cite,
and writes cases/_evidence/localstack/<snapshot file> (only the cited {test id: {key: value}} entries) and adds
the cited tests to cases/_evidence/s3-tests/tests.json (fails_on_aws read from the test's decorators).
The sources are bare git mirrors (defaults: /work/.mirror/<owner>+<name>/repo); nothing is fetched.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CASES = HERE.parent


def _show(git_dir: str, path: str, commit: str = "HEAD") -> str:
    return subprocess.run(["git", "--git-dir", git_dir, "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def _s3tests_index(source: str, file: str = "s3tests/functional/test_s3.py") -> dict[str, dict[str, object]]:
    lines = source.split("\n")
    index: dict[str, dict[str, object]] = {}
    for number, line in enumerate(lines):
        match = re.match(r"def (test_\w+)\(", line)
        if not match:
            continue
        marks, above = [], number - 1
        while above >= 0 and lines[above].strip() and (lines[above].startswith("@") or lines[above][0] in " \t)]"):
            if lines[above].startswith("@"):
                marks.append(lines[above])
            above -= 1
        index[match.group(1)] = {"fails_on_aws": any("fails_on_aws" in m for m in marks),
                                 "file": file, "line": number + 1}
    return index


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--localstack", default="/work/.mirror/localstack+localstack/repo")
    parser.add_argument("--s3-tests", default="/work/.mirror/ceph+s3-tests/repo")
    args = parser.parse_args()
    # (file, commit) -> test -> key -> citing case; a recording that names a commit is read at that commit (an
    # older version of a snapshot file keeps recordings of tests since removed or rewritten), else at HEAD.
    recordings: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    tests: dict[str, str] = {}
    for path in sorted(CASES.rglob("*.yaml")):
        if path.name.startswith("_"):
            continue
        for case in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("cases") or []:
            for entry in case.get("evidence") or []:
                if entry.get("recording"):
                    r = entry["recording"]
                    where = (r["file"], r.get("commit") or "HEAD")
                    recordings.setdefault(where, {}).setdefault(r["test"], {})[r["key"]] = case["id"]
                if entry.get("s3tests"):
                    tests[entry["s3tests"]["test"].split("[", 1)[0]] = entry["s3tests"]["file"]
    problems = []
    for (file, commit), cited in sorted(recordings.items()):
        snapshot = json.loads(_show(args.localstack, file, commit))
        target = HERE / "localstack" / Path(file).name
        extract = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
        for test, keys in cited.items():
            for key, case_id in keys.items():
                try:
                    extract.setdefault(test, {})[key] = snapshot[test]["recorded-content"][key]
                except KeyError:
                    problems.append(f"{case_id}: {file} at {commit} has no {test} / {key}")
        target.parent.mkdir(exist_ok=True)
        target.write_text(json.dumps(dict(sorted(extract.items())), indent=1) + "\n", encoding="utf-8")
    index_path = HERE / "s3-tests" / "tests.json"
    index = json.loads(index_path.read_text(encoding="utf-8")) if index_path.exists() else {}
    if tests:
        known: dict[str, dict[str, object]] = {}
        for file in sorted(set(tests.values()) | {"s3tests/functional/test_s3.py"}):
            known.update(_s3tests_index(_show(args.s3_tests, file), file))
        for test in sorted(tests):
            if test in known and known[test]["file"] == tests[test]:
                index[test] = known[test]
            else:
                problems.append(f"s3-tests has no {test}")
    index_path.write_text(json.dumps(dict(sorted(index.items())), indent=1) + "\n", encoding="utf-8")
    print("\n".join(problems) or "ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
