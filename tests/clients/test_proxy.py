"""The recording proxy between hook-less clients and the endpoint: signatures still verify through it (Host is
forwarded as sent), Content-Length and chunked bodies are relayed byte for byte, and each exchange is kept."""
from __future__ import annotations

from botocore.config import Config
from botocore.session import get_session

from conformance.clients.proxy import RecordingProxy
from mockserver.server import running_server


def test_proxy_relays_and_records_over_tls():
    with running_server(tls=True) as server, RecordingProxy(server.endpoint, server.ca_file) as proxy:
        creds = server.credentials["main"]
        s3 = get_session().create_client("s3", endpoint_url=proxy.endpoint, region_name=server.region,
                                         aws_access_key_id=creds["access_key"],
                                         aws_secret_access_key=creds["secret_key"], verify=proxy.ca_file,
                                         config=Config(retries={"total_max_attempts": 1}))
        s3.create_bucket(Bucket="proxied")
        body = bytes(range(256)) * 400
        s3.put_object(Bucket="proxied", Key="a b", Body=body)      # aws-chunked with a CRC32 trailer (default)
        assert s3.get_object(Bucket="proxied", Key="a b")["Body"].read() == body
        assert s3.head_object(Bucket="proxied", Key="a b")["ContentLength"] == len(body)
        try:
            s3.get_object(Bucket="proxied", Key="missing")
        except s3.exceptions.NoSuchKey:
            pass
        exchanges = proxy.take()
    methods = [(e["request"]["method"], e["response"]["status"]) for e in exchanges]
    assert methods == [("PUT", 200), ("PUT", 200), ("GET", 200), ("HEAD", 200), ("GET", 404)]
    put = exchanges[1]["request"]
    headers = {k.lower(): v for k, v in put["headers"].items()}
    assert put["url"] == "/proxied/a%20b" and headers["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert "NoSuchKey" in exchanges[-1]["response"]["body"]
