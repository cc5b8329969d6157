"""Wrapping data keys (and KMS key material) under a key-encryption key with AES-256-GCM.

The AAD binds the wrapped key to its purpose and owner (e.g. purpose "sse-s3", bucket, object key), so a
wrapped key copied to another object's metadata does not unwrap there.
"""
from __future__ import annotations

import base64
import binascii
import os
import struct
from collections import OrderedDict
from collections.abc import Mapping, MutableMapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12
_LENGTH = struct.Struct(">I").pack
KEY_SIZE = 32


class UnwrapError(Exception):
    """The wrapped key was altered or is bound to another purpose/owner."""


def _field(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return _LENGTH(len(data)) + data


# _field() of purposes and binding names: a few constants of the server's own, encoded once (bounded anyway).
_FIELDS: dict[str, bytes] = {}
_FIELDS_MAX = 64


def _constant_field(text: str) -> bytes:
    field = _FIELDS.get(text)
    if field is None:
        field = _field(text)
        if len(_FIELDS) < _FIELDS_MAX:
            _FIELDS[text] = field
    return field


_BINDING_NAMES = frozenset({"bucket", "id", "key"})     # the server's own object binding (sorted: bucket, id, key)
_BUCKET_FIELD, _ID_FIELD, _KEY_FIELD = _field("bucket"), _field("id"), _field("key")


def _aad(purpose: str, binding: Mapping[str, str] | None) -> bytes:
    # Canonical, length-prefixed encoding (unambiguous for any key or value; cheaper than JSON on every PUT).
    # Each text as its 4-byte big-endian length + UTF-8 bytes: the purpose, then the binding's pairs sorted.
    fields = _FIELDS
    head = fields.get(purpose) or _constant_field(purpose)
    if not binding:
        return head
    if type(binding) is dict and len(binding) == 3 and binding.keys() == _BINDING_NAMES:
        # The object binding every write makes: its sorted order is known (the same bytes as the loop below).
        b = binding["bucket"].encode("utf-8", "surrogatepass")
        i = binding["id"].encode("utf-8", "surrogatepass")
        k = binding["key"].encode("utf-8", "surrogatepass")
        return b"".join((head, _BUCKET_FIELD, _LENGTH(len(b)), b, _ID_FIELD, _LENGTH(len(i)), i,
                         _KEY_FIELD, _LENGTH(len(k)), k))
    out = [head]
    for name in sorted(binding):        # names are unique: sorting them sorts the pairs
        data = binding[name].encode("utf-8", "surrogatepass")
        out += (fields.get(name) or _constant_field(name), _LENGTH(len(data)), data)
    return b"".join(out)


def new_key() -> bytes:
    """A fresh 256-bit data key (what AESGCM.generate_key(bit_length=256) returns: os.urandom(32))."""
    return os.urandom(KEY_SIZE)


def wrap(kek: bytes, key: bytes, *, purpose: str, binding: Mapping[str, str] | None = None,
         aead: AESGCM | None = None) -> bytes:
    """`aead`: AESGCM(kek) made beforehand, for a key the server holds for good (the root key): its key schedule
    is not computed again per call. Never for a customer's (SSE-C) key, which must not outlive its request."""
    nonce = os.urandom(_NONCE)
    return nonce + (aead if aead is not None else AESGCM(kek)).encrypt(nonce, key, _aad(purpose, binding))


def unwrap(kek: bytes, blob: bytes, *, purpose: str, binding: Mapping[str, str] | None = None) -> bytes:
    if len(blob) < _NONCE + 16:
        raise UnwrapError("wrapped key too short")
    try:
        return AESGCM(kek).decrypt(blob[:_NONCE], blob[_NONCE:], _aad(purpose, binding))
    except InvalidTag:
        raise UnwrapError("wrapped key does not authenticate") from None


def wrap_b64(kek: bytes, key: bytes, *, purpose: str, binding: Mapping[str, str] | None = None,
             aead: AESGCM | None = None) -> str:
    return binascii.b2a_base64(wrap(kek, key, purpose=purpose, binding=binding, aead=aead), newline=False).decode()


def unwrap_b64(kek: bytes, blob: str, *, purpose: str, binding: Mapping[str, str] | None = None) -> bytes:
    try:
        raw = base64.b64decode(blob, validate=True)
    except (ValueError, TypeError):
        raise UnwrapError("wrapped key is not base64") from None
    return unwrap(kek, raw, purpose=purpose, binding=binding)


class UnwrapCache:
    """Bounded LRU of unwrapped keys, keyed by everything the unwrap depends on (key-encryption key, wrapped
    blob, purpose, binding), so a hit returns exactly what unwrap_b64 would. Saves an AES-GCM setup and
    decryption per small GET. Only for keys wrapped under server-held keys: SSE-C keys are never cached (the
    customer's key must not outlive the request), nor KMS Decrypt results (KMS counts every call)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[bytes, str, str], tuple[Mapping[str, str], bytes]] = OrderedDict()

    def unwrap_b64(self, kek: bytes, blob: str, *, purpose: str, binding: Mapping[str, str] | None = None) -> bytes:
        # Keyed by what identifies the wrapped key; the binding it unwrapped under is kept beside it and compared
        # on a hit (equal mappings give the same AAD, so the same result; another binding is unwrapped for real,
        # which fails unless it is equal). Comparing two stored records is one C-level comparison of their values,
        # where a key made of the binding's items decoded them on every GET.
        cache_key = (kek, blob, purpose)
        entry = self._entries.get(cache_key)
        bound = binding or {}
        if entry is not None and (entry[0] is bound or entry[0] == bound):
            self._entries.move_to_end(cache_key)
            return entry[1]
        key = unwrap_b64(kek, blob, purpose=purpose, binding=binding)     # raises UnwrapError: nothing cached
        # A binding that could change later (a dict) is kept as a copy; an immutable mapping (a stored record) as is.
        self._entries[cache_key] = (dict(bound) if isinstance(bound, MutableMapping) else bound, key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return key
