import json

import pytest

from conformance import baseline, s3model, select
from conformance.casefile.model import Case
from conformance.request import integrity
from conformance.results import CaseResult, Outcome


def case(id_, op="PutObject", tags=(), requires=(), file="cases/put-object/a.yaml"):
    return Case(id=id_, title=id_, operation=op, source={}, steps=(), file=file, line=1, tags=tuple(tags),
                requires=tuple(requires))


CASES = [case("sse-c.put", tags=["sse-c"], requires=["sse-c"]),
         case("sse-c.post", op="PostObject", tags=["sse-c", "post"], requires=["sse-c", "post-object"]),
         case("kms.put", tags=["kms"], requires=["kms"], file="cases/kms-keys/k.yaml"),
         case("bucket.get", op="GetBucketEncryption", tags=["bucket-encryption"])]


@pytest.mark.parametrize("expression,expected", [
    ("tag:sse-c and not op:PostObject", ["sse-c.put"]),
    ("sse-c.*", ["sse-c.put", "sse-c.post"]),
    ("id:*.put or op:Get*", ["sse-c.put", "kms.put", "bucket.get"]),
    ("not (tag:sse-c or requires:kms)", ["bucket.get"]),
    ("tag:sse-c and (op:PostObject or requires:kms)", ["sse-c.post"]),
    ("file:cases/kms-keys/*", ["kms.put"]),
    ("not tag:kms and not tag:sse-c", ["bucket.get"]),
    ("tag:a or tag:b and tag:c", []),
])
def test_select_expressions(expression, expected):
    assert [c.id for c in select.select(CASES, expression)] == expected


def test_and_binds_tighter_than_or():
    assert [c.id for c in select.select(CASES, "tag:kms or tag:sse-c and op:PostObject")] == ["sse-c.post", "kms.put"]


@pytest.mark.parametrize("bad", ["", "tag:sse-c and", "(tag:x", "tag:x )", "and tag:x", "tag:"])
def test_select_errors(bad):
    with pytest.raises(select.SelectError):
        select.compile_select(bad)


def result(id_, outcome):
    return CaseResult(id_, id_, "PutObject", "f.yaml", 1, outcome)


def test_baseline_compare_and_write(tmp_path):
    path = tmp_path / "baseline.json"
    first = [result("a", Outcome.FAILED), result("b", Outcome.FAILED), result("c", Outcome.PASSED),
             result("d", Outcome.NA), result("e", Outcome.ERROR)]
    baseline.write(path, first, "aws")
    assert json.loads(path.read_text())["failures"] == ["a", "b", "e"]
    known = baseline.load(path)
    second = [result("a", Outcome.FAILED), result("b", Outcome.PASSED), result("c", Outcome.FAILED),
              result("d", Outcome.NA), result("e", Outcome.DEVIATION)]
    comparison = baseline.compare(second, known)
    assert comparison.new_failures == ["c"]
    assert comparison.known_failures == ["a"]
    assert comparison.newly_passing == ["b"]        # a deviation is not "passing"
    assert not comparison.gate_ok
    assert baseline.compare([result("a", Outcome.FAILED)], known).gate_ok


def test_baseline_errors(tmp_path):
    with pytest.raises(baseline.BaselineError, match="not found"):
        baseline.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"failures": "a"}')
    with pytest.raises(baseline.BaselineError, match="expected"):
        baseline.load(bad)


def test_checksums_known_values():
    # check value of the standard "123456789" test string for each CRC, SHA digests of "abc"
    assert integrity.checksum_digest("crc32", b"123456789").hex() == "cbf43926"
    assert integrity.checksum_digest("crc32c", b"123456789").hex() == "e3069283"
    assert integrity.checksum_digest("crc64nvme", b"123456789").hex() == "ae8b14860a799888"
    assert integrity.checksum_value("sha1", b"abc") == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
    assert integrity.checksum_value("sha256", b"abc") == "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="


def test_content_md5_modes():
    good = integrity.content_md5(b"hello", "auto")
    assert good == "XUFAKrxLKna5cZ2REBfFkg=="
    wrong = integrity.content_md5(b"hello", "wrong")
    assert wrong != good and len(wrong) == 24
    assert integrity.content_md5(b"hello", "malformed") == integrity.MALFORMED_MD5
    assert integrity.content_md5(b"hello", "none") is None
    assert integrity.checksum_value("crc32", b"x", "malformed") == integrity.MALFORMED_CHECKSUM
    assert integrity.checksum_value("crc32", b"x", "wrong") != integrity.checksum_value("crc32", b"x")


def test_put_bucket_encryption_requires_integrity():
    assert "PutBucketEncryption" in s3model.operations_requiring_integrity()
    assert "PutObject" not in s3model.operations_requiring_integrity()
