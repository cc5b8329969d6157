"""--select expressions: boolean logic over case ids, tags, operations, requirements and files.

    tag:sse-c and not op:PostObject
    (put-object.* or copy-object.*) and not requires:kms
Terms: `id:GLOB` (or a bare GLOB), `tag:GLOB`, `op:GLOB` / `operation:GLOB`, `requires:GLOB`, `file:GLOB`.
Operators: `and`, `or`, `not`, parentheses; `and` binds tighter than `or`."""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .casefile.model import Case

Predicate = Callable[[Case], bool]
_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_FIELDS = {"id", "tag", "op", "operation", "requires", "file"}


class SelectError(Exception):
    pass


@dataclass
class _Parser:
    tokens: list[str]
    pos: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        if not self.tokens:
            raise SelectError("empty --select expression")
        predicate = self.or_expr()
        if self.peek() is not None:
            raise SelectError(f"unexpected {self.peek()!r} at token {self.pos + 1}")
        return predicate

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.peek() == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda case: any(p(case) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while self.peek() == "and":
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else (lambda case: all(p(case) for p in parts))

    def not_expr(self) -> Predicate:
        if self.peek() == "not":
            self.take()
            inner = self.not_expr()
            return lambda case: not inner(case)
        return self.atom()

    def atom(self) -> Predicate:
        token = self.peek()
        if token is None:
            raise SelectError("expression ends where a term was expected")
        if token == "(":
            self.take()
            inner = self.or_expr()
            if self.peek() != ")":
                raise SelectError("missing ')'")
            self.take()
            return inner
        if token in (")", "and", "or"):
            raise SelectError(f"unexpected {token!r} at token {self.pos + 1}")
        self.take()
        return term(token)


def term(token: str) -> Predicate:
    field, sep, pattern = token.partition(":")
    if sep and field not in _FIELDS:
        # case ids cannot contain ':', so this is a misspelt field, not an id glob that matches nothing
        raise SelectError(f"{token!r}: unknown field {field!r} (fields: {', '.join(sorted(_FIELDS))})")
    if not sep:
        field, pattern = "id", token
    if not pattern:
        raise SelectError(f"{token!r}: empty pattern")

    def match(values: Sequence[str]) -> bool:
        return any(fnmatch.fnmatchcase(v, pattern) for v in values)
    if field == "id":
        return lambda case: match([case.id])
    if field == "tag":
        return lambda case: match(case.tags)
    if field in ("op", "operation"):
        return lambda case: match([case.operation])
    if field == "requires":
        return lambda case: match(case.requires)
    return lambda case: match([case.file]) or fnmatch.fnmatchcase(case.file, f"*{pattern}")


def compile_select(expression: str) -> Predicate:
    try:
        return _Parser(_TOKEN.findall(expression)).parse()
    except SelectError as exc:
        raise SelectError(f"{exc} in {expression!r}") from None


def select(cases: list[Case], expression: str | None) -> list[Case]:
    if expression is None:          # no --select; an empty expression given explicitly is an error
        return cases
    predicate = compile_select(expression)
    return [case for case in cases if predicate(case)]
