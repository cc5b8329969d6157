"""Object-level server-side encryption: the contract between the HTTP core and the encryption code.

CONTRACT (docs/DESIGN.md): signatures below are fixed; the encryption helper fills the bodies.
Every stored byte goes through `WritePlan.encryptor()`; every served byte through `ObjectKeys.decrypt_range`.
Headers passed in are lower-cased request headers (or, for POST Object, lower-cased form fields).

Added keyword parameters (defaults keep the fixed signatures valid): plan_write(bucket=, key=,
signature_version=), open_read(signature_version=), response_headers(include_context=).
Every object is encrypted at rest whatever it reports: SSE-S3 and "no SSE" (aws-legacy) under a random data key
wrapped by the root key, SSE-KMS under a KMS data key (or one wrapped by a Bucket Key), DSSE-KMS under a KMS
data key plus an independent root-wrapped outer layer, SSE-C under a random data key wrapped by the customer key
(the server keeps only a salted HMAC of the customer key, keyed by the root key).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mockserver.crypto import gcm_stream, keywrap
from mockserver.dialects import DSSE_KMS, SSE_KMS, SSE_S3
from mockserver.errors import S3Error, access_denied, internal_error, invalid_argument, kms_failure
from mockserver.kms.engine import KmsError, KmsKey
from mockserver.sse import headers as H
from mockserver.sse.bucket_config import BucketEncryption
from mockserver.sse.bucketkeys import BucketKeyCache
from mockserver.storage.records import base64_text

SSE_C = "sse-c"
META_VERSION = 1
_KMS_MODES = (SSE_KMS, DSSE_KMS)
# Operations that serve object bytes: KMS state is checked and keys fetched before the response starts.
# Others (HeadObject, GetObjectAttributes...) make no KMS call unless bytes are asked for after all.
_DATA_OPERATIONS = ("GetObject", "GetPart", "CopyObject", "UploadPartCopy")


class StreamEncryptor(Protocol):
    """Encrypts one stored blob (an object body or one multipart part). Output is self-describing
    (it starts with its own nonce header), so the core stores exactly the bytes it is given."""

    def update(self, data: bytes | bytearray | memoryview) -> bytes: ...
    def update_view(self, data: bytes | bytearray | memoryview) -> memoryview:
        """update() without intermediate copies where it can; the view is valid until the next call."""
        ...

    def finalize(self) -> bytes: ...


@dataclass
class WritePlan:
    meta: dict[str, Any]                      # JSON-serialisable; stored with the object / upload
    response_headers: dict[str, str]          # SSE headers for the write response
    _make_encryptor: Callable[[], StreamEncryptor] = field(repr=False, default=None)  # type: ignore[assignment]

    def encryptor(self) -> StreamEncryptor:
        return self._make_encryptor()


@dataclass
class ObjectKeys:
    response_headers: dict[str, str]
    _decrypt: Callable[[Callable[[int, int], bytes], int, int, int], Iterator[bytes]] = field(repr=False, default=None)  # type: ignore[assignment]
    _ciphertext_size: Callable[[int], int] = field(repr=False, default=None)  # type: ignore[assignment]
    _decrypt_views: Callable[..., Iterator[bytes | memoryview]] | None = field(repr=False, default=None)
    _decrypt_bytes: Callable[[Callable[[int, int], bytes], int, int, int], bytes] | None = field(repr=False,
                                                                                             default=None)

    def decrypt_bytes(self, read: Callable[[int, int], bytes], plaintext_size: int, start: int, end: int) -> bytes:
        """b"".join(decrypt_range(...)): the plaintext of a small range in one piece."""
        if self._decrypt_bytes is None:
            return b"".join(self._decrypt(read, plaintext_size, start, end))
        return self._decrypt_bytes(read, plaintext_size, start, end)

    def decrypt_range(self, read: Callable[[int, int], bytes], plaintext_size: int, start: int, end: int) -> Iterator[bytes]:
        """Yield plaintext bytes [start, end] (inclusive) of one stored blob of `plaintext_size` bytes.
        `read(offset, length)` returns stored (ciphertext) bytes of that blob."""
        return self._decrypt(read, plaintext_size, start, end)

    def ciphertext_size(self, plaintext_size: int) -> int:
        return self._ciphertext_size(plaintext_size)

    def decrypt_range_views(self, reader: Any, plaintext_size: int, start: int, end: int,
                            pool: gcm_stream.BufferPool | None = None) -> Iterator[bytes | memoryview]:
        """decrypt_range() for long ranges: `reader` has read(offset, length) and readinto(offset, view); large
        batches are decrypted into pooled buffers (see gcm_stream.decrypt_range_views) where the keys allow it."""
        if self._decrypt_views is None:
            return self._decrypt(reader.read, plaintext_size, start, end)
        return self._decrypt_views(reader, plaintext_size, start, end, pool)


# base64.b64encode's text, which the stored plan then packs without decoding it (the function itself: a wrapper
# was one more call per PUT)
_b64 = base64_text


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _reported_context(ctx: Mapping[str, str]) -> dict[str, str]:
    """The context a write response reports: the pairs the request sent, without the aws:s3:arn pair S3 adds for
    KMS (minio/minio#11415, a MinIO maintainer's account of AWS tested: "If the user specifies a SSE-KMS context
    without the bucket/object name then AWS stores the exact context the client provided but adds the bucket/object
    name internally. The response contains the KMS context without the bucket/object name."). A context of S3's pair
    alone (nothing sent: only a deviating echo reaches here) is reported whole. Not told apart: a request that names
    aws:s3:arn itself, which the same account says AWS reports back (no case checks it; the record keeps no flag)."""
    sent = {k: v for k, v in ctx.items() if k != "aws:s3:arn"}
    return sent or dict(ctx)


def kms_error(exc: KmsError) -> S3Error:
    """KMS failures as S3 reports them: code KMS.<Exception>, KMS's message, status 400. KMS's access denial
    (another account's key) is S3's 403 AccessDenied carrying KMS's message: recorded in public reports of S3
    answers, e.g. ministryofjustice/modernisation-platform#11726 ("AccessDenied: User: ... is not authorized to
    perform: kms:Decrypt on resource: ... status code: 403"); AWS re:Post "cross-account-access-denied-error-s3"
    documents the Access Denied error for a key of another account without a key policy grant."""
    if exc.type == "AccessDeniedException":
        return access_denied(exc.message)
    if exc.type == "KMSInternalException":           # the embedded KMS could not write its state (full disk)
        return internal_error()
    return kms_failure(exc.type, exc.message)


def _corrupt() -> S3Error:
    return internal_error()


@dataclass
class _Keys:
    """Plaintext stream keys of one object: one layer, or inner + outer for DSSE-KMS."""
    inner: bytes
    outer: bytes | None = None

    def encryptor(self) -> StreamEncryptor:
        if self.outer is None:
            return gcm_stream.ChunkedEncryptor(self.inner)
        return gcm_stream.LayeredEncryptor(self.inner, self.outer)

    def ciphertext_size(self, plaintext_size: int) -> int:
        if self.outer is None:
            return gcm_stream.ciphertext_size(plaintext_size)
        return gcm_stream.layered_ciphertext_size(plaintext_size)

    def decrypt(self, read: Callable[[int, int], bytes], size: int, start: int, end: int) -> Iterator[bytes]:
        try:
            if self.outer is None:
                yield from gcm_stream.decrypt_range(self.inner, read, size, start, end)
            else:
                yield from gcm_stream.layered_decrypt_range(self.inner, self.outer, read, size, start, end)
        except gcm_stream.CorruptStream:
            raise _corrupt() from None

    def decrypt_bytes(self, read: Callable[[int, int], bytes], size: int, start: int, end: int) -> bytes:
        if self.outer is not None:
            return b"".join(self.decrypt(read, size, start, end))
        try:
            return gcm_stream.decrypt_range_bytes(self.inner, read, size, start, end)
        except gcm_stream.CorruptStream:
            raise _corrupt() from None

    def decrypt_views(self, reader: Any, size: int, start: int, end: int,
                      pool: gcm_stream.BufferPool | None) -> Iterator[bytes | memoryview]:
        if self.outer is not None:
            yield from self.decrypt(reader.read, size, start, end)
            return
        try:
            yield from gcm_stream.decrypt_range_views(self.inner, reader.readinto, size, start, end, pool,
                                                      getattr(reader, "window", None))
        except gcm_stream.CorruptStream:
            raise _corrupt() from None


def _size_only(meta: Mapping[str, Any]) -> Callable[[int], int]:
    if meta.get("outer"):
        return gcm_stream.layered_ciphertext_size
    return gcm_stream.ciphertext_size


class EncryptionService:
    def __init__(self, *, dialect: Any, kms: Any, root_key: bytes, region: str,
                 allow_sse_c_over_http: bool = False) -> None:
        self.dialect = dialect
        self.kms = kms
        self.region = region
        self.allow_sse_c_over_http = allow_sse_c_over_http
        self._root = root_key
        self._root_aead = AESGCM(root_key)            # keywrap.wrap(aead=): the root key's context, made once
        self._bucket_keys = BucketKeyCache()
        self._unwrapped = keywrap.UnwrapCache()     # SSE-S3 and bucket-key data keys (never SSE-C or KMS)

    # ---- helpers ------------------------------------------------------------------------------------
    def _check_tls(self, secure: bool) -> None:
        if not secure and self.dialect.sse_c_requires_tls and not self.allow_sse_c_over_http:
            raise H.invalid_request(H.MSG_SSEC_NEEDS_TLS)

    def _customer_key(self, headers: Mapping[str, str], secure: bool, prefix: str = H.SSEC_PREFIX,
                      read: bool = False) -> H.CustomerKey | None:
        if not H.has_ssec(headers, prefix):
            return None
        self._check_tls(secure)
        return H.parse_customer_key(headers, prefix, read=read)

    def _ssec_hmac(self, salt: bytes, ck: H.CustomerKey) -> bytes:
        # Keyed by the root key: the stored value is useless for guessing the customer key offline.
        return hmac.new(self._root, salt + ck.key, hashlib.sha256).digest()

    def _ssec_matches(self, meta: Mapping[str, Any], ck: H.CustomerKey) -> bool:
        s = meta["ssec"]
        return hmac.compare_digest(self._ssec_hmac(_unb64(s["salt"]), ck), _unb64(s["hmac"]))

    def _resolve_kms(self, account_id: str, ref: str | None) -> KmsKey:
        """Key for a write: the given reference (dialect prefix stripped) or the account's aws/s3 key."""
        try:
            if not ref:
                key = self.kms.managed_key(account_id)
            else:
                prefix = self.dialect.kms_key_prefix
                if prefix:
                    if not ref.startswith(prefix):
                        raise KmsError("NotFoundException", f"Invalid keyId '{ref}'")
                    ref = ref[len(prefix):]
                key = self.kms.resolve(account_id, ref, action="GenerateDataKey")
            self.kms.check_usable(key)
            return key
        except KmsError as exc:
            raise kms_error(exc) from None

    def _key_for_read(self, meta: Mapping[str, Any]) -> KmsKey:
        try:
            key = self.kms.resolve(meta["kms_account"], meta["kms_key"])
            self.kms.check_usable(key)
            return key
        except KmsError as exc:
            raise kms_error(exc) from None

    def _format_key_id(self, arn: str) -> str:
        if self.dialect.kms_key_response_form == "id":
            return self.dialect.kms_key_prefix + arn.rsplit("/", 1)[1]
        return self.dialect.kms_key_prefix + arn

    # ---- write side ---------------------------------------------------------------------------------
    def plan_write(self, *, operation: str, headers: Mapping[str, str], bucket_encryption: BucketEncryption | None,
                   account_id: str, secure: bool, bucket: str = "", key: str = "",
                   signature_version: int = 4) -> WritePlan:
        """PutObject, CopyObject (destination), POST Object, CreateMultipartUpload. Validates the SSE headers
        (SSE-C triple, KMS key, algorithm, bucket key, SSE-C blocked), applies the bucket default, obtains the
        data key (KMS / bucket key / root key) and returns the plan. Raises S3Error."""
        d = self.dialect
        sse = headers.get(H.SSE)
        kms_ref = headers.get(H.SSE_KMS_KEY)
        ck = None
        if H.has_ssec(headers):
            if sse is not None:
                raise invalid_argument(H.MSG_SSEC_WITH_SSE, H.SSE, sse)
            ck = self._customer_key(headers, secure)
        if ck is not None:
            blocked = (bucket_encryption.blocks_sse_c() if bucket_encryption is not None
                       else d.sse_c_blocked_by_default)
            if blocked:
                raise access_denied()
            return self._plan_ssec(ck, bucket, key)

        if sse is not None and sse not in d.object_algorithms:
            raise invalid_argument(H.MSG_SSE_UNSUPPORTED, H.SSE, sse)
        if kms_ref is not None and (sse is None or not d.takes_kms_key(sse)):
            raise invalid_argument(H.MSG_KMS_KEY_NEEDS_KMS.format(algorithm=d.algorithm_for_mode(SSE_KMS)),
                                   H.SSE_KMS_KEY, kms_ref)
        bucket_key_header = H.parse_bucket_key_header(headers)

        cfg = bucket_encryption
        algorithm: str | None = None          # None: no SSE reported (no header, no bucket default)
        if sse is not None:
            algorithm = sse
        elif cfg is not None:
            algorithm = cfg.algorithm
            kms_ref = cfg.kms_key_id if d.takes_kms_key(cfg.algorithm) else None
        # Unreported objects are still encrypted at rest, like SSE-S3.
        mode = (d.mode_of(algorithm) if algorithm else None) or SSE_S3
        binding = {"id": _b64(os.urandom(12)), "bucket": bucket, "key": key}
        meta: dict[str, Any] = {"v": META_VERSION, "mode": mode, "alg": algorithm, "bind": binding}

        if mode == SSE_S3:
            data_key = keywrap.new_key()
            meta["wrapped"] = _b64(keywrap.wrap(self._root, data_key, purpose="sse-s3", binding=binding,
                                                aead=self._root_aead))
            return self._plan(meta, _Keys(data_key))

        if signature_version != 4 and d.kms_requires_sigv4:
            raise invalid_argument(H.MSG_KMS_NEEDS_SIGV4)
        kms_key = self._resolve_kms(account_id, kms_ref or None)
        # The context is echoed only when the request sent one: AWS recordings of PutObject, CopyObject and
        # CreateMultipartUpload with SSE-KMS and no context carry none (LocalStack test_s3_sse_default_kms_key,
        # test_s3_sse_bucket_key_default, test_s3_multipart_upload_sse, test_s3_copy_object_in_place_with_encryption).
        echo_context = H.SSE_CONTEXT in headers
        use_bucket_key = bool(bucket_key_header if bucket_key_header is not None
                              else (cfg.bucket_key_enabled if cfg is not None else False))
        use_bucket_key = use_bucket_key and d.bucket_keys_supported and mode == SSE_KMS
        user_ctx = H.parse_context_header(headers) or {}
        object_arn = f"arn:aws:s3:::{bucket}/{key}"
        meta.update({"kms_key": kms_key.arn, "kms_account": kms_key.account_id, "bk": use_bucket_key})
        if use_bucket_key:
            # The bucket key is made under the bucket ARN alone; objects report that context too.
            kms_ctx = {"aws:s3:arn": f"arn:aws:s3:::{bucket}"}
            bk = self._bucket_keys.for_write(account_id, bucket, kms_key.arn,
                                             lambda: self._generate(account_id, kms_key.arn, kms_ctx))
            data_key = keywrap.new_key()
            meta["ctx"] = {**user_ctx, **kms_ctx}
            meta["kms_ctx"] = kms_ctx
            meta["kms_blob"] = _b64(bk.blob)
            meta["wrapped"] = keywrap.wrap_b64(bk.plaintext, data_key, purpose="bucket-key", binding=binding)
            return self._plan(meta, _Keys(data_key), echo_context)
        ctx = {**user_ctx, "aws:s3:arn": object_arn}
        data_key, blob = self._generate(account_id, kms_key.arn, ctx)
        meta["ctx"] = ctx
        meta["kms_blob"] = _b64(blob)
        if mode == DSSE_KMS:
            outer = keywrap.new_key()
            meta["outer"] = keywrap.wrap_b64(self._root, outer, purpose="dsse-outer", binding=binding,
                                             aead=self._root_aead)
            return self._plan(meta, _Keys(data_key, outer), echo_context)
        return self._plan(meta, _Keys(data_key), echo_context)

    def _generate(self, account_id: str, key_arn: str, ctx: Mapping[str, str]) -> tuple[bytes, bytes]:
        try:
            _, plaintext, blob = self.kms.generate_data_key(account_id, key_arn, ctx)
        except KmsError as exc:
            raise kms_error(exc) from None
        return plaintext, blob

    def _plan_ssec(self, ck: H.CustomerKey, bucket: str, key: str) -> WritePlan:
        salt = os.urandom(16)
        binding = {"id": _b64(os.urandom(12)), "bucket": bucket, "key": key}
        data_key = keywrap.new_key()
        # Only the salted HMAC (keyed by the root key) identifies the customer key: no unsalted MD5 of it is
        # stored (it would allow offline guessing of weak keys); responses echo the MD5 the request carried.
        # Objects written before kept an "md5" entry: they still read (the HMAC decides), the entry is unused.
        meta = {
            "v": META_VERSION, "mode": SSE_C, "alg": None, "bind": binding,
            "ssec": {"salt": _b64(salt), "hmac": _b64(self._ssec_hmac(salt, ck))},
            "wrapped": keywrap.wrap_b64(ck.key, data_key, purpose="sse-c", binding=binding),
        }
        return self._plan(meta, _Keys(data_key), customer_key=ck)

    def _plan(self, meta: dict[str, Any], keys: _Keys, echo_context: bool = False, *,
              customer_key: H.CustomerKey | None = None) -> WritePlan:
        return WritePlan(meta, self.response_headers(meta, include_context=echo_context, customer_key=customer_key),
                         keys.encryptor)

    def plan_part(self, *, upload_meta: Mapping[str, Any], headers: Mapping[str, str], secure: bool) -> WritePlan:
        """UploadPart / UploadPartCopy (destination side): checks the SSE-C parameters repeat the initiate's,
        returns a plan encrypting the part under the upload's data key."""
        if upload_meta.get("mode") == SSE_C:
            if not H.has_ssec(headers):
                raise H.invalid_request(H.MSG_PART_NEEDS_SSEC)
            ck = self._customer_key(headers, secure)
            assert ck is not None
            if not self._ssec_matches(upload_meta, ck):
                raise H.invalid_request(H.MSG_PART_SSEC_DIFFERS)
            keys = self._keys(upload_meta, ck)
            return WritePlan({}, self.response_headers(upload_meta, customer_key=ck), keys.encryptor)
        else:
            if H.has_ssec(headers):
                # Recorded (LocalStack test_multipart_upload_sse_c_validation, mpu-no-sse-c-upload-part-with-sse-c):
                # the same text as for a part that lacks the initiate's SSE-C.
                self._check_tls(secure)
                H.parse_customer_key(headers)
                raise H.invalid_request(H.MSG_PART_NEEDS_SSEC)
            keys = self._keys(upload_meta, None)
        return WritePlan({}, self.response_headers(upload_meta), keys.encryptor)

    # ---- read side ----------------------------------------------------------------------------------
    def _keys(self, meta: Mapping[str, Any], ck: H.CustomerKey | None) -> _Keys:
        """Plaintext stream keys of a stored object (KMS Decrypt for KMS objects without a bucket key)."""
        mode, binding = meta["mode"], meta["bind"]
        try:
            if mode == SSE_C:
                assert ck is not None
                return _Keys(keywrap.unwrap_b64(ck.key, meta["wrapped"], purpose="sse-c", binding=binding))
            if mode == SSE_S3:
                return _Keys(self._unwrapped.unwrap_b64(self._root, meta["wrapped"], purpose="sse-s3",
                                                        binding=binding))
            kms_key = self._key_for_read(meta)
            blob = _unb64(meta["kms_blob"])
            if meta.get("bk"):
                bucket_key = self._bucket_keys.plaintext_for(
                    blob, lambda: self._decrypt(meta["kms_account"], blob, meta["kms_ctx"]))
                return _Keys(self._unwrapped.unwrap_b64(bucket_key, meta["wrapped"], purpose="bucket-key",
                                                        binding=binding))
            inner = self._decrypt(kms_key.account_id, blob, meta["ctx"])
            outer = (keywrap.unwrap_b64(self._root, meta["outer"], purpose="dsse-outer", binding=binding)
                     if meta.get("outer") else None)
            return _Keys(inner, outer)
        except keywrap.UnwrapError:
            raise _corrupt() from None

    def _decrypt(self, account_id: str, blob: bytes, ctx: Mapping[str, str]) -> bytes:
        try:
            return self.kms.decrypt(account_id, blob, ctx)[1]
        except KmsError as exc:
            raise kms_error(exc) from None

    def open_read(self, *, operation: str, meta: Mapping[str, Any], headers: Mapping[str, str], account_id: str,
                  secure: bool, copy_source: bool = False, signature_version: int = 4) -> ObjectKeys:
        """GetObject, HeadObject, CopyObject/UploadPartCopy source (copy_source=True reads the
        x-amz-copy-source-server-side-encryption-customer-* headers). Raises S3Error (InvalidRequest,
        AccessDenied, KMS.DisabledException, 400 for SSE headers sent on GET/HEAD of SSE-S3/KMS objects)."""
        mode = meta["mode"]
        prefix = H.COPY_SSEC_PREFIX if copy_source else H.SSEC_PREFIX
        if not copy_source:
            for name in (H.SSE, H.SSE_KMS_KEY):
                if name in headers:
                    raise invalid_argument(H.MSG_HEADER_NOT_SUPPORTED.format(header=name), name, headers[name])
        ck = None
        if mode == SSE_C:
            if not H.has_ssec(headers, prefix):
                raise H.invalid_request(H.MSG_SSEC_NEEDED)
            ck = self._customer_key(headers, secure, prefix, read=True)
            assert ck is not None
            if not self._ssec_matches(meta, ck):
                raise access_denied(H.MSG_SSEC_WRONG_KEY)
        elif H.has_ssec(headers, prefix):
            self._customer_key(headers, secure, prefix)
            raise H.invalid_request(H.MSG_SSEC_NOT_APPLICABLE)
        if mode in _KMS_MODES and signature_version != 4 and self.dialect.kms_requires_sigv4:
            raise invalid_argument(H.MSG_KMS_NEEDS_SIGV4)

        if operation not in _DATA_OPERATIONS:
            cache: list[_Keys] = []

            def lazy(read: Callable[[int, int], bytes], size: int, start: int, end: int) -> Iterator[bytes]:
                if not cache:
                    cache.append(self._keys(meta, ck))
                return cache[0].decrypt(read, size, start, end)

            return ObjectKeys(self.response_headers(meta, customer_key=ck), lazy, _size_only(meta))
        keys = self._keys(meta, ck)
        return ObjectKeys(self.response_headers(meta, customer_key=ck), keys.decrypt, keys.ciphertext_size,
                          keys.decrypt_views, keys.decrypt_bytes)

    def request_customer_key(self, meta: Mapping[str, Any], headers: Mapping[str, str],
                             secure: bool) -> H.CustomerKey | None:
        """The SSE-C key a request carries for an SSE-C object or upload, when it is that object's key (for
        echoing its MD5 where the operation does not itself check the key: CompleteMultipartUpload, ListParts).
        None when absent, malformed or another key: those answers are the operation's own business."""
        if meta.get("mode") != SSE_C or not H.has_ssec(headers):
            return None
        try:
            ck = H.parse_customer_key(headers)
        except S3Error:
            return None
        return ck if ck is not None and self._ssec_matches(meta, ck) else None

    def response_headers(self, meta: Mapping[str, Any], *, include_context: bool = False,
                         customer_key: H.CustomerKey | None = None) -> dict[str, str]:
        """SSE response headers of a stored object (CompleteMultipartUpload, ListParts, etc.).
        include_context: also x-amz-server-side-encryption-context (PutObject, CopyObject, CreateMultipartUpload
        responses when the request sent a context; GetObject and HeadObject never, per botocore's S3 model).
        customer_key: the SSE-C key the request carried; its MD5 (as the client sent it) is echoed. Without
        one, an SSE-C object's key MD5 is not known (not stored) and only the algorithm is answered."""
        out: dict[str, str] = {}
        if meta.get("alg"):
            out[H.SSE] = meta["alg"]
        if meta.get("kms_key"):
            out[H.SSE_KMS_KEY] = self._format_key_id(meta["kms_key"])
            if include_context and meta.get("ctx"):
                out[H.SSE_CONTEXT] = H.encode_context(_reported_context(meta["ctx"]))
            if meta.get("bk"):
                out[H.SSE_BUCKET_KEY] = "true"
        if meta.get("mode") == SSE_C:
            out[H.SSEC_ALGORITHM] = "AES256"
            md5 = customer_key.md5_b64 if customer_key is not None else meta["ssec"].get("md5")  # legacy entry
            if md5:
                out[H.SSEC_KEY_MD5] = md5
        return out

    # ---- UpdateObjectEncryption ---------------------------------------------------------------------
    def update_encryption(self, *, meta: Mapping[str, Any], account_id: str, key_arn: str, bucket_key: bool,
                          bucket: str, key: str) -> dict[str, Any]:
        """UpdateObjectEncryption: the stored object's metadata re-wrapped for SSE-KMS under `key_arn` (with a
        bucket key when `bucket_key`): its data key is unwrapped (root key, bucket key, or one KMS Decrypt of the
        old key) and wrapped again (one KMS Encrypt under the new key, or under the bucket key of the new key).
        The ciphertext does not change: the same data key, the same binding. The caller has checked the source
        is SSE-S3 or SSE-KMS. The user part of the encryption context of an SSE-KMS source is kept (the operation
        "preserves all object metadata properties"; AWS does not document the context: unproven, and invisible
        to GET/HEAD). Raises S3Error (KMS errors as S3 reports them)."""
        keys = self._keys(meta, None)
        data_key = keys.inner
        binding = meta["bind"]
        try:
            kms_key = self.kms.resolve(account_id, key_arn, allow_alias=False, action="Encrypt")
            self.kms.check_usable(kms_key)
        except KmsError as exc:
            raise kms_error(exc) from None
        use_bucket_key = bucket_key and self.dialect.bucket_keys_supported
        old_ctx = meta.get("ctx") or {}
        user_ctx = {k: v for k, v in old_ctx.items() if k != "aws:s3:arn"}
        new: dict[str, Any] = {"v": META_VERSION, "mode": SSE_KMS, "alg": self.dialect.algorithm_for_mode(SSE_KMS),
                               "bind": binding, "kms_key": kms_key.arn, "kms_account": kms_key.account_id,
                               "bk": use_bucket_key}
        if use_bucket_key:
            kms_ctx = {"aws:s3:arn": "arn:aws:s3:::" + bucket}      # the bucket key's context, as plan_write's
            bk = self._bucket_keys.for_write(account_id, bucket, kms_key.arn,
                                             lambda: self._generate(account_id, kms_key.arn, kms_ctx))
            new["ctx"] = {**user_ctx, **kms_ctx}
            new["kms_ctx"] = kms_ctx
            new["kms_blob"] = _b64(bk.blob)
            new["wrapped"] = keywrap.wrap_b64(bk.plaintext, data_key, purpose="bucket-key", binding=binding)
            return new
        ctx = {**user_ctx, "aws:s3:arn": f"arn:aws:s3:::{bucket}/{key}"}
        try:
            _, blob = self.kms.encrypt(account_id, kms_key.arn, data_key, ctx)
        except KmsError as exc:
            raise kms_error(exc) from None
        new["ctx"] = ctx
        new["kms_blob"] = _b64(blob)
        return new

    # ---- helpers for the core -----------------------------------------------------------------------
    @staticmethod
    def encryption_changed(source_meta: Mapping[str, Any], dest_meta: Mapping[str, Any]) -> bool:
        """CopyObject onto itself is allowed when the encryption changes: mode, reported algorithm, KMS key,
        bucket key. SSE-C to SSE-C counts as a change (key rotation; the keys are not comparable here)."""
        if source_meta.get("mode") == SSE_C and dest_meta.get("mode") == SSE_C:
            return True
        fields = ("mode", "alg", "kms_key", "bk")
        return any(source_meta.get(f) != dest_meta.get(f) for f in fields)

    @staticmethod
    def request_sets_encryption(headers: Mapping[str, str]) -> bool:
        """The request names an encryption itself (SSE or SSE-C headers)."""
        return H.SSE in headers or H.has_ssec(headers)

    @staticmethod
    def etag_is_md5(meta: Mapping[str, Any]) -> bool:
        """AWS: the ETag of SSE-KMS, DSSE-KMS and SSE-C objects is not the MD5 of the data."""
        return meta.get("mode") == SSE_S3
