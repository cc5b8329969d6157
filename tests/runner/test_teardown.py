"""The teardown empties and deletes every bucket a case made, with as few requests as that takes: the uploads
are listed only when the case sent a POST (only CreateMultipartUpload makes an upload), and a complete version
listing whose entries were all deleted is not listed again. Run against the built-in server."""
from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest

from conformance import engine
from conformance import profile as profiles
from conformance.casefile import loader
from conformance.request import signing
from conformance.request.transport import Transport
from conformance.target import Target
from mockserver.server import running_server

SOURCE = '{document: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html", quote: q}'


class Recording(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []

    def send(self, method, url, headers, body, max_body=None):  # type: ignore[no-untyped-def]
        self.sent.append((method, url))
        return super().send(method, url, headers, body, max_body)


@pytest.fixture(scope="module")
def server() -> Iterator[object]:
    with running_server() as srv:
        yield srv


def _run(server, tmp_path, steps: str) -> tuple[engine.CaseResult, list[tuple[str, str]], str]:
    path = tmp_path / "t.yaml"
    path.write_text(textwrap.dedent(f"""\
        cases:
          - id: t.teardown
            title: leaves things behind
            operation: PutObject
            source: {SOURCE}
            steps:
        """) + textwrap.indent(textwrap.dedent(steps), "      "))
    cases, problems = loader.load_cases([str(path)])
    assert not problems, problems
    creds = server.credentials
    target = Target(server.endpoint, "us-east-1", signing.Keys(creds["main"]["access_key"], creds["main"]["secret_key"]),
                    ca_file=server.ca_file)
    transport = Recording()
    profile = profiles.Profile(name="t", region="us-east-1", capabilities=frozenset())
    result = engine.Engine(target, profile, transport).run_case(cases[0])
    bucket = result.steps[0].exchange.request.url.split("/")[3].split("?")[0]
    teardown = transport.sent[len(transport.sent) - _teardown_length(transport.sent, bucket):]
    return result, teardown, bucket


def _teardown_length(sent: list[tuple[str, str]], bucket: str) -> int:
    """The requests from the last listing of the bucket's uploads or versions on (the teardown's)."""
    for index, (method, url) in enumerate(sent):
        if method == "GET" and url.split("/")[3].split("?")[0] == bucket and (
                url.endswith(("?uploads", "?uploads=")) or "?versions" in url):
            return len(sent) - index
    raise AssertionError(f"no teardown listing in {sent}")


def _bucket_gone(server, bucket: str) -> bool:
    return bucket not in [b["Name"] for b in server.client("s3").list_buckets()["Buckets"]]


def test_no_post_no_uploads_listing_and_one_versions_listing(server, tmp_path):
    result, teardown, bucket = _run(server, tmp_path, """\
        - request: {method: PUT, bucket: "${bucket}", key: a, body: {text: x}}
          expect: {status: 200}
        - request: {method: PUT, bucket: "${bucket}", key: b, body: {text: y}}
          expect: {status: 200}
        """)
    assert result.outcome.value == "passed" and result.teardown_problems == [], result.reason
    methods = [m for m, _ in teardown]
    assert methods == ["GET", "DELETE", "DELETE", "DELETE"], teardown        # versions, a, b, the bucket
    assert not any("uploads" in u for _, u in teardown)
    assert _bucket_gone(server, bucket)


def test_an_upload_left_by_a_post_is_aborted(server, tmp_path):
    result, teardown, bucket = _run(server, tmp_path, """\
        - request: {method: POST, bucket: "${bucket}", key: big, query: {uploads: ""}}
          expect: {status: 200}
        """)
    assert result.outcome.value == "passed" and result.teardown_problems == [], result.reason
    assert "uploads" in teardown[0][1] and teardown[1][0] == "DELETE" and "uploadId=" in teardown[1][1], teardown
    assert _bucket_gone(server, bucket)


def test_every_version_is_deleted(server, tmp_path):
    result, teardown, bucket = _run(server, tmp_path, """\
        - request: {method: PUT, bucket: "${bucket}", query: {versioning: ""},
                    body: {xml: '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>'}}
          expect: {status: 200}
        - request: {method: PUT, bucket: "${bucket}", key: k, body: {text: one}}
          expect: {status: 200}
        - request: {method: PUT, bucket: "${bucket}", key: k, body: {text: two}}
          expect: {status: 200}
        - request: {method: DELETE, bucket: "${bucket}", key: k}
          expect: {status: 204}
        """)
    assert result.outcome.value == "passed" and result.teardown_problems == [], result.reason
    deletes = [u for m, u in teardown if m == "DELETE" and "versionId=" in u]
    assert len(deletes) == 3, teardown           # two versions and the delete marker
    assert _bucket_gone(server, bucket)
