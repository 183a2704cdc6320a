"""Embedded-lake fixtures: a REAL Rucio server, started once per test session.

- ``embedded_lake`` (session): a fresh lake in a temporary home on an unused port (so it never
  collides with a developer's own lake), sample data seeded at a small scale, reusing the cached
  server venv (``VRELAB_LAKE_VENV`` or ``~/.cache/vrelab/rucio-server-41.5.1-pyX.Y``; built on the
  first run, ~100 s). Torn down (processes stopped) at the end of the session.
- ``lake_sandbox`` (function): a scope of its own for one test (owned by the lake's user account)
  with a dataset in it, and helpers to make and upload files, so tests never collide.

Environment knobs: ``VRELAB_TEST_LAKE_SCALE`` (sample size factor, default 0.05),
``VRELAB_TEST_LAKE_KEEP=1`` (leave the lake running after the session, for debugging).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from vrelab.lakeserver import LakeServer
from vrelab.lakeserver.layout import SCRATCH_RSE
from vrelab.lakeserver.processes import free_port


@dataclass
class EmbeddedLake:
    """How tests reach the session's lake. No password in here: read the files if needed."""

    url: str
    home: Path
    root_config: Path  # RUCIO_CONFIG for root
    user: str  # the user account (userpass)
    user_config: Path  # RUCIO_CONFIG for the user
    user_password_file: Path
    jupyter_config: Path  # the jupyter_server_config.json snippet pointing vrelab at the lake
    rse_roots: dict[str, Path]  # RSE name -> its directory on disk
    server: LakeServer = field(repr=False)
    tmpdir: Path = field(repr=False, default=Path("/tmp"))

    @property
    def venv_bin(self) -> Path:
        return self.server.venv.path / "bin"

    def password(self, account: str) -> str:
        return self.server.password(account)

    def env(self, account: str | None = None) -> dict[str, str]:
        """Environment for a subprocess using the server venv's ``rucio`` CLI as ``account``."""
        drop = ("PYTHONPATH", "VIRTUAL_ENV", "RUCIO_HOME")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env["RUCIO_CONFIG"] = str(self.root_config if account == "root" else self.user_config)
        env["TMPDIR"] = str(self.tmpdir)  # the CLI's token cache, apart from a developer's
        env["PATH"] = f"{self.venv_bin}{os.pathsep}{env.get('PATH', '')}"
        return env

    def rucio(
        self, *args: str, account: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run the server venv's ``rucio`` CLI with the lake's written client config."""
        proc = subprocess.run(
            [str(self.venv_bin / "rucio"), *args],
            env=self.env(account),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and proc.returncode != 0:
            command = " ".join(args)
            raise AssertionError(f"rucio {command} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc

    def client(self, account: str | None = None) -> Any:
        """A rucio-clients ``Client`` (of the test environment) logged in as ``account``."""
        from rucio.client import Client

        account = account or self.user
        return Client(
            rucio_host=self.url,
            auth_host=self.url,
            account=account,
            auth_type="userpass",
            creds={"username": account, "password": self.password(account)},
        )

    def replica_path(self, rse: str, scope: str, name: str) -> Path | None:
        """The file of a replica on an RSE's disk (None if the lake lists no such replica)."""
        for rep in self.client("root").list_replicas([{"scope": scope, "name": name}], rse_expression=rse):
            for pfn in rep["rses"].get(rse, []):
                return Path(pfn.removeprefix("file://localhost"))
        return None


def wait_for(
    predicate: Callable[[], Any], timeout: float = 90.0, interval: float = 1.0, what: str = ""
) -> Any:
    """Poll ``predicate`` until it returns something truthy (the daemon loop works every ~2 s)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or predicate} (last: {last!r})")


@contextlib.contextmanager
def running_lake(home: Path, scale: float, label: str) -> Iterator[EmbeddedLake]:
    """A real embedded lake in ``home`` with samples at ``scale``, stopped on exit
    (unless VRELAB_TEST_LAKE_KEEP=1)."""
    server = LakeServer(home=home, port=free_port(), sample_scale=scale)
    info = server.up(progress=lambda msg: print(f"[{label}] {msg}"))
    tmpdir = home / "tmp"
    tmpdir.mkdir(exist_ok=True)
    try:
        yield EmbeddedLake(
            url=info.url,
            home=info.home,
            root_config=info.root_config,
            user=info.user,
            user_config=info.user_config,
            user_password_file=info.user_password_file,
            jupyter_config=info.jupyter_config,
            rse_roots=info.rse_roots,
            server=server,
            tmpdir=tmpdir,
        )
    finally:
        if os.environ.get("VRELAB_TEST_LAKE_KEEP") != "1":
            server.down()


@pytest.fixture(scope="session")
def embedded_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedLake]:
    scale = float(os.environ.get("VRELAB_TEST_LAKE_SCALE", "0.05"))
    with running_lake(tmp_path_factory.mktemp("embedded-lake"), scale, "embedded_lake") as lake:
        old_config = os.environ.get("RUCIO_CONFIG")
        os.environ["RUCIO_CONFIG"] = str(lake.user_config)  # rucio-clients in this process need a config
        try:
            yield lake
        finally:
            if old_config is None:
                os.environ.pop("RUCIO_CONFIG", None)
            else:
                os.environ["RUCIO_CONFIG"] = old_config


@dataclass
class LakeSandbox:
    """A scope and a dataset of one test's own, owned by the lake's user account; the dataset has
    a rule on LAPP-SCRATCHDISK (where the user may upload)."""

    lake: EmbeddedLake
    scope: str
    dataset: str
    workdir: Path
    client: Any  # rucio Client as the user

    @property
    def did(self) -> str:
        return f"{self.scope}:{self.dataset}"

    def make_file(self, name: str | None = None, size: int = 1024) -> Path:
        path = self.workdir / (name or f"f_{uuid.uuid4().hex[:10]}.root")
        path.write_bytes(os.urandom(size))
        return path

    def upload(self, *paths: Path, rse: str = SCRATCH_RSE, attach: bool = True) -> list[str]:
        """Upload files as the user (non-admins may write to *SCRATCHDISK only) into the sandbox
        dataset; returns the file names."""
        from rucio.client.uploadclient import UploadClient

        items = []
        for path in paths:
            item = {
                "path": str(path),
                "rse": rse,
                "did_scope": self.scope,
                # the generic policy does not let a non-admin flip replica states: register at the end
                "register_after_upload": True,
            }
            if attach:
                item |= {"dataset_scope": self.scope, "dataset_name": self.dataset}
            items.append(item)
        UploadClient(_client=self.client).upload(items)
        return [p.name for p in paths]


@pytest.fixture
def lake_sandbox(embedded_lake: EmbeddedLake, tmp_path: Path) -> LakeSandbox:
    tag = uuid.uuid4().hex[:8]
    scope = f"t_{tag}"
    embedded_lake.client("root").add_scope(embedded_lake.user, scope)
    client = embedded_lake.client()
    dataset = f"ds_{tag}"
    # like UploadClient does for a new dataset: a rule keeps its files on the scratch disk (and
    # counts them in the user's usage)
    rule = {"account": embedded_lake.user, "copies": 1, "rse_expression": SCRATCH_RSE, "grouping": "DATASET"}
    client.add_dataset(scope, dataset, rules=[rule])
    return LakeSandbox(lake=embedded_lake, scope=scope, dataset=dataset, workdir=tmp_path, client=client)
