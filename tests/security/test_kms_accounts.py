"""The metrics hook and KMS keys belong to an account. Another account gets KMS's
AccessDeniedException (JSON) for a key it does not own, S3 answers 403 AccessDenied for SSE-KMS under another
account's key, and /_mockserver/metrics shows a signed caller its own account's keys only."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from mockserver.server import running_server

from .conftest import error_code

MAIN_ID, ALT_ID = "111122223333", "444455556666"


@pytest.fixture(scope="module")
def main_key(kms: Any) -> dict[str, Any]:
    key = kms.create_key(Description="main's key")["KeyMetadata"]
    kms.create_alias(AliasName=f"alias/main-{uuid.uuid4().hex[:8]}", TargetKeyId=key["KeyId"])
    return key


def denied(call: Any, action: str, arn: str) -> None:
    with pytest.raises(ClientError) as e:
        call()
    status, code, message = error_code(e.value)
    assert (status, code) == (400, "AccessDeniedException"), e.value.response
    assert message == (f"User: arn:aws:iam::{ALT_ID}:root is not authorized to perform: kms:{action} on resource: "
                       f"{arn} because no resource-based policy allows the kms:{action} action")


def test_other_account_cannot_use_or_manage_a_key(kms: Any, kms_alt: Any, main_key: dict[str, Any]) -> None:
    arn = main_key["Arn"]
    denied(lambda: kms_alt.describe_key(KeyId=arn), "DescribeKey", arn)
    denied(lambda: kms_alt.generate_data_key(KeyId=arn, KeySpec="AES_256"), "GenerateDataKey", arn)
    denied(lambda: kms_alt.encrypt(KeyId=arn, Plaintext=b"x"), "Encrypt", arn)
    denied(lambda: kms_alt.create_alias(AliasName="alias/stolen", TargetKeyId=arn), "CreateAlias", arn)
    denied(lambda: kms_alt.list_aliases(KeyId=arn), "ListAliases", arn)
    denied(lambda: kms_alt.disable_key(KeyId=arn), "DisableKey", arn)
    denied(lambda: kms_alt.enable_key(KeyId=arn), "EnableKey", arn)
    denied(lambda: kms_alt.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7), "ScheduleKeyDeletion", arn)
    denied(lambda: kms_alt.cancel_key_deletion(KeyId=arn), "CancelKeyDeletion", arn)
    # nothing changed for the owner
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"
    # an alias ARN of the other account is refused the same way
    alias = kms.list_aliases(KeyId=main_key["KeyId"])["Aliases"][0]
    with pytest.raises(ClientError) as e:
        kms_alt.describe_key(KeyId=alias["AliasArn"])
    assert error_code(e.value)[1] == "AccessDeniedException"


def test_other_account_cannot_decrypt_ciphertext(kms: Any, kms_alt: Any, main_key: dict[str, Any]) -> None:
    blob = kms.encrypt(KeyId=main_key["Arn"], Plaintext=b"secret")["CiphertextBlob"]
    denied(lambda: kms_alt.decrypt(CiphertextBlob=blob), "Decrypt", main_key["Arn"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"


def test_list_aliases_shows_own_aliases_only(kms: Any, kms_alt: Any, main_key: dict[str, Any]) -> None:
    own = kms_alt.create_key()["KeyMetadata"]
    kms_alt.create_alias(AliasName=f"alias/alt-{uuid.uuid4().hex[:8]}", TargetKeyId=own["KeyId"])
    arns = [a["AliasArn"] for a in kms_alt.list_aliases()["Aliases"]]
    assert arns and all(f":{ALT_ID}:" in a for a in arns)


def test_managed_s3_key_is_per_account(s3: Any, s3_alt: Any, kms: Any, kms_alt: Any) -> None:
    main_bucket, alt_bucket = f"sec-m-{uuid.uuid4().hex[:16]}", f"sec-a-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=main_bucket)
    s3_alt.create_bucket(Bucket=alt_bucket)
    m = s3.put_object(Bucket=main_bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    a = s3_alt.put_object(Bucket=alt_bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    assert f":{MAIN_ID}:key/" in m["SSEKMSKeyId"] and f":{ALT_ID}:key/" in a["SSEKMSKeyId"]
    assert kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["Arn"] == m["SSEKMSKeyId"]
    assert kms_alt.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["Arn"] == a["SSEKMSKeyId"]
    with pytest.raises(ClientError) as e:
        kms_alt.describe_key(KeyId=f"arn:aws:kms:us-east-1:{MAIN_ID}:alias/aws/s3")
    assert error_code(e.value)[1] == "AccessDeniedException"


def test_s3_put_under_another_accounts_key_is_denied(s3_alt: Any, main_key: dict[str, Any]) -> None:
    alt_bucket = f"sec-a-{uuid.uuid4().hex[:16]}"
    s3_alt.create_bucket(Bucket=alt_bucket)
    with pytest.raises(ClientError) as e:
        s3_alt.put_object(Bucket=alt_bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                          SSEKMSKeyId=main_key["Arn"])
    status, code, message = error_code(e.value)
    assert (status, code) == (403, "AccessDenied")
    assert f"kms:GenerateDataKey on resource: {main_key['Arn']}" in message
    with pytest.raises(ClientError):
        s3_alt.head_object(Bucket=alt_bucket, Key="k")


def _signed_get(url: str, creds: dict[str, str], region: str) -> requests.Response:
    request = AWSRequest(method="GET", url=url)
    S3SigV4Auth(Credentials(creds["access_key"], creds["secret_key"]), "s3", region).add_auth(request)
    return requests.get(url, headers=dict(request.prepare().headers), timeout=10)


def test_metrics_answer_only_the_callers_account() -> None:
    with running_server(open_metrics=False) as srv:
        kms, kms_alt = srv.client("kms"), srv.client("kms", account="alt")
        main_arn = kms.create_key()["KeyMetadata"]["Arn"]
        alt_arn = kms_alt.create_key()["KeyMetadata"]["Arn"]
        kms.encrypt(KeyId=main_arn, Plaintext=b"x")
        kms_alt.encrypt(KeyId=alt_arn, Plaintext=b"x")
        url = srv.endpoint + "/_mockserver/metrics"
        unsigned = requests.get(url, timeout=10)
        assert unsigned.status_code == 403 and main_arn not in unsigned.text and alt_arn not in unsigned.text
        as_main = _signed_get(url, srv.credentials["main"], srv.region)
        assert as_main.status_code == 200 and as_main.json()["kms"] == {main_arn: {"Encrypt": 1}}
        assert list(as_main.json()["kms_contexts"]) == [main_arn]
        as_alt = _signed_get(url, srv.credentials["alt"], srv.region)
        assert as_alt.json()["kms"] == {alt_arn: {"Encrypt": 1}} and list(as_alt.json()["kms_contexts"]) == [alt_arn]


def test_harness_metrics_stay_open_for_the_runner(server: Any, kms: Any, kms_alt: Any) -> None:
    # The in-process harness (running_server default) keeps the unsigned view the runner's kms_calls reads.
    main_arn = kms.create_key()["KeyMetadata"]["Arn"]
    alt_arn = kms_alt.create_key()["KeyMetadata"]["Arn"]
    kms.encrypt(KeyId=main_arn, Plaintext=b"x")
    kms_alt.encrypt(KeyId=alt_arn, Plaintext=b"x")
    document = requests.get(server.endpoint + "/_mockserver/metrics", timeout=10).json()["kms"]
    assert document[main_arn] == {"Encrypt": 1} and document[alt_arn] == {"Encrypt": 1}
