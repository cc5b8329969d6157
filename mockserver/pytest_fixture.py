"""`s3_mock_server`: a session-scoped pytest fixture running the mock S3 server for your own test suite.

Usage, in your conftest.py:

    pytest_plugins = ["mockserver.pytest_fixture"]

    # optional: how the server is started (keyword arguments of mockserver.server.running_server)
    @pytest.fixture(scope="session")
    def s3_mock_server_options():
        return {"tls": True, "plain_http_too": True, "dialect": "aws"}

then in a test:

    def test_upload(s3_mock_server):
        s3 = s3_mock_server.client("s3")            # boto3 client for the main account (trusts the CA)
        s3.create_bucket(Bucket="b")
        s3.put_object(Bucket="b", Key="k", Body=b"data")

`s3_mock_server` is a `mockserver.server.RunningServer`: `.endpoint`, `.plain_endpoint`, `.ca_file`,
`.credentials["main" | "alt"]` (access_key, secret_key, account_id), `.region`, `.client(service, account)`.
The server runs in a background thread of the test process, in memory unless `data_dir` is given, and stops
at the end of the session. Importing the two fixture functions into conftest.py works as well.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.server import RunningServer, running_server


@pytest.fixture(scope="session")
def s3_mock_server_options() -> dict[str, Any]:
    """Override in your conftest.py to pass options to `running_server` (tls, dialect, data_dir, ...)."""
    return {}


@pytest.fixture(scope="session")
def s3_mock_server(s3_mock_server_options: dict[str, Any]) -> Iterator[RunningServer]:
    with running_server(**s3_mock_server_options) as server:
        yield server
