"""KMS JSON 1.1 protocol (X-Amz-Target: TrentService.<Operation>) over the embedded engine.

Success: (200, response dict). Errors: (400, {"__type": "<Exception>", "message": "..."}) as KMS sends them,
so boto3's kms client raises the modelled exception classes. Blobs travel base64-encoded, as in KMS.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from typing import Any

from mockserver.kms.engine import KmsEngine, KmsError

_PREFIX = "TrentService."
log = logging.getLogger("mockserver.kms")


def _error(type_: str, message: str, status: int = 400) -> tuple[int, dict[str, Any]]:
    return status, {"__type": type_, "message": message}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _blob(params: dict[str, Any], name: str) -> bytes:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise KmsError("ValidationException", f"1 validation error detected: Value at '{_camel(name)}' failed "
                                              "to satisfy constraint: Member must not be null")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KmsError("SerializationException", f"Invalid base64: {name}") from None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _required_str(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise KmsError("ValidationException", f"1 validation error detected: Value at '{_camel(name)}' failed "
                                              "to satisfy constraint: Member must not be null")
    return value


def _context(params: dict[str, Any]) -> dict[str, str] | None:
    ctx = params.get("EncryptionContext")
    if ctx is None:
        return None
    if not isinstance(ctx, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in ctx.items()):
        raise KmsError("SerializationException", "EncryptionContext must be a map of strings")
    return ctx


# Top-level members of the operations served here, by JSON type. A value of another JSON type is refused before
# the operation runs, as AWS's JSON protocol deserializer refuses it: SerializationException naming what it found
# (recorded in public reports of AWS JSON services: "NUMBER_VALUE can not be converted to a String",
# aarondfrancis/sidecar#148; "Start of structure or map found where not expected."). Unknown members are ignored.
_STRING_MEMBERS = frozenset({"KeyId", "AliasName", "TargetKeyId", "Description", "KeySpec", "CustomerMasterKeySpec",
                             "KeyUsage", "Origin", "Policy", "Plaintext", "CiphertextBlob", "Marker",
                             "EncryptionAlgorithm", "CustomKeyStoreId", "XksKeyId"})
_INTEGER_MEMBERS = frozenset({"NumberOfBytes", "PendingWindowInDays", "Limit"})


def _found(value: Any) -> str:
    if isinstance(value, dict):
        return "Start of structure or map found where not expected."
    if isinstance(value, list):
        return "Start of list found where not expected"
    if isinstance(value, bool):
        return "TRUE_VALUE" if value else "FALSE_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    return "NUMBER_VALUE"


def _check_types(params: dict[str, Any]) -> None:
    for name, value in params.items():
        if value is None:
            continue
        if name in _STRING_MEMBERS and not isinstance(value, str):
            target = "a String"
        elif name in _INTEGER_MEMBERS and (isinstance(value, (str, bool, dict, list))):
            target = "an Integer"
        else:
            continue
        found = _found(value)
        raise KmsError("SerializationException",
                       found if found.startswith("Start of") else f"{found} can not be converted to {target}")


def _create_key(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    spec = p.get("KeySpec", p.get("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"))
    if spec != "SYMMETRIC_DEFAULT" or p.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        raise KmsError("UnsupportedOperationException", "Only SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys are supported")
    description = p.get("Description", "")
    return {"KeyMetadata": e.create_key(acct, description if isinstance(description, str) else "").metadata()}


def _describe_key(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    return {"KeyMetadata": e.resolve(acct, _required_str(p, "KeyId")).metadata()}


def _list_keys(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    return {"Keys": [{"KeyId": k.key_id, "KeyArn": k.arn} for k in e.list_keys(acct)], "Truncated": False}


def _create_alias(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    e.create_alias(acct, _required_str(p, "AliasName"), _required_str(p, "TargetKeyId"))
    return {}


def _delete_alias(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    e.delete_alias(acct, _required_str(p, "AliasName"))
    return {}


def _list_aliases(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    aliases = e.list_aliases(acct, p.get("KeyId") or None)
    return {
        "Aliases": [
            {"AliasName": a.name, "AliasArn": e.alias_arn(acct, a.name), "TargetKeyId": a.target_key_id,
             "CreationDate": a.creation_date, "LastUpdatedDate": a.creation_date}
            for a in aliases
        ],
        "Truncated": False,
    }


def _enable_key(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    e.enable_key(acct, _required_str(p, "KeyId"))
    return {}


def _disable_key(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    e.disable_key(acct, _required_str(p, "KeyId"))
    return {}


def _schedule_key_deletion(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    days = p.get("PendingWindowInDays", 30)
    if not isinstance(days, int) or isinstance(days, bool):
        raise KmsError("SerializationException", "PendingWindowInDays must be an integer")
    key = e.schedule_key_deletion(acct, _required_str(p, "KeyId"), days)
    return {"KeyId": key.arn, "DeletionDate": key.deletion_date, "KeyState": key.state,
            "PendingWindowInDays": days}


def _cancel_key_deletion(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    return {"KeyId": e.cancel_key_deletion(acct, _required_str(p, "KeyId")).arn}


def _generate_data_key(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    spec, nbytes = p.get("KeySpec"), p.get("NumberOfBytes")
    if spec is not None and nbytes is not None:
        raise KmsError("ValidationException", "Please specify either number of bytes or key spec.")
    if spec is not None:
        sizes = {"AES_256": 32, "AES_128": 16}
        if spec not in sizes:
            raise KmsError("ValidationException",
                           f"1 validation error detected: Value '{spec}' at 'keySpec' failed to satisfy "
                           "constraint: Member must satisfy enum value set: [AES_256, AES_128]")
        nbytes = sizes[spec]
    elif nbytes is None:
        raise KmsError("ValidationException", "Please specify either number of bytes or key spec.")
    if not isinstance(nbytes, int) or isinstance(nbytes, bool) or not 1 <= nbytes <= 1024:
        raise KmsError("ValidationException",
                       f"1 validation error detected: Value '{nbytes}' at 'numberOfBytes' failed to satisfy "
                       "constraint: Member must have value less than or equal to 1024")
    key, plaintext, blob = e.generate_data_key(acct, _required_str(p, "KeyId"), _context(p), nbytes)
    return {"CiphertextBlob": _b64(blob), "Plaintext": _b64(plaintext), "KeyId": key.arn}


def _encrypt(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    plaintext = _blob(p, "Plaintext")
    if len(plaintext) > 4096:
        raise KmsError("ValidationException", "1 validation error detected: Value at 'plaintext' failed to "
                                              "satisfy constraint: Member must have length less than or equal "
                                              "to 4096")
    key, blob = e.encrypt(acct, _required_str(p, "KeyId"), plaintext, _context(p))
    return {"CiphertextBlob": _b64(blob), "KeyId": key.arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}


def _decrypt(e: KmsEngine, p: dict[str, Any], acct: str) -> dict[str, Any]:
    key, plaintext = e.decrypt(acct, _blob(p, "CiphertextBlob"), _context(p), p.get("KeyId") or None)
    return {"KeyId": key.arn, "Plaintext": _b64(plaintext), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}


OPERATIONS: dict[str, Callable[[KmsEngine, dict[str, Any], str], dict[str, Any]]] = {
    "CreateKey": _create_key,
    "DescribeKey": _describe_key,
    "ListKeys": _list_keys,
    "CreateAlias": _create_alias,
    "ListAliases": _list_aliases,
    "DeleteAlias": _delete_alias,
    "EnableKey": _enable_key,
    "DisableKey": _disable_key,
    "ScheduleKeyDeletion": _schedule_key_deletion,
    "CancelKeyDeletion": _cancel_key_deletion,
    "GenerateDataKey": _generate_data_key,
    "Encrypt": _encrypt,
    "Decrypt": _decrypt,
}


def handle(engine: KmsEngine, target: str, body: bytes, account_id: str) -> tuple[int, dict[str, Any]]:
    """One KMS JSON request. `target` is the X-Amz-Target header (TrentService.<Operation>)."""
    op = target[len(_PREFIX):] if target.startswith(_PREFIX) else None
    fn = OPERATIONS.get(op or "")
    if fn is None:
        return _error("UnknownOperationException", "")
    try:
        params = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting: bad input
        return _error("SerializationException", "Start of structure or map found where not expected.")
    if not isinstance(params, dict):
        return _error("SerializationException", "Start of structure or map found where not expected.")
    try:
        _check_types(params)
        return 200, fn(engine, params, account_id)
    except KmsError as exc:
        return _error(exc.type, exc.message, exc.status)
    except (TypeError, ValueError, KeyError, AttributeError):
        # A gap in validation is still a KMS JSON answer (KMS's own internal error), never S3 XML.
        log.exception("KMS %s failed", op)
        return _error("KMSInternalException", "", 500)
