"""Help through the CLI (subprocesses): descriptions, profiles, environment variables, defaults, every flag
with help; `serve --help` lists the dialects and the default port; the README documents every flag."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import cli, coverage
from conformance.profile import shipped_profiles

ROOT = Path(__file__).resolve().parents[2]


def _help(*argv: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", *argv, "--help"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parsers = {name: sub for name, sub in action.choices.items() if name in ("run", "list", "validate")}
    parsers["coverage"] = _coverage_parser()
    from mockserver import server
    parsers["serve"] = server._parser()
    return parsers


def _coverage_parser() -> argparse.ArgumentParser:
    captured: list[argparse.ArgumentParser] = []
    original = argparse.ArgumentParser.parse_args

    def grab(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        captured.append(self)
        raise SystemExit(0)
    argparse.ArgumentParser.parse_args = grab  # type: ignore[method-assign]
    try:
        coverage.main([])
    finally:
        argparse.ArgumentParser.parse_args = original  # type: ignore[method-assign]
    return captured[0]


def _flags(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    return [(action.option_strings[-1], action) for action in parser._actions
            if action.option_strings and action.dest != "help"]


def test_run_help_has_description_profiles_environment_and_defaults() -> None:
    text = _help("run")
    assert "Run the case corpus" in text
    for name in shipped_profiles():
        assert re.search(rf"^  {re.escape(name)} ", text, re.MULTILINE), name
    for variable in ("S3C_ACCESS_KEY", "S3C_SECRET_KEY", "S3C_ALT_ACCESS_KEY", "S3C_ALT_SECRET_KEY"):
        assert variable in text
    for default in ("(default: reports)", "(default: 60)", "(default: 10)", "(default: s3c)", "(default: 1)",
                    "default: aws"):
        assert default in " ".join(text.split()), default
    assert "130" in text and "sse-c-blocked-by-default" in text


@pytest.mark.parametrize("command", ["run", "list", "validate", "coverage", "serve"])
def test_every_flag_has_help(command: str) -> None:
    missing = [flag for flag, action in _flags(_subparsers()[command]) if not (action.help or "").strip()]
    assert missing == []


def test_serve_help_lists_dialects_and_the_default_port() -> None:
    from mockserver.dialects import DIALECTS

    text = " ".join(_help("serve").split())
    for dialect in DIALECTS:
        assert dialect in text
    assert "(default: 9000)" in text


def test_top_level_help_is_plain_text() -> None:
    text = _help()
    assert "`" not in text and "**" not in text
    assert "Conformance suite for S3 server-side encryption" in text
    for command in ("run", "list", "validate", "coverage", "serve"):
        assert command in text


def test_readme_documents_every_flag() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [f"{command} {flag}" for command, parser in _subparsers().items() for flag, _ in _flags(parser)
               if flag not in readme]
    assert missing == []
    for flag in ("--account-id", "--report-name", "--plain-endpoint", "--addressing", "--extra-cases"):
        assert re.search(rf"\| `{flag}[ `].*\| .+ \| .+ \|", readme), flag      # a table row with a default


def test_readme_first_two_commands_unchanged() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert blocks[0].strip() == "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/s3-conformance run"
    assert blocks[1].strip() == ("python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && "
                                 ".venv/bin/python -m pytest -q -n 2")


def test_readme_ci_recipe_uses_existing_flags() -> None:
    """The GitHub Actions job in the README parses as YAML, uploads the reports it names, and every flag it
    passes to `s3-conformance run` exists."""
    import yaml

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Continuous integration"):]
    block = section[section.index("```yaml\n") + 8:]
    job = yaml.safe_load(block[:block.index("```")])
    steps = job["jobs"]["conformance"]["steps"]
    command = next(step["run"] for step in steps if "s3-conformance run" in step.get("run", ""))
    argv = command.split()
    assert argv[:2] == ["s3-conformance", "run"]
    known = {flag for flag, _ in _flags(_subparsers()["run"])} | {"-n"}
    used = [word for word in argv if word.startswith("-")]
    assert used and [flag for flag in used if flag not in known] == []
    assert {"--endpoint", "--baseline", "--report-dir", "--report-name"} <= set(used)
    name = argv[argv.index("--report-name") + 1]
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact"))
    for suffix in (".html", ".json", ".junit.xml"):
        assert f"reports/{name}{suffix}" in upload["with"]["path"]
    assert upload["if"] == "always()"
    env = next(step for step in steps if "s3-conformance run" in step.get("run", ""))["env"]
    assert set(env) == {"S3C_ACCESS_KEY", "S3C_SECRET_KEY", "S3C_ALT_ACCESS_KEY", "S3C_ALT_SECRET_KEY"}
