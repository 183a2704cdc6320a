"""Where the embedded lake keeps things: the state dir (``home``) and the server venv cache."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

RUCIO_VERSION = "41.5.1"
DEFAULT_PORT = 18280
ENV_HOME = "VRELAB_LAKE_HOME"
ENV_VENV = "VRELAB_LAKE_VENV"
ENV_PORT = "VRELAB_LAKE_PORT"
SERVERSIDE_DIR = Path(__file__).resolve().parent / "serverside"


def default_home() -> Path:
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "vrelab" / "lake"


def default_venv() -> Path:
    env = os.environ.get(ENV_VENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    tag = f"py{sys.version_info.major}.{sys.version_info.minor}"
    return Path(base) / "vrelab" / f"rucio-server-{RUCIO_VERSION}-{tag}"


def default_port() -> int:
    env = os.environ.get(ENV_PORT)
    if env:
        try:
            return int(env)
        except ValueError:
            pass
    return DEFAULT_PORT


@dataclass(frozen=True)
class LakePaths:
    """Every file and directory of one lake, all under ``home``."""

    home: Path

    @property
    def etc(self) -> Path:
        return self.home / "etc"

    @property
    def log(self) -> Path:
        return self.home / "log"

    @property
    def run(self) -> Path:
        return self.home / "run"

    @property
    def state(self) -> Path:
        return self.home / "state"

    @property
    def secrets(self) -> Path:
        return self.home / "secrets"

    @property
    def rses(self) -> Path:
        return self.home / "rses"

    @property
    def tmp(self) -> Path:
        return self.home / "tmp"

    @property
    def certs(self) -> Path:
        return self.home / "certs"

    @property
    def sqlite_db(self) -> Path:
        return self.home / "rucio.db"

    @property
    def settings_file(self) -> Path:
        return self.home / "lake.json"

    @property
    def server_cfg(self) -> Path:
        return self.etc / "rucio.cfg"

    @property
    def alembic_ini(self) -> Path:
        return self.etc / "alembic.ini"

    @property
    def jupyter_config(self) -> Path:
        return self.home / "jupyter_server_config.json"

    @property
    def env_sh(self) -> Path:
        return self.home / "env.sh"

    @property
    def schema_marker(self) -> Path:
        """Written once the schema and the root account exist."""
        return self.state / "schema"

    @property
    def bootstrapped_marker(self) -> Path:
        """Written once RSEs, accounts and scopes exist too."""
        return self.state / "bootstrapped"

    @property
    def seeded_marker(self) -> Path:
        """Written once the sample data is registered."""
        return self.state / "seeded"

    @property
    def course_marker(self) -> Path:
        """Written once the course material is in the course scope."""
        return self.state / "course-seeded"

    def client_cfg(self, account: str) -> Path:
        return self.etc / f"rucio-{account}.cfg"

    def password_file(self, account: str) -> Path:
        return self.secrets / f"{account}.password"

    def pid_file(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log / f"{name}.log"

    def rse_root(self, directory: str) -> Path:
        return self.rses / directory
