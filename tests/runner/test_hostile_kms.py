"""A hostile KMS endpoint (issue 10, items 15 and 16): a run with `--timeout 2` ends within a bound whatever the
KMS endpoint does (drip its answer, drip its body, send `100 Continue` forever, send JSON forever), the run's
memory stays bounded, and an answer that is not KMS JSON is reported as a response problem (not a KeyError).

Both servers are tiny loopback socket servers in this file: a permissive S3 for the fixtures and the teardown,
and the hostile KMS."""
from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from conformance import cli

PROFILE = "name: probe\nregion: us-east-1\ncapabilities: [kms-admin]\n"
KMS_CASE = """\
cases:
  - id: probe.kms
    title: a case with two KMS keys and a KMS step
    operation: GetBucketLocation
    source: {document: seeds/x.txt, quote: q}
    fixtures: {bucket: true, kms_keys: [{name: k1}, {name: k2}]}
    steps:
      - name: where
        request: {method: GET, bucket: "${bucket}", query: {location: ""}}
        expect: {status: 200}
"""
STEP_CASE = KMS_CASE.replace("""    steps:
""", """    steps:
      - name: describe
        kms: {operation: DescribeKey, key: k1}
        expect: {status: 200}
""")
BOUND = 30.0          # seconds a whole run may take against any of the endpoints below (deadline 5 x 2 s a call)

Behaviour = Callable[[bytes, socket.socket, threading.Event], bool]


def _read_request(sock: socket.socket) -> tuple[bytes, bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk or len(data) > 1 << 20:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or b"0")
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head, rest[:length]


@contextlib.contextmanager
def serve(behaviour: Behaviour) -> Iterator[tuple[str, list[bytes]]]:
    release = threading.Event()
    seen: list[bytes] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock = self.request
            sock.settimeout(10)
            with contextlib.suppress(OSError):
                for _ in range(200):
                    request = _read_request(sock)
                    if request is None:
                        return
                    seen.append(request[0])
                    if not behaviour(request[0], sock, release):
                        return

    class TCP(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = TCP(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def reply(status: int, body: bytes = b"", content_type: str = "application/xml") -> bytes:
    return (f"HTTP/1.1 {status} Whatever\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode() + body)


def s3_ok(head: bytes, sock: socket.socket, release: threading.Event) -> bool:
    target = head.split(b" ")[1]
    if b"uploads" in target:
        body = b"<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>"
    elif b"versions" in target:
        body = b"<ListVersionsResult><IsTruncated>false</IsTruncated></ListVersionsResult>"
    else:
        body = b"<LocationConstraint/>" if head.startswith(b"GET") else b""
    sock.sendall(reply(204 if head.startswith(b"DELETE") else 200, body))
    return True


def _drip(sock: socket.socket, release: threading.Event, data: bytes, every: float = 0.5, limit: float = 60) -> bool:
    """One byte every `every` seconds (each within the read timeout) until the test ends or `limit` passes."""
    end = time.monotonic() + limit
    for byte in data:
        if release.wait(every) or time.monotonic() > end:
            return False
        sock.sendall(bytes([byte]))
    return False


KEY = json.dumps({"KeyMetadata": {"KeyId": "k-1", "Arn": "arn:aws:kms:us-east-1:111122223333:key/k-1"}}).encode()


def slow_drip(head: bytes, sock: socket.socket, release: threading.Event) -> bool:
    """The whole answer, status line included, one byte every half second."""
    return _drip(sock, release, reply(200, KEY, "application/x-amz-json-1.1") * 50)


def slow_body(head: bytes, sock: socket.socket, release: threading.Event) -> bool:
    """Status and headers at once, then a body announced at 100 KB, one byte every half second."""
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 100000\r\n\r\n")
    return _drip(sock, release, KEY * 1000)


def endless_continue(head: bytes, sock: socket.socket, release: threading.Event) -> bool:
    """`100 Continue` interim answers, a few a second, forever (until the test ends or a minute passes)."""
    end = time.monotonic() + 60
    while not release.wait(0.2) and time.monotonic() < end:
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    return False


def endless_json(head: bytes, sock: socket.socket, release: threading.Event) -> bool:
    """A chunked JSON body that never ends, as fast as the runner reads it (for at most 20 s)."""
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"1\r\n[\r\n")
    block = b'{"KeyMetadata": {"KeyId": "x"}},' * 2048
    frame = b"%x\r\n%s\r\n" % (len(block), block)
    end = time.monotonic() + 20
    while not release.is_set() and time.monotonic() < end:
        sock.sendall(frame)
    return False


def answer(body: bytes, content_type: str = "application/x-amz-json-1.1") -> Behaviour:
    def behave(head: bytes, sock: socket.socket, release: threading.Event) -> bool:
        sock.sendall(reply(200, body, content_type))
        return True
    return behave


def run(tmp_path, capsys, kms_behaviour: Behaviour,
        case_text: str = KMS_CASE) -> tuple[int, float, str, dict, list[bytes], list[bytes]]:
    (tmp_path / "profile.yaml").write_text(PROFILE)
    (tmp_path / "case.yaml").write_text(case_text)
    with serve(s3_ok) as (s3_url, s3_seen), serve(kms_behaviour) as (kms_url, kms_seen):
        started = time.monotonic()
        code = cli.main(["run", "--endpoint", s3_url, "--kms-endpoint", kms_url, "--access-key", "AKIAPROBE",
                         "--secret-key", "probe-secret-key", "--profile", str(tmp_path / "profile.yaml"),
                         "--cases", str(tmp_path / "case.yaml"), "--timeout", "2", "--connect-timeout", "2",
                         "--report-dir", str(tmp_path / "reports"), "--no-discovery"])   # the case's KMS calls only
        elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    report = json.loads((tmp_path / "reports" / "probe.json").read_text())
    (case,) = report["cases"]
    return code, elapsed, case["reason"] or "", case, s3_seen, kms_seen


@pytest.mark.parametrize("behaviour", [slow_drip, slow_body, endless_continue],
                         ids=["slow-drip", "slow-body", "endless-100-continue"])
def test_hostile_kms_endpoint_cannot_hold_the_run(behaviour, tmp_path, capsys):
    code, elapsed, reason, case, s3_seen, kms_seen = run(tmp_path, capsys, behaviour)
    assert elapsed < BOUND, f"the run took {elapsed:.1f} s"
    # one deadline per call, and the call is not sent again (botocore's retry doubled the time held)
    assert len(kms_seen) == 1, [h.split(b"\r\n")[0] for h in kms_seen]
    assert code == 1 and case["outcome"] == "failed", case
    assert "setup failed: KMS key k1:" in reason and "timeout" in reason, reason
    assert s3_seen[-1].startswith(b"DELETE "), s3_seen[-1]          # the bucket was torn down


def test_endless_kms_json_is_cut_at_the_kms_size_limit(tmp_path, capsys):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, elapsed, reason, case, _, _ = run(tmp_path, capsys, endless_json)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert elapsed < BOUND, f"the run took {elapsed:.1f} s"
    assert code == 1 and case["outcome"] == "failed", case
    assert "setup failed: KMS key k1:" in reason and "response body: more than" in reason, reason
    assert grown_mib < 64, f"the runner grew by {grown_mib:.0f} MiB"


@pytest.mark.parametrize(("body", "content_type", "fragment"), [
    (b"{}", "application/x-amz-json-1.1", "no KeyMetadata"),
    (b'{"KeyMetadata": "not an object"}', "application/x-amz-json-1.1", "does not fit the operation's shape"),
    (b'{"KeyMetadata": {"KeyId": "k"}}', "application/x-amz-json-1.1", "no KeyMetadata.Arn"),
    (b"[1, 2, 3]", "application/x-amz-json-1.1", "not a JSON object"),
    (b'{"KeyMetadata": {"KeyId": "k", "Arn": ', "application/x-amz-json-1.1", "not a JSON object"),
    (b"<html>502</html>", "text/html", "not a JSON object"),
], ids=["empty-object", "metadata-not-an-object", "no-arn", "json-array", "truncated-json", "html"])
def test_broken_kms_json_is_a_response_problem(body, content_type, fragment, tmp_path, capsys):
    code, _elapsed, reason, case, s3_seen, _ = run(tmp_path, capsys, answer(body, content_type))
    assert code == 1 and case["outcome"] == "failed", case
    assert "setup failed: KMS key k1: KMS CreateKey: response problem: " in reason, reason
    assert fragment in reason and "KeyError" not in reason, reason
    assert s3_seen[-1].startswith(b"DELETE "), s3_seen[-1]


def creates_then_drips(head: bytes, sock: socket.socket, release: threading.Event) -> bool:
    """CreateKey and CreateAlias answered at once; every later call (the kms step, the teardown) dripped."""
    if b"TrentService.CreateKey" in head:
        sock.sendall(reply(200, KEY.replace(b"k-1", b"k-%d" % time.monotonic_ns()), "application/x-amz-json-1.1"))
        return True
    if b"TrentService.CreateAlias" in head:
        sock.sendall(reply(200, b"", "application/x-amz-json-1.1"))
        return True
    return slow_drip(head, sock, release)


def test_hostile_kms_steps_and_teardown_cannot_hold_the_run(tmp_path, capsys):
    """The kms step and the teardown's KMS calls obey the deadline too, and a teardown stops calling a KMS endpoint
    that timed out (two keys: four teardown calls of 10 s each used to follow the step's 10 s)."""
    code, elapsed, reason, case, s3_seen, kms_seen = run(tmp_path, capsys, creates_then_drips, STEP_CASE)
    assert elapsed < BOUND, f"the run took {elapsed:.1f} s"
    assert code == 1 and case["outcome"] == "failed", case
    assert reason.startswith("step describe: no response: timeout:"), reason
    problems = case["teardown_problems"]
    assert problems[0].startswith("delete alias ") and "timeout" in problems[0], problems
    assert all(p.endswith("not attempted (the KMS endpoint timed out)") for p in problems[1:]) and len(problems) == 4
    targets = [line for h in kms_seen for line in h.split(b"\r\n") if line.startswith(b"X-Amz-Target")]
    assert [t.rpartition(b".")[2] for t in targets] == [b"CreateKey", b"CreateAlias", b"CreateKey", b"CreateAlias",
                                                        b"DescribeKey", b"DeleteAlias"]
    assert s3_seen[-1].startswith(b"DELETE "), s3_seen[-1]
