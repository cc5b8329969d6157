"""The package as a user gets it: `python -m build` makes a wheel and an sdist that carry the case corpus;
the wheel installed into a fresh venv (nothing else) runs the bundled corpus from an unrelated folder.

Slow (build + venv + a full run, ~1-2 min): marked `slow` but part of the default suite. The build and the
venv are made once per test session, shared by xdist workers through a lock file."""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CORPUS_YAML = sorted(p.relative_to(ROOT / "cases").as_posix() for p in (ROOT / "cases").rglob("*.yaml"))
EVIDENCE = sorted(p.relative_to(ROOT / "cases").as_posix() for p in (ROOT / "cases" / "_evidence").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def _run(argv: list[str], cwd: Path, timeout: float = 600, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=False, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A folder shared by every xdist worker of this session (the base temp of the controller)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if worker_id != "master" else base) / "wheel-build"


def _once(shared: Path, name: str, make) -> Path:  # type: ignore[no-untyped-def]
    shared.mkdir(parents=True, exist_ok=True)
    done = shared / f"{name}.done"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            failure = make()
            done.write_text(failure or "")
        failure = done.read_text()
    if failure:
        pytest.fail(failure)
    return shared


@pytest.fixture(scope="session")
def dist(shared_dir: Path) -> Path:
    out = shared_dir / "dist"

    def make() -> str | None:
        proc = _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=shared_dir)
        if proc.returncode != 0:
            return f"python -m build failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return None

    _once(shared_dir, "build", make)
    return out


@pytest.fixture(scope="session")
def installed(dist: Path, shared_dir: Path) -> Path:
    """bin/ of a fresh venv holding only the wheel, its dependencies and pytest."""
    env_dir = shared_dir / "venv"

    def make() -> str | None:
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        wheel = next(dist.glob("*.whl"))
        proc = _run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel), "pytest"],
                    cwd=shared_dir)
        if proc.returncode != 0:
            return f"pip install of the wheel failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        return None

    _once(shared_dir, "venv", make)
    return env_dir / "bin"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An unrelated working folder: no cases/ beside it."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3_CONFORMANCE", "PYTEST_", "PYTHON"))}
    return env


def test_wheel_carries_the_corpus(dist: Path) -> None:
    with zipfile.ZipFile(next(dist.glob("*.whl"))) as archive:
        wheel = archive.namelist()
    shipped = sorted(n.removeprefix("conformance_cases/") for n in wheel
                     if n.startswith("conformance_cases/") and n.endswith(".yaml"))
    assert len(CORPUS_YAML) >= 20
    assert shipped == CORPUS_YAML
    assert "conformance_cases/_coverage.yaml" in wheel
    assert {f"conformance_cases/{name}" for name in EVIDENCE} <= set(wheel)
    assert {"conformance/schema/case.schema.json", "conformance/schema/profile.schema.json",
            "conformance/profiles/aws.yaml"} <= set(wheel)


def test_sdist_carries_the_corpus(dist: Path) -> None:
    with tarfile.open(next(dist.glob("*.tar.gz"))) as archive:
        names = archive.getnames()
    top = names[0].split("/")[0]
    shipped = sorted(n.removeprefix(f"{top}/cases/") for n in names
                     if n.startswith(f"{top}/cases/") and n.endswith(".yaml"))
    assert shipped == CORPUS_YAML
    assert {f"{top}/cases/{name}" for name in EVIDENCE} <= set(names)
    assert f"{top}/conformance/schema/case.schema.json" in names


@pytest.mark.parametrize("command", ["list", "validate", "coverage"])
def test_installed_commands_find_the_bundled_corpus(installed: Path, elsewhere: Path, command: str) -> None:
    proc = _run([str(installed / "s3-conformance"), command], cwd=elsewhere, env=_clean_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "no such file" not in proc.stderr
    if command == "list":
        assert proc.stdout.strip().endswith(" cases")
        assert int(proc.stdout.strip().split()[-2]) >= 300


def test_installed_run_passes_on_the_bundled_corpus(installed: Path, elsewhere: Path) -> None:
    proc = _run([str(installed / "s3-conformance"), "run", "-n", "2"], cwd=elsewhere, env=_clean_env(),
                timeout=900)
    report = json.loads((elsewhere / "reports" / "aws.json").read_text())
    failed = [c["id"] for c in report["cases"] if c["outcome"] not in ("passed", "na", "not_applicable")]
    assert proc.returncode == 0, f"{failed}\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    assert len(report["cases"]) >= 300


def test_installed_extra_cases_add_to_the_corpus(installed: Path, elsewhere: Path) -> None:
    extra = elsewhere / "vendor"
    extra.mkdir()
    (extra / "vendor.yaml").write_text((ROOT / "tests" / "packaging" / "data" / "vendor.yaml").read_text())
    bundled = _run([str(installed / "s3-conformance"), "list"], cwd=elsewhere, env=_clean_env())
    both = _run([str(installed / "s3-conformance"), "list", "--extra-cases", str(extra)], cwd=elsewhere,
                env=_clean_env())
    only = _run([str(installed / "s3-conformance"), "list", "--cases", str(extra)], cwd=elsewhere, env=_clean_env())
    assert bundled.returncode == both.returncode == only.returncode == 0, both.stderr + only.stderr
    count = int(bundled.stdout.split()[-2])
    assert int(both.stdout.split()[-2]) == count + 1
    assert only.stdout.split()[-2:] == ["1", "cases"]
    assert "vendor.put-sse-s3" in both.stdout


def test_installed_pytest_pyargs_runs_the_bundled_corpus(installed: Path, elsewhere: Path) -> None:
    proc = _run([str(installed / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs",
                 "conformance_cases", "--s3-select", "tag:roundtrip"], cwd=elsewhere, env=_clean_env())
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert " passed" in proc.stdout.splitlines()[-1]


def test_editable_install_finds_the_corpus(elsewhere: Path) -> None:
    """The test venv (an editable install) maps the package onto the checkout's cases/."""
    proc = _run([sys.executable, "-c", "from conformance import corpus; print(corpus.bundled_dir())"], cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).resolve() == (ROOT / "cases").resolve()
    listing = _run([sys.executable, "-m", "conformance.cli", "list"], cwd=elsewhere)
    assert listing.returncode == 0, listing.stderr


def test_wheel_carries_every_module(dist: Path) -> None:
    """Every .py file of conformance/ and mockserver/ is in the wheel (a folder without __init__.py too)."""
    with zipfile.ZipFile(next(dist.glob("*.whl"))) as archive:
        wheel = set(archive.namelist())
    sources = {p.relative_to(ROOT).as_posix() for part in ("conformance", "mockserver")
               for p in (ROOT / part).rglob("*.py") if "__pycache__" not in p.parts}
    assert sources - wheel == set()
