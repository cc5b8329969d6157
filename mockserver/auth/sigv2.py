"""SigV2 (`Authorization: AWS AK:signature`, and `?AWSAccessKeyId=&Expires=&Signature=`), verified with
HMAC-SHA1 over botocore's string to sign. Accepted requests are marked signature_version=2 so handlers can
refuse what AWS reserves for SigV4 (SSE-KMS)."""
from __future__ import annotations

import base64
import hmac
from datetime import UTC, datetime
from urllib.parse import SplitResult, unquote

from botocore.auth import HmacV1Auth
from botocore.awsrequest import HTTPHeaders

from mockserver.accounts import Account, Accounts
from mockserver.auth import errors
from mockserver.auth.canonical import raw_query_params
from mockserver.auth.timestamps import is_skewed, parse_amz_date, parse_http_date
from mockserver.errors import access_denied, invalid_argument, s3_error
from mockserver.numbers import is_ascii_digits, parse_saturated

PREFIX = "AWS "
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_TIMESTAMP = 253402300799          # 9999-12-31T23:59:59Z, the last second datetime can hold
# botocore's HmacV1Auth holds the canonical resource / x-amz header rules; credentials are not used here.
_V1 = HmacV1Auth(None)


def is_presigned_v2(raw_query: str) -> bool:
    return "AWSAccessKeyId=" in raw_query and "Signature=" in raw_query


def _string_to_sign(method: str, raw_path: str, raw_query: str, headers: dict[str, list[str]], date_line: str,
                    auth_path: str | None) -> str:
    http_headers = HTTPHeaders()
    for name, values in headers.items():
        for value in values:
            http_headers[name] = value
    first = {name: values[0].strip() for name, values in headers.items()}
    lines = [method.upper(), first.get("content-md5", ""), first.get("content-type", ""), date_line]
    custom = _V1.canonical_custom_headers(http_headers)
    split = SplitResult("", "", raw_path or "/", raw_query, "")
    resource = _V1.canonical_resource(split, auth_path=auth_path)
    return "\n".join(lines) + "\n" + (custom + "\n" if custom else "") + resource


def _auth_path(raw_path: str, vhost_bucket: str | None) -> str | None:
    """The one resource the request names, as the server serves it: the path for path-style requests (None:
    botocore's canonical resource of the path), /<bucket><path> for a virtual-hosted one. Derived once, by the
    server's addressing rules, so a signature made for /b2/obj cannot be replayed with Host: b1.<domain>."""
    if vhost_bucket is not None:
        return "/" + vhost_bucket + (raw_path or "/")
    return None


def _bucket_root(raw_path: str, vhost_bucket: str | None) -> str | None:
    """A path-style request for a bucket alone (`/bucket`) is also accepted signed over `/bucket/`: botocore signs
    it so ("If the request URI is ONLY a bucket, the auth_path must be terminated with a '/' character to generate
    a signature that the server will accept", botocore/handlers.py), and ceph/s3-tests' SigV2 CreateBucket tests
    (not fails_on_aws, e.g. test_bucket_create_bad_date_none_aws2) rely on AWS accepting it."""
    if vhost_bucket is None and len(raw_path) > 1 and raw_path.count("/") == 1 and raw_path.startswith("/"):
        return raw_path + "/"
    return None


def _verify(account: Account, access_key: str, provided: str, sts: str, alternative: str | None = None) -> None:
    for candidate in (sts, alternative):
        if candidate is None:
            continue
        digest = hmac.digest(account.secret_key.encode("utf-8"), candidate.encode("utf-8"), "sha1")
        if hmac.compare_digest(base64.b64encode(digest).decode(), provided):
            return
    raise errors.signature_does_not_match(access_key, sts, provided)


def _account(accounts: Accounts, access_key: str) -> Account:
    account = accounts.by_access_key(access_key)
    if account is None:
        raise errors.invalid_access_key_id(access_key)
    return account


def check_header_v2(method: str, raw_path: str, raw_query: str, headers: dict[str, list[str]],
                    authorization: str, accounts: Accounts, now: datetime, vhost_bucket: str | None = None) -> Account:
    access_key, sep, provided = authorization[len(PREFIX):].strip().rpartition(":")
    if not sep or not access_key or not provided:
        raise invalid_argument("AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
                               "Authorization", authorization)
    account = _account(accounts, access_key)
    if "x-amz-date" in headers:
        moment, date_line = parse_amz_date(headers["x-amz-date"][0]) or parse_http_date(headers["x-amz-date"][0]), ""
    elif "date" in headers:
        moment, date_line = parse_http_date(headers["date"][0]), headers["date"][0].strip()
    else:
        moment, date_line = None, ""
    if moment is None or moment < _EPOCH:      # before 1970: ceph/s3-tests *_bad_date_before_epoch_aws2
        raise errors.missing_date()
    if is_skewed(moment, now):
        raise errors.request_time_too_skewed(moment, now)
    sts = _string_to_sign(method, raw_path, raw_query, headers, date_line, _auth_path(raw_path, vhost_bucket))
    root = _bucket_root(raw_path, vhost_bucket)
    _verify(account, access_key, provided, sts,
            _string_to_sign(method, raw_path, raw_query, headers, date_line, root) if root else None)
    return account


def check_presigned_v2(method: str, raw_path: str, raw_query: str, headers: dict[str, list[str]],
                       accounts: Accounts, now: datetime, vhost_bucket: str | None = None) -> Account:
    params = {name: unquote(value) for name, value in raw_query_params(raw_query).items()}
    access_key, expires, provided = params.get("AWSAccessKeyId", ""), params.get("Expires", ""), params.get(
        "Signature", "")
    if not is_ascii_digits(expires):
        raise access_denied("Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
                            "parameters")
    account = _account(accounts, access_key)
    seconds = parse_saturated(expires, _LAST_TIMESTAMP)     # later than datetime can hold: the end of time
    expires_at = datetime.fromtimestamp(seconds or 0, tz=UTC)
    if now > expires_at:
        raise s3_error("AccessDenied", "Request has expired",
                       {"Expires": errors.iso_utc(expires_at), "ServerTime": errors.iso_utc(now)})
    sts = _string_to_sign(method, raw_path, raw_query, headers, expires, _auth_path(raw_path, vhost_bucket))
    root = _bucket_root(raw_path, vhost_bucket)
    _verify(account, access_key, provided, sts,
            _string_to_sign(method, raw_path, raw_query, headers, expires, root) if root else None)
    return account
