"""running_server over the wire (HTTP, HTTPS with the generated CA, both at once) with the echo-auth app:
what real clients put on the wire arrives verified."""
from __future__ import annotations

import base64
import hashlib
import json
import socket
import ssl
import zlib

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from mockserver.server import running_server
from tests.mockserver.echo_app import EchoAuthApp

TIMEOUT = 20


@pytest.fixture(scope="module")
def server():
    app = EchoAuthApp()
    with running_server(tls=True, plain_http_too=True, app=app) as running:
        yield running
    assert app.shutdown_called


def echo_of(response_headers) -> dict:
    return json.loads(base64.b64decode(response_headers["x-mock-echo"]))


def put_with_boto3(server, plain: bool, data: bytes) -> dict:
    client = server.client(plain=plain, config=Config(retries={"max_attempts": 1}, connect_timeout=TIMEOUT,
                                                      read_timeout=TIMEOUT))
    echoes: list[dict] = []
    client.meta.events.register("after-call.s3.PutObject",
                                lambda http_response, **_: echoes.append(echo_of(http_response.headers)))
    client.put_object(Bucket="bucket", Key="key", Body=data)
    return echoes[0]


def test_endpoints(server):
    assert server.endpoint.startswith("https://127.0.0.1:")
    assert server.plain_endpoint.startswith("http://127.0.0.1:")
    assert server.credentials["main"]["account_id"] == "111122223333"
    assert server.credentials["alt"]["account_id"] == "444455556666"


def test_boto3_over_https_sends_aws_chunked_with_crc32_trailer(server):
    data = bytes(range(256)) * 4000
    echo = put_with_boto3(server, plain=False, data=data)
    assert echo["payload_mode"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert echo["headers"]["content-encoding"] == "aws-chunked"
    assert echo["headers"]["x-amz-trailer"] == "x-amz-checksum-crc32"
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert echo["trailers"] == {"x-amz-checksum-crc32": crc}
    assert (echo["sha256"], echo["size"]) == (hashlib.sha256(data).hexdigest(), len(data))
    assert echo["account"] == "main" and echo["signature_version"] == 4


def test_boto3_over_http_signs_the_payload(server):
    data = b"plain http body" * 1000
    echo = put_with_boto3(server, plain=True, data=data)
    assert echo["payload_mode"] == hashlib.sha256(data).hexdigest()
    assert echo["headers"]["x-amz-checksum-crc32"]
    assert echo["sha256"] == hashlib.sha256(data).hexdigest()


def test_presigned_url_over_the_wire(server):
    client = server.client(account="alt", config=Config(signature_version="s3v4"))
    url = client.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": "a b/€"}, ExpiresIn=60)
    response = requests.get(url, verify=server.ca_file, timeout=TIMEOUT)
    assert response.status_code == 200 and echo_of(response.headers)["account"] == "alt"
    response = requests.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=f"), verify=server.ca_file,
                            timeout=TIMEOUT)
    assert response.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in response.content


def test_sigv2_presigned_url_over_the_wire(server):
    client = server.client(config=Config(signature_version="s3"))
    url = client.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": "k"}, ExpiresIn=60)
    response = requests.get(url, verify=server.ca_file, timeout=TIMEOUT)
    assert response.status_code == 200 and echo_of(response.headers)["signature_version"] == 2


def test_wrong_region_over_the_wire(server):
    client = server.client(region_name="eu-west-1", config=Config(retries={"max_attempts": 1}))
    responses = []
    client.meta.events.register("after-call.s3.ListBuckets", lambda http_response, **_: responses.append(
        http_response))
    with pytest.raises(ClientError):
        client.list_buckets()
    assert responses[0].status_code == 400 and b"AuthorizationHeaderMalformed" in responses[0].content


@pytest.mark.parametrize("name, ok", [("127.0.0.1", True), ("localhost", True), ("bucket.s3.localhost", True),
                                      ("example.com", False)])
def test_certificate_names(server, name, ok):
    context = ssl.create_default_context(cafile=server.ca_file)
    port = int(server.endpoint.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        if ok:
            with context.wrap_socket(raw, server_hostname=name) as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
        else:
            with pytest.raises(ssl.SSLCertVerificationError):
                context.wrap_socket(raw, server_hostname=name)


def test_untrusted_without_the_ca(server):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.endpoint, timeout=TIMEOUT)


def test_port_in_use_is_an_oserror():
    with running_server(app=EchoAuthApp()) as first:
        port = int(first.endpoint.rsplit(":", 1)[1])
        with pytest.raises(OSError), running_server(app=EchoAuthApp(), port=port):
            pass


def test_unusable_certificate_fails_startup_with_an_error(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(RuntimeError, match="failed to start"), \
            running_server(app=EchoAuthApp(), cert_file=str(bad), key_file=str(bad)):
        pass
