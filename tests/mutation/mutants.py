"""Named mutants of the reference server: each a realistic deviation a vendor's S3 could have, applied as exact
text edits (file, old text, new text) to a temporary copy of the repository by tests/mutation/harness.py.
Every old text must occur exactly once in its file (tests/test_mutants_apply.py checks it on every CI run), so a
refactor makes a mutant fail loudly instead of silently testing nothing. `control=True`: an equivalent change
(or, for control.put-always-500, a change that breaks everything) that checks the harness itself."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Edit:
    file: str
    old: str
    new: str


@dataclass(frozen=True)
class Mutant:
    name: str
    area: str
    description: str
    edits: tuple[Edit, ...]
    profile: str = "aws"
    control: bool = False

    @property
    def file(self) -> str:
        return ", ".join(dict.fromkeys(e.file for e in self.edits))


MUTANTS: list[Mutant] = []

PRESIGN = "mockserver/auth/presign.py"
SIGV4 = "mockserver/auth/sigv4.py"
SIGV2 = "mockserver/auth/sigv2.py"
CRED = "mockserver/auth/credential.py"
TS = "mockserver/auth/timestamps.py"
AUTH = "mockserver/auth/__init__.py"
PAYLOAD = "mockserver/auth/payload.py"
CHUNKED = "mockserver/auth/aws_chunked.py"
POLICY = "mockserver/auth/postpolicy.py"
SVC = "mockserver/sse/service.py"
HDR = "mockserver/sse/headers.py"
BCFG = "mockserver/sse/bucket_config.py"
BKEYS = "mockserver/sse/bucketkeys.py"
DIAL = "mockserver/dialects.py"
KMS = "mockserver/kms/engine.py"
CKS = "mockserver/checksums.py"
WRITE = "mockserver/datapath/write.py"
OBJ = "mockserver/handlers/objects.py"
COPY = "mockserver/handlers/copy.py"
ENC = "mockserver/handlers/encryption.py"
MPU = "mockserver/handlers/multipart.py"
ERR = "mockserver/errors.py"


def m(name: str, area: str, description: str, file: str, old: str, new: str, *, profile: str = "aws",
      control: bool = False) -> None:
    MUTANTS.append(Mutant(name, area, description, (Edit(file, old, new),), profile, control))


def mm(name: str, area: str, description: str, edits: list[tuple[str, str, str]], *, profile: str = "aws",
       control: bool = False) -> None:
    MUTANTS.append(Mutant(name, area, description, tuple(Edit(*e) for e in edits), profile, control))


# ---------------------------------------------------------------------------------------------- authentication
m("auth.presign-expiry-ignored", "auth", "an expired presigned URL is still served", PRESIGN,
  "    if now > expires_at:\n", "    if False and now > expires_at:\n")
m("auth.presign-expiry-hour-late", "auth", "presigned expiry computed one hour late (a local-time bug)", PRESIGN,
  "expires_at = moment + timedelta(seconds=expires)", "expires_at = moment + timedelta(seconds=expires, hours=1)")
m("auth.presign-expires-over-week", "auth", "X-Amz-Expires over 604800 accepted", PRESIGN,
  "    if expires > MAX_EXPIRES:\n", "    if expires > 10 * MAX_EXPIRES:\n")
m("auth.presign-negative-expires", "auth", "a negative X-Amz-Expires accepted", PRESIGN,
  "    if expires < 0:\n", "    if expires < -MAX_EXPIRES:\n")
m("auth.presign-future-accepted", "auth", "a future-dated presigned URL accepted", PRESIGN,
  "    if moment > now + MAX_SKEW:\n", "    if False and moment > now + MAX_SKEW:\n")
m("auth.presign-credential-date-unchecked", "auth", "presigned credential date may differ from X-Amz-Date",
  PRESIGN, "    if credential.date != amz_date[:8]:\n", "    if False:\n")
m("auth.presign-expires-not-number-accepted", "auth", "non-numeric X-Amz-Expires read as 0... then accepted",
  PRESIGN, '    if not is_ascii_digits(expires_text.removeprefix("-")):\n        raise',
  '    if not expires_text:\n        raise')
m("auth.clock-skew-unchecked", "auth", "no clock-skew check on header-signed requests", SIGV4,
  "    if is_skewed(moment, now):\n        raise errors.request_time_too_skewed(moment, now)\n    signed",
  "    signed")
m("auth.clock-skew-60min", "auth", "a 60-minute clock-skew window instead of 15", TS,
  "MAX_SKEW = timedelta(minutes=15)", "MAX_SKEW = timedelta(minutes=60)")
m("auth.scope-region-ignored", "auth", "credential scope with the wrong region accepted", CRED,
  "    if cred_region != region:\n        raise error(f\"the region", "    if False:\n        raise error(f\"the region")
m("auth.scope-service-ignored", "auth", "credential scope with another service accepted", CRED,
  "    if service != expected_service:\n", "    if service not in SERVICES:\n")
m("auth.scope-terminal-ignored", "auth", "credential scope terminal other than aws4_request accepted", CRED,
  '    if terminal != "aws4_request":\n', "    if False:\n")
m("auth.unknown-key-signature-mismatch", "auth",
  "an unknown access key answered SignatureDoesNotMatch instead of InvalidAccessKeyId", SIGV4,
  "    if account is None:\n        raise errors.invalid_access_key_id(credential.access_key)\n    moment",
  '    if account is None:\n        raise errors.signature_does_not_match(credential.access_key, "", "")\n    moment')
m("auth.header-credential-date-unchecked", "auth", "credential date may differ from x-amz-date", SIGV4,
  "    if credential.date != amz_date[:8]:\n", "    if False:\n")
m("auth.missing-content-sha-unsigned", "auth", "a request without x-amz-content-sha256 taken as unsigned payload",
  AUTH, "            raise errors.missing_content_sha256()", "            content_sha = payload.UNSIGNED")
m("auth.host-unsigned-accepted", "auth", "host left out of SignedHeaders accepted", SIGV4,
  '    if "host" not in signed_set:\n        missing.insert(0, "host")\n', "")
m("auth.amz-headers-unsigned-accepted", "auth", "x-amz-* headers left out of SignedHeaders accepted", SIGV4,
  '        if n.startswith("x-amz-") and n not in signed_set',
  '        if n.startswith("x-amz-content-") and n not in signed_set')
m("auth.sse-header-unsigned-accepted", "auth", "an SSE header sent but not signed is accepted", SIGV4,
  "and n not in signed_set and n not in UNSIGNABLE:",
  'and n not in signed_set and n not in UNSIGNABLE and not n.startswith("x-amz-server-side-encryption"):')
m("auth.payload-hash-unchecked", "auth", "x-amz-content-sha256 digest not compared with the body", PAYLOAD,
  "        if computed != self.expected:\n", "        if False:\n")
m("auth.chunk-signature-unchecked", "auth", "aws-chunked chunk signatures not verified", CHUNKED,
  "        if not signatures_equal(sign(s.key, sts), self._chunk_signature):\n",
  "        if False:\n")
m("auth.final-chunk-signature-unchecked", "auth", "the final (zero-length) chunk signature not verified", CHUNKED,
  "        else:\n            self._verify_chunk()\n            self._state = _TRAILER",
  "        else:\n            self.previous = self._chunk_signature\n            self._state = _TRAILER")
m("auth.trailer-signature-unchecked", "auth", "aws-chunked trailer signature not verified", CHUNKED,
  "            if not signatures_equal(sign(s.key, sts), provided):\n", "            if False:\n")
m("auth.sigv2-vhost-not-signed", "auth", "SigV2 string to sign leaves out the virtual-hosted bucket (replayable "
  "against another Host)", SIGV2, '    if vhost_bucket is not None:\n        return "/" + vhost_bucket + (raw_path or "/")\n',
  "")
m("auth.sigv2-presign-expiry-ignored", "auth", "an expired SigV2 presigned URL still served", SIGV2,
  "    if now > expires_at:\n        raise s3_error(\"AccessDenied\", \"Request has expired\",",
  "    if False:\n        raise s3_error(\"AccessDenied\", \"Request has expired\",")
m("auth.sigv2-skew-unchecked", "auth", "no clock-skew check on SigV2 requests", SIGV2,
  "    if is_skewed(moment, now):\n", "    if False:\n")
m("auth.post-expiration-ignored", "auth", "POST policy expiration not enforced", POLICY,
  '    if now > _parse_expiration(document["expiration"]):\n',
  '    if _parse_expiration(document["expiration"]) and False:\n')
m("auth.post-starts-with-ignored", "auth", "POST policy starts-with not enforced", POLICY,
  'ok = actual == expected if op == "eq" else actual.startswith(expected)',
  'ok = actual == expected if op == "eq" else True')
m("auth.post-eq-case-insensitive", "auth", "POST policy eq compared case-insensitively", POLICY,
  'ok = actual == expected if op == "eq" else', 'ok = actual.lower() == expected.lower() if op == "eq" else')
m("auth.post-extra-fields-allowed", "auth", "POST form fields not covered by the policy accepted", POLICY,
  "    if extra:\n", "    if False:\n")
m("auth.post-length-range-ignored", "auth", "POST content-length-range not enforced", POLICY,
  "        if file_size > high:\n", "        if False:\n")
m("auth.post-signature-unchecked", "auth", "POST policy SigV4 signature not verified", POLICY,
  "        if not signatures_equal(sign(key, policy), provided):\n", "        if False:\n")
m("auth.post-dict-condition-ignored", "auth", "POST policy {field: value} conditions not enforced", POLICY,
  "            if value_of(lname) != str(expected):\n", "            if False:\n")
# Equivalent, so a control: mockserver/formdata.py (one_value_per_field) already merges field names case-insensitively
# and refuses a field repeated with a different value before the policy check runs, so the policy never sees two
# spellings of one name and the order of this comprehension cannot matter. A real "first one wins" deviation would
# live in formdata.py, and a case for it would need evidence of AWS's answer to repeated fields (none found).
m("auth.post-duplicate-field-case", "auth", "POST policy fields lowered in reverse order (equivalent: formdata "
  "already made names unique)", POLICY,
  "    lowered = {k.lower(): v for k, v in fields.items()}",
  "    lowered = {k.lower(): v for k, v in reversed(list(fields.items()))}", control=True)

# ---------------------------------------------------------------------------------------- encryption context
m("context.dropped", "context", "the request's encryption context dropped (only the default pair used)", SVC,
  "        user_ctx = H.parse_context_header(headers) or {}",
  "        H.parse_context_header(headers)\n        user_ctx: dict[str, str] = {}")
m("context.default-pair-missing", "context", "the default aws:s3:arn pair not added", SVC,
  '        ctx = {**user_ctx, "aws:s3:arn": object_arn}', "        ctx = {**user_ctx}")
m("context.user-overrides-arn", "context", "a request's aws:s3:arn pair overrides the object ARN", SVC,
  '        ctx = {**user_ctx, "aws:s3:arn": object_arn}', '        ctx = {"aws:s3:arn": object_arn, **user_ctx}')
m("context.bucket-key-object-arn", "context", "with a bucket key the context is the object ARN, not the bucket's",
  SVC, '            kms_ctx = {"aws:s3:arn": f"arn:aws:s3:::{bucket}"}', '            kms_ctx = {"aws:s3:arn": object_arn}')
m("context.bucket-key-user-dropped", "context", "with a bucket key the request's context pairs are dropped", SVC,
  '            meta["ctx"] = {**user_ctx, **kms_ctx}', '            meta["ctx"] = dict(kms_ctx)')
m("context.echoed-on-read", "context", "the context echoed on GET/HEAD/UploadPart", SVC,
  '            if include_context and meta.get("ctx"):', '            if meta.get("ctx"):')
m("context.never-echoed", "context", "the context never echoed on writes", SVC,
  "        echo_context = H.SSE_CONTEXT in headers", "        echo_context = False")
m("context.always-echoed", "context", "the context echoed on every SSE-KMS write, asked for or not", SVC,
  "        echo_context = H.SSE_CONTEXT in headers", "        echo_context = True")
m("context.non-string-accepted", "context", "non-string context values ({\"a\":1}) accepted", HDR,
  "not all(isinstance(k, str) and isinstance(v, str) for k, v in ctx.items())",
  "not all(isinstance(k, str) for k in ctx)")
m("context.bad-json-ignored", "context", "a context header that is not base64 JSON silently ignored", HDR,
  "        raise invalid_argument(MSG_BAD_CONTEXT, SSE_CONTEXT, value) from None", "        return None")

# ------------------------------------------------------------------------------------- bucket configuration
m("bucketcfg.bucket-key-false-missing", "bucket-config", "GetBucketEncryption omits BucketKeyEnabled false after a "
  "PUT without it", DIAL, "    bucket_key_echo_false: bool = True", "    bucket_key_echo_false: bool = False")
m("bucketcfg.boolean-TRUE-accepted", "bucket-config", "xs:boolean TRUE/True accepted", BCFG,
  "    value = _text(el).strip()\n    if value == \"true\":", "    value = _text(el).strip().lower()\n    if value == \"true\":")
m("bucketcfg.bad-boolean-false", "bucket-config", "an invalid BucketKeyEnabled read as false", BCFG,
  "        return False\n    raise _SchemaViolation()", "        return False\n    return False")
m("bucketcfg.unknown-elements-ignored", "bucket-config", "unknown elements silently ignored", BCFG,
  "        if name is None or name not in allowed:\n            raise _SchemaViolation()",
  "        if name is None or name not in allowed:\n            continue")
m("bucketcfg.two-rules-accepted", "bucket-config", "two Rules accepted (the first applies)", BCFG,
  "    if not 1 <= len(rules) <= dialect.max_rules:", "    if not rules:")
m("bucketcfg.unknown-algorithm-accepted", "bucket-config", "an unknown SSEAlgorithm accepted", BCFG,
  "    if algorithm not in dialect.bucket_algorithms:\n        raise _SchemaViolation()",
  "    if not algorithm:\n        raise _SchemaViolation()")
m("bucketcfg.kms-key-with-aes256", "bucket-config", "KMSMasterKeyID with AES256 accepted", BCFG,
  "    if kms_key_id is not None and not dialect.takes_kms_key(cfg.algorithm):", "    if False:")
m("bucketcfg.put-unblocks-sse-c", "bucket-config", "a PutBucketEncryption without BlockedEncryptionTypes unblocks SSE-C",
  BCFG, "    if cfg.blocked_encryption_types is None and dialect.sse_c_blocked_by_default:", "    if False:")
m("bucketcfg.blocked-type-unvalidated", "bucket-config", "any EncryptionType value accepted", BCFG,
  "            if value not in _ENCRYPTION_TYPES:\n", "            if not value:\n")
m("bucketcfg.delete-leaves-none", "bucket-config", "DeleteBucketEncryption leaves no configuration (404 after)", ENC,
  "    bucket.encryption = default.to_json() if default is not None else None", "    bucket.encryption = None")
m("bucketcfg.get-omits-kms-key", "bucket-config", "GetBucketEncryption omits KMSMasterKeyID", BCFG,
  "    if cfg.kms_key_id is not None:\n        etree.SubElement", "    if False:\n        etree.SubElement")
m("bucketcfg.get-omits-blocked", "bucket-config", "GetBucketEncryption omits BlockedEncryptionTypes", BCFG,
  "    if cfg.blocked_encryption_types is not None:\n        blocked = etree",
  "    if False:\n        blocked = etree")
m("bucketcfg.foreign-namespace-accepted", "bucket-config", "the root element in a foreign namespace accepted", BCFG,
  "        raise malformed_xml()    # the right name in a foreign namespace", "        pass")
m("bucketcfg.sigv2-accepted", "bucket-config", "bucket encryption operations accept SigV2", ENC,
  "    if signature_version(ctx) == 2:\n", "    if False:\n")
m("bucketcfg.missing-algorithm-accepted", "bucket-config", "ApplyServerSideEncryptionByDefault without SSEAlgorithm "
  "taken as AES256", BCFG, "    if alg_el is None:\n        raise _SchemaViolation()\n    algorithm = _text(alg_el).strip()",
  '    algorithm = _text(alg_el).strip() if alg_el is not None else "AES256"')
m("bucketcfg.text-in-rule-accepted", "bucket-config", "stray text between elements accepted", BCFG,
  '    if (el.text or "").strip():\n        raise _SchemaViolation()\n', "")

# ---------------------------------------------------------------------------------------------- bucket keys
m("bucketkey.dsse-gets-bucket-key", "bucket-keys", "DSSE-KMS objects given (and reporting) a bucket key", SVC,
  "        use_bucket_key = use_bucket_key and d.bucket_keys_supported and mode == SSE_KMS",
  "        use_bucket_key = use_bucket_key and d.bucket_keys_supported")
m("bucketkey.header-ignored", "bucket-keys", "the x-amz-server-side-encryption-bucket-key-enabled header ignored", SVC,
  "        bucket_key_header = H.parse_bucket_key_header(headers)",
  "        H.parse_bucket_key_header(headers)\n        bucket_key_header = None")
m("bucketkey.bucket-default-ignored", "bucket-keys", "the bucket's BucketKeyEnabled default ignored", SVC,
  "(cfg.bucket_key_enabled if cfg is not None else False))", "False)")
m("bucketkey.no-reuse", "bucket-keys", "a new bucket key (GenerateDataKey) for every object", BKEYS,
  "if entry is None or now - entry.created >= REUSE_SECONDS or entry.uses >= REUSE_OBJECTS:", "if True:")
m("bucketkey.read-not-cached", "bucket-keys", "every read of a bucket-key object calls KMS Decrypt", BKEYS,
  "            cached = self._read.get(blob)", "            cached = None")
m("bucketkey.bad-header-accepted", "bucket-keys", "an invalid bucket-key header value taken as absent", HDR,
  '    raise invalid_argument(f"Invalid value for header {SSE_BUCKET_KEY}", SSE_BUCKET_KEY, value)',
  "    return None")
m("bucketkey.shared-across-buckets", "bucket-keys", "one bucket key shared by every bucket of an account", BKEYS,
  "        ident = (account_id, bucket, key_arn)", '        ident = (account_id, "", key_arn)')

# ------------------------------------------------------------------------------------------------------ SSE-C
m("ssec.lowercase-algorithm", "sse-c", "algorithm aes256 (lower case) accepted", HDR,
  '    if algorithm != "AES256":\n        raise s3_error("InvalidEncryptionAlgorithmError"',
  '    if algorithm.upper() != "AES256":\n        raise s3_error("InvalidEncryptionAlgorithmError"')
m("ssec.get-key-unchecked", "sse-c", "no key check on GET (a wrong key is not refused up front)", SVC,
  "            if not self._ssec_matches(meta, ck):\n                raise access_denied(H.MSG_SSEC_WRONG_KEY)",
  "            if False:\n                raise access_denied(H.MSG_SSEC_WRONG_KEY)")
m("ssec.md5-unchecked", "sse-c", "a wrong key MD5 accepted", HDR,
  "    if not md5_matches:\n        raise invalid_argument(MSG_SSEC_MD5_MISMATCH, SSE)",
  "    if False:\n        raise invalid_argument(MSG_SSEC_MD5_MISMATCH, SSE)")
m("ssec.argname-md5-header", "sse-c", "ArgumentName names the offending header (key-md5) instead of "
  "x-amz-server-side-encryption", HDR, "        raise invalid_argument(MSG_SSEC_MD5_MISMATCH, SSE)",
  '        raise invalid_argument(MSG_SSEC_MD5_MISMATCH, prefix + "key-md5")')
m("ssec.argname-key-header", "sse-c", "ArgumentName names the key header for a missing key", HDR,
  "        raise invalid_argument(MSG_SSEC_NO_KEY, SSE)", '        raise invalid_argument(MSG_SSEC_NO_KEY, prefix + "key")')
m("ssec.argname-algorithm-header", "sse-c", "ArgumentName names the algorithm header for a bad algorithm", HDR,
  '{"ArgumentName": SSE, "ArgumentValue": algorithm}', '{"ArgumentName": prefix + "algorithm", "ArgumentValue": algorithm}')
m("ssec.argname-missing-algorithm", "sse-c", "ArgumentName names the algorithm header for a missing algorithm", HDR,
  "        raise invalid_argument(MSG_SSEC_NO_ALGORITHM, SSE)",
  '        raise invalid_argument(MSG_SSEC_NO_ALGORITHM, prefix + "algorithm")')
m("ssec.short-key-accepted", "sse-c", "a key that is not 256 bits (AES-128) accepted", HDR,
  "    if len(key) != 32 or not md5_b64:", "    if not md5_b64:")
m("ssec.missing-md5-mismatch", "sse-c", "a missing key MD5 answered as an MD5 mismatch", HDR,
  "    if len(key) != 32 or not md5_b64:", "    if len(key) != 32:")
m("ssec.over-http", "sse-c", "SSE-C accepted over plain HTTP", SVC,
  "        if not secure and self.dialect.sse_c_requires_tls and not self.allow_sse_c_over_http:", "        if False:")
m("ssec.with-sse-header", "sse-c", "SSE-C together with x-amz-server-side-encryption accepted", SVC,
  "            if sse is not None:\n                raise invalid_argument(H.MSG_SSEC_WITH_SSE, H.SSE, sse)\n", "")
m("ssec.block-ignored", "sse-c", "SSE-C written to a bucket that blocks it", SVC,
  "            if blocked:\n                raise access_denied()", "            if False:\n                raise access_denied()")
m("ssec.read-without-key", "sse-c", "an SSE-C object read without the key headers is not refused as AWS does", SVC,
  "            if not H.has_ssec(headers, prefix):\n                raise H.invalid_request(H.MSG_SSEC_NEEDED)",
  "            if not H.has_ssec(headers, prefix):\n                raise access_denied()")
m("ssec.headers-on-plain-object", "sse-c", "SSE-C headers on a non-SSE-C object ignored", SVC,
  "        elif H.has_ssec(headers, prefix):\n", "        elif False:\n")
m("ssec.wrong-size-read-400", "sse-c", "a wrong-size key with its MD5 on GET answered 400 instead of 403", HDR,
  "    if len(key) != 32 and read and md5_matches:", "    if False:")
m("ssec.copy-source-dest-headers", "sse-c", "the copy source is decrypted with the destination's SSE-C headers", SVC,
  "        prefix = H.COPY_SSEC_PREFIX if copy_source else H.SSEC_PREFIX", "        prefix = H.SSEC_PREFIX")
m("ssec.key-not-base64-accepted", "sse-c", "a key that is not valid base64 decoded leniently", HDR,
  "        key = base64.b64decode(key_b64, validate=True)", "        key = base64.b64decode(key_b64)")

# -------------------------------------------------------------------------------------------------------- KMS
mm("kms.other-account-arn-resolves", "kms", "a key ARN naming another account resolves to the caller's key of the "
   "same id", [(KMS, ("                if owner != account_id:\n                    raise access_denied(account_id, ref, action)\n"
                "                if kind == \"key\":\n                    key = self._keys.get((owner, rest))"),
                "                if kind == \"key\":\n                    key = self._keys.get((account_id, rest))")])
m("kms.other-account-key-usable", "kms", "another account's key usable without a grant", KMS,
  "                if owner != account_id:\n                    raise access_denied(account_id, ref, action)\n", "")
m("kms.head-decrypts", "kms", "HEAD of an SSE-KMS object calls KMS Decrypt", SVC,
  '_DATA_OPERATIONS = ("GetObject", "GetPart", "CopyObject", "UploadPartCopy")',
  '_DATA_OPERATIONS = ("GetObject", "GetPart", "HeadObject", "CopyObject", "UploadPartCopy")')
mm("kms.disabled-ignored-on-read", "kms", "a disabled key ignored on GET (the object still decrypts)",
   [(SVC, '            key = self.kms.resolve(meta["kms_account"], meta["kms_key"])\n            self.kms.check_usable(key)\n',
     '            key = self.kms.resolve(meta["kms_account"], meta["kms_key"])\n'),
    (KMS, '            self.check_usable(key)\n            self._count(key, "Decrypt")', '            self._count(key, "Decrypt")')])
mm("kms.disabled-ignored-on-write", "kms", "a disabled key still encrypts new objects",
   [(SVC, '                key = self.kms.resolve(account_id, ref, action="GenerateDataKey")\n            self.kms.check_usable(key)\n',
     '                key = self.kms.resolve(account_id, ref, action="GenerateDataKey")\n'),
    (KMS, '            key = self.usable_key(account_id, ref, "GenerateDataKey")',
     '            key = self.resolve(account_id, ref, action="GenerateDataKey")')])
m("kms.pending-deletion-ignored", "kms", "a key pending deletion still usable", KMS,
  'is disabled.")\n        if key.state == PENDING_DELETION:', 'is disabled.")\n        if False:')
m("kms.access-denied-as-kms-code", "kms", "KMS access denial reported as 403 KMS.AccessDeniedException, not "
  "AccessDenied", SVC, "        return access_denied(exc.message)",
  '        return S3Error("KMS.AccessDeniedException", exc.message, 403, {}, {})')
m("kms.managed-key-per-object", "kms", "no aws/s3 managed key: a new key for every default SSE-KMS object", SVC,
  "                key = self.kms.managed_key(account_id)", "                key = self.kms.create_key(account_id)")
m("kms.wrong-region-arn-accepted", "kms", "a key ARN of another region accepted", KMS,
  "                if region != self.region:\n", "                if False:\n")
m("kms.key-id-without-kms-accepted", "kms", "a KMS key id with a non-KMS algorithm accepted", SVC,
  "        if kms_ref is not None and (sse is None or not d.takes_kms_key(sse)):", "        if False:")
m("kms.sigv2-write-accepted", "kms", "SSE-KMS writes signed with SigV2 accepted", SVC,
  "        if signature_version != 4 and d.kms_requires_sigv4:\n", "        if False:\n")
m("kms.sigv2-read-accepted", "kms", "SSE-KMS reads signed with SigV2 accepted", SVC,
  "        if mode in _KMS_MODES and signature_version != 4 and self.dialect.kms_requires_sigv4:", "        if False:")
m("kms.bucket-default-key-ignored", "kms", "the bucket default's KMSMasterKeyID ignored (aws/s3 used)", SVC,
  "            kms_ref = cfg.kms_key_id if d.takes_kms_key(cfg.algorithm) else None", "            kms_ref = None")
m("kms.failure-as-500", "kms", "KMS failures answered 500 InternalError", SVC,
  "    return kms_failure(exc.type, exc.message)", "    return S3Error(\"InternalError\", exc.message, 500, {}, {})")
m("kms.alias-unresolved", "kms", "alias names (alias/x) not accepted as key ids", KMS,
  '            if ref.startswith("alias/"):\n                if not allow_alias:',
  '            if ref.startswith("alias/"):\n                if True:')

# ------------------------------------------------------------------------------------------------- integrity
m("integrity.default-crc32", "integrity", "objects uploaded without a checksum stored with CRC32, not CRC64NVME",
  WRITE, 'DEFAULT_CHECKSUM = "crc64nvme"', 'DEFAULT_CHECKSUM = "crc32"')
m("integrity.wrong-length-bad-digest", "integrity", "a checksum value of the wrong length answered BadDigest", CKS,
  '        raise invalid_request(f"Value for x-amz-checksum-{algorithm} header is invalid.")', "        raise bad_digest()")
m("integrity.content-md5-unchecked", "integrity", "Content-MD5 not checked", CKS,
  "        if self.content_md5 is not None and md5 is not None and md5 != self.content_md5:", "        if False:")
m("integrity.bad-content-md5-accepted", "integrity", "a Content-MD5 that is not 16 bytes accepted", CKS,
  "    if len(raw) != 16:\n        raise invalid_digest()", "    if False:\n        raise invalid_digest()")
m("integrity.checksum-unchecked", "integrity", "x-amz-checksum-* header values not compared", CKS,
  "        if expected is not None and checksum is not None and checksum != expected:", "        if False:")
m("integrity.multiple-checksums", "integrity", "several x-amz-checksum-* headers accepted", CKS,
  "        if len(present) > 1:\n", "        if False:\n")
m("integrity.trailer-checksum-unchecked", "integrity", "aws-chunked trailer checksums not compared", CHUNKED,
  "    if expected_b64 != actual_b64:\n", "    if False:\n")
m("integrity.sdk-algorithm-alone", "integrity", "x-amz-sdk-checksum-algorithm without a checksum accepted", CKS,
  "        if sdk_algorithm is not None and self.algorithm is None:", "        if False:")
m("integrity.unsupported-trailer-accepted", "integrity", "an unsupported x-amz-trailer accepted", CKS,
  "            if trailer not in CHECKSUM_HEADERS:\n", "            if False:\n")

# ----------------------------------------------------------------------------------------------------- echoes
m("echo.key-id-not-arn", "echoes", "the KMS key id echoed instead of its ARN", SVC,
  "        return self.dialect.kms_key_prefix + arn\n", '        return self.dialect.kms_key_prefix + arn.rsplit("/", 1)[1]\n')
m("echo.bucket-key-false", "echoes", "bucket-key header echoed as false on objects without one", SVC,
  '            if meta.get("bk"):\n                out[H.SSE_BUCKET_KEY] = "true"',
  '            out[H.SSE_BUCKET_KEY] = "true" if meta.get("bk") else "false"')
m("echo.bucket-key-missing", "echoes", "bucket-key header never echoed", SVC,
  '            if meta.get("bk"):\n                out[H.SSE_BUCKET_KEY] = "true"',
  '            if False:\n                out[H.SSE_BUCKET_KEY] = "true"')
m("echo.sse-missing", "echoes", "x-amz-server-side-encryption never echoed", SVC,
  '        if meta.get("alg"):\n            out[H.SSE] = meta["alg"]', '        if False:\n            out[H.SSE] = meta["alg"]')
m("echo.kms-key-missing", "echoes", "the KMS key id never echoed", SVC,
  '            out[H.SSE_KMS_KEY] = self._format_key_id(meta["kms_key"])', "            pass")
m("echo.ssec-md5-missing", "echoes", "the SSE-C key MD5 not echoed", SVC,
  "            if md5:\n                out[H.SSEC_KEY_MD5] = md5", "            if False:\n                out[H.SSEC_KEY_MD5] = md5")
m("echo.ssec-algorithm-missing", "echoes", "the SSE-C algorithm not echoed", SVC,
  '            out[H.SSEC_ALGORITHM] = "AES256"\n', "")
m("echo.put-headers-missing", "echoes", "PutObject echoes no SSE headers", OBJ,
  "    headers.update(plan.response_headers)\n    headers.update(checksum_headers(version))\n    return Response(200, headers)",
  "    headers.update(checksum_headers(version))\n    return Response(200, headers)")
m("echo.copy-headers-missing", "echoes", "CopyObject echoes no SSE headers", COPY,
  "    headers.update(plan.response_headers)\n    return xml_response", "    return xml_response")
m("echo.create-mpu-headers-missing", "echoes", "CreateMultipartUpload echoes no SSE headers", MPU,
  "    headers = dict(plan.response_headers)\n    headers.update(_checksum_headers(upload))",
  "    headers = {}\n    headers.update(_checksum_headers(upload))")
m("echo.upload-part-headers-missing", "echoes", "UploadPart echoes no SSE headers", MPU,
  "    headers.update(plan.response_headers)               # echoes the request's SSE-C key MD5\n"
  "    headers.update(_part_checksum_headers(upload, part, integrity.algorithm))",
  "    headers.update(_part_checksum_headers(upload, part, integrity.algorithm))")
m("echo.complete-mpu-headers-missing", "echoes", "CompleteMultipartUpload echoes no SSE headers", MPU,
  "_complete_response(bucket, version, ctx.state.encryption.response_headers(upload.sse)",
  "_complete_response(bucket, version, {}")
m("echo.get-headers-missing", "echoes", "GET/HEAD echo no SSE headers", OBJ,
  "    headers = object_response_headers(bucket, version, keys.response_headers)",
  "    headers = object_response_headers(bucket, version, {})")

# ------------------------------------------------------------------------------------------------------ ETags
m("etag.kms-md5", "etags", "SSE-KMS ETag = MD5 of the data", SVC,
  '        return meta.get("mode") == SSE_S3', '        return meta.get("mode") in (SSE_S3, SSE_KMS)')
m("etag.dsse-md5", "etags", "DSSE-KMS ETag = MD5 of the data", SVC,
  '        return meta.get("mode") == SSE_S3', '        return meta.get("mode") in (SSE_S3, DSSE_KMS)')
m("etag.ssec-md5", "etags", "SSE-C ETag = MD5 of the data", SVC,
  '        return meta.get("mode") == SSE_S3', '        return meta.get("mode") in (SSE_S3, SSE_C)')
m("etag.sse-s3-random", "etags", "SSE-S3 ETag not the MD5 of the data", SVC,
  '        return meta.get("mode") == SSE_S3', "        return False")
m("etag.multipart-no-count", "etags", "multipart ETag without the -<part count> suffix", CKS,
  '    return f"{md5.hexdigest()}-{len(part_etags)}"', "    return md5.hexdigest()")
m("etag.multipart-kms-md5", "etags", "SSE-KMS multipart part ETags = MD5", MPU,
  "    md5_etag = state.encryption.etag_is_md5(upload.sse)", "    md5_etag = True")

# --------------------------------------------------------------------------------------------------- defaults
m("defaults.no-default-encryption", "defaults", "no default encryption: objects without SSE headers report none", DIAL,
  '    default_algorithm: str | None = "AES256"', "    default_algorithm: str | None = None")
m("defaults.bucket-default-not-applied", "defaults", "the bucket's default algorithm not applied to objects", SVC,
  "        elif cfg is not None:\n            algorithm = cfg.algorithm",
  "        elif cfg is not None and cfg.algorithm == \"AES256\":\n            algorithm = cfg.algorithm")
m("defaults.sse-c-not-blocked", "defaults", "SSE-C not blocked on new buckets (pre-April-2026 behaviour)", DIAL,
  "            sse_c_blocked_by_default=True,\n        ),\n        Dialect(\n            name=\"aws-2023\",",
  "        ),\n        Dialect(\n            name=\"aws-2023\",")
m("defaults.bucket-key-on", "defaults", "new buckets default to BucketKeyEnabled true", DIAL,
  "    default_bucket_key_enabled: bool | None = False", "    default_bucket_key_enabled: bool | None = True")
m("defaults.legacy-reports-default", "defaults", "aws-legacy era gets a default encryption", DIAL,
  "            default_algorithm=None,\n            default_bucket_key_enabled=None,\n            bucket_key_echo_false=False,\n"
  "        ),\n        Dialect(\n            name=\"qstorage\",",
  "            default_bucket_key_enabled=None,\n            bucket_key_echo_false=False,\n"
  "        ),\n        Dialect(\n            name=\"qstorage\",", profile="aws-legacy")
m("defaults.unreported-objects-report-aes256", "defaults", "objects without SSE report AES256 in aws-legacy", SVC,
  '        mode = (d.mode_of(algorithm) if algorithm else None) or SSE_S3',
  '        algorithm = algorithm or "AES256"\n        mode = (d.mode_of(algorithm) if algorithm else None) or SSE_S3',
  profile="aws-legacy")

# ------------------------------------------------------------------------------------------------------- copy
m("copy.source-bucket-default", "copy", "CopyObject applies the source bucket's default, not the destination's", COPY,
  "bucket_encryption=bucket_encryption(bucket)", "bucket_encryption=bucket_encryption(source.bucket)")
m("copy.self-copy-allowed", "copy", "copying an object onto itself without changes allowed", COPY,
  "    if _is_self_copy(ctx, source, bucket, key, directive, plan.meta):\n", "    if False:\n")
m("copy.self-copy-explicit-default-refused", "copy", "self-copy in a bucket with an explicit default refused", COPY,
  '    if bucket.encryption is not None and bucket.encryption.get("explicit"):\n        return False\n', "")
m("copy.self-copy-sse-header-refused", "copy", "self-copy naming x-amz-server-side-encryption refused", COPY,
  '    if "x-amz-server-side-encryption" in h:\n        return False\n', "")
m("copy.checksum-algorithm-lost", "copy", "a copy gets the default checksum instead of the source's algorithm", COPY,
  "    if algorithm is None and src.checksum:\n", "    if False:\n")
m("copy.bucket-key-change-ignored", "copy", "a change of bucket key alone does not count as an encryption change", SVC,
  '        fields = ("mode", "alg", "kms_key", "bk")', '        fields = ("mode", "alg", "kms_key")')
m("copy.put-explicit-flag-lost", "copy", "PutBucketEncryption not remembered as explicit (self-copy refused)", ENC,
  "    config.explicit = True", "    config.explicit = False")

# --------------------------------------------------------------------------------------------------- dialects
m("dialect.qstorage-echo-qkms-arn", "dialects", "QStorage echoes qkms:<ARN> instead of qkms:<key id>", DIAL,
  '            kms_key_response_form="id",\n            requires_content_md5=True,',
  '            kms_key_response_form="arn",\n            requires_content_md5=True,', profile="qstorage")
m("dialect.qstorage-no-content-md5", "dialects", "QStorage PutBucketEncryption without Content-MD5 accepted", DIAL,
  "            requires_content_md5=True,\n", "            requires_content_md5=False,\n", profile="qstorage")
m("dialect.qstorage-prefix-optional", "dialects", "QStorage bucket key id without qkms: accepted", BCFG,
  "    if kms_key_id and dialect.kms_key_prefix and not kms_key_id.startswith(dialect.kms_key_prefix):",
  "    if False:", profile="qstorage")
m("dialect.qstorage-key-optional", "dialects", "QStorage verenc default without a key accepted", DIAL,
  '            kms_key_prefix="qkms:",\n            kms_key_required=True,',
  '            kms_key_prefix="qkms:",\n            kms_key_required=False,', profile="qstorage")
m("dialect.qstorage-malformed-xml", "dialects", "QStorage answers schema errors MalformedXML (AWS's), not its own", DIAL,
  '            schema_error=("InvalidArgument", "The encryption configuration is not valid"),\n', "",
  profile="qstorage")
m("dialect.qstorage-aws-kms-accepted", "dialects", "QStorage accepts aws:kms as well as verenc", DIAL,
  '            algorithm_modes={"AES256": SSE_S3, "verenc": SSE_KMS},',
  '            algorithm_modes={"AES256": SSE_S3, "verenc": SSE_KMS, "aws:kms": SSE_KMS},', profile="qstorage")
m("dialect.yandex-bucket-key-accepted", "dialects", "Yandex accepts BucketKeyEnabled / BlockedEncryptionTypes", DIAL,
  '            rule_elements=("ApplyServerSideEncryptionByDefault",),', "            rule_elements=_AWS_RULE_ELEMENTS,",
  profile="yandex")
m("dialect.yandex-aes256-accepted", "dialects", "Yandex accepts AES256", DIAL,
  '            algorithm_modes={"aws:kms": SSE_KMS},\n            bucket_algorithms=("aws:kms",),\n'
  '            object_algorithms=("aws:kms",),',
  '            algorithm_modes={"aws:kms": SSE_KMS, "AES256": SSE_S3},\n            bucket_algorithms=("aws:kms", "AES256"),\n'
  '            object_algorithms=("aws:kms", "AES256"),', profile="yandex")
m("dialect.yandex-echo-arn", "dialects", "Yandex echoes the key ARN instead of its key id", DIAL,
  '            kms_key_response_form="id",           # Yandex', '            kms_key_response_form="arn",           # Yandex',
  profile="yandex")
m("dialect.yandex-key-optional", "dialects", "Yandex aws:kms default without a key accepted", DIAL,
  '            rule_elements=("ApplyServerSideEncryptionByDefault",),\n            kms_key_required=True,',
  '            rule_elements=("ApplyServerSideEncryptionByDefault",),\n            kms_key_required=False,',
  profile="yandex")
m("dialect.legacy-knows-dsse", "dialects", "the aws-legacy era accepts aws:kms:dsse", DIAL,
  '_LEGACY_ALGS = ("AES256", "aws:kms")', '_LEGACY_ALGS = ("AES256", "aws:kms", "aws:kms:dsse")',
  profile="aws-legacy")
m("dialect.aws2023-blocks-sse-c", "dialects", "the 2023 era blocks SSE-C on new buckets", DIAL,
  '            description="AWS S3 from 2023-01-05: SSE-S3 default encryption, SSE-C allowed",\n',
  '            description="AWS S3 from 2023-01-05: SSE-S3 default encryption, SSE-C allowed",\n'
  "            sse_c_blocked_by_default=True,\n", profile="aws-2023")

# -------------------------------------------------------------------------------------------------- multipart
m("multipart.ssec-part-key-unchecked", "multipart", "an SSE-C part's key not compared with the initiate's", SVC,
  "            if not self._ssec_matches(upload_meta, ck):\n", "            if False:\n")
m("multipart.ssec-part-key-missing", "multipart", "an SSE-C upload's part without the key refused as AccessDenied",
  SVC, "            if not H.has_ssec(headers):\n                raise H.invalid_request(H.MSG_PART_NEEDS_SSEC)",
  "            if not H.has_ssec(headers):\n                raise access_denied()")
m("multipart.ssec-on-plain-upload", "multipart", "SSE-C headers on a part of a non-SSE-C upload ignored", SVC,
  "            if H.has_ssec(headers):\n                # Recorded", "            if False:\n                # Recorded")
m("multipart.part-headers-missing", "multipart", "UploadPart of a non-SSE-C upload echoes no SSE headers", SVC,
  "        return WritePlan({}, self.response_headers(upload_meta), keys.encryptor)",
  "        return WritePlan({}, {}, keys.encryptor)")

# ----------------------------------------------------------------------------------------------------- errors
m("errors.no-such-key-403", "errors", "NoSuchKey answered with status 403", ERR,
  '    "NoSuchKey": Catalogued(404,', '    "NoSuchKey": Catalogued(403,')
m("errors.no-such-bucket-403", "errors", "NoSuchBucket answered with status 403", ERR,
  '    "NoSuchBucket": Catalogued(404,', '    "NoSuchBucket": Catalogued(403,')
m("errors.access-denied-400", "errors", "AccessDenied answered with status 400", ERR,
  '    "AccessDenied": Catalogued(403,', '    "AccessDenied": Catalogued(400,')
m("errors.invalid-access-key-400", "errors", "InvalidAccessKeyId answered with status 400", ERR,
  '    "InvalidAccessKeyId": Catalogued(403,', '    "InvalidAccessKeyId": Catalogued(400,')
m("errors.kms-code-unprefixed", "errors", "KMS failures reported without the KMS. prefix", ERR,
  '    return s3_error(f"KMS.{kms_type}", message)', '    return S3Error(kms_type, message, 400, {}, {})')
m("errors.argument-value-missing", "errors", "InvalidArgument without ArgumentValue", ERR,
  '    if value is not None:\n        fields["ArgumentValue"] = value\n', "")

# --------------------------------------------------------------------------------------------------- controls
m("control.put-always-500", "control", "PutObject always answers 500 (must be KILLED: proves the mutated copy runs)",
  OBJ, "    require_content_length(ctx)\n    integrity = RequestIntegrity(ctx.headers)",
  "    from mockserver.errors import internal_error\n    raise internal_error()", control=True)
m("control.rename-local", "control", "a local variable renamed (equivalent)", CKS,
  '    d = new_digest(algorithm)\n    d.update(b"".join(part_digests))\n    return f"{b64(d.digest())}-{len(part_digests)}"',
  '    digest = new_digest(algorithm)\n    digest.update(b"".join(part_digests))\n'
  '    return f"{b64(digest.digest())}-{len(part_digests)}"', control=True)
m("control.reorder-dict", "control", "independent dict entries reordered (equivalent)", CHUNKED,
  'CHECKSUM_LENGTHS = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}',
  'CHECKSUM_LENGTHS = {"sha256": 32, "sha1": 20, "crc64nvme": 8, "crc32c": 4, "crc32": 4}', control=True)
m("control.negated-comparison", "control", "a comparison written as its negated complement (equivalent)", TS,
  "    return abs(now - request_time) > MAX_SKEW", "    return not abs(now - request_time) <= MAX_SKEW", control=True)

# --- checksums additions ---
m("checksums.xxhash3-is-xxh64", "checksums", "XXHASH3 computed as the older XXH64 (the two 64-bit xxHash variants confused)",
  CKS, '"xxhash3": xxhash.xxh3_64,', '"xxhash3": xxhash.xxh64,')
m("checksums.sha512-as-sha512-256", "checksums", "SHA512 values expected 32 bytes long (SHA-512/256), so real ones refused",
  CKS, '"sha256": 32, "sha512": 64, "md5": 16,', '"sha256": 32, "sha512": 32, "md5": 16,')
m("checksums.no-2026-algorithms", "checksums", "only the five pre-2026 algorithms known (SHA512, MD5, xxHash refused)",
  CKS, 'ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256", "sha512", "md5", "xxhash64", "xxhash3", "xxhash128")',
  'ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")')
m("checksums.sha1-full-object-allowed", "checksums", "CreateMultipartUpload accepts FULL_OBJECT with SHA1", CKS,
  '"sha1": ("COMPOSITE",), "sha256"', '"sha1": ("COMPOSITE", "FULL_OBJECT"), "sha256"')
m("checksums.copy-algorithm-header-ignored", "checksums",
  "CopyObject ignores x-amz-checksum-algorithm: the copy keeps the source's algorithm", COPY,
  '    algorithm = normalise_algorithm(ctx.headers.get("x-amz-checksum-algorithm"))\n    source = open_copy_source(',
  '    algorithm = None\n    source = open_copy_source(')
m("checksums.trailer-2026-unverified", "checksums",
  "aws-chunked trailers of the 2026 algorithms not computed by the decoder (their trailer value trusted as sent)", CHUNKED,
  'CHECKSUM_LENGTHS.update({"sha512": 64, "md5": 16, "xxhash64": 8, "xxhash3": 8, "xxhash128": 16})', "")

# --- sens-rest additions ---
READ_SVC = SVC
m("reads.sse-header-on-read-ignored", "reads", "x-amz-server-side-encryption / -aws-kms-key-id sent on GET or HEAD of an "
  "SSE-S3/SSE-KMS object silently ignored (AWS: 400)", READ_SVC,
  "        if not copy_source:\n            for name in (H.SSE, H.SSE_KMS_KEY):",
  "        if False:\n            for name in (H.SSE, H.SSE_KMS_KEY):")
m("context.copied-from-source", "context", "CopyObject without a context carries the source object's context pairs", COPY,
  'plan = ctx.state.encryption.plan_write(operation="CopyObject", headers=ctx.headers,',
  'plan = ctx.state.encryption.plan_write(operation="CopyObject", headers=(\n'
  '        {**ctx.headers, "x-amz-server-side-encryption-context": __import__("mockserver.sse.headers", fromlist=["x"])'
  '.encode_context({k: v for k, v in source.version.sse["ctx"].items() if k != "aws:s3:arn"})}\n'
  '        if (source.version.sse or {}).get("ctx") and "x-amz-server-side-encryption-context" not in ctx.headers\n'
  '        else ctx.headers),')
m("errors.no-such-upload-400", "errors", "NoSuchUpload answered with status 400", ERR,
  '    "NoSuchUpload": Catalogued(\n        404,', '    "NoSuchUpload": Catalogued(\n        400,')
m("bucketcfg.put-merges", "bucket-config", "PutBucketEncryption merges into the previous configuration (an old "
  "KMSMasterKeyID survives) instead of replacing it", ENC, "    bucket.encryption = config.to_json()\n",
  "    bucket.encryption = {**(bucket.encryption or {}),\n"
  "                         **{k: v for k, v in config.to_json().items() if v is not None}}\n")
m("bucketcfg.delete-unconfigured-404", "bucket-config", "DeleteBucketEncryption of a bucket without an explicit "
  "configuration (a repeated delete) answers 404", ENC,
  "    require_sigv4(ctx)\n    default = default_bucket_encryption(ctx.state.dialect)",
  '    require_sigv4(ctx)\n    if not (bucket.encryption or {}).get("explicit"):\n'
  "        raise configuration_not_found(bucket.name)\n    default = default_bucket_encryption(ctx.state.dialect)")
m("sse.unknown-algorithm-ignored", "defaults", "an unknown x-amz-server-side-encryption value ignored (the bucket "
  "default applies)", SVC,
  "        if sse is not None and sse not in d.object_algorithms:\n            raise invalid_argument(H.MSG_SSE_UNSUPPORTED",
  "        if False:\n            raise invalid_argument(H.MSG_SSE_UNSUPPORTED")
m("bucketcfg.get-bucket-key-numeric", "bucket-config", "GetBucketEncryption writes BucketKeyEnabled as 1/0 (the other "
  "xs:boolean spelling) instead of true/false", BCFG,
  '.text = "true" if cfg.bucket_key_enabled else "false"', '.text = "1" if cfg.bucket_key_enabled else "0"')
m("kms.alias-arn-unresolved", "kms", "alias ARNs (arn:aws:kms:...:alias/x) not accepted as key ids (alias names are)", KMS,
  '                return self._alias_target(owner, f"alias/{rest}")',
  "                raise not_found(f\"Invalid keyId '{ref}'\")")
m("bucketcfg.integrity-header-optional", "bucket-config", "PutBucketEncryption without Content-MD5 or any checksum "
  "header accepted", ENC, "    body = await read_checked_body(ctx, required=True, md5_only=dialect.requires_content_md5)",
  "    body = await read_checked_body(ctx, required=False, md5_only=dialect.requires_content_md5)")

# --- uoe additions ---
UOE = "mockserver/handlers/update_encryption.py"
m("uoe.rewrite-changes-last-modified", "update-object-encryption",
  "UpdateObjectEncryption implemented as a rewrite in place: the version gets a new Last-Modified", UOE,
  "version.replace(sse=new_meta)",
  "version.replace(sse=new_meta, last_modified=version.last_modified + 2.0)")
m("uoe.bucket-key-ignored", "update-object-encryption", "BucketKeyEnabled true accepted but no bucket key applied",
  UOE, '        bucket_key = bucket_key_text == "true"', "        bucket_key = False")
m("uoe.foreign-key-kms-message", "update-object-encryption",
  "another account's key not checked by S3: KMS's AccessDenied message instead of the documented one", UOE,
  "    if match.group(2) != bucket.owner_id:\n", "    if False:\n")
MUTANTS.append(Mutant(
    "uoe.dsse-source-accepted", "update-object-encryption",
    "a DSSE-KMS object accepted as a source (its outer layer silently dropped)",
    (Edit(UOE, '    if mode in (DSSE_KMS, "sse-c"):', '    if mode == "sse-c":'),
     Edit(UOE, "    if mode not in (SSE_S3, SSE_KMS) or not meta.get(\"alg\"):",
          "    if mode not in (SSE_S3, SSE_KMS, DSSE_KMS) or not meta.get(\"alg\"):"))))
m("uoe.key-not-rewrapped", "update-object-encryption",
  "only the reported key changes: the data key stays wrapped under the old KMS key", UOE,
  "version.replace(sse=new_meta)",
  'version.replace(sse={**meta, **{k: new_meta[k] for k in ("alg", "kms_key", "kms_account")}})')
m("uoe.version-id-ignored", "update-object-encryption", "versionId ignored: the latest version is updated", UOE,
  "    version = resolve_version(ctx, bucket, ctx.key)       # NoSuchKey, NoSuchVersion, delete markers\n",
  '    ctx.query.pop("versionId", None)\n    version = resolve_version(ctx, bucket, ctx.key)\n')

# --- getpart additions ---
GETPART = "mockserver/handlers/get_part.py"
m("getpart.completed-first-part", "get-part",
  "GetPart of a completed upload serves its first part whatever the part number", GETPART,
  "    return _Source(COMPLETED, version.parts[number - 1],", "    return _Source(COMPLETED, version.parts[0],")
m("getpart.status-always-in-progress", "get-part",
  "x-amz-multipart-upload-status IN_PROGRESS also for a completed upload", GETPART,
  "    return _Source(COMPLETED, version.parts[number - 1],", "    return _Source(IN_PROGRESS, version.parts[number - 1],")
m("getpart.sse-header-ignored", "get-part",
  "x-amz-server-side-encryption / -aws-kms-key-id sent on GetPart of SSE-S3/SSE-KMS data silently ignored "
  "(documented: 400)", GETPART,
  'keys = state.encryption.open_read(operation="GetPart", meta=source.sse, headers=ctx.headers,',
  'keys = state.encryption.open_read(operation="GetPart", meta=source.sse, headers={\n'
  '        k: v for k, v in ctx.headers.items()\n'
  '        if k not in ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id")},')
m("getpart.checksum-without-mode", "get-part",
  "the part's checksum answered without x-amz-checksum-mode ENABLED", GETPART,
  '    if (status == 200 and ctx.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"\n',
  "    if (status == 200\n")
m("getpart.beyond-parts-invalid-part-number", "get-part",
  "a part number beyond a completed object's parts answered as GetObject?partNumber does (416 InvalidPartNumber) "
  "instead of NoSuchPart", GETPART,
  "    if number > len(version.parts):\n        raise no_such_part(upload_id, number)",
  '    if number > len(version.parts):\n        raise s3_error("InvalidPartNumber")')
m("getpart.in-progress-unsupported", "get-part",
  "GetPart implemented for completed uploads only: an in-progress upload's part answered NoSuchUpload", GETPART,
  "    if upload is not None and upload.bucket == bucket.name and upload.key == ctx.key:\n",
  "    if False:  # in-progress uploads not looked up\n")
m("getpart.range-ignored", "get-part", "a Range on GetPart ignored: the whole part answered 200", GETPART,
  '    if "range" in ctx.headers:\n        wanted = parse_range(ctx.headers["range"], part.size)',
  '    if False:\n        wanted = parse_range(ctx.headers["range"], part.size)')
m("getpart.storage-class-omitted", "get-part", "x-amz-storage-class never sent on GetPart", GETPART,
  '    if source.storage_class != "STANDARD":\n        headers["x-amz-storage-class"] = source.storage_class\n', "")
m("getpart.archived-served", "get-part",
  "a part of a completed GLACIER / DEEP_ARCHIVE / INTELLIGENT_TIERING object served (documented: InvalidObjectState)",
  GETPART, '    if version.storage_class in ARCHIVED_CLASSES:\n        raise s3_error("InvalidObjectState", MSG_ARCHIVED)\n',
  "")
m("getpart.missing-part-no-such-upload", "get-part",
  "a part number not uploaded to an in-progress upload answered NoSuchUpload instead of NoSuchPart", GETPART,
  "        if part is None:\n            raise no_such_part(upload_id, number)",
  "        if part is None:\n            raise no_such_upload(upload_id)")

# --- sens-cases additions ---
# Deviations the cases that killed no mutant (reports/mutation/README.md, "Cases that kill no mutant") are there to
# catch: UpdateObjectEncryption's documented errors, the multipart Complete rules, checksum algorithms and where each
# is reported (CopyObject, UploadPartCopy, ListParts, listings, GetObjectAttributes, GET/HEAD), NoSuchKey,
# PutBucketVersioning.
ATTRS = "mockserver/handlers/attributes.py"
LISTING = "mockserver/handlers/listing.py"
VERSIONING = "mockserver/handlers/versioning.py"
m("uoe.missing-arn-as-invalid-arn", "update-object-encryption",
  "an SSE-KMS target without KMSKeyArn answered with the 'valid ARN' message instead of the 'ARN required' one", UOE,
  "        raise invalid_request(MSG_NEED_ARN)", "        raise invalid_request(MSG_BAD_ARN)")
MUTANTS.append(Mutant(
    "uoe.key-id-accepted", "update-object-encryption",
    "KMSKeyArn resolved like PutObject's key id (a bare key id or an alias accepted, not only a key ARN)",
    (Edit(UOE, "    if not (20 <= len(arn) <= 2048) or KEY_ARN.fullmatch(arn) is None:",
          "    if not (1 <= len(arn) <= 2048):"),
     Edit(UOE, "    assert match is not None\n    if match.group(2) != bucket.owner_id:",
          "    if match is not None and match.group(2) != bucket.owner_id:"))))
m("uoe.alias-arn-accepted", "update-object-encryption",
  "the KMSKeyArn pattern accepts any KMS ARN: an alias ARN is taken as the key", UOE,
  'KEY_ARN = re.compile(r"arn:aws[a-zA-Z0-9-]*:kms:([a-z0-9-]+):([0-9]{12}):key/[a-zA-Z0-9-]+")',
  'KEY_ARN = re.compile(r"arn:aws[a-zA-Z0-9-]*:kms:([a-z0-9-]+):([0-9]{12}):(?:key|alias)/[a-zA-Z0-9/_-]+")')
m("uoe.bucket-key-lenient", "update-object-encryption",
  "BucketKeyEnabled parsed leniently: any value other than true means false", UOE,
  '    elif bucket_key_text in ("true", "false"):', "    elif True:")
m("uoe.no-type-malformed-xml", "update-object-encryption",
  "an ObjectEncryption without an encryption type answered MalformedXML (schema check) instead of the documented "
  "InvalidRequest", UOE,
  "    if names != [\"SSE-KMS\"]:          # none, SSE-S3, anything else, or more than one (a union: exactly one)\n"
  "        raise invalid_request(MSG_NEED_TYPE)",
  "    if names != [\"SSE-KMS\"]:\n        raise __import__(\"mockserver.errors\", fromlist=[\"x\"]).malformed_xml()")
m("uoe.ssec-source-as-unencrypted", "update-object-encryption",
  "an SSE-C source answered with the 'unencrypted source' message (SSE-C not known as an encryption type)", UOE,
  '    if mode in (DSSE_KMS, "sse-c"):', "    if mode == DSSE_KMS:")
mm("uoe.dsse-target-as-sse-kms", "update-object-encryption",
   "a DSSE-KMS target element read as SSE-KMS: the object silently becomes SSE-KMS", [
       (UOE, '_UNSUPPORTED_TARGETS = ("DSSE-KMS", "SSE-C")', '_UNSUPPORTED_TARGETS = ("SSE-C",)'),
       (UOE, "    if names != [\"SSE-KMS\"]:          # none",
        "    if names == [\"DSSE-KMS\"]:\n        names = [\"SSE-KMS\"]\n    if names != [\"SSE-KMS\"]:          # none")])
m("uoe.sigv2-accepted", "update-object-encryption", "UpdateObjectEncryption signed with SigV2 accepted", UOE,
  "    if signature_version(ctx) == 2:\n        raise invalid_request(MSG_SIGV4)",
  "    if False:\n        raise invalid_request(MSG_SIGV4)")
m("uoe.body-integrity-unchecked", "update-object-encryption",
  "UpdateObjectEncryption reads its body without the integrity rules (no Content-MD5 / checksum required, "
  "x-amz-sdk-checksum-algorithm alone accepted)", UOE,
  "    body = await read_checked_body(ctx, required=True)    # requestChecksumRequired",
  "    body = await ctx.read_body()    # requestChecksumRequired")

m("mpu.complete-checksum-mode-unchecked", "multipart",
  "CompleteMultipartUpload's x-amz-checksum-type not compared with the upload's mode", MPU,
  '    sent = ctx.headers.get("x-amz-checksum-type")\n    if sent is None:\n        return',
  '    sent = ctx.headers.get("x-amz-checksum-type")\n    if True:\n        return')
m("mpu.complete-object-size-unchecked", "multipart", "x-amz-mp-object-size on CompleteMultipartUpload ignored", MPU,
  "    if int(sent.strip()) != size:\n", "    if False:\n")
m("mpu.complete-part-checksums-without-algorithm", "multipart",
  "Complete naming part checksums accepted for an upload created without a checksum algorithm", MPU,
  "        if sums and upload.checksum_algorithm is None:\n", "        if False:\n")
m("mpu.complete-other-algorithm-invalid-part", "multipart",
  "Complete of a COMPOSITE upload naming a part checksum of another algorithm answered InvalidPart, not BadDigest",
  MPU, "            if (upload.checksum_type == \"COMPOSITE\" and algorithm != upload.checksum_algorithm\n",
  "            if (False and algorithm != upload.checksum_algorithm\n")
m("mpu.complete-part-checksums-optional", "multipart",
  "Complete of a COMPOSITE upload accepted without each part's checksum", MPU,
  '    if algorithm is None or upload.checksum_type != "COMPOSITE":\n        return\n    for number, _etag, sums',
  "    if True:\n        return\n    for number, _etag, sums")
m("mpu.complete-sent-checksum-unchecked", "multipart",
  "the whole-object x-amz-checksum-* sent on CompleteMultipartUpload not compared", MPU,
  '    if no_type or ctx.headers[names[0]].strip() != checksum["value"]:', "    if no_type:")
m("mpu.complete-repeated-no-such-upload", "multipart",
  "a repeated CompleteMultipartUpload of a completed upload answered NoSuchUpload", MPU,
  "    again = _completed_again(ctx, bucket)\n", "    again = None\n")
m("mpu.part-algorithm-mismatch-accepted", "multipart",
  "UploadPart with a checksum of another algorithm than the upload's accepted", MPU,
  "    if upload.checksum_algorithm and integrity.algorithm and integrity.algorithm != upload.checksum_algorithm:",
  "    if False:")
m("mpu.unsupported-algorithm-ignored", "multipart",
  "CreateMultipartUpload with an unknown x-amz-checksum-algorithm ignores it (the upload gets none)", MPU,
  '    algorithm = normalise_algorithm(ctx.headers.get("x-amz-checksum-algorithm"))\n    checksum_type =',
  '    algorithm = (ctx.headers.get("x-amz-checksum-algorithm") or "").strip().lower() or None\n'
  "    algorithm = algorithm if algorithm in MULTIPART_TYPES else None\n    checksum_type =")
m("checksums.crc-default-full-object", "checksums",
  "CreateMultipartUpload with CRC32 / CRC32C and no x-amz-checksum-type defaults to FULL_OBJECT, not COMPOSITE",
  CKS, 'MULTIPART_TYPES = {"crc32": ("COMPOSITE", "FULL_OBJECT"), "crc32c": ("COMPOSITE", "FULL_OBJECT"),',
  'MULTIPART_TYPES = {"crc32": ("FULL_OBJECT", "COMPOSITE"), "crc32c": ("FULL_OBJECT", "COMPOSITE"),')
m("checksums.full-object-crc32-composite", "checksums",
  "FULL_OBJECT CRC32 / CRC32C multipart uploads get a composite value (only CRC64NVME combined as a full-object CRC)",
  MPU, '    if checksum_type == "COMPOSITE":\n        value = composite(algorithm, raws)',
  '    if checksum_type == "COMPOSITE" or algorithm in ("crc32", "crc32c"):\n        value = composite(algorithm, raws)')
m("checksums.crc32c-combined-as-crc32", "checksums",
  "FULL_OBJECT CRC32C of a multipart object combined with the CRC32 polynomial", CKS,
  '"crc32c": crt.combine_crc32c,', '"crc32c": crt.combine_crc32,')
m("checksums.crc32c-is-crc32", "checksums", "CRC32C computed as CRC32 (the Castagnoli polynomial not implemented)",
  CKS, '"crc32c": crt.crc32c,', '"crc32c": zlib.crc32,')
m("checksums.copy-result-no-checksum", "checksums", "CopyObjectResult without the copy's checksum fields", COPY,
  '        items.append((XML_NAMES[version.checksum["algorithm"]], version.checksum["value"]))\n'
  '        items.append(("ChecksumType", version.checksum["type"]))',
  "        pass")
m("checksums.copy-part-result-no-checksum", "checksums", "CopyPartResult (UploadPartCopy) without the part's checksum",
  MPU, "        items.append((XML_NAMES[upload.checksum_algorithm], part.checksums.get(upload.checksum_algorithm)))",
  "        pass")
m("checksums.list-parts-no-part-checksum", "checksums", "ListParts shows no per-part checksum", MPU,
  "            entry.append((XML_NAMES[upload.checksum_algorithm], p.checksums[upload.checksum_algorithm]))",
  "            pass")
m("checksums.list-parts-no-algorithm", "checksums", "ListParts omits the upload's ChecksumAlgorithm and ChecksumType",
  MPU, '    if upload.checksum_algorithm:\n        items += [("ChecksumAlgorithm", upload.checksum_algorithm.upper()), '
  '("ChecksumType", upload.checksum_type)]',
  '    if False:\n        items += [("ChecksumAlgorithm", upload.checksum_algorithm.upper()), '
  '("ChecksumType", upload.checksum_type)]')
m("checksums.listing-no-checksum-type", "checksums",
  "ListObjects / ListObjectsV2 / ListObjectVersions show ChecksumAlgorithm but not ChecksumType (pre-2025 model)",
  LISTING, '    return [("ChecksumAlgorithm", v.checksum["algorithm"].upper()), ("ChecksumType", v.checksum["type"])]',
  '    return [("ChecksumAlgorithm", v.checksum["algorithm"].upper())]')
m("checksums.list-uploads-no-checksum", "checksums", "ListMultipartUploads shows no ChecksumAlgorithm / ChecksumType",
  MPU, "        if u.checksum_algorithm:\n            entry += [", "        if False:\n            entry += [")
m("checksums.attributes-no-checksum-type", "checksums", "GetObjectAttributes' Checksum without ChecksumType", ATTRS,
  '        items.append(("Checksum", [(XML_NAMES[version.checksum["algorithm"]], value),\n'
  '                                   ("ChecksumType", version.checksum["type"])]))',
  '        items.append(("Checksum", [(XML_NAMES[version.checksum["algorithm"]], value)]))')
m("checksums.get-no-checksum-type", "checksums", "GET / HEAD with x-amz-checksum-mode omit x-amz-checksum-type", OBJ,
  "        if whole and not _ssec_multipart_default_checksum(version):\n            headers.update(checksum_headers(version))",
  "        if whole and not _ssec_multipart_default_checksum(version):\n"
  '            headers.update({k: v for k, v in checksum_headers(version).items() if k != "x-amz-checksum-type"})')
mm("checksums.trailer-checksum-not-echoed", "checksums",
   "a checksum delivered in an aws-chunked trailer not echoed: PutObject and UploadPart answer without the "
   "x-amz-checksum-* header (only checksums sent as headers are echoed)", [
       (OBJ, "    headers.update(checksum_headers(version))\n    return Response(200, headers)",
        ("    if integrity.trailer is None:\n        headers.update(checksum_headers(version))\n"
         "    return Response(200, headers)")),
       (MPU, "    headers.update(_part_checksum_headers(upload, part, integrity.algorithm))\n    return Response(200, headers)",
        ("    if integrity.trailer is None:\n"
         "        headers.update(_part_checksum_headers(upload, part, integrity.algorithm))\n"
         "    return Response(200, headers)"))])
m("errors.no-such-key-without-key", "errors", "NoSuchKey's error document names no Key", ERR,
  '    return s3_error("NoSuchKey", fields={"Key": key})', '    return s3_error("NoSuchKey")')
m("versioning.empty-configuration-accepted", "versioning",
  "PutBucketVersioning with an empty VersioningConfiguration accepted as a no-op", VERSIONING,
  "    if status is None and mfa is None:\n", "    if False:\n")
m("auth.clock-skew-5min", "auth", "a 5-minute clock-skew window instead of AWS's 15 minutes", TS,
  "MAX_SKEW = timedelta(minutes=15)", "MAX_SKEW = timedelta(minutes=5)")
m("multipart.create-ssec-unvalidated", "multipart",
  "CreateMultipartUpload leaves SSE-C header validation to UploadPart: an incomplete or invalid SSE-C triple on "
  "Create is ignored (the upload is created without SSE-C)", SVC,
  "        if H.has_ssec(headers):\n            if sse is not None:\n                raise invalid_argument(H.MSG_SSEC_WITH_SSE, H.SSE, sse)\n"
  "            ck = self._customer_key(headers, secure)\n        if ck is not None:\n            blocked",
  "        if H.has_ssec(headers):\n            if sse is not None:\n                raise invalid_argument(H.MSG_SSEC_WITH_SSE, H.SSE, sse)\n"
  "            try:\n                ck = self._customer_key(headers, secure)\n            except Exception:\n"
  "                if operation != \"CreateMultipartUpload\":\n                    raise\n"
  "        if ck is not None:\n            blocked")
m("mpu.copy-range-end-exclusive", "multipart",
  "x-amz-copy-source-range's last byte treated as exclusive (one byte short, a slicing off-by-one)", MPU,
  "    return start, end\n", "    return start, end - 1\n")
m("mpu.full-object-part-checksums-refused", "multipart",
  "Complete of a FULL_OBJECT upload naming part checksums refused (part checksums taken for COMPOSITE only)", MPU,
  "        for algorithm, value in sums.items():\n",
  "        for algorithm, value in sums.items():\n            if upload.checksum_type == \"FULL_OBJECT\":\n"
  "                raise invalid_part(upload.upload_id, number, etag)\n")
m("checksums.kms-object-checksum-hidden", "checksums",
  "GET / HEAD with x-amz-checksum-mode return no checksum for SSE-KMS objects", OBJ,
  "        if whole and not _ssec_multipart_default_checksum(version):\n",
  '        if whole and not _ssec_multipart_default_checksum(version) and version.sse.get("mode") != "sse-kms":\n')
m("checksums.crc64nvme-little-endian", "checksums",
  "CRC64NVME values encoded little-endian (struct '<Q') instead of big-endian", CKS,
  '    return value.to_bytes(DIGEST_SIZES[algorithm], "big")',
  '    return value.to_bytes(DIGEST_SIZES[algorithm], "little" if algorithm == "crc64nvme" else "big")')
m("echo.upload-part-copy-headers-missing", "echoes", "UploadPartCopy echoes no SSE headers", MPU,
  "    headers = dict(plan.response_headers)               # echoes the request's SSE-C key MD5\n"
  "    if source.bucket.versioning is not None:",
  "    headers = {}\n    if source.bucket.versioning is not None:")
mm("uoe.sse-s3-target-accepted", "update-object-encryption",
   "an SSE-S3 target accepted: 200 and the object left as it was", [
       (UOE, "    if names != [\"SSE-KMS\"]:          # none",
        "    if names == [\"SSE-S3\"]:\n        return \"\", False\n    if names != [\"SSE-KMS\"]:          # none"),
       (UOE, "    arn, bucket_key = parse_object_encryption(body)\n",
        "    arn, bucket_key = parse_object_encryption(body)\n    if not arn:\n        return Response(200)\n")])
m("checksums.crc-only", "checksums",
  "only the CRC checksums supported: x-amz-checksum-sha1/-sha256 (and the 2026 digests) headers silently ignored, "
  "those algorithms refused by name", CKS,
  'ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256", "sha512", "md5", "xxhash64", "xxhash3", "xxhash128")',
  'ALGORITHMS = ("crc32", "crc32c", "crc64nvme")')
m("ownership.expected-owner-is-access-key", "errors",
  "x-amz-expected-bucket-owner compared with the requester's access key (a vendor without account ids), so the "
  "owner's account id is refused", "mockserver/access.py",
  "    if expected is not None and expected != bucket.owner_id:",
  '    if expected is not None and expected != (ctx.account.access_key if ctx.account is not None else ""):')
m("integrity.content-md5-against-etag", "integrity",
  "Content-MD5 compared with the stored object's ETag, which is not the data's MD5 for SSE-KMS / SSE-C objects", OBJ,
  '    headers = {"etag": quoted(version.etag)}\n    headers.update(version_header(bucket, version.version_id))\n'
  "    headers.update(plan.response_headers)\n    headers.update(checksum_headers(version))",
  "    if integrity.content_md5 is not None and bytes.fromhex(version.etag) != integrity.content_md5:\n"
  '        raise __import__("mockserver.errors", fromlist=["x"]).bad_digest()\n'
  '    headers = {"etag": quoted(version.etag)}\n    headers.update(version_header(bucket, version.version_id))\n'
  "    headers.update(plan.response_headers)\n    headers.update(checksum_headers(version))")
m("integrity.malformed-content-md5-ignored", "integrity",
  "a Content-MD5 that is not base64 ignored (treated as absent) instead of refused", CKS,
  "    except (binascii.Error, ValueError):\n        raise invalid_digest() from None\n    if len(raw) != 16:",
  "    except (binascii.Error, ValueError):\n        return None\n    if len(raw) != 16:")
m("checksums.attributes-pre-2026-only", "checksums",
  "GetObjectAttributes shows no Checksum for the 2026 algorithms (its field list predates SHA512, MD5, xxHash)", ATTRS,
  '    if "Checksum" in wanted and version.checksum:\n',
  '    if "Checksum" in wanted and version.checksum and version.checksum["algorithm"] in (\n'
  '            "crc32", "crc32c", "crc64nvme", "sha1", "sha256"):\n')
m("checksums.listing-pre-2026-only", "checksums",
  "listings show no ChecksumAlgorithm / ChecksumType for objects with a 2026 algorithm (SHA512, MD5, xxHash)", LISTING,
  "def _checksum_fields(v: ObjectVersion) -> list[tuple[str, xmlio.Node]]:\n    if not v.checksum:\n",
  "def _checksum_fields(v: ObjectVersion) -> list[tuple[str, xmlio.Node]]:\n"
  '    if not v.checksum or v.checksum["algorithm"] not in ("crc32", "crc32c", "crc64nvme", "sha1", "sha256"):\n')

# --- lead additions ---
COPYSOURCE = "mockserver/copysource.py"
m("copy.source-read-unchecked", "copy",
  "CopyObject checks only the destination: any account may copy another account's object into a bucket it owns",
  COPYSOURCE,
  "    if ctx.account is None or ctx.account.account_id != bucket.owner_id:\n        raise access_denied()\n", "")

# --- annotations additions ---
ANNOT = "mockserver/handlers/annotations.py"
ANNOT_STORE = "mockserver/storage/annotations.py"
m("annotations.sse-not-inherited", "object-annotations",
  "annotations always SSE-S3 whatever their object's encryption (documented: they inherit it)", ANNOT,
  '    alg = parent_sse.get("alg")\n    if not alg:\n',
  '    alg = None\n    if not alg:\n')
m("annotations.checksum-mode-ignored", "object-annotations",
  "GetObjectAnnotation answers no checksum even with x-amz-checksum-mode ENABLED", ANNOT,
  '    if ctx.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":\n',
  "    if False:\n")
m("annotations.prefix-ignored", "object-annotations",
  "ListObjectAnnotations ignores annotation-prefix: every annotation is listed", ANNOT_STORE,
  "            if not name.startswith(prefix):\n                continue\n", "")
m("annotations.latest-version-only", "object-annotations",
  "PutObjectAnnotation attaches to the latest object version whatever versionId names", ANNOT,
  "    bucket, version, ref = _parent(ctx)\n    name = _name(ctx)\n    integrity = RequestIntegrity(ctx.headers)\n",
  "    bucket, version, ref = _parent(ctx)\n"
  "    latest = ctx.state.storage.latest(bucket.name, version.key)\n"
  "    if latest is not None and not latest.delete_marker:\n"
  "        version, ref = latest, (bucket.name, version.key, latest.version_id)\n"
  "    name = _name(ctx)\n    integrity = RequestIntegrity(ctx.headers)\n")
m("annotations.utf8-unchecked", "object-annotations",
  "a payload that is not valid UTF-8 stored (documented: 415 UnsupportedMediaType)", ANNOT,
  '        payload.decode("utf-8")\n', '        payload.decode("latin-1")\n')
COPY_H = "mockserver/handlers/copy.py"
m("annotations.copy-dropped", "object-annotations",
  "CopyObject copies no annotations (documented: COPY is the default directive)", COPY_H,
  "    await copying.apply(ctx, bucket, version)\n", "")
m("annotations.copy-exclude-ignored", "object-annotations",
  "CopyObject copies the annotations even with x-amz-object-annotation-directive EXCLUDE", ANNOT,
  '        if directive == "EXCLUDE":\n            return cls([])\n', "")
m("annotations.copy-source-encryption", "object-annotations",
  "annotations copied by CopyObject keep the source's encryption (documented: they inherit their object's)", ANNOT,
  "last_modified=now(), sse=meta, ciphertext=ciphertext,", "last_modified=now(),")
