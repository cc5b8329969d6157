"""POST Object (browser form upload): the signed policy document and every one of its conditions."""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from datetime import UTC, datetime

from mockserver.accounts import Account, Accounts
from mockserver.auth import errors
from mockserver.auth.credential import parse_credential
from mockserver.auth.signing import sign, signatures_equal, signing_key
from mockserver.auth.sigv4 import header_error
from mockserver.auth.timestamps import parse_amz_date
from mockserver.errors import S3Error, access_denied, entity_too_large, entity_too_small, invalid_argument, s3_error

# Fields that need no policy condition (AWS: "except x-amz-signature, file, policy, and x-ignore-*").
EXEMPT = frozenset({"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file", "x-amz-security-token"})


def _invalid_policy(detail: str) -> S3Error:
    return s3_error("InvalidPolicyDocument", f"Invalid Policy: {detail}")


def _denied(detail: str) -> S3Error:
    return access_denied(f"Invalid according to Policy: {detail}")


# "The expiration element specifies the expiration date and time of the POST policy in ISO8601 GMT date format"
# (AWS, POST Policy), e.g. 2013-08-01T12:00:00.000Z. Python's fromisoformat also takes a space for the T (the
# str() of a datetime); ceph/s3-tests test_post_object_invalid_date_format (not fails_on_aws) expects 400 for that.
_ISO8601 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?", re.ASCII)


def _parse_expiration(value: object) -> datetime:
    if not isinstance(value, str):
        raise _invalid_policy("Invalid 'expiration' value.")
    if not _ISO8601.fullmatch(value.strip()):
        raise _invalid_policy(f"Invalid 'expiration' value: '{value}'")
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _invalid_policy(f"Invalid 'expiration' value: '{value}'") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _missing_field(name: str) -> S3Error:
    """A signing field the form lacks while naming the other ones (recorded: LocalStack's AWS snapshots
    TestS3PresignedPost::test_post_request_missing_signature / test_post_request_missing_fields, both versions)."""
    return invalid_argument(f"Bucket POST must contain a field named '{name}'.  If it is specified, please check "
                            "the order of the fields.", name, "")


def _signed_account(fields: dict[str, str], policy: str, accounts: Accounts, region: str) -> Account:
    if "x-amz-signature" in fields or "x-amz-credential" in fields:
        if "x-amz-algorithm" not in fields:
            raise _missing_field("X-Amz-Algorithm")
        if "x-amz-signature" not in fields:
            raise _missing_field("X-Amz-Signature")
        if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
            raise invalid_argument("POST requires the X-Amz-Algorithm field to be AWS4-HMAC-SHA256", "x-amz-algorithm")
        credential = parse_credential(fields.get("x-amz-credential", ""), region, header_error)  # type: ignore[arg-type]
        account = accounts.by_access_key(credential.access_key)
        if account is None:
            raise errors.invalid_access_key_id(credential.access_key)
        date = parse_amz_date(fields.get("x-amz-date", ""))
        if date is None or fields["x-amz-date"][:8] != credential.date:
            raise errors.missing_date()
        key = signing_key(account.secret_key, credential.date, credential.region, "s3")
        provided = fields.get("x-amz-signature", "")
        if not signatures_equal(sign(key, policy), provided):
            raise errors.signature_does_not_match(account.access_key, policy, provided)
        return account
    if "awsaccesskeyid" in fields or "signature" in fields:
        if "awsaccesskeyid" not in fields:
            raise _missing_field("AWSAccessKeyId")
        if "signature" not in fields:
            raise _missing_field("Signature")
        account = accounts.by_access_key(fields["awsaccesskeyid"])
        if account is None:
            raise errors.invalid_access_key_id(fields["awsaccesskeyid"])
        digest = hmac.digest(account.secret_key.encode("utf-8"), policy.encode("utf-8"), "sha1")
        if not hmac.compare_digest(base64.b64encode(digest).decode(), fields["signature"]):
            raise errors.signature_does_not_match(account.access_key, policy, fields["signature"])
        return account
    raise errors.access_denied_post()


def _check_condition(condition: object, fields: dict[str, str], file_size: int | None, bucket: str) -> set[str]:
    """Raises when the condition fails; returns the field names it covers."""
    def value_of(name: str) -> str:
        return bucket if name == "bucket" else fields.get(name, "")

    if isinstance(condition, dict):
        # Recorded (LocalStack's AWS snapshot TestS3PresignedPost::test_post_object_policy_conditions_validation_eq /
        # invalid-condition-wrong-condition): a {..} condition with two properties is refused; {} breaks the same rule.
        if len(condition) != 1:
            raise _invalid_policy("Invalid Simple-Condition: Simple-Conditions must have exactly one property "
                                  "specified.")
        covered = set()
        for name, expected in condition.items():
            lname = str(name).lower()
            if value_of(lname) != str(expected):
                raise _denied(f"Policy Condition failed: {json.dumps(['eq', '$' + str(name), expected])}")
            covered.add(lname)
        return covered
    if not isinstance(condition, list) or len(condition) != 3:
        raise _invalid_policy("Invalid Condition.")
    op = str(condition[0]).lower()
    if op == "content-length-range":
        try:
            low, high = int(condition[1]), int(condition[2])
        except (TypeError, ValueError):
            raise _invalid_policy("Invalid content-length-range.") from None
        if file_size is None:
            return set()
        if file_size > high:
            raise entity_too_large(file_size, high)
        if file_size < low:
            raise entity_too_small(file_size, low)
        return set()
    if op not in ("eq", "starts-with") or not isinstance(condition[1], str) or not condition[1].startswith("$"):
        raise _invalid_policy(f"Invalid Condition: {json.dumps(condition)}")
    name = condition[1][1:].lower()
    expected = str(condition[2])
    actual = value_of(name)
    ok = actual == expected if op == "eq" else actual.startswith(expected)
    if not ok:
        raise _denied(f"Policy Condition failed: {json.dumps(condition)}")
    return {name}


def verify_post_policy(fields: dict[str, str], file_size: int | None, accounts: Accounts, region: str,
                       now: datetime, bucket: str) -> Account:
    """Verifies the policy signature (SigV4, or SigV2 fields), expiry, every condition, and that every
    form field is covered by a condition. Field names are case-insensitive. Raises S3Error.
    file_size=None skips content-length-range (the size is not known before the file has streamed: call
    again with the size before committing)."""
    lowered = {k.lower(): v for k, v in fields.items()}
    policy = lowered.get("policy")
    if not policy:
        raise errors.access_denied_post()
    account = _signed_account(lowered, policy, accounts, region)
    try:
        document = json.loads(base64.b64decode(policy, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):  # deep nesting: bad input
        raise _invalid_policy("Invalid JSON.") from None
    if not isinstance(document, dict) or not isinstance(document.get("conditions"), list):
        raise _invalid_policy("Invalid JSON.")
    if "expiration" not in document:
        raise _invalid_policy("Policy missing expiration.")
    if now > _parse_expiration(document["expiration"]):
        raise _denied("Policy expired.")
    covered: set[str] = set()
    for condition in document["conditions"]:
        covered |= _check_condition(condition, lowered, file_size, bucket)
    extra = [name for name in fields
             if name.lower() not in covered and name.lower() not in EXEMPT and not name.lower().startswith("x-ignore-")]
    if extra:
        raise _denied(f"Extra input fields: {', '.join(extra)}")
    return account
