"""The shipped corpus: loads cleanly, quotes its seeds verbatim, uses known capabilities and profile vars,
and leaves nothing uncovered without a reason."""
from __future__ import annotations

import re
from collections import Counter

import pytest
import yaml

from conformance import coverage

from .conftest import CASES_DIR, PROFILE_NAMES, SEEDS_DIR, SHARED_SEEDS_DIR, case_file_paths

CAPABILITIES = {
    "sse-s3", "kms", "kms-admin", "kms-metrics", "kms-default-key", "kms-key-formats", "dsse", "sse-c",
    "sse-c-blocked-by-default", "blocked-encryption-types", "bucket-keys", "post-object", "versioning",
    "multi-account", "default-encryption", "content-md5-required", "checksums", "checksums-2026", "presign",
    "sigv2-rejected",
    "plain-http", "tls", "update-object-encryption", "get-part", "object-annotations",
}
# The operations of the encryption data path: each has cases (coverage rows cover the rest of the model's surface).
CORE_OPERATIONS = ("PutBucketEncryption", "GetBucketEncryption", "DeleteBucketEncryption", "PutObject", "CopyObject",
                   "PostObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
                   "HeadObject", "GetObject", "UpdateObjectEncryption", "GetPart")
BUILTIN_NAMES = re.compile(r"^(bucket\d*|alt_bucket|region|account_id|alt_account_id|profile|endpoint|(kms|steps|objects|ssec|vars)\..+)$")


def _normalize(text: str) -> str:
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!<>|])", r"\1", text)      # markdown escapes in the seeds
    return re.sub(r"\s+", " ", text).strip()


def test_corpus_loads_without_problems(corpus):
    cases, problems = corpus
    assert problems == []
    assert len(cases) >= 150


def test_every_family_and_operation_is_present(corpus):
    cases, _ = corpus
    families = {p.parent.name for p in case_file_paths()}
    assert {"bucket-encryption", "put-object", "copy-object", "post-object", "multipart", "get-head", "sse-c",
            "kms-keys", "bucket-keys", "integrity", "auth", "dialects", "update-object-encryption",
            "get-part", "object-annotations"} <= families
    operations = Counter(c.operation for c in cases)
    surface = coverage.model_operations(coverage.s3model.service())
    for op in CORE_OPERATIONS:
        assert op in surface, op
        assert operations[op] or any(coverage.classify(s.request, surface) == op for c in cases for s in c.steps), op


def test_seed_quotes_are_verbatim(corpus):
    cases, _ = corpus
    seeds = {p.name: _normalize(p.read_text(encoding="utf-8")) for p in SEEDS_DIR.iterdir()}
    for case in cases:
        document = case.source["document"]
        if document.startswith("seeds/"):
            name = document.split("/", 1)[1]
            assert name in seeds, f"{case.id}: unknown seed {name}"
            assert _normalize(case.source["quote"]) in seeds[name], f"{case.id}: quote not found in {name}"
        else:
            assert document.startswith("https://docs.aws.amazon.com/"), f"{case.id}: {document}"


@pytest.mark.skipif(not SHARED_SEEDS_DIR.is_dir(), reason="the shared seed directory is not on this machine")
def test_seed_copies_are_current():
    originals = {p.name: p.read_bytes() for p in SHARED_SEEDS_DIR.iterdir()}
    copies = {p.name: p.read_bytes() for p in SEEDS_DIR.iterdir()}
    assert copies == originals


def test_capabilities_are_from_the_vocabulary(corpus):
    cases, _ = corpus
    for case in cases:
        used = set(case.requires)
        for step in case.steps:
            for variant in step.variants:
                for key in ("has", "lacks"):
                    value = getattr(variant.when, key)
                    used |= {value} if isinstance(value, str) else set(value or [])
        assert used <= CAPABILITIES, f"{case.id}: {used - CAPABILITIES}"
    for name in PROFILE_NAMES:
        profile = yaml.safe_load((coverage.Path(coverage.__file__).parent / "profiles" / f"{name}.yaml").read_text())
        assert set(profile["capabilities"]) <= CAPABILITIES, name


def test_profile_variables_used_by_cases_exist_in_every_profile():
    used: set[str] = set()
    for path in case_file_paths():
        used |= {m for m in re.findall(r"(?<!\$)\$\{([A-Za-z0-9_.]+)\}", path.read_text(encoding="utf-8"))
                 if not BUILTIN_NAMES.match(m)}
    assert used, "the corpus uses dialect variables"
    for name in PROFILE_NAMES:
        profile = yaml.safe_load((coverage.Path(coverage.__file__).parent / "profiles" / f"{name}.yaml").read_text())
        assert used <= set(profile["vars"]), f"{name} lacks {used - set(profile['vars'])}"


def test_no_copied_cases(corpus):
    """Vendor and era differences live in profiles and variants: no two cases are the same requests and expectations."""
    cases, _ = corpus
    seen: dict[str, str] = {}
    for case in cases:
        signature = repr(([(s.request, s.kms, s.expect, s.variants) for s in case.steps], case.fixtures))
        assert signature not in seen, f"{case.id} repeats {seen.get(signature)}"
        seen[signature] = case.id


def test_nothing_uncovered_without_a_reason(corpus):
    cases, _ = corpus
    data = coverage.load_data(CASES_DIR / "_coverage.yaml")
    rows = coverage.build_rows(cases, data, vars_sets=coverage._profile_vars())
    assert coverage.unexplained(rows, data) == []
    assert coverage.stale_reasons(rows, data) == []
