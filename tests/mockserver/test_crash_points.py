"""Kill the server at every write step of PutObject, CopyObject, UploadPart and CompleteMultipartUpload (the steps
of mockserver.storage.crashpoints, each hit deterministically), restart on the same --data-dir, check invariants:
acknowledged data intact and byte-identical, the interrupted write absent or complete (never partial), GET never
fails, listings and uploads consistent, and a completed multipart object out of reach of its old upload id."""
from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import time
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from mockserver.accounts import MAIN
from mockserver.server import running_server
from mockserver.storage import crashpoints
from mockserver.storage.disk import DiskJournal
from tests.mockserver.conftest import serve_until_crash

BUCKET = "crash"
NO_RETRY = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=20)
_rnd = random.Random(10)
OLD = _rnd.randbytes(64 * 1024)
NEW = _rnd.randbytes(96 * 1024)
SRC = _rnd.randbytes(80 * 1024)
P1 = _rnd.randbytes(5 * 1024 * 1024)
P2 = _rnd.randbytes(64 * 1024)
P3 = _rnd.randbytes(20 * 1024)
UP_OLD = _rnd.randbytes(64 * 1024)
UP_NEW = _rnd.randbytes(70 * 1024)

DROPPED = (BotoConnectionError, HTTPClientError)    # the server died mid-request (never an HTTP answer)
CASES = [(op, step) for op, steps in crashpoints.OPERATION_STEPS.items() for step in steps]


def _md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> dict[str, Any]:
    """A data dir holding what every crash starts from."""
    data_dir = str(tmp_path_factory.mktemp("crash-template") / "data")
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client(config=NO_RETRY)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="obj", Body=OLD)
        s3.put_object(Bucket=BUCKET, Key="src", Body=SRC)
        mp = s3.create_multipart_upload(Bucket=BUCKET, Key="mp")["UploadId"]
        etags = [s3.upload_part(Bucket=BUCKET, Key="mp", UploadId=mp, PartNumber=n, Body=body)["ETag"]
                 for n, body in ((1, P1), (2, P2), (3, P3))]
        up = s3.create_multipart_upload(Bucket=BUCKET, Key="up")["UploadId"]
        s3.upload_part(Bucket=BUCKET, Key="up", UploadId=up, PartNumber=1, Body=UP_OLD)
    return {"dir": data_dir, "mp": mp, "up": up, "parts": [{"PartNumber": 1, "ETag": etags[0]},
                                                              {"PartNumber": 2, "ETag": etags[1]}]}


def _operate(s3, op: str, t: dict[str, Any]) -> None:
    if op == "PutObject":
        s3.put_object(Bucket=BUCKET, Key="obj", Body=NEW)
    elif op == "CopyObject":
        s3.copy_object(Bucket=BUCKET, Key="obj", CopySource={"Bucket": BUCKET, "Key": "src"})
    elif op == "UploadPart":
        s3.upload_part(Bucket=BUCKET, Key="up", UploadId=t["up"], PartNumber=1, Body=UP_NEW)
    else:
        s3.complete_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=t["mp"], MultipartUpload={"Parts": t["parts"]})


def _get(s3, key: str) -> bytes | None:
    try:
        got = s3.get_object(Bucket=BUCKET, Key=key)
    except ClientError as e:
        assert e.response["Error"]["Code"] == "NoSuchKey", e.response
        return None
    body = got["Body"].read()
    assert len(body) == got["ContentLength"]
    return body


def _check(s3, op: str, t: dict[str, Any]) -> str:
    """The invariants after the restart; returns which outcome the crash left ("old" or "new")."""
    listed = {o["Key"]: o for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    for key, entry in listed.items():                 # everything listed reads back whole
        body = _get(s3, key)
        assert body is not None and len(body) == entry["Size"], key
    assert _get(s3, "src") == SRC
    uploads = {u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])}
    obj = _get(s3, "obj")
    if op in ("PutObject", "CopyObject"):
        new = NEW if op == "PutObject" else SRC
        assert obj in (OLD, new)
        assert set(listed) == {"obj", "src"} and uploads == {t["mp"], t["up"]}
        return "old" if obj == OLD else "new"
    assert obj == OLD
    if op == "UploadPart":
        parts = s3.list_parts(Bucket=BUCKET, Key="up", UploadId=t["up"])["Parts"]
        assert len(parts) == 1 and parts[0]["ETag"] in (_md5(UP_OLD), _md5(UP_NEW))
        outcome = "old" if parts[0]["ETag"] == _md5(UP_OLD) else "new"
        s3.complete_multipart_upload(Bucket=BUCKET, Key="up", UploadId=t["up"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": parts[0]["ETag"]}]})
        assert _get(s3, "up") == (UP_OLD if outcome == "old" else UP_NEW)
        return outcome
    # CompleteMultipartUpload: exactly one of (upload listed, object absent) and (object complete, upload gone).
    mp = _get(s3, "mp")
    assert t["up"] in uploads
    if mp is None:
        assert t["mp"] in uploads and set(listed) == {"obj", "src"}
        done = s3.complete_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=t["mp"],
                                            MultipartUpload={"Parts": t["parts"]})
        assert _get(s3, "mp") == P1 + P2 and done["ETag"].endswith('-2"')
        return "old"
    assert mp == P1 + P2 and t["mp"] not in uploads and set(listed) == {"obj", "src", "mp"}
    with pytest.raises(ClientError) as exc:
        s3.abort_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=t["mp"])
    assert exc.value.response["Error"]["Code"] == "NoSuchUpload"
    again = s3.complete_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=t["mp"], MultipartUpload={"Parts": t["parts"]})
    assert again["ETag"] == s3.head_object(Bucket=BUCKET, Key="mp")["ETag"]
    assert _get(s3, "mp") == P1 + P2
    return "new"


def _blobs(data_dir: str) -> tuple[set[str], set[str]]:
    """(blob files, blobs named by the metadata: the key log's live records and the upload documents)."""
    files = {f for _, _, fs in os.walk(os.path.join(data_dir, "blobs")) for f in fs}
    _buckets, keys, uploads = DiskJournal(data_dir).load()
    named = {b for _bucket, _key, versions in keys for v in versions for b in v.blob_ids() if b}
    named |= {p.blob for u in uploads for p in u.parts.values() if p.blob}
    return files, named


@pytest.mark.parametrize(("op", "step"), CASES, ids=[f"{op}-{step}" for op, step in CASES])
def test_kill_at_every_write_step(tmp_path, template, op, step):
    data_dir = str(tmp_path / "data")
    shutil.copytree(template["dir"], data_dir)
    with serve_until_crash(data_dir, step) as endpoint:
        s3 = running_client(endpoint)
        with pytest.raises(DROPPED):                    # no answer: nothing was acknowledged
            _operate(s3, op, template)
    with running_server(data_dir=data_dir) as srv:
        outcome = _check(srv.client(config=NO_RETRY), op, template)
    with running_server(data_dir=data_dir) as srv:       # what the first restart settled stays settled
        s3 = srv.client(config=NO_RETRY)
        assert _get(s3, "src") == SRC
        s3.put_object(Bucket=BUCKET, Key="after", Body=b"x" * 20_000)
        assert _get(s3, "after") == b"x" * 20_000
    early = step.startswith("blob.") or step.endswith(".partial")
    if early:
        assert outcome == "old", f"a write killed at {step} must not appear"
    # Every blob the metadata names exists, and no blob file is left that none names (the start-up sweep).
    files, named = _blobs(data_dir)
    assert named <= files, "metadata names a missing blob"
    assert files == named, "an interrupted write left a blob behind"


def running_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=MAIN.access_key,
                        aws_secret_access_key=MAIN.secret_key, config=NO_RETRY)


def test_crash_step_from_the_environment(tmp_path, template):
    """S3C_MOCK_CRASH_AT reaches a `serve` process: killed inside CompleteMultipartUpload after the object is down,
    the restarted server has the object and not the upload."""
    data_dir = str(tmp_path / "data")
    shutil.copytree(template["dir"], data_dir)
    out = tmp_path / "out.txt"
    env = dict(os.environ, S3C_MOCK_CRASH_AT="version.saved")
    with open(out, "w") as f:
        proc = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", "0", "--data-dir", data_dir],
                                stdout=f, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        endpoint = None
        while endpoint is None and time.monotonic() < deadline and proc.poll() is None:
            endpoint = next((w.rstrip(",;") for w in out.read_text().split() if w.startswith("http://127.0.0.1:")),
                            None)
            time.sleep(0.05)
        assert endpoint is not None, out.read_text()
        with pytest.raises(DROPPED):
            _operate(running_client(endpoint), "CompleteMultipartUpload", template)
        assert proc.wait(20) == crashpoints.CRASH_STATUS
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    with running_server(data_dir=data_dir) as srv:
        assert _check(srv.client(config=NO_RETRY), "CompleteMultipartUpload", template) == "new"
