"""Shared fixtures of the runner tests. The sample case files under data/ are inputs, not tests."""
from __future__ import annotations

import socket
import threading

import pytest
from runner_support import DATA, MOTO_MAIN

collect_ignore_glob = ["data/*"]


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's ThreadedMotoServer on 127.0.0.1 (a free port), for the whole session of this process."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def sample_report(moto_endpoint, tmp_path_factory):
    """The sample cases run once against moto through the CLI; every report written."""
    from conformance import cli

    report_dir = tmp_path_factory.mktemp("reports")
    code = cli.main(["run", "--endpoint", moto_endpoint, "--access-key", MOTO_MAIN[0], "--secret-key", MOTO_MAIN[1],
                     "--profile", str(DATA / "profile-strict.yaml"), "--cases", str(DATA / "cases"),
                     "--capability", "sse-c", "--capability", "sse-c-over-http", "--report-dir", str(report_dir),
                     "-n", "2"])
    return code, report_dir


@pytest.fixture
def silent_endpoint():
    """Accepts connections, reads, never answers (until the test ends)."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    done.set()
    thread.join(5)
    listener.close()
    for sock in held:
        sock.close()
