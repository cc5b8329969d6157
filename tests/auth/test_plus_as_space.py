"""A query that carries a space as '+' (form encoding) and was signed with %20 verifies (Rust object_store lists
prefixes with spaces that way; see mockserver.auth.canonical.plus_as_space_query for the evidence); a '+' signed
as %2B still verifies too, and the listing reads the '+' as a space."""
from __future__ import annotations

import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mockserver.server import running_server


def _signed_get(server, url_signed: str, url_sent: str) -> requests.Response:
    creds = server.credentials["main"]
    request = AWSRequest(method="GET", url=url_signed, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(Credentials(creds["access_key"], creds["secret_key"]), "s3", server.region).add_auth(request)
    return requests.get(url_sent, headers=dict(request.headers), timeout=30)


def test_plus_for_space_in_query_verifies_and_lists():
    with running_server() as server:
        s3 = server.endpoint
        bucket = f"{s3}/plus-bucket"
        creds = server.credentials["main"]
        request = AWSRequest(method="PUT", url=bucket, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        S3SigV4Auth(Credentials(creds["access_key"], creds["secret_key"]), "s3", server.region).add_auth(request)
        assert requests.put(bucket, headers=dict(request.headers), timeout=30).status_code == 200
        request = AWSRequest(method="PUT", url=f"{bucket}/a%20b/c", data=b"x",
                             headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        S3SigV4Auth(Credentials(creds["access_key"], creds["secret_key"]), "s3", server.region).add_auth(request)
        assert requests.put(f"{bucket}/a%20b/c", data=b"x", headers=dict(request.headers),
                            timeout=30).status_code == 200
        form = _signed_get(server, f"{bucket}?list-type=2&prefix=a%20b%2F", f"{bucket}?list-type=2&prefix=a+b%2F")
        assert form.status_code == 200, form.text
        assert "<Key>a b/c</Key>" in form.text
        literal = _signed_get(server, f"{bucket}?list-type=2&prefix=a%2Bb%2F", f"{bucket}?list-type=2&prefix=a+b%2F")
        assert literal.status_code == 200, literal.text
        wrong = _signed_get(server, f"{bucket}?list-type=2&prefix=a%2Bc%2F", f"{bucket}?list-type=2&prefix=a+b%2F")
        assert wrong.status_code == 403 and "SignatureDoesNotMatch" in wrong.text
