"""A workflow engine's own virtual environment, cached and shared by every server of this user.

Engines whose pins clash with JupyterLab's (yadage's ``jsonschema`` breaks jupyterlab-server when
both share one environment) run from a venv of their own, the way the embedded lake runs Rucio:
``~/.cache/vrelab/<engine>-<version>-pyX.Y`` (``$XDG_CACHE_HOME`` is honoured, and
``VRELAB_ENGINE_CACHE`` moves the whole folder). It is built on first use, once: a file lock makes
concurrent first uses wait for one build, and a marker written last tells a complete venv from a
half-built one, which is rebuilt. A venv that cannot be built is an :class:`~vrelab.errors.Unavailable`
saying what pip said.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ...errors import Unavailable

__all__ = ["EngineVenv", "cache_root"]

_MARKER = ".vrelab-ready"
Reporter = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


def cache_root() -> Path:
    """Where engine venvs live."""
    env = os.environ.get("VRELAB_ENGINE_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vrelab"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Only one process at a time builds a given venv (the others wait, then reuse it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class EngineVenv:
    """``ensure()`` makes it usable; ``bin(name)`` is one of its executables.

    ``requirements`` are pip requirement strings (exact pins); ``check`` is Python code that must
    run without error in the venv once they are installed.
    """

    def __init__(
        self,
        name: str,
        version: str,
        requirements: tuple[str, ...],
        check: str,
        *,
        root: Path | None = None,
        base_python: str | None = None,
    ) -> None:
        tag = f"py{sys.version_info.major}.{sys.version_info.minor}"
        self.name = name
        self.version = version
        self.requirements = requirements
        self.check = check
        self.path = (root or cache_root()) / f"{name}-{version}-{tag}"
        self.base_python = base_python or sys.executable

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    @property
    def marker(self) -> Path:
        return self.path / _MARKER

    def is_ready(self) -> bool:
        return self.python.exists() and self.marker.is_file()

    def _works(self) -> bool:
        if not self.python.exists():
            return False
        try:
            out = subprocess.run(
                [str(self.python), "-c", self.check], capture_output=True, text=True, timeout=120, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return out.returncode == 0

    def ensure(self, report: Reporter = _quiet) -> None:
        """Reuse the venv when complete, adopt it after an import check, else (re)build it."""
        if self.is_ready():
            return
        with _locked(self.path.with_name(self.path.name + ".lock")):
            if self.is_ready():
                return
            if self._works():
                self.marker.write_text(" ".join(self.requirements) + "\n")
                return
            self._create(report)

    def _create(self, report: Reporter) -> None:
        if self.path.exists():
            report(f"the {self.name} venv {self.path} is incomplete: rebuilding it")
            shutil.rmtree(self.path)
        started = time.monotonic()
        report(f"creating the {self.name} venv {self.path} (once; later runs reuse it)")
        self._run([self.base_python, "-m", "venv", str(self.path)], "creating the venv")
        pip = [str(self.python), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
        if self.requirements:
            self._run([*pip, *self.requirements], "pip install " + " ".join(self.requirements))
        if not self._works():
            raise Unavailable(
                f"The {self.name} venv {self.path} was installed but {self.name} does not start; "
                "remove that folder and try again.",
                details={"engine": self.name, "venv": str(self.path)},
            )
        self.marker.write_text(" ".join(self.requirements) + "\n")
        report(f"the {self.name} venv is ready ({time.monotonic() - started:.0f} s)")

    def _run(self, cmd: list[str], what: str) -> None:
        try:
            proc = subprocess.run(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, "PIP_NO_INPUT": "1"},
                check=False,
            )
        except OSError as exc:
            raise Unavailable(f"The {self.name} engine cannot be set up: {what} could not start ({exc}).") from None
        if proc.returncode != 0:
            lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip() and "is ignored" not in ln]
            last = next((ln for ln in reversed(lines) if "error" in ln.lower()), lines[-1] if lines else "")
            shutil.rmtree(self.path, ignore_errors=True)
            raise Unavailable(
                f"The {self.name} engine cannot be set up: {what} failed: {last}",
                details={"engine": self.name, "venv": str(self.path)},
            )
