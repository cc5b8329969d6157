"""Embedded KMS: symmetric keys per account in one region, aliases, key states, data keys, call counters.

Errors are `KmsError(type, message)` with KMS's exception names and AWS's message texts; the KMS JSON API
renders them as `{"__type": ..., "message": ...}` and the S3 layer as `errors.kms_failure` (code KMS.<type>).
Key material is wrapped under the server root key in snapshots when a root key is given.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import re
import struct
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mockserver.crypto import keywrap

log = logging.getLogger("mockserver")

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ARN = re.compile(r"^arn:aws:kms:([^:]*):([^:]*):(key|alias)/(.+)$")
_ALIAS_NAME = re.compile(r"^alias/[a-zA-Z0-9/_-]{1,250}$")
_BLOB_MAGIC = b"MKMS\x01"
CONTEXTS_KEPT = 32                      # recent calls per key and operation whose encryption context metrics show
MANAGED_S3_ALIAS = "alias/aws/s3"
_MANAGED_DESCRIPTIONS = {
    "alias/aws/s3": "Default key that protects my S3 objects when no other key is defined",
}

ENABLED, DISABLED, PENDING_DELETION = "Enabled", "Disabled", "PendingDeletion"


class KmsError(Exception):
    def __init__(self, type_: str, message: str, status: int = 400) -> None:
        super().__init__(f"{type_}: {message}")
        self.type = type_
        self.message = message
        self.status = status


def not_found(message: str) -> KmsError:
    return KmsError("NotFoundException", message)


def access_denied(account_id: str, arn: str, action: str) -> KmsError:
    """Another account's key: no key policy grants anything across accounts here, so AWS's answer to a caller
    whose account does not own the key (recorded in public bug reports, e.g. jbrt/ec2cryptomatic#26,
    4dn-dcic/tibanna#402: `User: ... is not authorized to perform: kms:X on resource: <key arn> because no
    resource-based policy allows the kms:X action`)."""
    return KmsError("AccessDeniedException",
                    f"User: arn:aws:iam::{account_id}:root is not authorized to perform: kms:{action} on resource: "
                    f"{arn} because no resource-based policy allows the kms:{action} action")


@dataclass
class KmsKey:
    key_id: str
    arn: str
    account_id: str
    region: str
    material: bytes = field(repr=False)
    description: str = ""
    key_manager: str = "CUSTOMER"
    state: str = ENABLED
    creation_date: float = 0.0
    deletion_date: float | None = None

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "AWSAccountId": self.account_id,
            "KeyId": self.key_id,
            "Arn": self.arn,
            "CreationDate": self.creation_date,
            "Enabled": self.state == ENABLED,
            "Description": self.description,
            "KeyUsage": "ENCRYPT_DECRYPT",
            "KeyState": self.state,
            "Origin": "AWS_KMS",
            "KeyManager": self.key_manager,
            "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
            "KeySpec": "SYMMETRIC_DEFAULT",
            "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
            "MultiRegion": False,
        }
        if self.deletion_date is not None:
            meta["DeletionDate"] = self.deletion_date
        return meta


@dataclass
class KmsAlias:
    name: str          # alias/NAME
    account_id: str
    target_key_id: str
    creation_date: float


def _context_aad(context: Mapping[str, str] | None) -> bytes:
    # KMS binds the encryption context as AAD; canonical JSON makes key order irrelevant, as in KMS.
    return json.dumps(dict(context or {}), sort_keys=True, separators=(",", ":")).encode()


class KmsEngine:
    def __init__(self, region: str, persist: Callable[[dict[str, Any]], None] | None = None, *,
                 root_key: bytes | None = None, journal: Callable[[dict[str, Any]], None] | None = None) -> None:
        """`persist(snapshot)` receives the whole state after each change; `journal(change)` only what changed
        ({"keys": [...], "aliases": [...], "deleted_aliases": [...]}, the snapshot's shape: see apply())."""
        self.region = region
        self._persist = persist
        self._journal = journal
        self._root_key = root_key
        self._lock = threading.RLock()
        self._keys: dict[tuple[str, str], KmsKey] = {}          # (account, key id) -> key
        self._keys_by_id: dict[str, KmsKey] = {}                 # key id -> key (ids are unique uuids)
        self._aliases: dict[tuple[str, str], KmsAlias] = {}      # (account, alias name) -> alias
        self._calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        # the encryption context of each recent call, numbered as the counter numbers it (what CloudTrail's
        # requestParameters.encryptionContext shows on AWS); bounded per key and operation
        self._contexts: dict[str, dict[str, deque[tuple[int, dict[str, str]]]]] = defaultdict(
            lambda: defaultdict(lambda: deque(maxlen=CONTEXTS_KEPT)))

    # ---- identifiers -------------------------------------------------------------------------------
    def key_arn(self, account_id: str, key_id: str) -> str:
        return f"arn:aws:kms:{self.region}:{account_id}:key/{key_id}"

    def alias_arn(self, account_id: str, name: str) -> str:
        return f"arn:aws:kms:{self.region}:{account_id}:{name}"

    # ---- persistence -------------------------------------------------------------------------------
    def _save(self, change: dict[str, Any], undo: Callable[[], object]) -> None:
        """Writes a change down (before the caller answers); a failed write (full disk) undoes it in memory and
        is KMS's internal error, logged in one line."""
        try:
            if self._journal is not None:
                self._journal(change)
            if self._persist is not None:
                self._persist(self.snapshot())
        except OSError as error:
            undo()
            log.error("KMS state write failed: %s", error)
            raise KmsError("KMSInternalException", "", 500) from None

    def _key_record(self, k: KmsKey) -> dict[str, Any]:
        return {"key_id": k.key_id, "account_id": k.account_id, "description": k.description,
                "key_manager": k.key_manager, "state": k.state, "creation_date": k.creation_date,
                "deletion_date": k.deletion_date, "material": self._seal_material(k)}

    @staticmethod
    def _alias_record(a: KmsAlias) -> dict[str, Any]:
        return {"name": a.name, "account_id": a.account_id, "target_key_id": a.target_key_id,
                "creation_date": a.creation_date}

    def _seal_material(self, key: KmsKey) -> str:
        if self._root_key is None:
            return base64.b64encode(key.material).decode()
        return keywrap.wrap_b64(self._root_key, key.material, purpose="kms-key-material",
                                binding={"arn": key.arn})

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "version": 1,
                "region": self.region,
                "wrapped": self._root_key is not None,
                "keys": [self._key_record(k) for k in self._keys.values()],
                "aliases": [self._alias_record(a) for a in self._aliases.values()],
            }

    @classmethod
    def restore(cls, data: dict[str, Any], region: str, persist: Callable[[dict[str, Any]], None] | None = None,
                *, root_key: bytes | None = None) -> KmsEngine:
        engine = cls(region, persist, root_key=root_key)
        engine.apply(data)
        return engine

    def apply(self, data: dict[str, Any]) -> None:
        """Loads a snapshot or replays one journal change onto this engine (upserts keys and aliases, removes
        deleted aliases). Without "wrapped" (journal changes), material is wrapped exactly when a root key is set."""
        wrapped = bool(data.get("wrapped", self._root_key is not None))
        if wrapped and self._root_key is None:
            raise ValueError("KMS snapshot holds wrapped key material: a root key is needed")
        with self._lock:
            for k in data.get("keys", []):
                arn = self.key_arn(k["account_id"], k["key_id"])
                if wrapped:
                    material = keywrap.unwrap_b64(self._root_key, k["material"],  # type: ignore[arg-type]
                                                  purpose="kms-key-material", binding={"arn": arn})
                else:
                    material = base64.b64decode(k["material"])
                key = KmsKey(k["key_id"], arn, k["account_id"], self.region, material, k.get("description", ""),
                             k.get("key_manager", "CUSTOMER"), k.get("state", ENABLED), k.get("creation_date", 0.0),
                             k.get("deletion_date"))
                self._keys[(key.account_id, key.key_id)] = key
                self._keys_by_id[key.key_id] = key
            for a in data.get("aliases", []):
                self._aliases[(a["account_id"], a["name"])] = KmsAlias(a["name"], a["account_id"],
                                                                        a["target_key_id"], a["creation_date"])
            for a in data.get("deleted_aliases", []):
                self._aliases.pop((a["account_id"], a["name"]), None)

    def _forget_key(self, key: KmsKey) -> None:
        self._keys.pop((key.account_id, key.key_id), None)
        self._keys_by_id.pop(key.key_id, None)

    # ---- counters ----------------------------------------------------------------------------------
    def _count(self, key: KmsKey, operation: str) -> None:
        self._calls[key.arn][operation] += 1

    def _note_context(self, key: KmsKey, operation: str, context: Mapping[str, str] | None) -> None:
        """The encryption context of the call just counted (numbered as its counter numbers it)."""
        self._contexts[key.arn][operation].append((self._calls[key.arn][operation], dict(context or {})))

    def metrics(self, account_id: str | None = None) -> dict[str, Any]:
        """{"kms": {key ARN: {operation: count}}, "kms_contexts": {key ARN: {operation: [{"call": n,
        "context": {...}}]}}}: one account's keys, or (None) every account's. `call` numbers the call as the
        counter does (the n-th GenerateDataKey on that key); the last CONTEXTS_KEPT calls are kept."""
        def mine(arn: str) -> bool:
            return account_id is None or arn.split(":", 5)[4] == account_id
        with self._lock:
            return {"kms": {arn: dict(ops) for arn, ops in self._calls.items() if mine(arn)},
                    "kms_contexts": {arn: {op: [{"call": n, "context": dict(ctx)} for n, ctx in calls]
                                           for op, calls in ops.items()}
                                     for arn, ops in self._contexts.items() if mine(arn)}}

    def call_count(self, key_arn: str, operation: str) -> int:
        with self._lock:
            return self._calls.get(key_arn, {}).get(operation, 0)

    # ---- key management ----------------------------------------------------------------------------
    def _new_key(self, account_id: str, description: str, key_manager: str) -> KmsKey:
        key_id = str(uuid.uuid4())
        key = KmsKey(key_id, self.key_arn(account_id, key_id), account_id, self.region,
                     AESGCM.generate_key(bit_length=256), description, key_manager, ENABLED, time.time())
        self._keys[(account_id, key_id)] = key
        self._keys_by_id[key_id] = key
        return key

    def create_key(self, account_id: str, description: str = "") -> KmsKey:
        with self._lock:
            key = self._new_key(account_id, description, "CUSTOMER")
            self._save({"keys": [self._key_record(key)]}, lambda: self._forget_key(key))
            return key

    def managed_key(self, account_id: str, alias: str = MANAGED_S3_ALIAS) -> KmsKey:
        """The AWS managed key behind alias/aws/<service>, created on first use (KeyManager AWS)."""
        with self._lock:
            existing = self._aliases.get((account_id, alias))
            if existing is not None:
                return self._keys[(account_id, existing.target_key_id)]
            key = self._new_key(account_id, _MANAGED_DESCRIPTIONS.get(alias, ""), "AWS")
            entry = self._aliases[(account_id, alias)] = KmsAlias(alias, account_id, key.key_id, time.time())

            def undo() -> None:
                self._forget_key(key)
                self._aliases.pop((account_id, alias), None)

            self._save({"keys": [self._key_record(key)], "aliases": [self._alias_record(entry)]}, undo)
            return key

    def create_alias(self, account_id: str, alias_name: str, target: str) -> KmsAlias:
        with self._lock:
            if not _ALIAS_NAME.match(alias_name or ""):
                raise KmsError("ValidationException",
                               f"1 validation error detected: Value '{alias_name}' at 'aliasName' failed to "
                               "satisfy constraint: Member must satisfy regular expression pattern: "
                               "^[a-zA-Z0-9:/_-]+$")
            if alias_name.startswith("alias/aws/"):
                raise KmsError("NotAuthorizedException", "")
            if (account_id, alias_name) in self._aliases:
                raise KmsError("AlreadyExistsException",
                               f"An alias with the name {self.alias_arn(account_id, alias_name)} already exists")
            key = self.resolve(account_id, target, allow_alias=False, action="CreateAlias")
            alias = KmsAlias(alias_name, account_id, key.key_id, time.time())
            self._aliases[(account_id, alias_name)] = alias
            self._save({"aliases": [self._alias_record(alias)]},
                       lambda: self._aliases.pop((account_id, alias_name), None))
            return alias

    def delete_alias(self, account_id: str, alias_name: str) -> None:
        with self._lock:
            if alias_name.startswith("alias/aws/"):
                raise KmsError("NotAuthorizedException", "")
            removed = self._aliases.pop((account_id, alias_name), None)
            if removed is None:
                raise not_found(f"Alias {self.alias_arn(account_id, alias_name)} is not found.")
            self._save({"deleted_aliases": [{"account_id": account_id, "name": alias_name}]},
                       lambda: self._aliases.__setitem__((account_id, alias_name), removed))

    def list_keys(self, account_id: str) -> list[KmsKey]:
        with self._lock:
            return [k for (acct, _), k in self._keys.items() if acct == account_id]

    def list_aliases(self, account_id: str, key_ref: str | None = None) -> list[KmsAlias]:
        with self._lock:
            target = (self.resolve(account_id, key_ref, allow_alias=False, action="ListAliases").key_id
                      if key_ref else None)
            return [a for (acct, _), a in self._aliases.items()
                    if acct == account_id and (target is None or a.target_key_id == target)]

    def _set_state(self, account_id: str, ref: str, state: str) -> KmsKey:
        with self._lock:
            key = self.resolve(account_id, ref, action="EnableKey" if state == ENABLED else "DisableKey")
            if key.state == PENDING_DELETION and state in (ENABLED, DISABLED):
                raise KmsError("KMSInvalidStateException", f"{key.arn} is pending deletion.")
            before = key.state
            key.state = state
            self._save({"keys": [self._key_record(key)]}, lambda: setattr(key, "state", before))
            return key

    def enable_key(self, account_id: str, ref: str) -> KmsKey:
        return self._set_state(account_id, ref, ENABLED)

    def disable_key(self, account_id: str, ref: str) -> KmsKey:
        return self._set_state(account_id, ref, DISABLED)

    def schedule_key_deletion(self, account_id: str, ref: str, pending_days: int = 30) -> KmsKey:
        with self._lock:
            if not 7 <= pending_days <= 30:
                raise KmsError("ValidationException",
                               f"1 validation error detected: Value '{pending_days}' at 'pendingWindowInDays' "
                               "failed to satisfy constraint: Member must have value less than or equal to 30")
            key = self.resolve(account_id, ref, action="ScheduleKeyDeletion")
            if key.state == PENDING_DELETION:
                raise KmsError("KMSInvalidStateException", f"{key.arn} is pending deletion.")
            before = (key.state, key.deletion_date)
            key.state = PENDING_DELETION
            key.deletion_date = time.time() + pending_days * 86400
            self._save({"keys": [self._key_record(key)]}, lambda: self._restore_state(key, before))
            return key

    def cancel_key_deletion(self, account_id: str, ref: str) -> KmsKey:
        with self._lock:
            key = self.resolve(account_id, ref, action="CancelKeyDeletion")
            if key.state != PENDING_DELETION:
                raise KmsError("KMSInvalidStateException", f"{key.arn} is not pending deletion.")
            before = (key.state, key.deletion_date)
            key.state = DISABLED            # as AWS: a cancelled deletion leaves the key Disabled
            key.deletion_date = None
            self._save({"keys": [self._key_record(key)]}, lambda: self._restore_state(key, before))
            return key

    @staticmethod
    def _restore_state(key: KmsKey, before: tuple[str, float | None]) -> None:
        key.state, key.deletion_date = before

    # ---- resolution --------------------------------------------------------------------------------
    def resolve(self, account_id: str, ref: str | None, *, allow_alias: bool = True,
                action: str = "DescribeKey") -> KmsKey:
        """Key id, key ARN, alias name or alias ARN -> key (any state) of the caller's account. Raises KmsError
        NotFoundException with AWS's texts, AccessDeniedException (naming kms:<action>) for an ARN of another
        account: keys belong to an account and no key policy here grants another account anything."""
        if not ref:
            raise KmsError("ValidationException", "KeyId is required")
        with self._lock:
            m = _ARN.match(ref)
            if m:
                region, owner, kind, rest = m.groups()
                if region != self.region:
                    raise not_found(f"Invalid arn {region}")
                if owner != account_id:
                    raise access_denied(account_id, ref, action)
                if kind == "key":
                    key = self._keys.get((owner, rest))
                    if key is None:
                        raise not_found(f"Key '{ref}' does not exist")
                    return key
                if not allow_alias:
                    raise not_found(f"Invalid keyId '{ref}'")
                return self._alias_target(owner, f"alias/{rest}")
            if ref.startswith("alias/"):
                if not allow_alias:
                    raise not_found(f"Invalid keyId '{ref}'")
                return self._alias_target(account_id, ref)
            if ref.startswith("arn:"):
                raise not_found(f"Invalid arn {ref}")
            if not _UUID.match(ref):
                raise not_found(f"Invalid keyId '{ref}'")
            key = self._keys.get((account_id, ref))
            if key is None:
                raise not_found(f"Key '{self.key_arn(account_id, ref)}' does not exist")
            return key

    def _alias_target(self, account_id: str, name: str) -> KmsKey:
        if name.startswith("alias/aws/") and name in _MANAGED_DESCRIPTIONS:
            return self.managed_key(account_id, name)
        alias = self._aliases.get((account_id, name))
        if alias is None:
            raise not_found(f"Alias {self.alias_arn(account_id, name)} is not found.")
        return self._keys[(account_id, alias.target_key_id)]

    @staticmethod
    def check_usable(key: KmsKey) -> None:
        """Disabled / pending deletion keys cannot be used for cryptographic operations."""
        if key.state == DISABLED:
            raise KmsError("DisabledException", f"{key.arn} is disabled.")
        if key.state == PENDING_DELETION:
            raise KmsError("KMSInvalidStateException", f"{key.arn} is pending deletion.")

    def usable_key(self, account_id: str, ref: str, action: str) -> KmsKey:
        with self._lock:
            key = self.resolve(account_id, ref, action=action)
            self.check_usable(key)
            return key

    # ---- cryptographic operations -----------------------------------------------------------------
    def _seal(self, key: KmsKey, plaintext: bytes, context: Mapping[str, str] | None) -> bytes:
        nonce = os.urandom(12)
        kid = key.key_id.encode()
        return (_BLOB_MAGIC + struct.pack(">B", len(kid)) + kid + nonce
                + AESGCM(key.material).encrypt(nonce, plaintext, _context_aad(context)))

    def generate_data_key(self, account_id: str, ref: str, context: Mapping[str, str] | None = None,
                          number_of_bytes: int = 32) -> tuple[KmsKey, bytes, bytes]:
        """-> (key, plaintext data key, ciphertext blob)."""
        with self._lock:
            key = self.usable_key(account_id, ref, "GenerateDataKey")
            self._count(key, "GenerateDataKey")
            self._note_context(key, "GenerateDataKey", context)
        plaintext = os.urandom(number_of_bytes)
        return key, plaintext, self._seal(key, plaintext, context)

    def encrypt(self, account_id: str, ref: str, plaintext: bytes,
                context: Mapping[str, str] | None = None) -> tuple[KmsKey, bytes]:
        with self._lock:
            key = self.usable_key(account_id, ref, "Encrypt")
            self._count(key, "Encrypt")
            self._note_context(key, "Encrypt", context)
        return key, self._seal(key, plaintext, context)

    def blob_key(self, blob: bytes) -> KmsKey:
        """The key a ciphertext blob was made under (InvalidCiphertextException if not one of ours)."""
        if not blob.startswith(_BLOB_MAGIC) or len(blob) < len(_BLOB_MAGIC) + 1:
            raise KmsError("InvalidCiphertextException", "")
        n = blob[len(_BLOB_MAGIC)]
        kid = blob[len(_BLOB_MAGIC) + 1:len(_BLOB_MAGIC) + 1 + n].decode("ascii", "replace")
        with self._lock:
            key = self._keys_by_id.get(kid)
        if key is None:
            raise KmsError("InvalidCiphertextException", "")
        return key

    def decrypt(self, account_id: str, blob: bytes, context: Mapping[str, str] | None = None,
                key_ref: str | None = None) -> tuple[KmsKey, bytes]:
        key = self.blob_key(blob)
        with self._lock:
            if key.account_id != account_id:
                raise access_denied(account_id, key.arn, "Decrypt")
            if key_ref:
                wanted = self.resolve(account_id, key_ref, action="Decrypt")
                if wanted.key_id != key.key_id:
                    raise KmsError("IncorrectKeyException",
                                   "The key ID in the request does not identify a CMK that can perform this "
                                   "operation.")
            self.check_usable(key)
            self._count(key, "Decrypt")
            self._note_context(key, "Decrypt", context)
        start = len(_BLOB_MAGIC) + 1 + blob[len(_BLOB_MAGIC)]
        nonce, sealed = blob[start:start + 12], blob[start + 12:]
        try:
            return key, AESGCM(key.material).decrypt(nonce, sealed, _context_aad(context))
        except (InvalidTag, ValueError):
            raise KmsError("InvalidCiphertextException", "") from None
