"""Every matcher, passing and failing; mismatches carry expected and actual."""
import pytest

from conformance import matchers
from conformance.casefile.model import Capture, Expect
from conformance.results import Exchange, RequestRecord, ResponseRecord

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
CONFIG = (f"<ServerSideEncryptionConfiguration {NS}><Rule><ApplyServerSideEncryptionByDefault>"
          "<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
          "<BucketKeyEnabled>false</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>").encode()
ERROR = (b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>InvalidArgument</Code>"
         b"<Message>a KMSMasterKeyID is not applicable</Message>"
         b"<ArgumentName>ApplyServerSideEncryptionByDefault</ArgumentName><RequestId>1</RequestId></Error>")


def exchange(status=200, headers=(), body=b""):
    return Exchange(RequestRecord("GET", "https://h/b", []), ResponseRecord(status, "", list(headers), body))


def check(expect, ex, ctx=None):
    """The matchers on an expectation written as in a case file."""
    return matchers.check(Expect.from_dict(expect), ex, ctx or matchers.MatchContext())


def capture(spec, response):
    return matchers.capture(Capture("c", **spec), response)


def test_status_single_and_list():
    assert check({"status": 200}, exchange(200)) == []
    assert check({"status": [200, 204]}, exchange(204)) == []
    [m] = check({"status": 200}, exchange(403))
    assert (m.what, m.expected, m.actual) == ("status", 200, 403)


def test_error_code_message_match_and_fields():
    ex = exchange(400, body=ERROR)
    assert check({"error": {"code": "InvalidArgument", "message": "a KMSMasterKeyID is not applicable",
                            "message_match": "^a KMSMasterKeyID", "fields": {
                                "ArgumentName": "ApplyServerSideEncryptionByDefault"}}}, ex) == []
    mismatches = check({"error": {"code": "MalformedXML", "message": "other", "message_match": "^nope",
                                  "fields": {"ArgumentName": "x", "BucketName": "b"}}}, ex)
    assert [m.what for m in mismatches] == ["error code", "error message", "error message", "error field ArgumentName",
                                            "error field BucketName"]
    assert mismatches[0].actual == "InvalidArgument" and mismatches[4].actual is None


def test_error_without_error_document():
    [m] = check({"error": {"code": "NoSuchKey"}}, exchange(404, body=b""))
    assert (m.what, m.actual) == ("error", "an empty body")
    head = Exchange(RequestRecord("HEAD", "https://h/b/k", []), ResponseRecord(404, "", [], b""))
    assert check({"error": {"code": "NoSuchKey"}}, head)[0].actual == "no body (HEAD responses have none)"
    [m] = check({"error": {"code": "NoSuchKey"}}, exchange(200, body=CONFIG))
    assert "non-error body" in m.actual


def test_headers_case_insensitive():
    ex = exchange(headers=[("X-Amz-Server-Side-Encryption", "aws:kms"),
                           ("x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-east-1:1:key/abc")])
    assert check({"headers": {"equal": {"x-amz-server-side-encryption": "aws:kms"},
                              "match": {"X-AMZ-SERVER-SIDE-ENCRYPTION-AWS-KMS-KEY-ID": "^arn:aws:kms:"},
                              "present": ["x-amz-server-side-encryption"],
                              "absent": ["x-amz-server-side-encryption-bucket-key-enabled"]}}, ex) == []
    mismatches = check({"headers": {"equal": {"x-amz-server-side-encryption": "AES256"},
                                    "match": {"x-amz-server-side-encryption-aws-kms-key-id": "^alias/"},
                                    "present": ["ETag"], "absent": ["x-amz-server-side-encryption"]}}, ex)
    assert [(m.expected, m.actual) for m in mismatches] == [
        ("AES256", "aws:kms"), ("~/^alias//", "arn:aws:kms:us-east-1:1:key/abc"), ("present", None),
        ("absent", "aws:kms")]


def test_header_equal_stringifies_booleans():
    ex = exchange(headers=[("x-amz-server-side-encryption-bucket-key-enabled", "true")])
    assert check({"headers": {"equal": {"x-amz-server-side-encryption-bucket-key-enabled": True}}}, ex) == []


@pytest.mark.parametrize("path", ["Rule/ApplyServerSideEncryptionByDefault/SSEAlgorithm",
                                  "ServerSideEncryptionConfiguration/Rule/ApplyServerSideEncryptionByDefault/SSEAlgorithm",
                                  "s3:Rule/s3:ApplyServerSideEncryptionByDefault/s3:SSEAlgorithm",
                                  "{http://s3.amazonaws.com/doc/2006-03-01/}Rule/ApplyServerSideEncryptionByDefault/SSEAlgorithm"])
def test_xml_paths_with_or_without_namespace(path):
    assert check({"xml": [{"path": path, "equal": "AES256"}]}, exchange(body=CONFIG)) == []
    no_ns = CONFIG.replace(f" {NS}".encode(), b"")
    assert check({"xml": [{"path": path, "equal": "AES256"}]}, exchange(body=no_ns)) == []


def test_xml_equal_match_absent_count():
    ex = exchange(body=CONFIG)
    assert check({"xml": [{"path": "Rule", "count": 1}, {"path": "Rule/BucketKeyEnabled", "match": "^(false)$"},
                          {"path": "Rule/BucketKeyEnabled", "equal": False},
                          {"path": "Rule/ApplyServerSideEncryptionByDefault/KMSMasterKeyID", "absent": True},
                          {"path": "Rule/BucketKeyEnabled", "absent": False}]}, ex) == []
    mismatches = check({"xml": [{"path": "Rule", "count": 2}, {"path": "Rule/BucketKeyEnabled", "match": "^true$"},
                                {"path": "Rule/ApplyServerSideEncryptionByDefault/SSEAlgorithm", "equal": "aws:kms"},
                                {"path": "Rule/BucketKeyEnabled", "absent": True},
                                {"path": "Rule/Missing", "absent": False}]}, ex)
    assert [(m.expected, m.actual) for m in mismatches] == [
        (2, 1), ("~/^true$/", "false"), ("aws:kms", "AES256"), ("absent", "false"), ("present", None)]


def test_xml_on_non_xml_body():
    [m] = check({"xml": [{"path": "Rule", "count": 1}]}, exchange(body=b"not xml"))
    assert m.what == "xml body"


def test_xml_parser_does_not_expand_entities():
    evil = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r><a>&x;</a></r>'
    [m] = check({"xml": [{"path": "a", "match": "root:"}]}, exchange(body=evil))
    assert "root:" not in str(m.actual)


def test_body_same_as_object_step_range_empty_text():
    data = bytes(range(200))
    ctx = matchers.MatchContext(objects={"src": data}, step_payloads={"put": data})
    assert check({"body": {"same_as": {"object": "src"}}}, exchange(body=data), ctx) == []
    assert check({"body": {"same_as": {"step": "put"}, "range": [10, 19]}}, exchange(body=data[10:20]), ctx) == []
    [m] = check({"body": {"same_as": {"object": "src"}, "range": [0, 9]}}, exchange(body=data[1:11]), ctx)
    assert "first difference at offset 0" in m.actual
    [m] = check({"body": {"same_as": {"object": "src"}}}, exchange(body=data[:5]), ctx)
    assert m.actual == "5 bytes"
    [m] = check({"body": {"same_as": {"object": "nope"}}}, exchange(body=data), ctx)
    assert "not defined" in m.actual
    assert check({"body": {"empty": True}}, exchange(body=b"")) == []
    assert check({"body": {"empty": True}}, exchange(body=b"x"))[0].expected == "empty"
    assert check({"body": {"text": "hello"}}, exchange(body=b"hello")) == []
    assert check({"body": {"text": "hello"}}, exchange(body=b"hullo"))[0].actual == "hullo"


def test_kms_calls_bounds():
    counts = {("k", "GenerateDataKey"): 3, ("k", "Decrypt"): 0}
    ctx = matchers.MatchContext(kms_delta=lambda key, op: counts.get((key, op), 0))
    assert check({"kms_calls": {"key": "k", "GenerateDataKey": {"min": 1, "max": 3}, "Decrypt": 0}}, exchange(), ctx) == []
    mismatches = check({"kms_calls": {"key": "k", "GenerateDataKey": {"max": 2}, "Decrypt": {"min": 1},
                                      "Encrypt": 1}}, exchange(), ctx)
    assert [(m.expected, m.actual) for m in mismatches] == [("<= 2", 3), (">= 1", 0), (1, 0)]
    [m] = check({"kms_calls": {"key": "k", "Decrypt": 0}}, exchange(), matchers.MatchContext())
    assert m.actual == "metrics endpoint not available"


def test_kms_context_every_call_since_the_case_began():
    seen = {("k", "GenerateDataKey"): [{"aws:s3:arn": "arn:aws:s3:::b/o", "p": "x"}, {"aws:s3:arn": "arn:aws:s3:::b/o"}],
            ("k", "Decrypt"): []}
    ctx = matchers.MatchContext(kms_contexts=lambda key, op: seen.get((key, op), "no metrics for that key"))
    assert check({"kms_context": {"key": "k", "contains": {"aws:s3:arn": "arn:aws:s3:::b/o"}, "lacks": ["q"]}},
                 exchange(), ctx) == []
    [m] = check({"kms_context": {"key": "k", "contains": {"p": "x"}}}, exchange(), ctx)        # the 2nd call lacks it
    assert (m.check, m.expected, m.actual) == ("kms_context.p", "x", None) and "call 2 of 2" in m.what
    [m] = check({"kms_context": {"key": "k", "equal": {"aws:s3:arn": "arn:aws:s3:::b/o"}}}, exchange(), ctx)
    assert m.check == "kms_context" and "also ['p']" in m.actual                                 # an extra pair
    [m] = check({"kms_context": {"key": "k", "operation": "Decrypt", "contains": {"a": "b"}}}, exchange(), ctx)
    assert (m.check, m.actual) == ("kms_context", "none")                                      # no call at all
    [m] = check({"kms_context": {"key": "other", "contains": {"a": "b"}}}, exchange(), ctx)
    assert (m.check, m.actual) == ("kms_context", "no metrics for that key")
    [m] = check({"kms_context": {"key": "k", "contains": {"a": "b"}}}, exchange())               # no metrics hook
    assert m.check == "kms_context" and "not available" in m.actual
    expect = Expect.from_dict({"kms_context": {"key": "k", "contains": {"p": "x"}}, "unproven": ["kms_context.p"]})
    assert expect.check_names() == {"kms_context", "kms_context.p"}


def test_no_response_is_a_mismatch_with_the_reason():
    ex = Exchange(RequestRecord("GET", "https://h/", []), None, error="connection failed: refused")
    [m] = check({"status": 200}, ex)
    assert m.actual == "connection failed: refused"


def test_invalid_regex_is_reported_not_raised():
    [m] = check({"headers": {"match": {"etag": "("}}}, exchange(headers=[("ETag", "x")]))
    assert m.actual.startswith("invalid")


def test_capture_header_xml_status():
    ex = exchange(201, headers=[("ETag", '"abc"')], body=b"<InitiateMultipartUploadResult><UploadId>u-1</UploadId>"
                                                       b"</InitiateMultipartUploadResult>")
    assert capture({"header": "etag"}, ex.response) == '"abc"'
    assert capture({"xml": "UploadId"}, ex.response) == "u-1"
    assert capture({"status": True}, ex.response) == "201"
    assert capture({"xml": "Nope"}, ex.response) is None


def _ctx_header(pairs):
    import base64
    import json
    return [("x-amz-server-side-encryption-context", base64.b64encode(json.dumps(pairs).encode()).decode())]


def test_encryption_context_pairs_contains_equal_lacks():
    ex = exchange(headers=_ctx_header({"project": "c", "aws:s3:arn": "arn:aws:s3:::b/k"}))
    assert check({"encryption_context": {"contains": {"project": "c"}}}, ex) == []
    assert check({"encryption_context": {"equal": {"project": "c", "aws:s3:arn": "arn:aws:s3:::b/k"}}}, ex) == []
    assert check({"encryption_context": {"lacks": ["other"]}}, ex) == []
    [m] = check({"encryption_context": {"contains": {"project": "d"}}}, ex)
    assert (m.check, m.expected, m.actual) == ("encryption_context.project", "d", "c")
    [m] = check({"encryption_context": {"contains": {"team": "x"}}}, ex)
    assert (m.check, m.actual) == ("encryption_context.team", "no such pair")
    [m] = check({"encryption_context": {"equal": {"project": "c"}}}, ex)   # an extra pair
    assert m.check == "encryption_context"
    [m] = check({"encryption_context": {"lacks": ["project"]}}, ex)
    assert (m.check, m.expected) == ("encryption_context.project", "absent")


def test_encryption_context_absent_or_undecodable():
    assert check({"encryption_context": {"if_present": True, "contains": {"a": "b"}}}, exchange()) == []
    [m] = check({"encryption_context": {"contains": {"a": "b"}}}, exchange())
    assert (m.check, m.actual) == ("encryption_context", None)
    bad = exchange(headers=[("x-amz-server-side-encryption-context", "{not base64}")])
    [m] = check({"encryption_context": {"if_present": True, "lacks": ["a"]}}, bad)
    assert m.check == "encryption_context" and "not base64" in m.actual
    listed = exchange(headers=[("x-amz-server-side-encryption-context", "WzFd")])   # [1]
    [m] = check({"encryption_context": {"lacks": ["a"]}}, listed)
    assert "not an object" in m.actual


def test_encryption_context_unproven_pair_is_a_warning():
    ex = exchange(headers=_ctx_header({"project": "c"}))
    expect = Expect.from_dict({"encryption_context": {"contains": {"project": "c", "aws:s3:arn": "x"}},
                               "unproven": ["encryption_context.aws:s3:arn"]})
    [m] = matchers.annotate(matchers.check(expect, ex, matchers.MatchContext()), expect)
    assert m.unproven and m.check == "encryption_context.aws:s3:arn"
