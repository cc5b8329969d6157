"""The one AWS error catalogue (mockserver/errors.py): every error the server raises is built from it, and every
code raised anywhere in mockserver is in it, with one status."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mockserver.dialects import DIALECTS
from mockserver.errors import CATALOGUE, S3Error, s3_error

PACKAGE = Path(__file__).resolve().parents[2] / "mockserver"


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if called == name:
                    found.append((path, node))
    return found


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"


def _literal_code(node: ast.Call) -> str | None:
    if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def test_errors_are_built_only_from_the_catalogue() -> None:
    direct = [_where(path, node) for path, node in _calls("S3Error") if path.name != "errors.py"
              or path.parent != PACKAGE]
    assert direct == [], "construct errors with mockserver.errors.s3_error or a helper, not S3Error(...)"
    in_errors = [node for path, node in _calls("S3Error") if path == PACKAGE / "errors.py"]
    assert len(in_errors) == 1          # the one in s3_error


def test_every_code_raised_is_catalogued() -> None:
    missing = []
    dynamic = []
    for path, node in _calls("s3_error"):
        code = _literal_code(node)
        if code is None:
            dynamic.append(_where(path, node))
        elif code not in CATALOGUE:
            missing.append(f"{_where(path, node)}: {code}")
    assert missing == []
    # The codes not written as literals: KMS.<KMS exception> (errors.kms_failure) and a dialect's schema error
    # (sse/bucket_config.py), both checked below.
    assert sorted(where.partition(":")[0] for where in dynamic) == ["mockserver/errors.py",
                                                                    "mockserver/sse/bucket_config.py"]


def test_every_kms_exception_is_catalogued_as_an_s3_code() -> None:
    kms_types = {_literal_code(node) for _, node in _calls("KmsError")} - {None}
    assert kms_types
    kms_types.discard("AccessDeniedException")     # S3 answers it as its own AccessDenied (sse/service.kms_error)
    kms_types.discard("KMSInternalException")      # S3 answers it as its own InternalError (sse/service.kms_error)
    assert sorted(t for t in kms_types if f"KMS.{t}" not in CATALOGUE) == []


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_dialect_schema_errors_are_catalogued(dialect: str) -> None:
    schema_error = DIALECTS[dialect].schema_error
    if schema_error is not None:
        assert schema_error[0] in CATALOGUE


def test_codes_without_catalogued_text_are_given_one_by_every_caller() -> None:
    unworded = []
    for path, node in _calls("s3_error"):
        code = _literal_code(node)
        has_message = len(node.args) > 1 or any(k.arg == "message" for k in node.keywords)
        if code is not None and CATALOGUE[code].message is None and not has_message:
            unworded.append(f"{_where(path, node)}: {code}")
    assert unworded == []


def test_catalogue_entries() -> None:
    for code, entry in CATALOGUE.items():
        assert 400 <= entry.status < 600, code
        assert entry.message is None or entry.message.strip(), code
    error = s3_error("NoSuchKey", fields={"Key": "k"})
    assert (error.code, error.status, error.message, error.fields) == (
        "NoSuchKey", 404, "The specified key does not exist.", {"Key": "k"})
    assert isinstance(error, S3Error)
    with pytest.raises(ValueError):
        s3_error("InvalidArgument")
    with pytest.raises(KeyError):
        s3_error("NoSuchThing", "text")
