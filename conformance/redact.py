"""Secrets never reach a report: signatures, secret keys, SSE-C keys, policy signatures."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"
_SECRET_HEADERS = {"x-amz-server-side-encryption-customer-key",
                   "x-amz-copy-source-server-side-encryption-customer-key",
                   "x-amz-security-token"}
_PATTERNS = [
    (re.compile(r"(Signature=)[0-9a-fA-F]+"), r"\1" + REDACTED),                  # SigV4 Authorization
    (re.compile(r"(X-Amz-Signature=)[0-9a-fA-F]+", re.IGNORECASE), r"\1" + REDACTED),      # presigned URL
    (re.compile(r"([?&]Signature=)[^&\s]+"), r"\1" + REDACTED),                   # SigV2 query
    (re.compile(r"(^AWS [^:\s]+:)\S+$"), r"\1" + REDACTED),                       # SigV2 header
    (re.compile(r"(chunk-signature=)[0-9a-f]+"), r"\1" + REDACTED),
    (re.compile(r"(x-amz-trailer-signature:)[0-9a-f]+"), r"\1" + REDACTED),
    # form fields: name="x-amz-signature" / SSE-C key, value on the line after the blank line
    (re.compile(r'(name="(?:x-amz-signature|signature|x-amz-server-side-encryption-customer-key)"\r?\n\r?\n)'
                r"[^\r\n]*", re.IGNORECASE), r"\1" + REDACTED),
]

# What each pattern's match contains (lowercased; None: starts with "AWS "): a text without it is left alone.
_NEEDLES = ["signature=", "x-amz-signature=", "signature=", None, "chunk-signature=", "x-amz-trailer-signature:",
            'name="']

# Secrets made only of these characters (keys, their base64 and hex digests) lie inside a run of them in any text
# that holds them: only such runs are searched, by the secrets' first 8 characters.
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_.~-")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+/=_.~\-]{8,}")


class _GramIndex:
    """Finds the secrets (all >= 8 token characters) in a run of token characters. Every 8-character piece of
    every secret is indexed with its offsets; an occurrence of a secret at least `shortest` long covers one of
    the run's pieces at positions that are multiples of `shortest - 7`, so only those positions are looked up
    (17 times fewer than every position for the SSE-C keys, 24 characters and more). Matches are then taken
    as a left-to-right scan takes them: the leftmost start first, there the longest secret, and the scan
    goes on after it."""

    def __init__(self) -> None:
        self.indexed: set[str] = set()
        self.shortest = 0                   # 0: no secret yet
        self.grams: dict[str, list[tuple[int, str]]] = {}

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            self.indexed.add(secret)
            self.shortest = min(self.shortest or len(secret), len(secret))
            for offset in range(len(secret) - 7):
                self.grams.setdefault(secret[offset:offset + 8], []).append((offset, secret))

    def redact(self, run: str) -> str:
        if not self.shortest or len(run) < self.shortest:
            return run
        stride = self.shortest - 7
        found: dict[int, int] = {}          # start -> length of the longest secret starting there
        grams = self.grams
        for position in range(0, len(run) - 7, stride):
            hits = grams.get(run[position:position + 8])
            if hits is None:
                continue
            for offset, secret in hits:
                start = position - offset
                if start >= 0 and found.get(start, 0) < len(secret) and run.startswith(secret, start):
                    found[start] = len(secret)
        if not found:
            return run
        pieces: list[str] = []
        last = 0
        for start in sorted(found):
            if start < last:
                continue                    # inside the secret taken before
            pieces += [run[last:start], REDACTED]
            last = start + found[start]
        pieces.append(run[last:])
        return "".join(pieces)


class Redactor:
    def __init__(self, secrets: set[str] | None = None):
        self.secrets = {s for s in (secrets or set()) if s and len(s) >= 8}
        self._index: tuple[int, _GramIndex, list[str]] | None = None

    def add(self, *secrets: str) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= 8)

    def _secret_index(self) -> tuple[_GramIndex, list[str]]:
        """The secrets made only of token characters, indexed by every 8-character piece of them (see
        _GramIndex), and the few with other characters. Brought up to date when secrets were added (only the new
        ones are indexed: the pytest plugin redacts between cases). A run collects ~2,500 secrets (SSE-C keys)
        and its reports hold ~70k strings: one str.replace per secret per string took most of a run's time."""
        index = self._index
        if index is not None and index[0] == len(self.secrets):
            return index[1], index[2]
        grams = index[1] if index is not None and index[0] < len(self.secrets) else None
        if grams is None:
            grams = _GramIndex()
        grams.add(s for s in self.secrets if s not in grams.indexed and _TOKEN_CHARS.issuperset(s))
        other = sorted((s for s in self.secrets if not _TOKEN_CHARS.issuperset(s)), key=lambda s: (-len(s), s))
        self._index = (len(self.secrets), grams, other)
        return grams, other

    def text(self, value: str) -> str:
        lowered = value.lower()
        for (pattern, replacement), needle in zip(_PATTERNS, _NEEDLES, strict=True):
            if needle in lowered if needle else value.startswith("AWS "):
                value = pattern.sub(replacement, value)
        grams, other = self._secret_index()
        if grams.shortest and len(value) >= grams.shortest:
            value = _TOKEN_RUN.sub(lambda m: grams.redact(m.group()), value)
        for secret in other:
            value = value.replace(secret, REDACTED)
        return value

    def headers(self, headers: list[Any]) -> list[list[str]]:
        out = []
        for name, value in headers:
            out.append([name, REDACTED if name.lower() in _SECRET_HEADERS else self.text(str(value))])
        return out

    def deep(self, data: Any) -> Any:
        """Redact a to_dict() tree: header lists get name-aware treatment, every string the patterns."""
        if isinstance(data, dict):
            return {k: (self.headers(v) if k == "headers" and isinstance(v, list) else self.deep(v))
                    for k, v in data.items()}
        if isinstance(data, list):
            return [self.deep(v) for v in data]
        if isinstance(data, str):
            return self.text(data)
        return data
