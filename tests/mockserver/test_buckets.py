"""Bucket operations, addressing, common response headers, error rendering."""
from __future__ import annotations

import uuid

import pytest
import requests
from botocore.exceptions import ClientError

from tests.mockserver.conftest import client_error, error_of


def new_name() -> str:
    return f"bkt-{uuid.uuid4().hex[:16]}"


def test_create_list_head_delete(s3):
    name = new_name()
    created = s3.create_bucket(Bucket=name)
    assert created["Location"] == f"/{name}"
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert name in names
    head = s3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=name)
    assert client_error(e.value)[0] == 404


def test_list_buckets_only_own(s3, s3_alt):
    mine, theirs = new_name(), new_name()
    s3.create_bucket(Bucket=mine)
    s3_alt.create_bucket(Bucket=theirs)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert mine in names and theirs not in names


@pytest.mark.parametrize("name", ["ab", "A" * 10, "Upper-case", "-leading", "trailing-", "two..dots",
                                  "192.168.1.1", "xn--punycode", "a" * 64, "under_score"])
def test_invalid_bucket_names(raw, name):
    r = raw("PUT", f"/{name}")
    assert r.status_code == 400
    err = error_of(r)
    assert err["Code"] == "InvalidBucketName"
    assert err["Message"] == "The specified bucket is not valid."
    assert err["BucketName"] == name


def test_already_owned_and_already_exists(s3, s3_alt):
    name = new_name()
    s3.create_bucket(Bucket=name)
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=name)
    assert client_error(e.value)[:2] == (409, "BucketAlreadyOwnedByYou")
    with pytest.raises(ClientError) as e:
        s3_alt.create_bucket(Bucket=name)
    assert client_error(e.value)[:2] == (409, "BucketAlreadyExists")


def test_location_constraint(raw):
    body = (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>")
    r = raw("PUT", f"/{new_name()}", body=body)
    assert r.status_code == 400 and error_of(r)["Code"] == "IllegalLocationConstraintException"
    r = raw("PUT", f"/{new_name()}", body=b"<CreateBucketConfiguration><LocationConstraint>us-east-1"
                                          b"</LocationConstraint></CreateBucketConfiguration>")
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidLocationConstraint"
    r = raw("PUT", f"/{new_name()}", body=b"<CreateBucketConfiguration")
    assert r.status_code == 400 and error_of(r)["Code"] == "MalformedXML"


def test_location(s3, bucket):
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None


def test_delete_non_empty(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert client_error(e.value) == (409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_other_account_and_expected_owner(s3, s3_alt, bucket, server):
    for call in (lambda c: c.head_bucket(Bucket=bucket), lambda c: c.list_objects_v2(Bucket=bucket),
                 lambda c: c.put_object(Bucket=bucket, Key="k", Body=b"x"),
                 lambda c: c.get_bucket_encryption(Bucket=bucket)):
        with pytest.raises(ClientError) as e:
            call(s3_alt)
        assert client_error(e.value)[0] == 403
    owner = server.credentials["main"]["account_id"]
    s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=owner)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ExpectedBucketOwner=owner)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner="999999999999")
    assert client_error(e.value)[:2] == (403, "AccessDenied")
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"},
                                 ExpectedBucketOwner="999999999999")
    assert client_error(e.value)[:2] == (403, "AccessDenied")


def test_anonymous_denied(raw, bucket):
    r = raw("GET", f"/{bucket}", sign=False)
    assert r.status_code == 403 and error_of(r)["Code"] == "AccessDenied"


def test_error_body_and_common_headers(raw):
    name = new_name()
    r = raw("GET", f"/{name}")
    assert r.status_code == 404
    err = error_of(r)
    assert err["Code"] == "NoSuchBucket" and err["BucketName"] == name
    assert err["RequestId"] == r.headers["x-amz-request-id"]
    assert err["HostId"] == r.headers["x-amz-id-2"]
    assert r.headers["Content-Type"] == "application/xml"
    for header in ("x-amz-request-id", "x-amz-id-2", "Date"):
        assert header in r.headers
    assert r.headers["Date"].endswith("GMT")


def test_head_errors_have_no_body(raw):
    r = raw("HEAD", f"/{new_name()}")
    assert r.status_code == 404 and r.content == b""
    assert "x-amz-request-id" in r.headers


def test_unknown_operation_not_implemented(raw, bucket):
    for method, query in (("GET", "acl"), ("PUT", "lifecycle"), ("GET", "website"), ("POST", "restore")):
        path = f"/{bucket}" + ("/k" if query == "restore" else "")
        r = raw(method, path, query=query)
        assert r.status_code == 501, (method, query)
        assert error_of(r)["Code"] == "NotImplemented"


def test_virtual_hosted_style(server, raw, bucket, s3):
    s3.put_object(Bucket=bucket, Key="dir/v.txt", Body=b"virtual")
    port = server.endpoint.rsplit(":", 1)[1]
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    c = server.credentials["main"]
    url = f"http://{bucket}.localhost:{port}/dir/v.txt"
    request = AWSRequest(method="GET", url=url)
    S3SigV4Auth(Credentials(c["access_key"], c["secret_key"]), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    # Connect to 127.0.0.1 but send the virtual host name, as a resolver mapping *.localhost would.
    headers = dict(prepared.headers)
    r = requests.get(f"{server.endpoint}/dir/v.txt", headers={**headers, "Host": f"{bucket}.localhost:{port}"},
                     timeout=10)
    assert r.status_code == 200, r.text
    assert r.content == b"virtual"


def test_internal_endpoints(server):
    r = requests.get(server.endpoint + "/_mockserver/accounts", timeout=10)
    assert r.json() == {"main": {"account_id": "111122223333"}, "alt": {"account_id": "444455556666"}}
    assert "secret" not in r.text
    r = requests.get(server.endpoint + "/_mockserver/metrics", timeout=10)
    assert "kms" in r.json()


def test_kms_protocol_on_same_port(server):
    kms = server.client("kms")
    key = kms.create_key(Description="t")["KeyMetadata"]
    assert key["Arn"].startswith("arn:aws:kms:us-east-1:111122223333:key/")
    kms.create_alias(AliasName="alias/core-test", TargetKeyId=key["KeyId"])
    described = kms.describe_key(KeyId="alias/core-test")["KeyMetadata"]
    assert described["KeyId"] == key["KeyId"]
    data_key = kms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256")
    assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
    metrics = requests.get(server.endpoint + "/_mockserver/metrics", timeout=10).json()
    assert metrics["kms"][key["Arn"]]["GenerateDataKey"] == 1


def test_rejected_upload_does_not_poison_the_connection(s3, s3_alt, bucket):
    # boto3 sends Expect: 100-continue; the refusal comes before the body, which the client then never sends.
    for _ in range(3):
        with pytest.raises(ClientError) as e:
            s3_alt.put_object(Bucket=bucket, Key="k", Body=b"x" * 100_000)
        assert client_error(e.value)[:2] == (403, "AccessDenied")
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"ok")["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_kms_authentication_errors_are_json(server):
    import boto3

    bad = boto3.client("kms", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id=server.credentials["main"]["access_key"], aws_secret_access_key="wrong")
    with pytest.raises(ClientError) as e:
        bad.list_keys()
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
    unknown = boto3.client("kms", endpoint_url=server.endpoint, region_name="us-east-1",
                           aws_access_key_id="AKIANOSUCHKEY0000000", aws_secret_access_key="x")
    with pytest.raises(ClientError) as e:
        unknown.list_keys()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
    kms = server.client("kms")
    with pytest.raises(ClientError) as e:
        kms.describe_key(KeyId="alias/does-not-exist")
    assert e.value.response["Error"]["Code"] == "NotFoundException"
