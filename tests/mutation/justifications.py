"""Why a case kills no mutant, and why a mutant survives: one line each, rendered by harness.py into the report
(`## Cases that kill no mutant` -> justification, `## Surviving mutants` -> why). A case or mutant listed here
that starts killing / being killed simply stops being shown; one that kills nothing and is not listed is shown as
unjustified."""
from __future__ import annotations

_CHECKSUMS = ("a checksum-algorithm case (the checksums helper's area): every algorithm goes through one verification "
              "path, whose mutants (integrity.checksum-unchecked, ...) the CRC32 cases kill")
_SSEC_SAME_PATH = ("CreateMultipartUpload runs the same SSE-C header validation as PutObject (mockserver/sse/headers.py), "
                   "whose mutants the PutObject cases kill; kept for per-operation coverage (a vendor may validate "
                   "per operation)")
_POSITIVE = "a positive twin (an accepted form): it guards against false refusals, which no mutant seeds"
_MALFORMED = ("MalformedXML for a body that is not an encryption configuration: parser robustness, no realistic mutant "
              "makes the parser accept it")

CASE_JUSTIFICATIONS: dict[str, str] = {
    "bucket-keys.put-header-leaves-bucket-setting": "guards that an object-level header does not write the bucket's "
    "configuration; the server has no code path a one-line edit could turn into a write-through",
    "dialects.dsse-where-unsupported": "its rejection code is unproven outside QStorage; with a KMSMasterKeyID the "
    "key check refuses aws:kms:dsse even where a mutant knows it (dialect.legacy-knows-dsse is killed by the key-less "
    "object write of dialects.object-dsse-where-unsupported)",
    "dialects.qstorage-network-encryption-note": "a QStorage round trip (documented extra network layer): no mutant "
    "corrupts data for one profile only",
    "dialects.qstorage-unprefixed-key-id": "the rejection's error code is unproven (QStorage documents only the qkms: "
    "form), so dialect.qstorage-prefix-optional only warns",
    "dialects.verenc-algorithm": "profile-specific acceptance of verenc (QStorage) and rejection on AWS; no mutant "
    "changes the verenc name",
    "get-bucket-encryption.expected-bucket-owner-match": _POSITIVE,
    "put-bucket-encryption.expected-bucket-owner-match": _POSITIVE,
    "put-object.expected-bucket-owner-match": _POSITIVE,
    "get-bucket-encryption.response-namespace": "the response's XML namespace; no mutant drops it",
    "head-object.checksum-mode-kms": _CHECKSUMS,
    "integrity.chunked-signed-trailer": _CHECKSUMS,
    "integrity.put-crc32c": _CHECKSUMS,
    "integrity.put-crc64nvme": _CHECKSUMS,
    "integrity.put-sha1": _CHECKSUMS,
    "integrity.put-sha256": _CHECKSUMS,
    "multipart.complete-composite-checksum-header": _CHECKSUMS,
    "multipart.complete-composite-missing-part-checksum": _CHECKSUMS,
    "multipart.complete-repeated": _CHECKSUMS,
    "multipart.upload-part-trailer-checksum": _CHECKSUMS,
    "integrity.put-content-md5": _POSITIVE,
    "integrity.put-content-md5-malformed": "a Content-MD5 that is not base64 at all: rejected by the base64 decode, a "
    "path no realistic mutant removes (the wrong-length case kills integrity.bad-content-md5-accepted)",
    "put-bucket-encryption.content-md5-malformed": "as integrity.put-content-md5-malformed, on PutBucketEncryption",
    "multipart.create-ssec-algorithm-not-aes256": _SSEC_SAME_PATH,
    "multipart.create-ssec-algorithm-without-key": _SSEC_SAME_PATH,
    "multipart.create-ssec-key-without-algorithm": _SSEC_SAME_PATH,
    "multipart.create-ssec-missing-key-md5": _SSEC_SAME_PATH,
    "multipart.upload-part-copy-range": "byte-exact range copy of an SSE-KMS source: no mutant seeds a range "
    "off-by-one (the data path is the perf helper's)",
    "put-bucket-encryption.bad-signature": "authentication (the sens-auth helper's area)",
    "put-bucket-encryption.unknown-element": "wholly unproven (AWS's answer to an unknown element is unrecorded): "
    "bucketcfg.unknown-elements-ignored makes it warn, not fail",
    "put-bucket-encryption.empty-algorithm": "an empty SSEAlgorithm; bucketcfg.unknown-algorithm-accepted keeps the "
    "emptiness check, no mutant accepts an empty value",
    "put-bucket-encryption.not-xml": _MALFORMED,
    "put-bucket-encryption.seed-cors-example-malformed": _MALFORMED,
    "put-bucket-encryption.well-formed-cors-body": _MALFORMED,
    "put-bucket-encryption.sse-s3-seed-example": _POSITIVE,
    "put-bucket-encryption.sse-s3-without-namespace": _POSITIVE,
    "put-bucket-encryption.unsigned-payload": _POSITIVE,
    "put-bucket-encryption.virtual-hosted": _POSITIVE,
    "sse-c.key-not-base64": "AWS's answer is unrecorded (its checks are unproven), so ssec.key-not-base64-accepted "
    "only warns",
    "sse-c.missing-key-md5": "AWS's answer to a really missing key MD5 is unrecorded (reference Corrections), so "
    "ssec.missing-md5-mismatch only warns",
}

_SEARCHED = "(searched: LocalStack S3, S3 Control and KMS snapshots at HEAD and the S3 snapshots in every historical version, ceph/s3-tests, GitHub issues, AWS docs)"

SURVIVOR_NOTES: dict[str, str] = {
    "context.user-overrides-arn": "AWS's handling of a request context whose aws:s3:arn names another resource is "
    "unknown: the S3 User Guide (UsingKMSEncryption) says only that S3 'appends the default encryption context of "
    "aws:s3:arn to the one that you provide'; minio/minio#11415 reports AWS keeping a sent aws:s3:arn equal to the "
    "object's own name; no LocalStack S3/KMS snapshot (HEAD and git history of tests/aws/services/s3, "
    "tests/integration/s3) or ceph/s3-tests test sends a context at all; issues/pages searches for a rejected or "
    "overridden aws:s3:arn found nothing",
    "bucketcfg.boolean-TRUE-accepted": "maybe AWS's own behaviour: no recording of TRUE/True in a configuration body "
    f"{_SEARCHED}, and a MinIO maintainer reports that <Quiet>True</Quiet> (not an xs:boolean) works with AWS "
    "DeleteObjects (minio/minio-py#1185); so no case asserts a rejection",
    "bucketcfg.unknown-elements-ignored": f"AWS's answer to an unknown element is unrecorded {_SEARCHED}; "
    "put-bucket-encryption.unknown-element checks it as unproven (a warning, not a kill)",
    "bucketcfg.foreign-namespace-accepted": f"no recording of a configuration body in a foreign namespace {_SEARCHED}; "
    "no case asserts it",
    "bucketcfg.text-in-rule-accepted": f"no recording of stray text inside a configuration element {_SEARCHED}; "
    "no case asserts it",
    "ssec.missing-md5-mismatch": "the mutant changes only the message, and AWS's message for a really missing key MD5 "
    "is unrecorded: s3-tests test_encryption_sse_c_no_md5 asserts only a failure; every LocalStack no-md5 recording "
    "(HEAD and history) went through boto3, which re-encodes the key and adds its MD5; the only texts found are other "
    "vendors' (MinIO, IBM COS docs: '...must provide the client calculated MD5 of the secret key.')",
    "ssec.key-not-base64-accepted": "observable only with a key holding characters outside the base64 alphabet that "
    "still decodes leniently to 32 bytes matching its MD5 (sse-c.key-not-base64's key fails lenient decoding too, so "
    f"the mutant answers the same 400); AWS's answer to such a key is unrecorded {_SEARCHED}",
    "kms.head-decrypts": "AWS's KMS use on HEAD, and HEAD on a disabled key, are unrecorded (LocalStack "
    "test_s3_sse_validate_kms_key_state records GET and PUT only)",
    "etag.dsse-md5": "AWS documents non-MD5 ETags for SSE-C and SSE-KMS only (API Object, ETag); no DSSE-KMS "
    f"recording {_SEARCHED}",
    "copy.bucket-key-change-ignored": "a copy in place that changes only the bucket key is unrecorded (LocalStack's "
    "recorded in-place copies change the key and the bucket key together); AWS documents that COPY can enable or "
    "disable a bucket key, not that this alone makes a copy in place legal",
    "dialect.qstorage-echo-qkms-arn": "QStorage's only document (seeds/qstorage-put-bucket-encryption.mdx) shows no "
    "object response, so the key id form an object answers is undocumented; docs/pages searches for QStorage object "
    "SSE responses (qkms, verenc, x-amz-server-side-encryption-aws-kms-key-id) found nothing else",
    "dialect.qstorage-prefix-optional": "the rejection's status and code are unproven (confidence unproven: QStorage "
    "documents KMSMasterKeyID only as qkms:key-id and an 'InvalidArgument | The encryption configuration is not "
    "valid' row, not that an unprefixed id hits it); no other QStorage material found",
    "dialect.qstorage-aws-kms-accepted": "QStorage's answer to aws:kms on an object write is undocumented (its document "
    "covers PutBucketEncryption only; no other QStorage material found)",
    "context.bad-json-ignored": "AWS's answer to a context that is not base64 or not JSON is unrecorded: the one "
    "recorded refusal (minio/minio-go#2235, message 'shall be Base64-encoded UTF-8 string holding JSON which "
    "represents a string-string map') is for valid base64 JSON with a non-string value; LocalStack snapshots (HEAD "
    "and history), ceph/s3-tests, issues and pages searches show no answer to undecodable values, so "
    "put-object.encryption-context-not-base64/-not-json check them as unproven",
    "dialect.yandex-bucket-key-accepted": "Yandex's schema lists no BucketKeyEnabled, but whether it rejects or "
    "ignores one is undocumented (yandex-cloud/docs en/storage/s3/api-ref/bucket/putbucketencryption.md: the schema "
    "only; response-codes.md: 'MalformedXML | The provided XML document is malformed or does not match the schema', "
    "which does not say an extra element fails the match; AWS's own unknown-element answer is unproven as well, "
    "bucketcfg.unknown-elements-ignored)",
}
