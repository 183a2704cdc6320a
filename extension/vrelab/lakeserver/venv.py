"""The Rucio server's own virtual environment, cached and shared by every lake of this user.

The server pins (``rucio==41.5.1`` and its dependencies: Flask, SQLAlchemy, alembic...) live in
their own venv so they never touch the user's JupyterLab environment. It is created and
pip-installed once (about 100 s); afterwards a marker file tells it is complete, so a warm
``vrelab lake up`` needs no pip and no import check.
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

from ..errors import LakeServerError
from .paths import RUCIO_VERSION

SERVER_REQUIREMENTS = (f"rucio=={RUCIO_VERSION}", f"rucio-clients=={RUCIO_VERSION}")
POSTGRES_REQUIREMENT = "psycopg[binary]>=3.1,<4"
_MARKER = ".vrelab-ready"
_PG_MARKER = ".vrelab-psycopg"
_CHECK = (
    "import rucio, rucio.client, flask, sqlalchemy, alembic, werkzeug; "
    "from rucio import version; print(version.version_string())"
)

Reporter = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Only one process at a time builds a given venv."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ServerVenv:
    """``ensure()`` makes it usable; ``python`` / ``bin()`` are its executables."""

    def __init__(self, path: Path, *, base_python: str | None = None) -> None:
        self.path = Path(path)
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

    def _import_check(self) -> str | None:
        """The Rucio version the venv answers with, or None if it is broken."""
        if not self.python.exists():
            return None
        try:
            out = subprocess.run(
                [str(self.python), "-c", _CHECK], capture_output=True, text=True, timeout=120, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        version = out.stdout.strip()
        return version if out.returncode == 0 and version == RUCIO_VERSION else None

    def ensure(self, report: Reporter = _quiet) -> None:
        """Make the venv usable: reuse it when complete, adopt it after an import check, else
        (re)create it and pip-install the server, printing what pip does."""
        if self.is_ready():
            return
        with _locked(self.path.with_name(self.path.name + ".lock")):
            if self.is_ready():
                return
            if self._import_check():
                self.marker.write_text(" ".join(SERVER_REQUIREMENTS) + "\n")
                return
            self._create(report)

    def _create(self, report: Reporter) -> None:
        if self.path.exists():
            report(f"the server venv {self.path} is incomplete: rebuilding it")
            shutil.rmtree(self.path)
        report(f"creating the Rucio server venv {self.path} (once; later starts reuse it)")
        self._run([self.base_python, "-m", "venv", str(self.path)], report, "creating the venv")
        report(f"installing {' '.join(SERVER_REQUIREMENTS)} with pip (about 100 s the first time)")
        self._pip(["--upgrade", "pip"], report)
        self._pip(list(SERVER_REQUIREMENTS), report)
        if not self._import_check():
            raise LakeServerError(
                f"the Rucio server venv {self.path} was installed but rucio {RUCIO_VERSION} does not import; "
                f"remove that directory and try again"
            )
        self.marker.write_text(" ".join(SERVER_REQUIREMENTS) + "\n")
        report("the Rucio server venv is ready")

    def ensure_postgres_driver(self, report: Reporter = _quiet) -> None:
        """psycopg (v3) for ``postgresql+psycopg://`` URLs, installed into the server venv once."""
        if (self.path / _PG_MARKER).is_file():
            return
        with _locked(self.path.with_name(self.path.name + ".lock")):
            probe = subprocess.run(
                [str(self.python), "-c", "import psycopg"], capture_output=True, text=True, check=False
            )
            if probe.returncode != 0:
                report(f"installing {POSTGRES_REQUIREMENT} into the Rucio server venv")
                self._pip([POSTGRES_REQUIREMENT], report)
            (self.path / _PG_MARKER).write_text(POSTGRES_REQUIREMENT + "\n")

    def _pip(self, args: list[str], report: Reporter) -> None:
        cmd = [str(self.python), "-m", "pip", "install", "--disable-pip-version-check"]
        cmd += ["--progress-bar", "off"]
        self._run([*cmd, *args], report, "pip install " + " ".join(args))

    @staticmethod
    def _run(cmd: list[str], report: Reporter, what: str) -> None:
        started = time.monotonic()
        tail: list[str] = []
        try:
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, "PIP_NO_INPUT": "1"},
            )
        except OSError as exc:
            raise LakeServerError(f"{what} could not start: {exc}") from None
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            if not line:
                continue
            tail = [*tail[-19:], line]
            # pip's own progress, one line per step ("Collecting ...", "Installing ...")
            if line.startswith(("Collecting", "Installing", "Successfully", "Building", "ERROR", "error")):
                shown = line if len(line) <= 140 else line[:137] + "..."
                report(f"  [{time.monotonic() - started:5.0f}s] {shown}")
        if proc.wait() != 0:
            last = next((t for t in reversed(tail) if "error" in t.lower()), tail[-1] if tail else "")
            raise LakeServerError(f"{what} failed: {last.strip()}")
