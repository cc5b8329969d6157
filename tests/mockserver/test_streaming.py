"""Bodies stream: a 256 MiB PUT and GET through a server process keep its peak RSS far below the object size,
and the bytes come back exact (MD5 ETag, byte-for-byte MD5 of the download)."""
from __future__ import annotations

import base64
import hashlib
import http.client
import subprocess
import sys
import time
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mockserver.accounts import MAIN

SIZE = 256 * 1024 * 1024
RSS_LIMIT_KIB = 150 * 1024


def _peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _start(tmp_path) -> tuple[subprocess.Popen, str]:
    out_path = tmp_path / "server.out"
    with open(out_path, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", "0"], stdout=out,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for word in out_path.read_text().split():
            if word.startswith("http://127.0.0.1:"):
                return proc, word.rstrip(",;")
        if proc.poll() is not None:
            raise AssertionError(out_path.read_text())
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


def test_large_put_get_streams(tmp_path):
    proc, endpoint = _start(tmp_path)
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=MAIN.access_key,
                          aws_secret_access_key=MAIN.secret_key, config=Config(signature_version="s3v4"))
        s3.create_bucket(Bucket="stream-bucket")
        block = bytes(range(256)) * 4096          # 1 MiB, deterministic
        expected = hashlib.md5()
        for _ in range(SIZE // len(block)):
            expected.update(block)
        put_url = urlsplit(s3.generate_presigned_url("put_object", Params={"Bucket": "stream-bucket", "Key": "big"}))
        conn = http.client.HTTPConnection(put_url.hostname, put_url.port, timeout=120)
        conn.putrequest("PUT", f"{put_url.path}?{put_url.query}")
        conn.putheader("Content-Length", str(SIZE))
        conn.endheaders()
        for _ in range(SIZE // len(block)):
            conn.send(block)
        response = conn.getresponse()
        assert response.status == 200, response.read()
        assert response.getheader("ETag") == f'"{expected.hexdigest()}"'
        response.read()
        get_url = urlsplit(s3.generate_presigned_url("get_object", Params={"Bucket": "stream-bucket", "Key": "big"}))
        conn.request("GET", f"{get_url.path}?{get_url.query}")
        response = conn.getresponse()
        got = hashlib.md5()
        received = 0
        while chunk := response.read(4 * 1024 * 1024):
            got.update(chunk)
            received += len(chunk)
        assert received == SIZE and got.hexdigest() == expected.hexdigest()
        assert _peak_rss_kib(proc.pid) < RSS_LIMIT_KIB
    finally:
        proc.terminate()
        proc.wait(20)


# ----- buffer reuse: non-periodic data, a slow reader, ranges across batch boundaries -----
RANDOM_SIZE = 20 * 1024 * 1024 + 12345


def _slow_get(endpoint_url: str, headers: dict[str, str] | None = None) -> bytes:
    """Reads in small pieces with pauses, so the server's transport holds sent buffers while it produces more."""
    split = urlsplit(endpoint_url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=60)
    conn.request("GET", f"{split.path}?{split.query}", headers=headers or {})
    response = conn.getresponse()
    assert response.status in (200, 206), response.read()[:300]
    out = bytearray()
    for _ in range(10_000):                     # bounded: 20 MiB in 64 KiB reads is ~330 reads
        piece = response.read(64 * 1024)
        if not piece:
            break
        out += piece
        if len(out) % (1024 * 1024) < 64 * 1024:
            time.sleep(0.01)
    conn.close()
    return bytes(out)


@pytest.mark.parametrize("disk", [False, True])
def test_random_body_round_trip_with_slow_reader_and_ranges(tmp_path, disk):
    import os
    import random

    from mockserver.server import running_server

    data = os.urandom(RANDOM_SIZE)
    with running_server(data_dir=str(tmp_path / "data") if disk else None) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="rnd")
        put = s3.put_object(Bucket="rnd", Key="obj", Body=data, ServerSideEncryption="AES256")
        assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "rnd", "Key": "obj"})
        assert _slow_get(url) == data
        rng = random.Random(5)
        batch = 3932160                          # plaintext bytes per pooled GET buffer
        for start in (0, batch - 1, batch, 2 * batch + 7, rng.randrange(RANDOM_SIZE)):
            end = min(RANDOM_SIZE - 1, start + rng.choice([1, 70_000, batch, 2 * batch + 3]))
            got = _slow_get(url, {"Range": f"bytes={start}-{end}"})
            assert got == data[start:end + 1], (start, end)
        # CopyObject streams the source's plaintext views straight into the destination's encryption.
        s3.copy_object(Bucket="rnd", Key="copy", CopySource={"Bucket": "rnd", "Key": "obj"})
        assert s3.get_object(Bucket="rnd", Key="copy")["Body"].read() == data
        # A large body that fails its Content-MD5 check is not stored; the previous object stays.
        other = os.urandom(9 * 1024 * 1024)
        wrong_md5 = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
        with pytest.raises(ClientError) as info:
            s3.put_object(Bucket="rnd", Key="obj", Body=other, ContentMD5=wrong_md5)
        assert info.value.response["Error"]["Code"] == "BadDigest"
        assert s3.get_object(Bucket="rnd", Key="obj")["Body"].read() == data


def test_large_upload_cut_short_leaves_no_blob(tmp_path):
    """A client that disconnects in the middle of a large body: the worker lanes are stopped before the blob is
    aborted, nothing is stored, and the server keeps serving."""
    import os
    import socket

    from mockserver.server import running_server

    data_dir = tmp_path / "data"
    with running_server(data_dir=str(data_dir)) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="cut")
        url = urlsplit(s3.generate_presigned_url("put_object", Params={"Bucket": "cut", "Key": "obj"}))
        with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
            sock.sendall(f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\n"
                         f"Content-Length: {32 * 1024 * 1024}\r\n\r\n".encode())
            block = os.urandom(1024 * 1024)
            for _ in range(12):
                sock.sendall(block)
        deadline = time.monotonic() + 20
        blobs: list[str] = []
        while time.monotonic() < deadline:
            blobs = [f for _, _, files in os.walk(data_dir / "blobs") for f in files]
            if not blobs:
                break
            time.sleep(0.1)
        assert blobs == []
        assert s3.list_objects_v2(Bucket="cut").get("KeyCount") == 0
        s3.put_object(Bucket="cut", Key="after", Body=b"still serving")
        assert s3.get_object(Bucket="cut", Key="after")["Body"].read() == b"still serving"
