"""The mock server patches uvicorn internals (mockserver/coalescing.py, mockserver/protocol.py): the installed
uvicorn must be a version the patch was written against, and the functions it copies, replaces or extends must
still read as they did then."""
from __future__ import annotations

import hashlib
import inspect
import textwrap
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from uvicorn.protocols.http import httptools_impl

from mockserver.coalescing import UVICORN_SOURCES, UVICORN_VERSIONS

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_pyproject_pins_uvicorn_to_the_patched_versions() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = [Requirement(d).specifier for d in dependencies if Requirement(d).name == "uvicorn"]
    assert pins == [SpecifierSet(UVICORN_VERSIONS)]


def test_installed_uvicorn_is_a_patched_version() -> None:
    assert version("uvicorn") in SpecifierSet(UVICORN_VERSIONS)


@pytest.mark.parametrize("qualname", sorted(UVICORN_SOURCES))
def test_patched_uvicorn_function_is_unchanged(qualname: str) -> None:
    owner, name = qualname.split(".")
    source = textwrap.dedent(inspect.getsource(getattr(getattr(httptools_impl, owner), name)))
    assert hashlib.sha256(source.encode()).hexdigest() == UVICORN_SOURCES[qualname], (
        f"uvicorn {version('uvicorn')} changed {qualname}: re-read mockserver/coalescing.py and protocol.py "
        "against it, then update UVICORN_SOURCES (and UVICORN_VERSIONS with pyproject.toml)")
