"""Bodies stream: a 256 MiB PUT and GET through a server process keep its peak RSS far below the object size,
and the bytes come back exact (MD5 ETag, byte-for-byte MD5 of the download)."""
from __future__ import annotations

import hashlib
import http.client
import subprocess
import sys
import time
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

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
