"""The redactor's secret search (an index of every 8-character piece, looked up at a stride) finds what a
scan of every position finds, leftmost first and longest there, also for secrets that overlap or nest."""
from __future__ import annotations

import random

from conformance.redact import REDACTED, Redactor

TOKEN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_.~-"


def scan_every_position(text: str, secrets: set[str]) -> str:
    """The reference: at each position the longest secret starting there, then on after it."""
    ordered = sorted(secrets, key=len, reverse=True)
    out, i = [], 0
    while i < len(text):
        match = next((s for s in ordered if text.startswith(s, i)), None)
        if match is None:
            out.append(text[i])
            i += 1
        else:
            out.append(REDACTED)
            i += len(match)
    return "".join(out)


def test_same_as_a_scan_of_every_position():
    rng = random.Random(7)
    for _ in range(1500):
        alphabet = rng.choice(["ab", "abc", TOKEN[:5], TOKEN])
        secrets = {"".join(rng.choice(alphabet) for _ in range(rng.randint(8, 40))) for _ in range(rng.randint(1, 6))}
        redactor = Redactor(set(secrets))
        for _ in range(4):
            if rng.random() < 0.3:                  # secrets added later are found too
                extra = "".join(rng.choice(alphabet) for _ in range(rng.randint(8, 12)))
                secrets.add(extra)
                redactor.add(extra)
            pieces = [rng.choice(sorted(secrets)) if rng.random() < 0.4 else
                      "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(1, 6))]
            text = "".join(pieces)
            assert redactor.text(text) == scan_every_position(text, secrets), (sorted(secrets), text)


def test_secrets_inside_longer_runs_and_urls():
    key = "q2Zb8vH1yXcP0mJ4tK7sR3wN6dL9fA2eG5hU8iO1pQ4="
    redactor = Redactor({key})
    assert redactor.text(f"x-amz-server-side-encryption-customer-key={key}&b=1") == \
        f"x-amz-server-side-encryption-customer-key={REDACTED}&b=1"
    assert redactor.text(f"pre{key}{key}post") == f"pre{REDACTED}{REDACTED}post"
    assert redactor.text(key[:-1]) == key[:-1]
