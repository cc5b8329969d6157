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


class Redactor:
    def __init__(self, secrets: set[str] | None = None):
        self.secrets = {s for s in (secrets or set()) if s and len(s) >= 8}

    def add(self, *secrets: str) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= 8)

    def text(self, value: str) -> str:
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        for secret in self.secrets:
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
