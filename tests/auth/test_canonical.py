"""The canonical query string equals botocore's for raw queries in every encoding a client may send."""
from __future__ import annotations

from urllib.parse import unquote

import pytest
from botocore.auth import SigV4Auth
from botocore.credentials import Credentials

from mockserver.auth.canonical import canonical_query, canonical_uris

BOTOCORE = SigV4Auth(Credentials("a", "b"), "s3", "us-east-1")

QUERIES = [
    "encryption", "encryption=", "list-type=2&prefix=a%2Fb&delimiter=%2F", "prefix=a/b", "prefix=%7e&x=%7E",
    "b=2&a=1&a=0", "key=%E2%82%AC%20x", "key=€ x", "q=a+b", "q=%2B", "uploads&prefix=%41", "x=%zz",
    "X-Amz-Credential=AK%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z",
    "response-content-disposition=attachment%3B%20filename%3D%22a.txt%22", "a=%2d%2e%5f", "a=b=c&d==",
    "a-b=1&a=2&a.b=3&a_b=4",
]


@pytest.mark.parametrize("raw", QUERIES)
def test_matches_botocore(raw):
    pairs = []
    for part in raw.split("&"):
        name, _, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    assert canonical_query(raw) == BOTOCORE._canonical_query_string_params(pairs)


def test_excluded_parameter_is_left_out():
    assert canonical_query("b=1&X-Amz-Signature=abc&a=2", exclude="X-Amz-Signature") == "a=2&b=1"


def test_path_as_received_comes_first():
    assert list(canonical_uris("/b/a%20b")) == ["/b/a%20b"]
    assert list(canonical_uris("/b/a b")) == ["/b/a b", "/b/a%20b"]
    assert list(canonical_uris("")) == ["/"]


def test_fast_unquote_equals_unquote() -> None:
    import random

    from mockserver.auth.canonical import fast_unquote

    rng = random.Random(4)
    alphabet = ["a", "Z", "0", "+", "/", "=", "%", "%2F", "%2f", "%3B", "%C3%A9", "%E2%98", "%83", "%ZZ", "%4",
                "é", "\u2603", "%ff", "%80"]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 10)))
        assert fast_unquote(text) == unquote(text), text


def test_fast_unquote_cache_is_bounded_and_exact() -> None:
    from mockserver.auth import canonical

    for i in range(canonical._UNQUOTED_MAX * 2):
        text = f"a%2F{i}%C3%A9"
        assert canonical.fast_unquote(text) == unquote(text)
        assert canonical.fast_unquote(text) == unquote(text)        # the cached answer
    assert len(canonical._UNQUOTED) <= canonical._UNQUOTED_MAX
    long = "%41" * 200
    assert canonical.fast_unquote(long) == "A" * 200 and long not in canonical._UNQUOTED


def test_parse_amz_date_cache_returns_what_parsing_does() -> None:
    from mockserver.auth import timestamps

    for value in ("20130524T000000Z", "20130524T000000Z", "20130231T000000Z", "2013-05-24T00:00:00Z", ""):
        assert timestamps.parse_amz_date(value) == timestamps._parse_amz_date(value)
    for i in range(timestamps._PARSED_MAX * 2):     # bounded
        timestamps.parse_amz_date(f"2013{1 + i % 12:02d}{1 + i % 28:02d}T{i % 24:02d}{i % 60:02d}00Z")
    assert len(timestamps._PARSED) <= timestamps._PARSED_MAX
