"""Large transfers, run as a separate process: `python bench/transfer.py MODE ENDPOINT AK SK BUCKET`.
MODE: multipart-64m (8 parts of 8 MiB), put-1g (the bucket default, SSE-S3), put-1g-kms (SSE-KMS, the AWS managed
key), put-1g-ssec (SSE-C), get-1g, md5-1g (no server: single-core hashlib MD5 over 1 GiB in 4 MiB pieces, the bound
of an SSE-S3 PUT whose ETag is the body's MD5), put-1g-seal / put-1g-store (bench/nullapp.py only: its
reference PUTs, which AES-GCM-encrypt and CRC64NVME-checksum the body, and also store it in tmpfs). Bodies go over raw http.client with pre-signed URLs
(UNSIGNED-PAYLOAD; SSE headers signed), streamed from / into fixed buffers, no Content-MD5. Prints one JSON line."""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import sys
import time
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import boto3
from botocore.config import Config

from bench.rawhttp import Presigner

MIB = 1024 * 1024
BLOCK = os.urandom(MIB)


def _client(endpoint: str, ak: str, sk: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ak,
                        aws_secret_access_key=sk,
                        config=Config(signature_version="s3v4", retries={"max_attempts": 1}, read_timeout=300,
                                      s3={"addressing_style": "path"}))


SSEC_KEY = bytes(range(32))
SSE_HEADERS = {
    "put-1g-kms": {"x-amz-server-side-encryption": "aws:kms"},
    "put-1g-ssec": {"x-amz-server-side-encryption-customer-algorithm": "AES256",
                    "x-amz-server-side-encryption-customer-key": base64.b64encode(SSEC_KEY).decode(),
                    "x-amz-server-side-encryption-customer-key-md5":
                        base64.b64encode(hashlib.md5(SSEC_KEY).digest()).decode()},
}


def _put(url: str, size: int, headers: dict[str, str] | None = None) -> str:
    split = urlsplit(url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=300)
    conn.putrequest("PUT", f"{split.path}?{split.query}", skip_accept_encoding=True)
    for name, value in (headers or {}).items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    view = memoryview(BLOCK * 8)
    sent = 0
    while sent < size:
        piece = view[: min(len(view), size - sent)]
        conn.sock.sendall(piece)
        sent += len(piece)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"PUT {response.status}: {body[:300]!r}")
    return response.getheader("ETag", "")


def _get(url: str) -> int:
    split = urlsplit(url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=300)
    conn.request("GET", f"{split.path}?{split.query}")
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"GET {response.status}: {response.read()[:300]!r}")
    buffer = bytearray(8 * MIB)
    total = 0
    while True:
        n = response.readinto(buffer)
        if not n:
            break
        total += n
    conn.close()
    return total


UNBLOCK_SSEC = (b'<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>'
                b"<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
                b"</ApplyServerSideEncryptionByDefault><BlockedEncryptionTypes><EncryptionType>NONE</EncryptionType>"
                b"</BlockedEncryptionTypes></Rule></ServerSideEncryptionConfiguration>")


def _allow_ssec(endpoint: str, presigner: Presigner, bucket: str) -> None:
    """New buckets block SSE-C (AWS since April 2026, and the mock's aws dialect): unblock the bench bucket."""
    split = urlsplit(endpoint)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=60)
    md5 = base64.b64encode(hashlib.md5(UNBLOCK_SSEC).digest()).decode()
    conn.request("PUT", presigner.target("PUT", f"/{bucket}", {"encryption": ""}), body=UNBLOCK_SSEC,
                 headers={"Content-MD5": md5})
    response = conn.getresponse()
    response.read()
    conn.close()


def main(mode: str, endpoint: str, ak: str, sk: str, bucket: str) -> dict:
    s3 = _client(endpoint, ak, sk)
    cpu = time.process_time()
    if mode == "multipart-64m":
        key, size = "multipart-64m", 64 * MIB
        started = time.perf_counter()
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        parts = []
        for number in range(1, 9):
            url = s3.generate_presigned_url("upload_part", Params={"Bucket": bucket, "Key": key, "UploadId": upload,
                                                                   "PartNumber": number}, ExpiresIn=3600)
            parts.append({"PartNumber": number, "ETag": _put(url, 8 * MIB)})
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
        seconds = time.perf_counter() - started
    elif mode == "put-1g":
        size = 1024 * MIB
        url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "object-1g"}, ExpiresIn=3600)
        started = time.perf_counter()
        _put(url, size)
        seconds = time.perf_counter() - started
    elif mode in SSE_HEADERS:
        size = 1024 * MIB
        split = urlsplit(endpoint)
        presigner = Presigner(split.netloc, ak, sk)
        if mode == "put-1g-ssec":
            _allow_ssec(endpoint, presigner, bucket)
        url = endpoint + presigner.target("PUT", f"/{bucket}/object-1g-{mode}", None, SSE_HEADERS[mode])
        started = time.perf_counter()
        _put(url, size, SSE_HEADERS[mode])
        seconds = time.perf_counter() - started
    elif mode in ("put-1g-seal", "put-1g-store"):
        size = 1024 * MIB
        url = f"{endpoint}/{bucket}/object-1g-reference?reference={mode.rsplit('-', 1)[1]}"
        started = time.perf_counter()
        _put(url, size)
        seconds = time.perf_counter() - started
    elif mode == "md5-1g":
        size = 1024 * MIB
        view = memoryview(BLOCK * 4)
        digest = hashlib.md5()
        started = time.perf_counter()
        for _ in range(size // len(view)):
            digest.update(view)
        seconds = time.perf_counter() - started
    elif mode == "get-1g":
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "object-1g"}, ExpiresIn=3600)
        started = time.perf_counter()
        size = _get(url)
        seconds = time.perf_counter() - started
        if size != 1024 * MIB:
            raise RuntimeError(f"GET returned {size} bytes")
    else:
        raise ValueError(mode)
    return {"mode": mode, "bytes": size, "seconds": seconds, "mb_per_s": size / 1e6 / seconds,
            "client_cpu_s": round(time.process_time() - cpu, 2)}


if __name__ == "__main__":
    try:
        print(json.dumps(main(*sys.argv[1:6])))
    except Exception as exc:  # noqa: BLE001 - reported as data to the orchestrator
        print(json.dumps({"mode": sys.argv[1], "error": f"{type(exc).__name__}: {exc}"[:300]}))
