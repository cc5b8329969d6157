"""The AWS CLI (awscli from PyPI): `aws s3 cp` (multipart), `aws s3 ls`, `aws s3api`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.clients.conftest import CLIENT_TIMEOUT, endpoint_for

AWS = str(Path(sys.executable).with_name("aws"))


def aws(server, scheme: str, tmp_path: Path, *args: str) -> str:
    creds = server.credentials["main"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=creds["access_key"], AWS_SECRET_ACCESS_KEY=creds["secret_key"],
               AWS_DEFAULT_REGION=server.region, AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_MAX_ATTEMPTS="1")
    command = [AWS, "--endpoint-url", endpoint_for(server, scheme)]
    if scheme == "https":
        command += ["--ca-bundle", server.ca_file]
    result = subprocess.run(command + list(args), check=False, env=env, capture_output=True, text=True,
                            timeout=CLIENT_TIMEOUT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_awscli_round_trip(s3_mock_server, payloads, scheme, tmp_path):
    bucket = f"awscli-{scheme}-{uuid.uuid4().hex[:8]}"
    aws(s3_mock_server, scheme, tmp_path, "s3api", "create-bucket", "--bucket", bucket)
    aws(s3_mock_server, scheme, tmp_path, "s3", "cp", str(payloads["small"]), f"s3://{bucket}/small.bin")
    aws(s3_mock_server, scheme, tmp_path, "s3", "cp", str(payloads["large"]), f"s3://{bucket}/large.bin")
    head = json.loads(aws(s3_mock_server, scheme, tmp_path, "s3api", "head-object", "--bucket", bucket, "--key",
                          "large.bin"))
    assert head["ContentLength"] == payloads["large"].stat().st_size and "-" in head["ETag"]   # multipart ETag
    aws(s3_mock_server, scheme, tmp_path, "s3", "cp", f"s3://{bucket}/large.bin", str(tmp_path / "large.out"))
    assert (tmp_path / "large.out").read_bytes() == payloads["large"].read_bytes()
    aws(s3_mock_server, scheme, tmp_path, "s3api", "copy-object", "--bucket", bucket, "--key", "copy.bin",
        "--copy-source", f"{bucket}/small.bin")
    aws(s3_mock_server, scheme, tmp_path, "s3api", "get-object", "--bucket", bucket, "--key", "copy.bin",
        str(tmp_path / "copy.out"))
    assert (tmp_path / "copy.out").read_bytes() == payloads["small"].read_bytes()
    listing = aws(s3_mock_server, scheme, tmp_path, "s3", "ls", f"s3://{bucket}/")
    assert sorted(line.split()[-1] for line in listing.splitlines()) == ["copy.bin", "large.bin", "small.bin"]
    aws(s3_mock_server, scheme, tmp_path, "s3", "rm", "--recursive", f"s3://{bucket}/")
    aws(s3_mock_server, scheme, tmp_path, "s3api", "delete-bucket", "--bucket", bucket)
    assert bucket not in aws(s3_mock_server, scheme, tmp_path, "s3", "ls")
