"""Real clients against the real mock server (HTTPS with the generated CA, plus plain HTTP on the same state),
started through the user-facing fixture."""
import os

import pytest

from mockserver.pytest_fixture import s3_mock_server  # noqa: F401

MIB = 1024 * 1024
CLIENT_TIMEOUT = 120     # seconds, per external command


@pytest.fixture(scope="session")
def s3_mock_server_options():
    return {"tls": True, "plain_http_too": True}


@pytest.fixture(scope="session")
def payloads(tmp_path_factory):
    """A small file and a 12 MiB file (multipart for every client's default or configured threshold)."""
    directory = tmp_path_factory.mktemp("payloads")
    small, large = directory / "small.bin", directory / "large.bin"
    small.write_bytes(os.urandom(1000) + "ünïcode\n".encode())
    large.write_bytes(os.urandom(12 * MIB + 12345))
    return {"small": small, "large": large}


@pytest.fixture(params=["https", "http"])
def scheme(request):
    return request.param


def endpoint_for(server, scheme: str) -> str:
    return server.endpoint if scheme == "https" else server.plain_endpoint
