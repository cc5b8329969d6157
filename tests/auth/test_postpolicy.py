"""POST Object policy: signature (SigV4 via boto3's generate_presigned_post, and SigV2) and conditions."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import boto3
import pytest
from botocore.config import Config

from mockserver.accounts import ALT, MAIN
from mockserver.auth import verify_post_policy
from mockserver.errors import S3Error
from tests.auth.helpers import ACCOUNTS, REGION, now


def presigned_post(conditions=None, fields=None, expires=3600, account=MAIN, key="uploads/obj.txt",
                   signature_version="s3v4"):
    client = boto3.client("s3", region_name=REGION, endpoint_url="http://127.0.0.1:9000",
                          aws_access_key_id=account.access_key, aws_secret_access_key=account.secret_key,
                          config=Config(signature_version=signature_version))
    post = client.generate_presigned_post("bucket", key, Fields=fields, Conditions=conditions, ExpiresIn=expires)
    return dict(post["fields"])


def verify(fields, size=10, when=None, bucket="bucket"):
    return verify_post_policy(fields, size, ACCOUNTS, REGION, when or now(), bucket)


def failure(fields, **kwargs) -> S3Error:
    with pytest.raises(S3Error) as caught:
        verify(fields, **kwargs)
    return caught.value


@pytest.mark.parametrize("account", [MAIN, ALT], ids=["main", "alt"])
def test_valid_policy_gives_the_signing_account(account):
    assert verify(presigned_post(account=account)) == account


def test_eq_condition_on_sse_field():
    fields = presigned_post(conditions=[{"x-amz-server-side-encryption": "aws:kms"}],
                            fields={"x-amz-server-side-encryption": "aws:kms"})
    assert verify(fields) == MAIN
    fields["x-amz-server-side-encryption"] = "AES256"
    error = failure(fields)
    assert (error.status, error.code) == (403, "AccessDenied")
    assert error.message.startswith("Invalid according to Policy: Policy Condition failed:")
    assert "x-amz-server-side-encryption" in error.message


def test_starts_with_condition():
    fields = presigned_post(conditions=[["starts-with", "$key", "uploads/"]])
    assert verify(fields) == MAIN
    fields = presigned_post(conditions=[["starts-with", "$key", "private/"]])
    assert "starts-with" in failure(fields).message


def test_content_length_range():
    fields = presigned_post(conditions=[["content-length-range", 5, 100]])
    assert verify(fields, size=100) == MAIN
    too_large = failure(fields, size=101)
    assert (too_large.code, too_large.fields["MaxSizeAllowed"]) == ("EntityTooLarge", "100")
    assert failure(fields, size=4).code == "EntityTooSmall"
    assert verify(fields, size=None) == MAIN      # size not known yet: everything else is checked


def test_bucket_condition():
    fields = presigned_post()
    assert failure(fields, bucket="other-bucket").code == "AccessDenied"


def test_expired_policy():
    fields = presigned_post(expires=60)
    error = failure(fields, when=now() + timedelta(seconds=120))
    assert (error.code, error.message) == ("AccessDenied", "Invalid according to Policy: Policy expired.")


def test_bad_signature():
    fields = presigned_post()
    fields["x-amz-signature"] = "0" * 64
    assert failure(fields).code == "SignatureDoesNotMatch"


def test_policy_changed_after_signing():
    fields = presigned_post()
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"].append(["content-length-range", 0, 10**12])
    fields["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()
    assert failure(fields).code == "SignatureDoesNotMatch"


def test_field_not_in_policy_is_extra_input():
    fields = presigned_post()
    fields["x-amz-meta-extra"] = "1"
    error = failure(fields)
    assert error.message == "Invalid according to Policy: Extra input fields: x-amz-meta-extra"
    fields.pop("x-amz-meta-extra")
    fields["x-ignore-this"] = "ok"
    assert verify(fields) == MAIN


def test_unknown_access_key_and_missing_policy():
    fields = presigned_post()
    fields["x-amz-credential"] = fields["x-amz-credential"].replace(MAIN.access_key, "AKIANOPE")
    assert failure(fields).code == "InvalidAccessKeyId"
    fields = presigned_post()
    fields.pop("policy")
    assert failure(fields).code == "AccessDenied"


def test_sigv2_policy_from_boto3():
    fields = presigned_post(signature_version="s3")
    assert "signature" in fields and verify(fields) == MAIN
    fields["key"] = "uploads/other.txt"
    assert failure(fields).code == "AccessDenied"


def test_sigv2_policy_fields():
    import hashlib
    import hmac
    policy = base64.b64encode(json.dumps({"expiration": (now() + timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"), "conditions": [{"bucket": "bucket"}, {"key": "k"}]}).encode()).decode()
    signature = base64.b64encode(hmac.digest(MAIN.secret_key.encode(), policy.encode(), hashlib.sha1)).decode()
    fields = {"key": "k", "AWSAccessKeyId": MAIN.access_key, "policy": policy, "signature": signature}
    assert verify(fields) == MAIN
    fields["signature"] = base64.b64encode(b"x" * 20).decode()
    assert failure(fields).code == "SignatureDoesNotMatch"


def test_garbage_policy_is_invalid_policy_document():
    fields = presigned_post()
    fields["policy"] = "bm90IGpzb24="   # "not json"
    # the signature no longer matches either; S3 checks the signature first
    assert failure(fields).code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("version, dropped, named", [
    ("s3", "signature", "Signature"), ("s3", "AWSAccessKeyId", "AWSAccessKeyId"),
    ("s3v4", "x-amz-signature", "X-Amz-Signature"), ("s3v4", "x-amz-algorithm", "X-Amz-Algorithm")])
def test_missing_signing_field_is_named(version, dropped, named):
    # recorded: LocalStack's AWS snapshots TestS3PresignedPost::test_post_request_missing_signature / _fields
    fields = presigned_post(signature_version=version)
    fields.pop(dropped)
    if dropped == "x-amz-algorithm":
        fields.pop("x-amz-credential")
    error = failure(fields)
    assert (error.status, error.code) == (400, "InvalidArgument")
    assert error.message == (f"Bucket POST must contain a field named '{named}'.  If it is specified, please check "
                             "the order of the fields.")
    assert error.fields["ArgumentName"] == named


def test_no_signing_fields_at_all_is_access_denied():
    fields = {k: v for k, v in presigned_post().items() if k in ("key", "policy")}
    error = failure(fields)
    assert (error.status, error.code) == (403, "AccessDenied")


@pytest.mark.parametrize("condition", [{}, {"bucket": "bucket", "key": "uploads/obj.txt"}], ids=["empty", "two"])
def test_simple_condition_needs_exactly_one_property(condition):
    import hashlib
    import hmac
    policy = base64.b64encode(json.dumps({"expiration": (now() + timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"), "conditions": [condition]}).encode()).decode()
    signature = base64.b64encode(hmac.digest(MAIN.secret_key.encode(), policy.encode(), hashlib.sha1)).decode()
    error = failure({"key": "uploads/obj.txt", "AWSAccessKeyId": MAIN.access_key, "policy": policy,
                     "signature": signature})
    assert (error.status, error.code) == (400, "InvalidPolicyDocument")
    assert error.message == ("Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one "
                             "property specified.")


@pytest.mark.parametrize("expiration, valid", [
    ("2099-12-01T12:00:00.000Z", True), ("2099-12-01T12:00:00Z", True), ("2099-12-01T12:00:00+00:00", True),
    ("2099-12-01 12:00:00.123456+00:00", False), ("2099-12-01", False)])
def test_expiration_must_be_iso8601(expiration, valid):
    import hashlib
    import hmac
    policy = base64.b64encode(json.dumps({"expiration": expiration, "conditions": [
        {"bucket": "bucket"}, {"key": "k"}]}).encode()).decode()
    signature = base64.b64encode(hmac.digest(MAIN.secret_key.encode(), policy.encode(), hashlib.sha1)).decode()
    fields = {"key": "k", "AWSAccessKeyId": MAIN.access_key, "policy": policy, "signature": signature}
    if valid:
        assert verify(fields) == MAIN
    else:
        error = failure(fields)
        assert (error.status, error.code) == (400, "InvalidPolicyDocument")
