"""Shared helpers for the corpus tests: the case files (without the coverage data file) and profiles."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CASES_DIR = REPO / "cases"
# Copies of the five seed documents the cases quote (`document: seeds/<file>`), kept with the tests so the
# verbatim-quote check runs on a clean checkout; test_seed_copies_are_current compares them with the originals.
SEEDS_DIR = Path(__file__).resolve().parent / "data" / "seeds"
# The originals live in ../shared/seeds beside the checkout (where CI puts shared/ too).
SHARED_SEEDS_DIR = REPO.parent / "shared" / "seeds"
PROFILE_NAMES = ("aws", "aws-2023", "aws-legacy", "qstorage", "yandex")


def case_file_paths() -> list[Path]:
    return sorted(p for p in CASES_DIR.rglob("*.yaml") if not p.name.startswith("_"))


@pytest.fixture(scope="session")
def corpus():
    from conformance.casefile.loader import load_cases
    cases, problems = load_cases(case_file_paths())
    return cases, problems
