"""Evidence as data: every expectation that is not a documented sentence says how we know it.

Checked offline, per case:
- every evidence id an expect cites exists in its case, and every `unproven` entry names a check the expect makes;
- each evidence entry is well formed for its confidence; a cited LocalStack recording exists in the vendored
  extract (`cases/_evidence/localstack/<snapshot file>`, test id and key); a cited ceph/s3-tests test exists in
  the vendored index (`cases/_evidence/s3-tests/tests.json`), and one marked fails_on_aws is never `recorded`;
- every expect that asserts an error code, message or field, or the value/absence of an SSE response header,
  has evidence, or `confidence: documented` with the asserted text in the case's source quote (or in a quote of
  a documented evidence entry), or lists the check in `unproven` (or is wholly `confidence: unproven`).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.casefile.checks import asserted_checks

from .conftest import CASES_DIR, case_file_paths

EVIDENCE_DIR = CASES_DIR / "_evidence"
LOCALSTACK_DIR = EVIDENCE_DIR / "localstack"
S3TESTS_INDEX = EVIDENCE_DIR / "s3-tests" / "tests.json"
SSE_HEADER_PREFIXES = ("x-amz-server-side-encryption",)



def _raw_cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in case_file_paths():
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for case in document.get("cases") or []:
            out.append((path.parent.name, case))
    return out


RAW_CASES = _raw_cases()


def _ids(item: tuple[str, dict[str, Any]]) -> str:
    return item[1].get("id", "?")


def _expects(case: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for index, step in enumerate(case.get("steps") or []):
        name = step.get("name") or f"step{index + 1}"
        if step.get("expect") is not None:
            out.append((name, step["expect"]))
        for v_index, variant in enumerate(step.get("variants") or []):
            out.append((f"{name}/variant{v_index + 1}", variant["expect"]))
    return out


def _expects_with_when(case: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """Like _expects, with the `when` of the variant each expect belongs to (None for a step's own expect)."""
    out: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    for index, step in enumerate(case.get("steps") or []):
        name = step.get("name") or f"step{index + 1}"
        if step.get("expect") is not None:
            out.append((name, step["expect"], None))
        for v_index, variant in enumerate(step.get("variants") or []):
            out.append((f"{name}/variant{v_index + 1}", variant["expect"], variant.get("when")))
    return out


def _needing_evidence(expect: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Checks that are not a documented sentence unless shown to be: (check name, asserted text or None)."""
    out: list[tuple[str, str | None]] = []
    error = expect.get("error") or {}
    if "code" in error:
        out.append(("error.code", str(error["code"])))
    if "message" in error:
        out.append(("error.message", str(error["message"])))
    elif "message_match" in error:
        out.append(("error.message", "re:" + str(error["message_match"])))
    out += [(f"error.fields.{k}", None) for k in error.get("fields") or {}]
    headers = expect.get("headers") or {}
    names = list(headers.get("equal") or {}) + list(headers.get("absent") or [])
    out += [(f"headers.{n.lower()}", None) for n in names if n.lower().startswith(SSE_HEADER_PREFIXES)]
    return out


@pytest.fixture(scope="module")
def recordings() -> dict[str, dict[str, dict[str, Any]]]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in LOCALSTACK_DIR.glob("*.json")}


@pytest.fixture(scope="module")
def s3tests_index() -> dict[str, dict[str, Any]]:
    return json.loads(S3TESTS_INDEX.read_text(encoding="utf-8"))


def test_vendored_evidence_has_its_notice(recordings, s3tests_index):
    notice = (EVIDENCE_DIR / "NOTICE").read_text(encoding="utf-8")
    assert "Apache" in notice and "localstack" in notice.lower()
    assert "MIT" in notice and "s3-tests" in notice
    for name, tests in recordings.items():
        assert isinstance(tests, dict) and tests, name
        for test_id, keys in tests.items():
            assert "::" in test_id and isinstance(keys, dict) and keys, (name, test_id)
    for test, info in s3tests_index.items():
        assert test.startswith("test_") and isinstance(info.get("fails_on_aws"), bool) and info.get("file"), test


def _entry_problems(case: dict[str, Any], recordings: dict[str, Any], s3tests_index: dict[str, Any]) -> list[str]:
    problems = []
    ids = [e["id"] for e in case.get("evidence") or []]
    problems += [f"duplicate evidence id {i!r}" for i in {i for i in ids if ids.count(i) > 1}]
    for entry in case.get("evidence") or []:
        where = f"evidence {entry['id']!r}"
        confidence = entry["confidence"]
        recording, s3tests = entry.get("recording"), entry.get("s3tests")
        if confidence == "documented" and not (entry.get("document") and entry.get("quote")):
            problems.append(f"{where}: documented evidence needs a document and the quote")
        if confidence == "recorded" and not (recording or s3tests):
            problems.append(f"{where}: recorded evidence needs a recording (or an s3-tests test that passes on AWS)")
        # Corroborated: a third party agrees (an s3-tests test, a vendor document), or AWS was recorded answering a
        # related but not identical request (its note must say how the requests differ).
        if confidence == "corroborated" and not (s3tests or entry.get("document") or (recording and entry.get("note"))):
            problems.append(f"{where}: corroborated evidence names an s3-tests test, a vendor document, or a related "
                            "recording with a note saying how its request differs")
        if recording:
            if recording["repo"] != "localstack/localstack":
                problems.append(f"{where}: only LocalStack recordings are vendored, not {recording['repo']}")
            extract = recordings.get(Path(recording["file"]).name)
            if extract is None:
                problems.append(f"{where}: no vendored extract cases/_evidence/localstack/{Path(recording['file']).name}")
            elif recording["test"] not in extract:
                problems.append(f"{where}: test {recording['test']!r} not in the vendored extract")
            elif recording["key"] not in extract[recording["test"]]:
                problems.append(f"{where}: key {recording['key']!r} not recorded for {recording['test']!r}")
        if s3tests:
            info = s3tests_index.get(s3tests["test"].split("[", 1)[0])
            if info is None:
                problems.append(f"{where}: s3-tests test {s3tests['test']!r} not in cases/_evidence/s3-tests/tests.json")
            elif info["file"] != s3tests["file"]:
                problems.append(f"{where}: {s3tests['test']} lives in {info['file']}, not {s3tests['file']}")
            elif info["fails_on_aws"] and confidence == "recorded":
                problems.append(f"{where}: {s3tests['test']} is marked fails_on_aws: it cannot be `recorded`")
    for step, expect in _expects(case):
        for cited in expect.get("evidence") or []:
            if cited not in ids:
                problems.append(f"{step}: cites evidence {cited!r}, which the case does not list")
        asserted = asserted_checks(expect)
        for entry in expect.get("unproven") or []:
            name = entry.lower() if entry.startswith("headers.") else entry
            if name not in asserted:
                problems.append(f"{step}: unproven {entry!r} names no check this expect makes")
        if expect.get("confidence") == "documented" and expect.get("evidence"):
            kinds = {e["confidence"] for e in case.get("evidence") or [] if e["id"] in expect["evidence"]}
            if kinds - {"documented"}:
                problems.append(f"{step}: confidence documented, but it cites {sorted(kinds - {'documented'})} evidence")
    return problems


@pytest.mark.parametrize("item", RAW_CASES, ids=_ids)
def test_evidence_entries_are_well_formed_and_exist(item, recordings, s3tests_index):
    _, case = item
    problems = _entry_problems(case, recordings, s3tests_index)
    assert problems == [], f"{case['id']}:\n  " + "\n  ".join(problems)


PROFILES_DIR = Path(__file__).resolve().parents[2] / "conformance" / "profiles"
PROFILE_VARS = {p.stem: (yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("vars") or {}
                for p in PROFILES_DIR.glob("*.yaml")}


def _profile_of(step_when: dict[str, Any] | None) -> str:
    """Profile whose vars a documented text is checked with: the one a variant names, else AWS (the evidence is
    about AWS; vendor variants name their profile)."""
    names = (step_when or {}).get("profile")
    if isinstance(names, str):
        return names
    if isinstance(names, list) and len(names) == 1:
        return names[0]
    return "aws"


def _expand(text: str, profile: str) -> str:
    values = PROFILE_VARS.get(profile) or {}
    return re.sub(r"\$\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), text)


def _fragments(text: str) -> list[str]:
    """A quote and the messages it quotes: its parts between quote marks or table-cell bars, so an anchored
    regex (`^The XML you provided...`) can match a message the document quotes inside a sentence or a table."""
    return [text] + [part.strip() for part in re.split(r"[\"|\u201c\u201d]", text) if part.strip()]


def _documented_texts(case: dict[str, Any], cited: list[str]) -> list[str]:
    texts = [case["source"]["quote"]]
    texts += [e["quote"] for e in case.get("evidence") or []
              if e["confidence"] == "documented" and e.get("quote") and (not cited or e["id"] in cited)]
    return texts


def _norm(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").split()).lower()


def _missing_evidence(case: dict[str, Any]) -> list[str]:
    evidence = {e["id"]: e for e in case.get("evidence") or []}
    problems = []
    for step, expect, when in _expects_with_when(case):
        if expect.get("confidence") == "unproven":
            continue
        profile = _profile_of(when)
        cited = list(expect.get("evidence") or [])
        unproven = {u.lower() if u.startswith("headers.") else u for u in expect.get("unproven") or []}
        only_documented = bool(cited) and all(evidence.get(c, {}).get("confidence") == "documented" for c in cited)
        for check, raw in _needing_evidence(expect):
            text = None if raw is None else _expand(raw, profile)
            if check in unproven:
                continue
            if cited and not only_documented:
                continue
            if cited or expect.get("confidence") == "documented":
                texts = [_norm(t) for t in _documented_texts(case, cited)]
                if check.startswith("headers."):
                    if cited or any(check.split(".", 1)[1] in t for t in texts):
                        continue
                elif text is not None and text.startswith("re:"):
                    if any(re.search(text[3:], f, re.IGNORECASE)
                           for t in _documented_texts(case, cited) for f in _fragments(t)):
                        continue
                elif text is not None and any(_norm(text) in t for t in texts):
                    continue
                problems.append(f"{step}: {check} is `documented`, but the quoted text does not state it")
                continue
            problems.append(f"{step}: {check} has no evidence (cite some, or list it in `unproven`)")
    return problems


@pytest.mark.parametrize("item", RAW_CASES, ids=_ids)
def test_every_undocumented_expectation_has_evidence(item):
    _folder, case = item
    problems = _missing_evidence(case)
    assert problems == [], f"{case['id']}:\n  " + "\n  ".join(problems)


# The checker itself, on small made-up cases.
_SOURCE = {"document": "https://docs.aws.amazon.com/x", "quote": "rejected with an HTTP 403 AccessDenied error."}
_RECORDING = {"repo": "localstack/localstack", "file": "tests/aws/services/s3/test_s3.snapshot.json",
              "test": "tests/aws/services/s3/test_s3.py::T::t", "key": "k"}


def _case(expect: dict[str, Any], evidence: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    case = {"id": "x.y", "source": _SOURCE, "steps": [{"request": {"method": "GET"}, "expect": expect}]}
    if evidence:
        case["evidence"] = evidence
    return case


def test_checker_flags_undocumented_checks_and_accepts_the_three_ways_out():
    error = {"status": 400, "error": {"code": "InvalidRequest", "message": "m"},
             "headers": {"absent": ["x-amz-server-side-encryption"], "equal": {"ETag": "e"}}}
    assert len(_missing_evidence(_case(error))) == 3          # code, message, SSE header; not ETag
    assert _missing_evidence(_case({**error, "unproven": ["error.code", "error.message",
                                                          "headers.X-Amz-Server-Side-Encryption"]})) == []
    assert _missing_evidence(_case({**error, "confidence": "unproven"})) == []
    recorded = [{"id": "ls", "confidence": "recorded", "recording": _RECORDING}]
    assert _missing_evidence(_case({**error, "evidence": ["ls"]}, recorded)) == []
    documented = {"status": 403, "error": {"code": "AccessDenied"}, "confidence": "documented"}
    assert _missing_evidence(_case(documented)) == []
    wrong = {"status": 403, "error": {"code": "SignatureDoesNotMatch"}, "confidence": "documented"}
    assert "not state it" in _missing_evidence(_case(wrong))[0]


def test_checker_flags_bad_references():
    recordings = {"test_s3.snapshot.json": {"tests/aws/services/s3/test_s3.py::T::t": {"k": {}}}}
    index = {"test_a": {"fails_on_aws": True, "file": "s3tests/functional/test_s3.py"}}
    good = [{"id": "ls", "confidence": "recorded", "recording": _RECORDING}]
    assert _entry_problems(_case({"status": 200, "evidence": ["ls"]}, good), recordings, index) == []
    missing_key = [{"id": "ls", "confidence": "recorded", "recording": {**_RECORDING, "key": "other"}}]
    assert "not recorded" in _entry_problems(_case({"status": 200}, missing_key), recordings, index)[0]
    assert "does not list" in _entry_problems(_case({"status": 200, "evidence": ["nope"]}), recordings, index)[0]
    fails = [{"id": "s", "confidence": "recorded", "s3tests": {"file": "s3tests/functional/test_s3.py", "test": "test_a"}}]
    assert "fails_on_aws" in _entry_problems(_case({"status": 200}, fails), recordings, index)[0]
    assert "names no check" in _entry_problems(_case({"status": 200, "unproven": ["error.code"]}), recordings, index)[0]


def test_checker_expands_profile_vars_and_finds_quoted_messages():
    quote = ('Code: MalformedXML Description: This happens when the user sends malformed XML. The error message is, '
             '"The XML you provided was not well-formed or did not validate against our published schema."')
    documented = [{"id": "d", "confidence": "documented", "document": "https://docs.aws.amazon.com/x", "quote": quote}]
    error = {"status": 400, "error": {"code": "${err_invalid_config}", "message_match": "${re_invalid_config}"},
             "evidence": ["d"]}
    assert _missing_evidence(_case(error, documented)) == []
    # a QStorage variant is checked with QStorage's vars: the AWS quote does not state InvalidArgument
    case = _case({"status": 200}, documented)
    case["steps"][0]["variants"] = [{"when": {"profile": "qstorage"}, "expect": error}]
    assert len(_missing_evidence(case)) == 2
    table = [{"id": "q", "confidence": "documented", "document": "seeds/q.mdx",
              "quote": "| InvalidArgument | The encryption configuration is not valid |"}]
    case = _case({"status": 200}, table)
    case["steps"][0]["variants"] = [{"when": {"profile": "qstorage"}, "expect": {**error, "evidence": ["q"]}}]
    assert _missing_evidence(case) == []
