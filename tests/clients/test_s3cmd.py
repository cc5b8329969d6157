"""s3cmd with a config file pointing at the endpoint, signature v4, path-style."""
from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from tests.clients.conftest import CLIENT_TIMEOUT, endpoint_for

S3CMD = str(Path(sys.executable).with_name("s3cmd"))


def write_config(server, scheme: str, path: Path) -> Path:
    creds = server.credentials["main"]
    host = endpoint_for(server, scheme).split("://", 1)[1]
    lines = [
        "[default]",
        f"access_key = {creds['access_key']}",
        f"secret_key = {creds['secret_key']}",
        f"host_base = {host}",
        f"host_bucket = {host}",
        f"bucket_location = {server.region}",
        "signature_v2 = False",
        f"use_https = {scheme == 'https'}",
        "check_ssl_certificate = True",
        "check_ssl_hostname = True",
        f"ca_certs_file = {server.ca_file if scheme == 'https' else ''}",
        "multipart_chunk_size_mb = 5",
        "max_retries = 1",
        "progress_meter = False",
    ]
    config = path / f"s3cfg-{scheme}"
    config.write_text("\n".join(lines) + "\n")
    return config


def s3cmd(config: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, S3CMD, "-c", str(config), *args], check=False, capture_output=True,
                            text=True,
                            timeout=CLIENT_TIMEOUT)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_s3cmd_round_trip(s3_mock_server, payloads, scheme, tmp_path):
    config = write_config(s3_mock_server, scheme, tmp_path)
    bucket = f"s3cmd-{scheme}-{uuid.uuid4().hex[:8]}"
    s3cmd(config, "mb", f"s3://{bucket}")
    s3cmd(config, "put", str(payloads["small"]), f"s3://{bucket}/small.bin")
    s3cmd(config, "put", str(payloads["large"]), f"s3://{bucket}/large.bin")      # 3 parts of 5 MiB
    s3cmd(config, "get", f"s3://{bucket}/large.bin", str(tmp_path / "large.out"))
    assert (tmp_path / "large.out").read_bytes() == payloads["large"].read_bytes()
    s3cmd(config, "cp", f"s3://{bucket}/small.bin", f"s3://{bucket}/copy.bin")
    s3cmd(config, "get", f"s3://{bucket}/copy.bin", str(tmp_path / "copy.out"))
    assert (tmp_path / "copy.out").read_bytes() == payloads["small"].read_bytes()
    listing = s3cmd(config, "ls", f"s3://{bucket}/")
    assert sorted(line.split()[-1].rsplit("/", 1)[1] for line in listing.splitlines()) == [
        "copy.bin", "large.bin", "small.bin"]
    s3cmd(config, "del", "--recursive", "--force", f"s3://{bucket}/")
    s3cmd(config, "rb", f"s3://{bucket}")
