"""--data-dir: restart sees everything, keys never become paths, no plaintext on disk, kill -9 durability."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import boto3
import pytest
import requests

from mockserver.accounts import MAIN
from mockserver.server import running_server

MIB = 1024 * 1024


def _all_files(root: str) -> list[str]:
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]


def test_restart_sees_everything(tmp_path):
    data_dir = str(tmp_path / "data")
    marker = b"PLAINTEXT-MARKER-" * 64
    keys = ["../../escape", "ünïcødé/鍵", "k" * 1024, "/abs/path", "plain"]
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client()
        s3.create_bucket(Bucket="persist-bucket")
        s3.put_bucket_versioning(Bucket="persist-bucket", VersioningConfiguration={"Status": "Enabled"})
        versions = {k: s3.put_object(Bucket="persist-bucket", Key=k, Body=marker + k.encode())["VersionId"]
                    for k in keys}
        s3.delete_object(Bucket="persist-bucket", Key="plain")
        kms_key = srv.client("kms").create_key()["KeyMetadata"]
        s3.put_object(Bucket="persist-bucket", Key="kms", Body=marker, ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=kms_key["Arn"])
        uid = s3.create_multipart_upload(Bucket="persist-bucket", Key="mp")["UploadId"]
        part = s3.upload_part(Bucket="persist-bucket", Key="mp", UploadId=uid, PartNumber=1, Body=marker)
        s3.put_bucket_encryption(Bucket="persist-bucket", ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/x"}}]})
    # Nothing outside the data dir, no key as a file name, no plaintext in any file.
    files = _all_files(data_dir)
    assert all(os.path.realpath(f).startswith(os.path.realpath(data_dir)) for f in files)
    assert not os.path.exists(tmp_path / "escape")
    for f in files:
        with open(f, "rb") as fh:
            assert b"PLAINTEXT-MARKER" not in fh.read(), f
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client()
        assert s3.get_bucket_versioning(Bucket="persist-bucket")["Status"] == "Enabled"
        for k in keys[:-1]:
            got = s3.get_object(Bucket="persist-bucket", Key=k)
            assert got["Body"].read() == marker + k.encode() and got["VersionId"] == versions[k]
        assert s3.get_object(Bucket="persist-bucket", Key="plain", VersionId=versions["plain"])["Body"].read() \
            == marker + b"plain"
        assert s3.get_object(Bucket="persist-bucket", Key="kms")["Body"].read() == marker
        assert srv.client("kms").describe_key(KeyId=kms_key["KeyId"])["KeyMetadata"]["Arn"] == kms_key["Arn"]
        done = s3.complete_multipart_upload(Bucket="persist-bucket", Key="mp", UploadId=uid,
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        assert done["ETag"].endswith('-1"')
        rule = s3.get_bucket_encryption(Bucket="persist-bucket")["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == "alias/x"


def test_overwrite_and_delete_free_blobs(tmp_path):
    data_dir = str(tmp_path / "data")
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client()
        s3.create_bucket(Bucket="gc-bucket")
        for i in range(5):
            s3.put_object(Bucket="gc-bucket", Key="same", Body=os.urandom(100_000 + i))
        blobs = _all_files(os.path.join(data_dir, "blobs"))
        assert len(blobs) == 1
        s3.put_object(Bucket="gc-bucket", Key="small", Body=b"tiny")      # small blobs live in the metadata
        assert len(_all_files(os.path.join(data_dir, "blobs"))) == 1
        s3.delete_object(Bucket="gc-bucket", Key="same")
        assert _all_files(os.path.join(data_dir, "blobs")) == []
        assert _all_files(os.path.join(data_dir, "meta", "keys")) == []     # key documents: records of the key log
        assert len(_all_files(os.path.join(data_dir, "meta", "log"))) == 1  # one segment (compaction: test_keylog.py)


def _start(data_dir: str, port_file: str) -> subprocess.Popen:
    with open(port_file, "w") as out:       # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", "0", "--data-dir", data_dir],
                                stdout=out, stderr=subprocess.STDOUT)


def _endpoint(port_file: str, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(port_file) as f:
            for word in f.read().split():
                if word.startswith("http://127.0.0.1:"):
                    return word.rstrip(",;")
        if proc.poll() is not None:
            with open(port_file) as f:
                raise AssertionError(f"server exited: {f.read()}")
        time.sleep(0.1)
    raise AssertionError("server did not announce its endpoint")


def _client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=MAIN.access_key,
                        aws_secret_access_key=MAIN.secret_key)


def test_kill_dash_nine_keeps_acknowledged_writes(tmp_path):
    data_dir = str(tmp_path / "data")
    port_file = str(tmp_path / "out.txt")
    proc = _start(data_dir, port_file)
    try:
        endpoint = _endpoint(port_file, proc)
        s3 = _client(endpoint)
        s3.create_bucket(Bucket="durable")
        acknowledged = {}
        for i in range(30):
            body = os.urandom(2000 + i)
            s3.put_object(Bucket="durable", Key=f"k{i}", Body=body)
            acknowledged[f"k{i}"] = body
        big = os.urandom(3 * MIB)
        s3.put_object(Bucket="durable", Key="big", Body=big)
        # A large upload in flight when the process dies must leave no trace.
        session = requests.Session()
        in_flight = subprocess.Popen([sys.executable, "-c", (
            "import boto3,os,sys; c=boto3.client('s3',endpoint_url=sys.argv[1],region_name='us-east-1',"
            f"aws_access_key_id='{MAIN.access_key}',aws_secret_access_key='{MAIN.secret_key}');"
            "c.put_object(Bucket='durable',Key='partial',Body=os.urandom(200*1024*1024))"), endpoint],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    in_flight.wait(60)
    session.close()
    proc = _start(data_dir, port_file)
    try:
        s3 = _client(_endpoint(port_file, proc))
        for key, body in acknowledged.items():
            assert s3.get_object(Bucket="durable", Key=key)["Body"].read() == body
        assert s3.get_object(Bucket="durable", Key="big")["Body"].read() == big
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="durable")["Contents"]}
        assert "partial" not in keys and len(keys) == 31
        blob_files = _all_files(os.path.join(data_dir, "blobs"))
        assert len(blob_files) == 1           # "big"; small objects are inline, the interrupted blob was removed
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.parametrize("on_disk", [False, True])
def test_overwrite_during_download_serves_old_bytes(tmp_path, on_disk):
    old, new = os.urandom(20 * MIB), os.urandom(20 * MIB)
    with running_server(data_dir=str(tmp_path / "data") if on_disk else None) as srv:
        s3 = srv.client()
        s3.create_bucket(Bucket="race-bucket")
        s3.put_object(Bucket="race-bucket", Key="k", Body=old)
        stream = s3.get_object(Bucket="race-bucket", Key="k")["Body"]
        first = stream.read(MIB)
        s3.put_object(Bucket="race-bucket", Key="k", Body=new)      # frees the old blob once the GET is done
        rest = stream.read()
        assert first + rest == old
        assert s3.get_object(Bucket="race-bucket", Key="k")["Body"].read() == new
        if on_disk:
            assert len(_all_files(os.path.join(str(tmp_path / "data"), "blobs"))) == 1


def test_fsync_mode_round_trip(tmp_path):
    data_dir = str(tmp_path / "data")
    bodies = {f"k{i}": os.urandom(i * 5000) for i in range(4)}
    with running_server(data_dir=data_dir, fsync=True) as srv:
        s3 = srv.client()
        s3.create_bucket(Bucket="fsync-bucket")
        for key, body in bodies.items():
            s3.put_object(Bucket="fsync-bucket", Key=key, Body=body)
        s3.put_object(Bucket="fsync-bucket", Key="k1", Body=b"replaced")
        bodies["k1"] = b"replaced"
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client()
        for key, body in bodies.items():
            assert s3.get_object(Bucket="fsync-bucket", Key=key)["Body"].read() == body


def test_concurrent_writers_on_disk_stay_consistent(tmp_path):
    import concurrent.futures

    data_dir = str(tmp_path / "data")
    keys = ["a", "b", "c"]
    sizes = [10, 5000, 70_000]          # inline and file blobs
    with running_server(data_dir=data_dir) as srv:
        s3 = srv.client()
        s3.create_bucket(Bucket="busy-bucket")
        s3.put_bucket_versioning(Bucket="busy-bucket", VersioningConfiguration={"Status": "Enabled"})

        def work(worker: int) -> list[int]:
            client = srv.client()
            statuses = []
            for i in range(30):
                key = keys[(worker + i) % len(keys)]
                op = (worker * 7 + i) % 4
                try:
                    if op == 0:
                        client.delete_object(Bucket="busy-bucket", Key=key)
                    elif op == 1:
                        client.get_object(Bucket="busy-bucket", Key=key)["Body"].read()
                    else:
                        client.put_object(Bucket="busy-bucket", Key=key, Body=os.urandom(sizes[i % 3]))
                    statuses.append(200)
                except client.exceptions.ClientError as e:
                    statuses.append(e.response["ResponseMetadata"]["HTTPStatusCode"])
            return statuses

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = [s for batch in pool.map(work, range(8)) for s in batch]
        assert all(s in (200, 404) for s in results), sorted(set(results))
        versions = s3.list_object_versions(Bucket="busy-bucket").get("Versions", [])
        before = {(v["Key"], v["VersionId"], v["ETag"]) for v in versions}
        file_backed = sum(1 for v in versions if v["Size"] > 8 * 1024)
        markers = {(m["Key"], m["VersionId"]) for m in
                   s3.list_object_versions(Bucket="busy-bucket").get("DeleteMarkers", [])}
    with running_server(data_dir=data_dir) as srv:
        listed = srv.client().list_object_versions(Bucket="busy-bucket")
        assert {(v["Key"], v["VersionId"], v["ETag"]) for v in listed.get("Versions", [])} == before
        assert {(m["Key"], m["VersionId"]) for m in listed.get("DeleteMarkers", [])} == markers
        # Every stored version larger than the inline limit has exactly one blob file; nothing leaked.
        assert len(_all_files(os.path.join(data_dir, "blobs"))) == file_backed
