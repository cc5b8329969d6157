"""Where the case corpus is. The shipped corpus (the repository's `cases/` folder) is installed as the
package `conformance_cases` and found through `importlib.resources`, so `run`, `list`, `validate`,
`coverage` and the pytest plugin work from any working directory, installed or editable.

`--cases PATH` (repeatable) replaces the bundled corpus; `--extra-cases PATH` (repeatable) adds folders
(a vendor's own cases) on top of whichever corpus is in use."""
from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

PACKAGE = "conformance_cases"
COVERAGE_FILE = "_coverage.yaml"


class CorpusMissing(Exception):
    pass


def bundled_dir() -> Path:
    """The folder of the bundled corpus on disk (wheels install unzipped; an editable install maps the
    package onto the checkout's `cases/`)."""
    try:
        root = resources.files(PACKAGE)
    except ModuleNotFoundError:
        raise CorpusMissing(f"the bundled case corpus (package {PACKAGE}) is not installed; "
                            "give --cases PATH") from None
    path = Path(str(root))
    if not path.is_dir():
        raise CorpusMissing(f"the bundled case corpus is not a folder on disk ({root}); give --cases PATH")
    return path


def case_paths(cases: Sequence[str] | None, extra: Sequence[str] | None = None) -> list[str]:
    """The paths to load: `cases` (or the bundled corpus when none) followed by `extra`."""
    base = list(cases) if cases else [str(bundled_dir())]
    return base + list(extra or [])


def coverage_data(cases: Sequence[str] | None = None) -> Path:
    """`_coverage.yaml` of the first case folder given, else of the bundled corpus."""
    for raw in cases or []:
        path = Path(raw)
        candidate = path / COVERAGE_FILE if path.is_dir() else path.parent / COVERAGE_FILE
        if candidate.is_file():
            return candidate
    return bundled_dir() / COVERAGE_FILE
