"""Embedded KMS (mockserver/kms/engine.py) and its JSON protocol (mockserver/kms/api.py)."""
from __future__ import annotations

import base64
import json
import os
import threading

import pytest

from mockserver.crypto import keywrap
from mockserver.kms import api
from mockserver.kms.engine import CONTEXTS_KEPT, KmsEngine, KmsError

ACCT, OTHER = "111122223333", "444455556666"
REGION = "us-east-1"


@pytest.fixture
def kms() -> KmsEngine:
    return KmsEngine(REGION)


def err(fn, *args, **kw) -> KmsError:
    with pytest.raises(KmsError) as e:
        fn(*args, **kw)
    return e.value


def test_create_and_resolve_every_form(kms: KmsEngine) -> None:
    key = kms.create_key(ACCT, "test key")
    assert key.arn == f"arn:aws:kms:{REGION}:{ACCT}:key/{key.key_id}"
    kms.create_alias(ACCT, "alias/app", key.key_id)
    for ref in (key.key_id, key.arn, "alias/app", f"arn:aws:kms:{REGION}:{ACCT}:alias/app"):
        assert kms.resolve(ACCT, ref) is key


def test_reference_errors_have_aws_texts(kms: KmsEngine) -> None:
    e = err(kms.resolve, ACCT, "fake-key-id")
    assert (e.type, e.message) == ("NotFoundException", "Invalid keyId 'fake-key-id'")
    missing = "11111111-2222-3333-4444-555555555555"
    e = err(kms.resolve, ACCT, missing)
    assert (e.type, e.message) == ("NotFoundException", f"Key 'arn:aws:kms:{REGION}:{ACCT}:key/{missing}' does not exist")
    arn = f"arn:aws:kms:{REGION}:{ACCT}:key/{missing}"
    assert err(kms.resolve, ACCT, arn).message == f"Key '{arn}' does not exist"
    key = kms.create_key(ACCT)
    e = err(kms.resolve, ACCT, f"arn:aws:kms:eu-west-1:{ACCT}:key/{key.key_id}")
    assert (e.type, e.message) == ("NotFoundException", "Invalid arn eu-west-1")
    e = err(kms.resolve, ACCT, "alias/nope")
    assert e.type == "NotFoundException"


def test_keys_belong_to_their_account(kms: KmsEngine) -> None:
    key = kms.create_key(ACCT)
    assert err(kms.resolve, OTHER, key.key_id).type == "NotFoundException"
    assert kms.list_keys(OTHER) == []


def test_states_and_messages(kms: KmsEngine) -> None:
    key = kms.create_key(ACCT)
    kms.disable_key(ACCT, key.key_id)
    e = err(kms.generate_data_key, ACCT, key.key_id)
    assert (e.type, e.message) == ("DisabledException", f"{key.arn} is disabled.")
    kms.enable_key(ACCT, key.arn)
    kms.generate_data_key(ACCT, key.key_id)
    kms.schedule_key_deletion(ACCT, key.key_id, 7)
    assert key.state == "PendingDeletion" and key.deletion_date is not None
    e = err(kms.generate_data_key, ACCT, key.key_id)
    assert (e.type, e.message) == ("KMSInvalidStateException", f"{key.arn} is pending deletion.")
    assert err(kms.enable_key, ACCT, key.key_id).type == "KMSInvalidStateException"
    kms.cancel_key_deletion(ACCT, key.key_id)
    assert key.state == "Disabled"          # as AWS: cancelling leaves the key disabled
    assert err(kms.cancel_key_deletion, ACCT, key.key_id).type == "KMSInvalidStateException"


def test_managed_key_created_once_per_account(kms: KmsEngine) -> None:
    a = kms.managed_key(ACCT)
    assert kms.managed_key(ACCT) is a
    assert kms.resolve(ACCT, "alias/aws/s3") is a
    assert a.key_manager == "AWS" and a.metadata()["KeyManager"] == "AWS"
    assert kms.managed_key(OTHER) is not a
    assert err(kms.create_alias, ACCT, "alias/aws/mine", a.key_id).type == "NotAuthorizedException"


def test_alias_errors(kms: KmsEngine) -> None:
    key = kms.create_key(ACCT)
    kms.create_alias(ACCT, "alias/x", key.key_id)
    assert err(kms.create_alias, ACCT, "alias/x", key.key_id).type == "AlreadyExistsException"
    assert err(kms.create_alias, ACCT, "no-prefix", key.key_id).type == "ValidationException"
    assert [a.name for a in kms.list_aliases(ACCT, key.key_id)] == ["alias/x"]


def test_delete_alias(kms: KmsEngine) -> None:
    key = kms.create_key(ACCT)
    kms.create_alias(ACCT, "alias/gone", key.key_id)
    status, body = api.handle(kms, "TrentService.DeleteAlias", json.dumps({"AliasName": "alias/gone"}).encode(), ACCT)
    assert (status, body) == (200, {})
    assert kms.list_aliases(ACCT, key.key_id) == []
    assert err(kms.delete_alias, ACCT, "alias/gone").type == "NotFoundException"
    kms.managed_key(ACCT)
    assert err(kms.delete_alias, ACCT, "alias/aws/s3").type == "NotAuthorizedException"


def test_data_keys_and_context(kms: KmsEngine) -> None:
    key = kms.create_key(ACCT)
    ctx = {"aws:s3:arn": "arn:aws:s3:::b/k"}
    _, plaintext, blob = kms.generate_data_key(ACCT, key.key_id, ctx)
    assert len(plaintext) == 32 and plaintext not in blob
    assert kms.decrypt(ACCT, blob, ctx)[1] == plaintext
    assert err(kms.decrypt, ACCT, blob, {"aws:s3:arn": "arn:aws:s3:::b/other"}).type == "InvalidCiphertextException"
    assert err(kms.decrypt, ACCT, blob, None).type == "InvalidCiphertextException"
    assert err(kms.decrypt, ACCT, b"garbage", ctx).type == "InvalidCiphertextException"
    kms.disable_key(ACCT, key.key_id)
    assert err(kms.decrypt, ACCT, blob, ctx).type == "DisabledException"


def test_metrics_count_per_key(kms: KmsEngine) -> None:
    k1, k2 = kms.create_key(ACCT), kms.create_key(ACCT)
    for _ in range(3):
        kms.generate_data_key(ACCT, k1.key_id)
    _, blob = kms.encrypt(ACCT, k2.key_id, b"x")
    kms.decrypt(ACCT, blob)
    metrics = kms.metrics()
    assert metrics["kms"] == {k1.arn: {"GenerateDataKey": 3}, k2.arn: {"Encrypt": 1, "Decrypt": 1}}
    assert metrics["kms_contexts"][k1.arn]["GenerateDataKey"] == [{"call": n, "context": {}} for n in (1, 2, 3)]


def test_metrics_show_each_calls_encryption_context(kms: KmsEngine) -> None:
    # what CloudTrail shows of S3's KMS calls on AWS: the encryption context of each call, numbered like the counter
    key = kms.create_key(ACCT)
    ctx = {"aws:s3:arn": "arn:aws:s3:::b/k", "project": "x"}
    _, _, blob = kms.generate_data_key(ACCT, key.key_id, ctx)
    kms.decrypt(ACCT, blob, ctx)
    seen = kms.metrics(ACCT)["kms_contexts"][key.arn]
    assert seen == {"GenerateDataKey": [{"call": 1, "context": ctx}], "Decrypt": [{"call": 1, "context": ctx}]}
    for _ in range(CONTEXTS_KEPT + 5):                   # bounded: the most recent calls only
        kms.generate_data_key(ACCT, key.key_id, {"n": "x"})
    kept = kms.metrics()["kms_contexts"][key.arn]["GenerateDataKey"]
    assert len(kept) == CONTEXTS_KEPT and kept[-1]["call"] == CONTEXTS_KEPT + 6
    assert kms.metrics("999999999999") == {"kms": {}, "kms_contexts": {}}


def test_snapshot_restore_wraps_material() -> None:
    root = os.urandom(32)
    saved: list[dict] = []
    kms = KmsEngine(REGION, saved.append, root_key=root)
    key = kms.create_key(ACCT, "d")
    kms.create_alias(ACCT, "alias/r", key.key_id)
    kms.disable_key(ACCT, key.key_id)
    ctx = {"a": "b"}
    kms.enable_key(ACCT, key.key_id)
    _, plaintext, blob = kms.generate_data_key(ACCT, key.key_id, ctx)
    snap = saved[-1]
    raw = json.dumps(snap)
    assert base64.b64encode(key.material).decode() not in raw
    again = KmsEngine.restore(json.loads(raw), REGION, None, root_key=root)
    assert again.resolve(ACCT, "alias/r").key_id == key.key_id
    assert again.decrypt(ACCT, blob, ctx)[1] == plaintext
    with pytest.raises(keywrap.UnwrapError):
        KmsEngine.restore(json.loads(raw), REGION, None, root_key=os.urandom(32))


def test_thread_safe_counters(kms: KmsEngine) -> None:
    key = kms.create_key(ACCT)

    def work() -> None:
        for _ in range(200):
            kms.generate_data_key(ACCT, key.key_id)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert kms.call_count(key.arn, "GenerateDataKey") == 800


# ---- JSON protocol --------------------------------------------------------------------------------------
def call(kms: KmsEngine, op: str, params: dict, acct: str = ACCT) -> tuple[int, dict]:
    return api.handle(kms, f"TrentService.{op}", json.dumps(params).encode(), acct)


def test_api_round_trip(kms: KmsEngine) -> None:
    status, out = call(kms, "CreateKey", {"Description": "d"})
    assert status == 200
    meta = out["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["Arn"].endswith(meta["KeyId"])
    assert call(kms, "CreateAlias", {"AliasName": "alias/j", "TargetKeyId": meta["KeyId"]}) == (200, {})
    status, out = call(kms, "GenerateDataKey", {"KeyId": "alias/j", "KeySpec": "AES_256",
                                                "EncryptionContext": {"k": "v"}})
    assert status == 200 and out["KeyId"] == meta["Arn"]
    status, dec = call(kms, "Decrypt", {"CiphertextBlob": out["CiphertextBlob"], "EncryptionContext": {"k": "v"}})
    assert status == 200 and dec["Plaintext"] == out["Plaintext"]
    status, enc = call(kms, "Encrypt", {"KeyId": meta["KeyId"], "Plaintext": base64.b64encode(b"hi").decode()})
    assert status == 200
    assert base64.b64decode(call(kms, "Decrypt", {"CiphertextBlob": enc["CiphertextBlob"]})[1]["Plaintext"]) == b"hi"
    status, out = call(kms, "ListAliases", {})
    assert [a["AliasName"] for a in out["Aliases"]] == ["alias/j"]
    assert call(kms, "ListKeys", {})[1]["Keys"] == [{"KeyId": meta["KeyId"], "KeyArn": meta["Arn"]}]
    assert call(kms, "DisableKey", {"KeyId": meta["KeyId"]}) == (200, {})
    assert call(kms, "DescribeKey", {"KeyId": meta["Arn"]})[1]["KeyMetadata"]["Enabled"] is False
    status, out = call(kms, "ScheduleKeyDeletion", {"KeyId": meta["KeyId"], "PendingWindowInDays": 7})
    assert status == 200 and out["KeyState"] == "PendingDeletion"
    assert call(kms, "CancelKeyDeletion", {"KeyId": meta["KeyId"]})[1] == {"KeyId": meta["Arn"]}
    assert call(kms, "DescribeKey", {"KeyId": meta["KeyId"]})[1]["KeyMetadata"]["KeyState"] == "Disabled"


def test_api_errors_have_kms_shape(kms: KmsEngine) -> None:
    assert call(kms, "DescribeKey", {"KeyId": "fake-key-id"}) == (
        400, {"__type": "NotFoundException", "message": "Invalid keyId 'fake-key-id'"})
    assert call(kms, "Nope", {})[1]["__type"] == "UnknownOperationException"
    assert api.handle(kms, "TrentService.ListKeys", b"{not json", ACCT)[1]["__type"] == "SerializationException"
    assert api.handle(kms, "TrentService.ListKeys", b"[1]", ACCT)[0] == 400
    assert call(kms, "GenerateDataKey", {"KeyId": "alias/aws/s3"})[1]["__type"] == "ValidationException"
    assert call(kms, "Decrypt", {"CiphertextBlob": "%%%"})[1]["__type"] == "SerializationException"
    assert call(kms, "DescribeKey", {})[1]["__type"] == "ValidationException"
