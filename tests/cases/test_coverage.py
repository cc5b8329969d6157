"""The coverage derivation: request classification, valid/invalid counting, errors, reasons, entry points."""
from __future__ import annotations

import textwrap

import pytest

from conformance import coverage, s3model
from conformance.casefile.model import Case, RequestSpec


@pytest.fixture(scope="module")
def model():
    return s3model.service()


@pytest.mark.parametrize("request_, operation", [
    ({"method": "PUT", "bucket": "b", "query": {"encryption": ""}}, "PutBucketEncryption"),
    ({"method": "GET", "bucket": "b", "query": {"encryption": ""}}, "GetBucketEncryption"),
    ({"method": "DELETE", "bucket": "b", "query": {"encryption": ""}}, "DeleteBucketEncryption"),
    ({"method": "PUT", "bucket": "b", "key": "k"}, "PutObject"),
    ({"method": "PUT", "bucket": "b", "key": "k", "headers": {"X-Amz-Copy-Source": "/b/s"}}, "CopyObject"),
    ({"method": "PUT", "bucket": "b", "key": "k", "query": {"partNumber": "1", "uploadId": "u"}}, "UploadPart"),
    ({"method": "PUT", "bucket": "b", "key": "k", "query": {"partNumber": "1", "uploadId": "u"},
      "headers": {"x-amz-copy-source": "/b/s"}}, "UploadPartCopy"),
    ({"method": "POST", "bucket": "b", "key": "k", "query": {"uploads": ""}}, "CreateMultipartUpload"),
    ({"method": "POST", "bucket": "b", "key": "k", "query": {"uploadId": "u"}}, "CompleteMultipartUpload"),
    ({"method": "POST", "bucket": "b", "form": {"fields": {"key": "k"}}}, "PostObject"),
    ({"method": "GET", "bucket": "b", "key": "k"}, "GetObject"),
    ({"method": "HEAD", "bucket": "b", "key": "k"}, "HeadObject"),
    ({"method": "PUT", "bucket": "b", "key": "k", "query": {"encryption": ""}}, "UpdateObjectEncryption"),
    ({"method": "GET", "bucket": "b"}, "ListObjects"),                 # listings show checksum algorithms
    ({"method": "PUT", "bucket": "b", "query": {"versioning": ""}}, "PutBucketVersioning"),   # Content-MD5
    ({"method": "GET", "bucket": "b", "query": {"versioning": ""}}, None),
    ({"method": "GET"}, None),
])
def test_classify(request_, operation):
    assert coverage.classify(RequestSpec.from_dict(request_)) == operation


def test_model_rows_come_from_botocore(model):
    params = coverage.model_parameters(model)
    assert "x-amz-server-side-encryption-customer-key-MD5" in params["PutObject"]
    assert "x-amz-copy-source-server-side-encryption-customer-key" in params["UploadPartCopy"]
    assert "x-amz-server-side-encryption-bucket-key-enabled" in params["CreateMultipartUpload"]
    assert "Content-MD5" in params["PutBucketEncryption"]
    assert "x-amz-expected-bucket-owner" in params["GetBucketEncryption"]
    assert params["PostObject"] == params["PutObject"]
    assert not any("acl" in p.lower() or "tagging" in p.lower() for p in params["PutObject"])
    elements = coverage.model_body_elements(model)
    assert elements[:4] == ["ServerSideEncryptionConfiguration", "Rule", "ApplyServerSideEncryptionByDefault",
                            "SSEAlgorithm"]
    assert {"KMSMasterKeyID", "BucketKeyEnabled", "BlockedEncryptionTypes", "EncryptionType"} <= set(elements)


def test_operations_come_from_the_model(model):
    operations = coverage.model_operations(model)
    # every operation with an SSE or checksum member, or "Encryption" in its name; none picked by hand
    assert {"UpdateObjectEncryption", "PutBucketEncryption", "DeleteBucketEncryption", "GetObjectAttributes",
            "ListParts", "SelectObjectContent", "PostObject"} <= set(operations)
    assert operations.index("PostObject") == operations.index("PutObject") + 1
    assert "GetBucketVersioning" not in operations and "ListBuckets" not in operations
    assert coverage.model_elements(model, "UpdateObjectEncryption") == ["ObjectEncryption", "SSE-KMS", "KMSKeyArn",
                                                                        "BucketKeyEnabled"]
    assert "ChecksumCRC32" in coverage.model_elements(model, "CompleteMultipartUpload")
    assert "x-amz-server-side-encryption-aws-kms-key-id" in coverage.model_response_headers(model, "GetObject")
    assert "ChecksumCRC32" in coverage.model_elements(model, "GetObjectAttributes", output=True)
    assert set(coverage.model_errors(model, "UpdateObjectEncryption")) == {"NoSuchKey", "InvalidRequest",
                                                                          "AccessDenied"}
    assert coverage.model_errors(model, "HeadObject") == ["HTTP 404"]       # HEAD answers have no body


def test_a_model_update_shows_up_uncovered(model):
    """An operation or member botocore adds appears as a row without a case and makes coverage fail."""
    import copy

    import botocore.model

    raw = copy.deepcopy(model._service_description)
    raw["operations"]["RotateObjectKey"] = {
        "name": "RotateObjectKey", "http": {"method": "POST", "requestUri": "/{Bucket}/{Key+}?rotate"},
        "input": {"shape": "RotateObjectKeyRequest"}}
    raw["shapes"]["RotateObjectKeyRequest"] = {"type": "structure", "required": ["Bucket", "Key"], "members": {
        "Bucket": {"shape": "BucketName", "location": "uri", "locationName": "Bucket"},
        "Key": {"shape": "ObjectKey", "location": "uri", "locationName": "Key"},
        "SSEKMSKeyId": {"shape": "SSEKMSKeyId", "location": "header",
                        "locationName": "x-amz-server-side-encryption-aws-kms-key-id"}}}
    raw["shapes"]["UpdateObjectEncryptionRequest"]["members"]["ChecksumFoo"] = {
        "shape": "ChecksumCRC32", "location": "header", "locationName": "x-amz-checksum-foo"}
    updated = botocore.model.ServiceModel(raw, "s3")
    rows = coverage.build_rows([], DATA, model=updated)
    missing = coverage.unexplained(rows, DATA)
    assert "RotateObjectKey.x-amz-server-side-encryption-aws-kms-key-id" in missing
    assert "UpdateObjectEncryption.x-amz-checksum-foo" in missing


def test_response_rows_are_covered_by_assertions_and_captures(model):
    cases = [_case("r", [
        {"request": {"method": "HEAD", "bucket": "b", "key": "k"},
         "expect": {"status": 200, "headers": {"equal": {"x-amz-server-side-encryption": "aws:kms"},
                                                "absent": ["x-amz-server-side-encryption-bucket-key-enabled"]}},
         "capture": {"sum": {"header": "x-amz-checksum-crc32"}}},
        {"request": {"method": "GET", "bucket": "b", "key": "k", "query": {"attributes": ""},
                     "headers": {"x-amz-object-attributes": "Checksum"}},
         "expect": {"status": 200, "xml": [{"path": "Checksum/ChecksumSHA256", "present": True}]}},
        {"request": {"method": "GET", "bucket": "b", "query": {"encryption": ""}},
         "expect": {"status": 200, "xml": [{"path": "Rule/BucketKeyEnabled", "equal": "true"}]}}])]
    rows = coverage.build_rows(cases, DATA, model=model)
    for op, name in [("HeadObject", "x-amz-server-side-encryption"),
                     ("HeadObject", "x-amz-server-side-encryption-bucket-key-enabled"),
                     ("HeadObject", "x-amz-checksum-crc32"), ("GetObjectAttributes", "ChecksumSHA256"),
                     ("GetObjectAttributes", "Checksum"), ("GetBucketEncryption", "BucketKeyEnabled"),
                     ("GetBucketEncryption", "ServerSideEncryptionConfiguration")]:
        row = next(r for r in rows if (r.operation, r.kind, r.name) == (op, "response", name))
        assert row.valid == {"r"} and not row.gaps(), (op, name)
    sha1 = next(r for r in rows if (r.operation, r.kind, r.name) == ("HeadObject", "response", "x-amz-checksum-sha1"))
    assert sha1.gaps() == ["HeadObject.response.x-amz-checksum-sha1"]


def test_pending_notes_explain_until_covered(model):
    data = dict(DATA, pending={"HeadObject.response.x-amz-checksum-sha1": "branch x",
                               "HeadObject.response.x-amz-checksum-crc32": "branch x"})
    cases = [_case("c", [{"request": {"method": "HEAD", "bucket": "b", "key": "k"},
                          "expect": {"status": 200, "headers": {"present": ["x-amz-checksum-crc32"]}}}])]
    rows = coverage.build_rows(cases, data, model=model)
    missing = coverage.unexplained(rows, data)
    assert "HeadObject.response.x-amz-checksum-sha1" not in missing
    assert coverage.pending(rows, data) == ["HeadObject.response.x-amz-checksum-sha1"]
    assert coverage.stale_reasons(rows, data) == ["HeadObject.response.x-amz-checksum-crc32"]
    text = coverage.render_text(rows, data, width=300)
    assert "1 gaps pending" in text.splitlines()[-1]


def _case(case_id, steps, fixtures=None):
    return Case.from_dict({"id": case_id, "steps": steps, "fixtures": fixtures or {}})


DATA = {"operations": {"PutObject": {"errors": ["InvalidArgument", "AccessDenied"]},
                       "HeadObject": {"errors": ["HTTP 400"]},
                       "PutBucketEncryption": {"errors": ["MalformedXML", "InvalidArgument"]}},
        "uncovered": {}}


def _row(rows, op, name):
    return next(r for r in rows if r.operation == op and r.name.lower() == name.lower())


def test_valid_and_invalid_uses_are_counted_per_step(model):
    cases = [
        _case("ok", [{"request": {"method": "PUT", "bucket": "b", "key": "k",
                                  "headers": {"x-amz-server-side-encryption": "AES256"}},
                      "expect": {"status": 200}},
                     {"request": {"method": "HEAD", "bucket": "b", "key": "k",
                                  "headers": {"x-amz-server-side-encryption": "AES256"}},
                      "expect": {"status": 400}}]),
        _case("bad", [{"request": {"method": "PUT", "bucket": "b", "key": "k",
                                   "headers": {"x-amz-server-side-encryption": "AES512"}},
                       "expect": {"status": 400, "error": {"code": "InvalidArgument"}}}]),
    ]
    rows = coverage.build_rows(cases, DATA, model=model)
    sse = _row(rows, "PutObject", "x-amz-server-side-encryption")
    assert sse.valid == {"ok"} and sse.invalid == {"bad"} and not sse.gaps()
    assert _row(rows, "PutObject", "InvalidArgument").valid == {"bad"}
    assert _row(rows, "HeadObject", "HTTP 400").valid == {"ok"}
    assert _row(rows, "PutObject", "AccessDenied").gaps() == ["PutObject.AccessDenied"]


def test_fixture_writes_count_as_valid_uses(model):
    cases = [_case("fx", [{"request": {"method": "GET", "bucket": "b", "key": "k"}}], fixtures={
        "encryption": "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
                      "<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
                      "</ServerSideEncryptionConfiguration>",
        "objects": [{"name": "o", "key": "k", "body": "x", "headers": {"x-amz-server-side-encryption": "AES256"}}]})]
    rows = coverage.build_rows(cases, DATA, model=model)
    assert _row(rows, "PutBucketEncryption", "SSEAlgorithm").valid == {"fx"}
    assert _row(rows, "PutObject", "x-amz-server-side-encryption").valid == {"fx"}
    assert _row(rows, "PutBucketEncryption", "KMSMasterKeyID").gaps() == ["PutBucketEncryption.KMSMasterKeyID"]


def test_integrity_options_and_default_content_md5(model):
    cases = [_case("md5", [
        {"request": {"method": "PUT", "bucket": "b", "query": {"encryption": ""}, "body": {"xml": "<Rule/>"}},
         "expect": {"status": 400, "error": {"code": "${err_invalid_config}"}}},
        {"request": {"method": "PUT", "bucket": "b", "key": "k", "checksum": {"algorithm": "crc32"}}}])]
    rows = coverage.build_rows(cases, DATA, model=model,
                               vars_sets=[{"err_invalid_config": "MalformedXML"},
                                          {"err_invalid_config": "InvalidArgument"}])
    assert _row(rows, "PutBucketEncryption", "Content-MD5").invalid == {"md5"}
    assert _row(rows, "PutBucketEncryption", "Rule").invalid == {"md5"}
    assert _row(rows, "PutObject", "x-amz-checksum-crc32").valid == {"md5"}
    # a templated error code counts for every value the shipped profiles give it
    assert _row(rows, "PutBucketEncryption", "MalformedXML").valid == {"md5"}
    assert _row(rows, "PutBucketEncryption", "InvalidArgument").valid == {"md5"}


def test_variant_errors_count(model):
    cases = [_case("v", [{"request": {"method": "PUT", "bucket": "b", "key": "k"}, "expect": {"status": 200},
                          "variants": [{"when": {"lacks": "x"}, "expect": {"status": 403,
                                                                           "error": {"code": "AccessDenied"}}}]}])]
    rows = coverage.build_rows(cases, DATA, model=model)
    assert _row(rows, "PutObject", "AccessDenied").valid == {"v"}


def test_sse_parameters_need_both_halves_and_reasons_close_gaps(model):
    cases = [_case("only-valid", [{"request": {"method": "PUT", "bucket": "b", "key": "k",
                                               "headers": {"x-amz-server-side-encryption-context": "e30="}}}])]
    rows = coverage.build_rows(cases, DATA, model=model)
    row = _row(rows, "PutObject", "x-amz-server-side-encryption-context")
    assert row.gaps() == ["PutObject.x-amz-server-side-encryption-context.invalid"]
    owner = _row(rows, "PutObject", "x-amz-expected-bucket-owner")
    assert owner.gaps() == ["PutObject.x-amz-expected-bucket-owner"] and not owner.needs_both
    data = dict(DATA, uncovered={"PutObject.x-amz-server-side-encryption-context.invalid": "because"})
    missing = coverage.unexplained(rows, data)
    assert "PutObject.x-amz-server-side-encryption-context.invalid" not in missing
    assert "PutObject.x-amz-expected-bucket-owner" in missing
    assert coverage.stale_reasons(rows, dict(DATA, uncovered={"PutObject.nothing": "x"})) == ["PutObject.nothing"]


def test_renderers_show_cases_and_reasons(model):
    cases = [_case("c1", [{"request": {"method": "GET", "bucket": "b", "key": "k"},
                           "expect": {"status": 403, "error": {"code": "AccessDenied"}}}])]
    data = {"operations": {"GetObject": {"errors": ["AccessDenied", "InvalidRequest"]}},
            "uncovered": {"GetObject.InvalidRequest": "why <not>"}}
    rows = coverage.build_rows(cases, data, model=model)
    text = coverage.render_text(rows, data, width=200)
    assert "AccessDenied" in text and "c1" in text and "why <not>" in text
    html = coverage.render_html(rows, data)
    assert "<code>c1</code>" in html and "why &lt;not&gt;" in html and "<script" not in html


def _write_corpus(tmp_path, covered: bool):
    cases_dir = tmp_path / "cases"
    cases_dir.mkdir()
    (cases_dir / "one.yaml").write_text(textwrap.dedent("""\
        cases:
          - id: one.get-denied
            title: t
            operation: GetObject
            source: {document: "https://docs.aws.amazon.com/x", quote: "q"}
            steps:
              - request: {method: GET, bucket: "${bucket}", key: k}
                expect: {status: 403, error: {code: AccessDenied}}
        """))
    (cases_dir / "_coverage.yaml").write_text(textwrap.dedent(f"""\
        operations:
          GetObject:
            errors: [AccessDenied{', InvalidRequest' if not covered else ''}]
        uncovered: {{}}
        """))
    return cases_dir


def test_main_exit_codes(tmp_path, capsys, model):
    cases_dir = _write_corpus(tmp_path, covered=False)
    code = coverage.main(["--cases", str(cases_dir / "one.yaml"), "--data", str(cases_dir / "_coverage.yaml")])
    out, err = capsys.readouterr()
    assert code == 1
    assert "GetObject.InvalidRequest" in err and "one.get-denied" in out
    assert coverage.main(["--cases", str(tmp_path / "missing")]) == 2
    assert coverage.main(["--help"]) == 0


def test_html_fragment_for_the_report(tmp_path, model):
    cases_dir = _write_corpus(tmp_path, covered=True)
    from conformance.casefile.loader import load_cases
    cases, problems = load_cases([cases_dir / "one.yaml"])
    assert not problems
    fragment = coverage.coverage_html(cases)        # finds cases/_coverage.yaml next to the case file
    assert fragment.startswith("<p>") and "one.get-denied" in fragment and "<table" in fragment


def test_cli_coverage_on_the_shipped_corpus(capsys, monkeypatch):
    from conformance import cli

    from .conftest import REPO
    monkeypatch.chdir(REPO)
    assert cli.main(["coverage"]) == 0
    out = capsys.readouterr().out
    assert "PutBucketEncryption" in out and "gaps without a reason" in out.splitlines()[-1]
