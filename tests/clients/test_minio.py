"""minio-py: bucket, small and multipart uploads, download, server-side copy, list, delete."""
from __future__ import annotations

import io
import uuid

import urllib3
from minio import Minio
from minio.commonconfig import CopySource

from tests.clients.conftest import MIB, endpoint_for


def client_for(server, scheme: str) -> Minio:
    creds = server.credentials["main"]
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=20, read=60), retries=False,
                               cert_reqs="CERT_REQUIRED" if scheme == "https" else "CERT_NONE",
                               ca_certs=server.ca_file if scheme == "https" else None)
    host = endpoint_for(server, scheme).split("://", 1)[1]
    return Minio(host, access_key=creds["access_key"], secret_key=creds["secret_key"], secure=scheme == "https",
                 region=server.region, http_client=http)


def test_minio_round_trip(s3_mock_server, payloads, scheme):
    client = client_for(s3_mock_server, scheme)
    bucket = f"minio-{scheme}-{uuid.uuid4().hex[:8]}"
    client.make_bucket(bucket)
    small = payloads["small"].read_bytes()
    client.put_object(bucket, "small.bin", io.BytesIO(small), len(small))
    large = payloads["large"].read_bytes()
    client.put_object(bucket, "large.bin", io.BytesIO(large), -1, part_size=5 * MIB)    # multipart
    stat = client.stat_object(bucket, "large.bin")
    assert stat.size == len(large) and stat.etag.endswith("-3")
    response = client.get_object(bucket, "large.bin")
    try:
        assert response.read() == large
    finally:
        response.close()
        response.release_conn()
    client.copy_object(bucket, "copy.bin", CopySource(bucket, "small.bin"))
    response = client.get_object(bucket, "copy.bin")
    try:
        assert response.read() == small
    finally:
        response.close()
        response.release_conn()
    assert sorted(o.object_name for o in client.list_objects(bucket)) == ["copy.bin", "large.bin", "small.bin"]
    for name in ("copy.bin", "large.bin", "small.bin"):
        client.remove_object(bucket, name)
    client.remove_bucket(bucket)
    assert not client.bucket_exists(bucket)
