"""The adapter contract and the result records of the client matrix.

An adapter (one module under `adapters/`) says how to install a client and how to run one scenario with it: a
command line that the runner starts in its own process group, with the scenario's job as JSON on stdin and the
driver's observation as JSON on stdout."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

PASS, FAIL, NA = "pass", "fail", "not applicable"


@dataclass(frozen=True)
class Installation:
    """An installed client: its version and where it lives."""
    client: str
    version: str
    path: Path
    extra: dict[str, str] = field(default_factory=dict)      # e.g. python: the venv's interpreter


class InstallError(Exception):
    """A client could not be installed (offline, no such version, tool missing): the reason is the message."""


@dataclass(frozen=True)
class Config:
    """One configuration a client runs in: `default`, or its checksum setting at "when required"."""
    name: str
    env: dict[str, str] = field(default_factory=dict)
    description: str = ""


DEFAULT = Config("default", description="the client's defaults")
WHEN_REQUIRED = Config(
    "when_required",
    env={"AWS_REQUEST_CHECKSUM_CALCULATION": "WHEN_REQUIRED", "AWS_RESPONSE_CHECKSUM_VALIDATION": "WHEN_REQUIRED"},
    description="request checksum calculation and response validation at WHEN_REQUIRED")


class Adapter:
    """Base class: one per client. Subclasses set the class attributes and implement install() and command()."""
    name: str = ""
    title: str = ""
    configs: tuple[Config, ...] = (DEFAULT,)
    multipart_size: int = 17 * 1024 * 1024 + 4321        # >= 3 parts at the client's own multipart threshold
    multipart_note: str = "8 MiB parts (the client's default): 3 parts"
    # scenario -> why the client cannot express it
    not_applicable: ClassVar[dict[str, str]] = {}
    # the job may carry extra fields for the driver
    install_timeout: float = 600.0
    # "driver": the driver records the wire itself (request hooks, traces); "proxy": the runner puts a recording
    # proxy (proxy.py) between the client and the endpoint
    wire_capture: str = "driver"

    def install(self, cache: Any) -> Installation:                 # cache: installer.Cache
        raise NotImplementedError

    def command(self, installation: Installation) -> list[str]:
        """The command that runs one scenario (the job comes on stdin)."""
        raise NotImplementedError

    def environment(self, installation: Installation, config: Config) -> dict[str, str]:
        """Extra environment variables for the driver process."""
        return dict(config.env)


@dataclass
class ScenarioResult:
    name: str
    outcome: str
    detail: str = ""
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "outcome": self.outcome, "detail": self.detail, "request": self.request,
                "response": self.response}


@dataclass
class ClientResult:
    name: str
    version: str
    config: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    install_error: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "config": self.config,
                "scenarios": [s.as_json() for s in self.scenarios]}

    @property
    def failed(self) -> bool:
        return any(s.outcome == FAIL for s in self.scenarios)
