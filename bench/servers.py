"""The three servers under test, each a subprocess on 127.0.0.1: the mock server (disk storage, signatures
verified; in memory and with --data-dir), a moto server and s3rver. Startup and shutdown are bounded."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from mockserver.accounts import MAIN

WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work")
S3RVER_JS = os.path.join(WORK, "node_modules", "s3rver", "bin", "s3rver.js")


@dataclass
class Server:
    name: str
    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen = field(repr=False)
    verifies_signatures: bool

    def peak_rss_mib(self) -> float | None:
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server process has used so far (all threads)."""
        try:
            with open(f"/proc/{self.process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"nothing listening on {port} after {seconds}s")


def _spawn(cmd: list[str], log_name: str, cwd: str | None = None) -> subprocess.Popen:
    log = open(os.path.join(WORK, f"{log_name}.log"), "wb")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)


def start_mock(disk: bool = False, fsync: bool = False) -> Server:
    """The mock server as users start it: in memory by default (like moto), or with --data-dir (like s3rver);
    `fsync` adds --fsync (mock-disk-fsync)."""
    name = ("mock-disk-fsync" if fsync else "mock-disk") if disk else "mock"
    port = free_port()
    cmd = [sys.executable, "-m", "mockserver", "--host", "127.0.0.1", "--port", str(port),
           "--allow-sse-c-over-http"]       # the SSE-C transfer runs over plain HTTP, like the others
    if disk:
        data = os.path.join(WORK, "mock-data")
        shutil.rmtree(data, ignore_errors=True)
        cmd += ["--data-dir", data] + (["--fsync"] if fsync else [])
    process = _spawn(cmd, name)
    _wait_listening(port, process)
    return Server(name, f"http://127.0.0.1:{port}", MAIN.access_key, MAIN.secret_key, process, True)


def start_mock_disk() -> Server:
    return start_mock(disk=True)


def start_mock_disk_fsync() -> Server:
    return start_mock(disk=True, fsync=True)


def start_null() -> Server:
    """bench/nullapp.py: the mock server's uvicorn set-up around an app that discards bodies and streams zeros."""
    port = free_port()
    process = _spawn([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "nullapp.py"),
                      str(port)], "null")
    _wait_listening(port, process)
    return Server("null", f"http://127.0.0.1:{port}", MAIN.access_key, MAIN.secret_key, process, False)


def start_moto() -> Server:
    port = free_port()
    process = _spawn([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], "moto")
    _wait_listening(port, process)
    return Server("moto", f"http://127.0.0.1:{port}", "AKIAMOTO000000000000", "moto-secret", process, False)


def start_s3rver() -> Server:
    if not os.path.exists(S3RVER_JS):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "s3rver@3"], cwd=WORK, check=True,
                       timeout=600, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = free_port()
    data = os.path.join(WORK, "s3rver-data")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    process = _spawn(["node", S3RVER_JS, "-d", data, "-a", "127.0.0.1", "-p", str(port), "--silent"], "s3rver")
    _wait_listening(port, process)
    return Server("s3rver", f"http://127.0.0.1:{port}", "S3RVER", "S3RVER", process, True)
