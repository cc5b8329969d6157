"""Concurrent conflicting requests: the key ends holding exactly one writer's bytes with that body's ETag, one
CompleteMultipartUpload wins, aborted uploads refuse parts, and (on disk) the state survives a restart."""
from __future__ import annotations

import concurrent.futures as cf
import hashlib

import pytest

from mockserver.server import running_server

from .wire import Wire

WRITERS = 12


def bodies() -> list[bytes]:
    return [bytes([i]) * (150_000 + i * 997) for i in range(WRITERS)]


def run_all(calls):
    with cf.ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def assert_one_of(wire: Wire, path: str, candidates: list[bytes]) -> None:
    reply = wire.send("GET", path)
    assert reply.status == 200, reply
    assert reply.body in candidates
    assert reply.headers["ETag"] == f'"{hashlib.md5(reply.body).hexdigest()}"'


def test_concurrent_puts_to_one_key(wire, victim):
    candidates = bodies()
    replies = run_all([lambda b=b: wire.send("PUT", victim.path, body=b) for b in candidates])
    assert {r.status for r in replies} == {200}
    assert_one_of(wire, victim.path, candidates)


def test_concurrent_puts_and_deletes(wire, victim):
    candidates = bodies()
    calls = [(lambda i=i: wire.send("DELETE", victim.path)) if i % 2 else
             (lambda i=i: wire.send("PUT", victim.path, body=candidates[i])) for i in range(WRITERS)]
    replies = run_all(calls)
    assert {r.status for r in replies} <= {200, 204}
    reply = wire.send("GET", victim.path)
    assert reply.status == 404 or reply.body in candidates, reply


def test_concurrent_complete_multipart_upload(wire, s3, victim):
    upload = s3.create_multipart_upload(Bucket=victim.bucket, Key="assembled")["UploadId"]
    etag = s3.upload_part(Bucket=victim.bucket, Key="assembled", UploadId=upload, PartNumber=1, Body=b"p" * 100)["ETag"]
    xml = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part>"
           f"</CompleteMultipartUpload>").encode()
    replies = run_all([lambda: wire.send("POST", f"/{victim.bucket}/assembled?uploadId={upload}", body=xml)] * 6)
    # One Complete assembles the object. The others answer NoSuchUpload while it is in progress, or, once it is done,
    # the same answer again (a repeated Complete of a completed upload is 200 with the same ETag: ceph/s3-tests
    # test_multipart_reupload_checksum_and_etag).
    ok = [r for r in replies if r.status == 200]
    assert ok and all(r.status == 404 and r.code == "NoSuchUpload" for r in replies if r.status != 200)
    assert len({r.body for r in ok}) == 1
    assert wire.send("GET", f"/{victim.bucket}/assembled").body == b"p" * 100
    victim.assert_intact()


def test_upload_parts_racing_an_abort(wire, s3, victim):
    upload = s3.create_multipart_upload(Bucket=victim.bucket, Key="aborted")["UploadId"]
    calls = [(lambda n=n: wire.send("PUT", f"/{victim.bucket}/aborted?partNumber={n}&uploadId={upload}",
                                    body=b"z" * 300_000)) for n in range(1, 8)]
    calls.insert(3, lambda: wire.send("DELETE", f"/{victim.bucket}/aborted?uploadId={upload}"))
    replies = run_all(calls)
    assert all(r.status in (200, 204) or r.code == "NoSuchUpload" for r in replies), replies
    after = wire.send("PUT", f"/{victim.bucket}/aborted?partNumber=9&uploadId={upload}", body=b"late")
    assert after.code == "NoSuchUpload"
    assert wire.send("GET", f"/{victim.bucket}/aborted").status == 404


def test_concurrent_create_bucket(wire):
    replies = run_all([lambda: wire.send("PUT", "/robustness-race-bucket")] * 6)
    assert sorted(r.status for r in replies) == [200] + [409] * 5
    assert all(r.code == "BucketAlreadyOwnedByYou" for r in replies if r.status == 409)


@pytest.mark.parametrize("attempt", range(2))
def test_concurrent_writes_on_disk_survive_restart(tmp_path, attempt):
    candidates = bodies()
    with running_server(data_dir=str(tmp_path)) as server:
        wire = Wire(server.endpoint, server.credentials, server.region)
        assert wire.send("PUT", "/disk-race").status == 200
        run_all([lambda b=b: wire.send("PUT", "/disk-race/k", body=b) for b in candidates])
        before = wire.send("GET", "/disk-race/k")
    with running_server(data_dir=str(tmp_path)) as server:
        wire = Wire(server.endpoint, server.credentials, server.region)
        after = wire.send("GET", "/disk-race/k")
    assert after.body == before.body and after.headers["ETag"] == before.headers["ETag"]
    assert after.body in candidates
