"""Installs clients on demand into a cache folder, `<cache>/<client>-<version>`: a venv per Python client version,
an npm prefix for JavaScript. The cache is `~/.cache/s3-conformance/clients` unless `S3C_CLIENTS_CACHE` or
`--clients-cache` says otherwise. An install that fails (offline, unknown version, no npm) raises InstallError
with the reason; every install step has a time limit."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .base import Installation, InstallError

ENV_CACHE = "S3C_CLIENTS_CACHE"


def default_cache_dir() -> Path:
    configured = os.environ.get(ENV_CACHE)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "s3-conformance" / "clients"


def _short(text: str, limit: int = 300) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip() and "is ignored" not in line]
    tail = " | ".join(lines[-3:])
    return tail[-limit:] if tail else "no output"


def _run(command: list[str], timeout: float, cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    except FileNotFoundError as exc:
        raise InstallError(f"{command[0]} not found ({exc.strerror})") from None
    except subprocess.TimeoutExpired:
        raise InstallError(f"`{' '.join(command[:3])} ...` did not finish in {timeout:.0f} s") from None
    if done.returncode != 0:
        raise InstallError(f"`{' '.join(command[:3])} ...` exited {done.returncode}: {_short(done.stderr + done.stdout)}")


class Cache:
    def __init__(self, root: Path | None = None, refresh: bool = False):
        self.root = Path(root) if root is not None else default_cache_dir()
        self.refresh = refresh

    def _existing(self, client: str, version: str | None) -> Path | None:
        """A finished install of `client` (at `version`, or the newest when None)."""
        if not self.root.is_dir():
            return None
        if version is not None:
            path = self.root / f"{client}-{version}"
            return path if (path / "installed.json").exists() else None
        if self.refresh:
            return None
        pattern = re.compile(rf"^{re.escape(client)}-(\d[\w.+-]*)$")
        found = [p for p in self.root.iterdir() if pattern.match(p.name) and (p / "installed.json").exists()]

        def key(p: Path) -> tuple[int | str, ...]:
            return tuple(int(x) if x.isdigit() else x for x in re.split(r"[.+-]", p.name.split("-", 1)[1]))
        return max(found, key=key) if found else None

    def _finish(self, client: str, staging: Path, version: str, extra: dict[str, str]) -> Installation:
        final = self.root / f"{client}-{version}"
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        # venvs record absolute paths: rewrite the staging path the interpreter scripts name
        for script in (final / "bin").glob("*") if (final / "bin").is_dir() else ():
            if script.is_file() and not script.is_symlink():
                try:
                    text = script.read_text()
                except (UnicodeDecodeError, OSError):
                    continue
                if str(staging) in text:
                    script.write_text(text.replace(str(staging), str(final)))
        cfg = final / "pyvenv.cfg"
        if cfg.exists():
            cfg.write_text(cfg.read_text().replace(str(staging), str(final)))
        extra = {k: v.replace(str(staging), str(final)) for k, v in extra.items()}
        (final / "installed.json").write_text(json.dumps({"client": client, "version": version, "extra": extra}))
        return Installation(client, version, final, extra)

    @staticmethod
    def _load(path: Path) -> Installation:
        data = json.loads((path / "installed.json").read_text())
        return Installation(data["client"], data["version"], path, dict(data.get("extra", {})))

    def _staging(self, client: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{client}-installing-", dir=self.root))

    def python(self, client: str, requirements: list[str], version_of: str, pinned: str | None = None,
               timeout: float = 600.0) -> Installation:
        """A venv with `requirements` installed; its version is that of the distribution `version_of`."""
        existing = self._existing(client, pinned)
        if existing is not None:
            return self._load(existing)
        staging = self._staging(client)
        try:
            _run([sys.executable, "-m", "venv", str(staging)], timeout=120)
            python = staging / "bin" / "python"
            _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
                 timeout=timeout)
            script = f"import importlib.metadata as m; print(m.version({version_of!r}))"
            probe = subprocess.run([str(python), "-c", script], check=False, capture_output=True, text=True,
                                   timeout=60)
            version = probe.stdout.strip()
            if probe.returncode != 0 or not version:
                raise InstallError(f"installed, but the version of {version_of} is unknown: {_short(probe.stderr)}")
            return self._finish(client, staging, version, {"python": str(staging / "bin" / "python"),
                                                           "bin": str(staging / "bin")})
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def npm(self, client: str, packages: list[str], version_of: str, timeout: float = 600.0) -> Installation:
        """An npm prefix with `packages`; its version is that of the package `version_of`."""
        existing = self._existing(client, None)
        if existing is not None:
            return self._load(existing)
        if shutil.which("node") is None or shutil.which("npm") is None:
            raise InstallError("node and npm are not on PATH (Debian: apt-get install nodejs npm)")
        staging = self._staging(client)
        try:
            _run(["npm", "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--loglevel=error",
                  "--fetch-timeout=60000", "--fetch-retries=1", *packages], timeout=timeout)
            manifest = staging / "node_modules" / version_of / "package.json"
            if not manifest.exists():
                raise InstallError(f"npm finished but {version_of} is missing")
            version = json.loads(manifest.read_text())["version"]
            return self._finish(client, staging, version, {"node_modules": str(staging / "node_modules")})
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
