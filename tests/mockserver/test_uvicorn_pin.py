"""The mock server patches uvicorn internals (mockserver/coalescing.py, mockserver/protocol.py): the installed
uvicorn must be a version the patch was written against, and the functions it copies, replaces or extends must
still read as they did then."""
from __future__ import annotations

import hashlib
import inspect
import textwrap
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from uvicorn.protocols.http import httptools_impl

from mockserver.coalescing import UVICORN_SOURCES, UVICORN_VERSIONS

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_pyproject_pins_uvicorn_to_the_patched_versions() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = [Requirement(d).specifier for d in dependencies if Requirement(d).name == "uvicorn"]
    assert pins == [SpecifierSet(UVICORN_VERSIONS)]


def test_installed_uvicorn_is_a_patched_version() -> None:
    assert version("uvicorn") in SpecifierSet(UVICORN_VERSIONS)


@pytest.mark.parametrize("qualname", sorted(UVICORN_SOURCES))
def test_patched_uvicorn_function_is_unchanged(qualname: str) -> None:
    owner, name = qualname.split(".")
    source = textwrap.dedent(inspect.getsource(getattr(getattr(httptools_impl, owner), name)))
    assert hashlib.sha256(source.encode()).hexdigest() == UVICORN_SOURCES[qualname], (
        f"uvicorn {version('uvicorn')} changed {qualname}: re-read mockserver/coalescing.py and protocol.py "
        "against it, then update UVICORN_SOURCES (and UVICORN_VERSIONS with pyproject.toml)")


@pytest.mark.parametrize(("name", "value", "ok"), [
    (b"x-good", b"value with\ttab", True),
    (b"x bad", b"v", False),            # a space in a name
    (b"x-bad", b"a\nb", False),         # a control character in a value
    (b"x-bad(", b"v", False),
])
def test_fast_send_refuses_the_headers_uvicorn_refuses(name: bytes, value: bytes, ok: bool) -> None:
    """coalescing's FastStartCycle.send checks all names and values in one scan each: a header uvicorn's own
    send refuses still never reaches the wire (uvicorn then closes the connection), a valid one does."""
    import socket

    from mockserver.server import running_server

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"2"), (name, value)]})
        await send({"type": "http.response.body", "body": b"ok"})

    with running_server(app=app) as server:
        host, port = server.endpoint.rsplit("/", 1)[1].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
                if received.endswith(b"\r\n\r\nok"):
                    break
    assert received.startswith(b"HTTP/1.1 200") == ok, received
    assert (name + b": " + value in received) == ok
