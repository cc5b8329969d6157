"""Profiles: what an endpoint is expected to do (region, addressing, capabilities, dialect vars,
known deviations). Shipped ones live in conformance/profiles/; users may pass a file."""
from __future__ import annotations

import difflib
import fnmatch
import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from . import capabilities
from .casefile import yamlsource

PROFILE_DIR = Path(__file__).parent / "profiles"
ENDPOINT_CAPABILITIES_BUILTIN = ("kms-admin", "kms-metrics", "plain-http", "tls", "account-id", "alt-account-id")


class ProfileError(Exception):
    def __init__(self, problems: list[yamlsource.Problem] | list[str]):
        self.problems = [str(p) for p in problems]
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Profile:
    name: str
    region: str
    capabilities: frozenset[str]
    description: str = ""
    addressing: str = "path"
    dialect: str = "aws"
    vars: dict[str, Any] = field(default_factory=dict)
    deviations: dict[str, str] = field(default_factory=dict)
    path: str = ""
    deviation_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    # capabilities the run's endpoint lacks -> why, and the flag or endpoint feature that would add them
    # (conformance/discovery.py); a not-applicable reason quotes it instead of blaming the profile
    unavailable: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def has(self, capability: str) -> bool:
        return capabilities.holds(capability, self.capabilities)

    def deviation_for(self, case_id: str) -> str | None:
        """Reason when the case is a listed deviation; keys may be exact ids or fnmatch globs."""
        if case_id in self.deviations:
            return self.deviations[case_id]
        for pattern, reason in self.deviations.items():
            if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(case_id, pattern):
                return reason
        return None

    def adjusted(self, add: list[str] | tuple[str, ...] = (), remove: list[str] | tuple[str, ...] = ()) -> Profile:
        return replace(self, capabilities=frozenset((set(self.capabilities) | set(add)) - set(remove)))


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    text = resources.files("conformance").joinpath("schema/profile.schema.json").read_text(encoding="utf-8")
    return Draft202012Validator(json.loads(text))


def shipped_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return candidate
    return PROFILE_DIR / f"{name_or_path}.yaml"


def load_profile(name_or_path: str) -> Profile:
    path = resolve(name_or_path)
    if not path.is_file():
        known = ", ".join(shipped_profiles()) or "none shipped"
        raise ProfileError([f"{name_or_path}: no such profile (shipped: {known})"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError([f"{path}: cannot read: {exc}"]) from None
    document, problems = yamlsource.load(text, str(path))
    if document is not None:
        problems += yamlsource.schema_problems(document, _validator(), str(path))
    if not problems and document is not None:
        for index, name in enumerate(document.data["capabilities"]):
            if not capabilities.is_known(name):
                problems.append(yamlsource.Problem(str(path), document.line_of(("capabilities", index)),
                                                   capabilities.unknown_message(name, "capabilities")))
    if problems or document is None:
        raise ProfileError(problems)
    data = document.data
    return Profile(name=data["name"], region=data["region"], capabilities=frozenset(data["capabilities"]),
                   description=data.get("description", ""), addressing=data.get("addressing", "path"),
                   dialect=data.get("dialect", data["name"]), vars=dict(data.get("vars") or {}),
                   deviations=dict(data.get("deviations") or {}), path=str(path),
                   deviation_lines={key: document.line_of(("deviations", key)) for key in data.get("deviations") or {}})


def stale_deviation_problems(profile: Profile, case_ids: set[str]) -> list[yamlsource.Problem]:
    """Deviation ids (or globs) of `profile` that match none of `case_ids`: a typo, or a case renamed."""
    problems = []
    for key in profile.deviations:
        if any(ch in key for ch in "*?["):
            matched = any(fnmatch.fnmatchcase(case_id, key) for case_id in case_ids)
        else:
            matched = key in case_ids
        if not matched:
            close = difflib.get_close_matches(key, sorted(case_ids), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(yamlsource.Problem(profile.path, profile.deviation_lines.get(key, 0),
                                               f"deviations: {key!r} matches no case{hint}"))
    return problems


def unresolved_var_problems(cases: list[Any], profiles: list[Profile]) -> list[yamlsource.Problem]:
    """`${name}`s of the cases that are neither built in nor a variable of any of `profiles` (a typo, or a
    variable no profile defines). A variable only some profiles define is fine: variants pick per profile."""
    from .casefile.templating import Variables

    problems = []
    tables = [Variables(dict(p.vars)) for p in profiles]
    names = ", ".join(p.name for p in profiles)
    for case in cases:
        for ref in case.var_refs:
            values = [table.lookup(ref.name) for table in tables]
            if not any(isinstance(v, (str, int, float, bool)) for v in values):
                problems.append(yamlsource.Problem(
                    case.file, ref.line, f"{ref.where}: unknown variable ${{{ref.name}}} (not built in, and not a "
                                         f"var of profile {names})"))
    return problems
