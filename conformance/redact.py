"""Secrets never reach a report: signatures, secret keys, SSE-C keys, policy signatures."""
from __future__ import annotations

import re
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


class Redactor:
    def __init__(self, secrets: set[str] | None = None):
        self.secrets = {s for s in (secrets or set()) if s and len(s) >= 8}
        self._index: tuple[int, dict[str, list[str]], list[str]] | None = None

    def add(self, *secrets: str) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= 8)

    def _secret_index(self) -> tuple[dict[str, list[str]], list[str]]:
        """Secrets by their first 8 characters (longest first), and the few with other characters. Rebuilt when
        secrets were added. A run collects ~1,000 secrets (SSE-C keys and digests) and its reports hold ~70k
        strings: one str.replace per secret per string took most of a run's time."""
        index = self._index
        if index is None or index[0] != len(self.secrets):
            by_prefix: dict[str, list[str]] = {}
            other: list[str] = []
            for secret in sorted(set(self.secrets), key=lambda s: (-len(s), s)):
                if _TOKEN_CHARS.issuperset(secret):
                    by_prefix.setdefault(secret[:8], []).append(secret)
                else:
                    other.append(secret)
            index = self._index = (len(self.secrets), by_prefix, other)
        return index[1], index[2]

    @staticmethod
    def _redact_run(run: str, by_prefix: dict[str, list[str]]) -> str:
        pieces: list[str] = []
        last = j = 0
        end = len(run) - 7
        while j < end:
            candidates = by_prefix.get(run[j:j + 8])
            if candidates is not None:
                for secret in candidates:
                    if run.startswith(secret, j):
                        pieces += [run[last:j], REDACTED]
                        j = last = j + len(secret)
                        break
                else:
                    j += 1
            else:
                j += 1
        if not pieces:
            return run
        pieces.append(run[last:])
        return "".join(pieces)

    def text(self, value: str) -> str:
        lowered = value.lower()
        for (pattern, replacement), needle in zip(_PATTERNS, _NEEDLES, strict=True):
            if needle in lowered if needle else value.startswith("AWS "):
                value = pattern.sub(replacement, value)
        by_prefix, other = self._secret_index()
        if by_prefix and len(value) >= 8:
            value = _TOKEN_RUN.sub(lambda m: self._redact_run(m.group(), by_prefix), value)
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
