"""SigV2 (HMAC-SHA1) header and query authentication, signed by botocore's HmacV1 signers."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from botocore.auth import HmacV1QueryAuth
from botocore.awsrequest import AWSRequest

from mockserver.accounts import ALT, MAIN
from mockserver.auth import authenticate
from mockserver.errors import S3Error
from tests.auth.helpers import ACCOUNTS, REGION, creds, incoming, now, sigv2_request

URL = "http://127.0.0.1:9000/bucket/key%20with%20space"


@pytest.mark.parametrize("account", [MAIN, ALT], ids=["main", "alt"])
def test_sigv2_header_is_verified_and_marked(account):
    req = sigv2_request("PUT", URL + "?acl", headers={"x-amz-server-side-encryption": "aws:kms",
                                                      "Content-Type": "text/plain"}, account=account)
    result = authenticate(req, ACCOUNTS, REGION, now())
    assert result.account == account and result.signature_version == 2


def test_sigv2_virtual_hosted_resource_includes_the_bucket():
    req = sigv2_request("GET", "http://bucket.localhost:9000/key", auth_path="/bucket/key")
    req.vhost_bucket = "bucket"       # the server's addressing rules name the bucket from Host
    assert authenticate(req, ACCOUNTS, REGION, now()).signature_version == 2


def test_sigv2_wrong_secret():
    req = sigv2_request("GET", URL, account=replace(MAIN, secret_key="wrong"))
    with pytest.raises(S3Error) as caught:
        authenticate(req, ACCOUNTS, REGION, now())
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.fields["StringToSign"].startswith("GET\n\n\n")


def test_sigv2_tampered_amz_header():
    req = sigv2_request("PUT", URL, headers={"x-amz-server-side-encryption": "aws:kms"})
    req = replace(req, headers=[(k, "AES256" if k == "x-amz-server-side-encryption" else v) for k, v in req.headers])
    with pytest.raises(S3Error) as caught:
        authenticate(req, ACCOUNTS, REGION, now())
    assert caught.value.code == "SignatureDoesNotMatch"


def test_sigv2_unknown_key_and_skew():
    with pytest.raises(S3Error) as caught:
        authenticate(sigv2_request("GET", URL, account=replace(MAIN, access_key="AKIANOPE")), ACCOUNTS, REGION,
                     now())
    assert caught.value.code == "InvalidAccessKeyId"
    with pytest.raises(S3Error) as caught:
        authenticate(sigv2_request("GET", URL), ACCOUNTS, REGION, now() + timedelta(minutes=20))
    assert caught.value.code == "RequestTimeTooSkewed"


def test_sigv2_presigned_query_and_expiry():
    request = AWSRequest(method="GET", url=URL, headers={})
    HmacV1QueryAuth(creds(), expires=60).add_auth(request)
    req = incoming(request)
    result = authenticate(req, ACCOUNTS, REGION, now())
    assert result.signature_version == 2 and result.presigned
    with pytest.raises(S3Error) as caught:
        authenticate(req, ACCOUNTS, REGION, now() + timedelta(seconds=120))
    assert (caught.value.code, caught.value.message) == ("AccessDenied", "Request has expired")


@pytest.mark.parametrize("auth_path", [None, "/bucket/"], ids=["as-sent", "botocore-bucket-slash"])
def test_sigv2_path_style_bucket_alone_accepts_both_resources(auth_path):
    # botocore signs a path-style bucket request (/bucket) over /bucket/ (handlers.py: "the auth_path must be
    # terminated with a '/' character to generate a signature that the server will accept")
    req = sigv2_request("PUT", "http://127.0.0.1:9000/bucket", auth_path=auth_path)
    assert authenticate(req, ACCOUNTS, REGION, now()).signature_version == 2


def test_sigv2_bucket_slash_not_accepted_for_an_object():
    req = sigv2_request("GET", "http://127.0.0.1:9000/bucket/key", auth_path="/bucket/key/")
    with pytest.raises(S3Error) as caught:
        authenticate(req, ACCOUNTS, REGION, now())
    assert caught.value.code == "SignatureDoesNotMatch"


def test_sigv2_date_before_the_epoch_is_access_denied():
    # ceph/s3-tests test_object_create_bad_date_before_epoch_aws2 (not fails_on_aws): 403 AccessDenied, not skew
    req = sigv2_request("PUT", URL, headers={"x-amz-date": "Tue, 07 Jul 1950 21:53:04 GMT"})
    with pytest.raises(S3Error) as caught:
        authenticate(req, ACCOUNTS, REGION, now())
    assert (caught.value.status, caught.value.code) == (403, "AccessDenied")
    req = sigv2_request("PUT", URL, headers={"x-amz-date": "Tue, 07 Jul 2010 21:53:04 GMT"})
    with pytest.raises(S3Error) as caught:
        authenticate(req, ACCOUNTS, REGION, now())
    assert caught.value.code == "RequestTimeTooSkewed"
