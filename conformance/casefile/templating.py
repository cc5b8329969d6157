"""`${name}` / `${a.b.c}` substitution from profile vars, fixtures and captures.

string.Template (not str.format) so braces in XML/JSON bodies are left alone; `$$` is a literal `$`."""
from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import fields, is_dataclass, replace
from typing import Any


class TemplateError(Exception):
    """A reference to an unknown variable or a malformed `${...}`; the message names the place."""


_NAME = r"(?a:[_a-z][_a-z0-9]*(?:\.[_a-z0-9-]+)*)"


_PATTERN = rf"""
    \$(?:
      (?P<escaped>\$) |
      \{{(?P<braced>{_NAME})\}} |
      (?P<named>(?!)) |
      (?P<invalid>\{{)
    )"""


class VarTemplate(string.Template):
    """Only `${name}` substitutes and `$$` escapes; any other `$` is literal, so regular expressions
    such as `^(false)$` need no escaping. `${` without a valid name and `}` is an error."""
    idpattern = _NAME
    pattern = _PATTERN  # type: ignore[assignment]  # a string: Template compiles it in __init_subclass__


_MISSING = object()


class Variables(Mapping[str, Any]):
    """Nested dict addressed by dotted names: `kms.k1.arn` -> data["kms"]["k1"]["arn"]."""

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def lookup(self, name: str) -> Any:
        if name in self.data:          # a flat name that itself contains dots
            return self.data[name]
        node: Any = self.data
        for part in name.split("."):
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            else:
                return _MISSING
        return node

    def __getitem__(self, name: str) -> Any:
        value = self.lookup(name)
        if value is _MISSING or isinstance(value, Mapping):
            raise KeyError(name)
        return _stringify(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def known_names(self) -> list[str]:
        names: list[str] = []

        def walk(prefix: str, node: Any) -> None:
            if isinstance(node, Mapping):
                for key, value in node.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), value)
            else:
                names.append(prefix)
        walk("", self.data)
        return sorted(names)


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_string(text: str, variables: Variables, where: str) -> str:
    try:
        return VarTemplate(text).substitute(variables)
    except KeyError as exc:
        name = exc.args[0]
        near = [n for n in variables.known_names() if n.split(".")[0] == str(name).split(".")[0]][:8]
        hint = f" (known: {', '.join(near)})" if near else ""
        raise TemplateError(f"{where}: unknown variable ${{{name}}}{hint}") from None
    except ValueError as exc:
        raise TemplateError(f"{where}: malformed placeholder in {text!r}: {exc}") from None


def render(value: Any, variables: Variables, where: str) -> Any:
    """Render every string inside dicts, lists, tuples (dict keys too) and model dataclasses (a new object;
    fields whose metadata says `template: False` are kept); other scalars pass through."""
    if isinstance(value, str):
        return render_string(value, variables, where)
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: render(getattr(value, f.name), variables, where) for f in fields(value)
                                 if f.init and f.metadata.get("template", True)})
    if isinstance(value, (list, tuple)):
        return type(value)(render(item, variables, where) for item in value)
    if isinstance(value, dict):
        return {render(k, variables, where) if isinstance(k, str) else k: render(v, variables, where)
                for k, v in value.items()}
    return value
