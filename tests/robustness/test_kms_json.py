"""The embedded KMS endpoint (JSON protocol, X-Amz-Target: TrentService.*) with hostile bodies: JSON errors
(`__type`), never a 500, and the server keeps serving."""
from __future__ import annotations

import json

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

BODIES = {
    "deeply-nested-list": b"[" * 100_000 + b"]" * 100_000,
    "deeply-nested-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "not-json": b"{not json",
    "not-utf8": b'{"KeyId": "\xff\xfe"}',
    "list": b"[1, 2]",
    "huge-number": b'{"NumberOfBytes": ' + b"9" * 5000 + b"}",
    "wrong-types": b'{"KeyId": {"a": [1]}, "NumberOfBytes": "x", "KeySpec": 5}',
    "nul": b'{"KeyId": "a\\u0000b"}',
}


def kms_request(wire, target: str, body: bytes):
    request = AWSRequest(method="POST", url=wire.endpoint + "/", data=body,
                         headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(wire.keys(), "kms", wire.region).add_auth(request)
    return wire.send("POST", "/", list(request.headers.items()), body, sign=False)


@pytest.mark.parametrize("operation", ["GenerateDataKey", "DescribeKey", "Encrypt", "Decrypt"])
@pytest.mark.parametrize("case", sorted(BODIES))
def test_hostile_kms_bodies(wire, operation, case):
    reply = kms_request(wire, f"TrentService.{operation}", BODIES[case])
    assert 400 <= reply.status < 500, reply
    assert "__type" in json.loads(reply.body)
    assert kms_request(wire, "TrentService.ListKeys", b"{}").status == 200


@pytest.mark.parametrize("target", ["TrentService.", "TrentService.NoSuchOperation"])
def test_unknown_kms_operations(wire, target):
    reply = kms_request(wire, target, b"{}")
    assert reply.status == 400 and json.loads(reply.body)["__type"] == "UnknownOperationException", reply


def test_kms_body_too_large(wire):
    reply = kms_request(wire, "TrentService.ListKeys", b'{"Marker": "' + b"m" * (5 * 1024 * 1024) + b'"}')
    assert reply.status == 400 and "__type" in json.loads(reply.body), reply
