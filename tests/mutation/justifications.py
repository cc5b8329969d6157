"""Why a case kills no mutant, and why a mutant survives: one line each, rendered by harness.py into the report
(`## Cases that kill no mutant` -> justification, `## Surviving mutants` -> why). A case or mutant listed here
that starts killing / being killed simply stops being shown; one that kills nothing and is not listed is shown as
unjustified."""
from __future__ import annotations

_POSITIVE = "a positive twin (an accepted form): it guards against false refusals, which no mutant seeds"
_MALFORMED = ("MalformedXML for a body that is not an encryption configuration: parser robustness, no realistic mutant "
              "makes the parser accept it")

_CTX_UNPROVEN = ("AWS's answer to an encryption context that is not base64 JSON is unrecorded and undocumented: the "
                 "case's status and error checks are unproven, so context.bad-json-ignored only warns (a survivor "
                 "the ev-ctx helper owns; evidence for the answer turns this case into its killer)")

_POST_CHECKSUM = ("a POST Object checksum form field: the POST page does not list the checksum fields and nothing "
                  "records AWS's answer, so every check in the case is unproven (warnings only): no mutant can be "
                  "caught until AWS's answer is known")

CASE_JUSTIFICATIONS: dict[str, str] = {
    "integrity.checksum-crc32-post": _POST_CHECKSUM,
    "integrity.checksum-crc32c-post": _POST_CHECKSUM,
    "integrity.checksum-crc64nvme-post": _POST_CHECKSUM,
    "integrity.checksum-md5-post": _POST_CHECKSUM,
    "integrity.checksum-sha1-post": _POST_CHECKSUM,
    "integrity.checksum-sha256-post": _POST_CHECKSUM,
    "integrity.checksum-sha512-post": _POST_CHECKSUM,
    "integrity.checksum-xxhash128-post": _POST_CHECKSUM,
    "integrity.checksum-xxhash3-post": _POST_CHECKSUM,
    "integrity.checksum-xxhash64-post": _POST_CHECKSUM,
    "get-part.non-consecutive-parts": "what GetPart answers for an upload completed with non-consecutive part "
                                      "numbers is undocumented beyond 'not supported' (no status, no code) and "
                                      "unrecorded: its refusal is checked as unproven, so no mutant can be caught",
    "get-part.sse-c-not-supported": "'SSE-C is not supported for GetPart' gives no status or code and nothing records "
                                    "the answer: its checks are unproven (warnings), so no mutant can be caught",
    "get-part.upload-of-another-key": "NoSuchUpload for an upload id used with another key is a choice (undocumented, "
                                      "unrecorded), checked as unproven: no mutant can be caught",
    "put-object.encryption-context-not-base64": _CTX_UNPROVEN,
    "put-object.encryption-context-not-json": _CTX_UNPROVEN,
    "copy-object.encryption-context-invalid": _CTX_UNPROVEN,
    "multipart.create-encryption-context-invalid": _CTX_UNPROVEN,
    "multipart.create-ssec-missing-key-md5": "as sse-c.missing-key-md5 on CreateMultipartUpload: AWS's answer to a "
    "really missing key MD5 is unrecorded (its checks are unproven), so multipart.create-ssec-unvalidated (which "
    "its three siblings kill) and ssec.missing-md5-mismatch only warn",
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
    "get-bucket-encryption.response-namespace": "what it is about, the response's XML Content-Type, is unproven (a "
    "warning at most); the configuration it reads back is asserted by the put-bucket-encryption cases",
    "put-bucket-encryption.bad-signature": "SignatureDoesNotMatch on the ?encryption subresource: signature checking "
    "is one path for every operation, whose mutants (auth.*) the auth cases kill",
    "put-bucket-encryption.unknown-element": "wholly unproven (AWS's answer to an unknown element is unrecorded): "
    "bucketcfg.unknown-elements-ignored makes it warn, not fail",
    "put-bucket-encryption.empty-algorithm": "an empty SSEAlgorithm; bucketcfg.unknown-algorithm-accepted keeps the "
    "emptiness check, no mutant accepts an empty value",
    "put-bucket-encryption.not-xml": _MALFORMED,
    "put-bucket-encryption.seed-cors-example-malformed": _MALFORMED,
    "put-bucket-encryption.well-formed-cors-body": _MALFORMED,
    "put-bucket-encryption.sse-s3-seed-example": _POSITIVE,
    "put-bucket-encryption.sse-s3-without-namespace": "AWS's acceptance of a body without the S3 namespace "
    "(QStorage's example 1) is unrecorded: both its checks are unproven, so it can only warn",
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
