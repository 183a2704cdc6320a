"""Starting a real Jupyter server with vrelab in its own process (for restarts, kills, load).

Used by tests (through fixtures) and by benchmarks. The server gets its own port, token, root
and vrelab data folder; ``kill()`` sends any signal, ``start()`` again restarts it on the same
folders, as an operator restarting a crashed server would.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
LIKELIHOODS = Path(os.environ.get("VRELAB_LIKELIHOODS", REPO.parent / "shared" / "likelihoods"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServerProcess:
    def __init__(
        self,
        workdir: Path,
        *,
        app: str = "server",
        vrelab_config: dict[str, Any] | None = None,
        extra_args: list[str] | None = None,
        env: dict[str, str | None] | None = None,
    ):
        self.workdir = Path(workdir)
        self.app = app
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.root = self.workdir / "root"
        self.data_dir = self.workdir / "vrelab-data"
        self.vrelab_config = {"data_dir": str(self.data_dir), **(vrelab_config or {})}
        self.extra_args = extra_args or []
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def api(self) -> str:
        return self.url + "vrelab/api/v1/"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def start(self, timeout: float = 60.0) -> JupyterServerProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        config_dir = self.workdir / "config"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": {"vrelab": True}}, "VRELab": self.vrelab_config})
        )
        env = dict(os.environ)
        env.update(
            {
                "JUPYTER_CONFIG_DIR": str(config_dir),
                "JUPYTER_CONFIG_PATH": str(config_dir),
                "JUPYTER_RUNTIME_DIR": str(self.workdir / "runtime"),
                "JUPYTER_DATA_DIR": str(self.workdir / "data"),
                "PYTHONPATH": os.pathsep.join(
                    [str(REPO / "extension"), str(REPO / "tests"), env.get("PYTHONPATH", "")]
                ),
            }
        )
        for name, value in self.env.items():  # None: not in the server's environment
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        cmd = [
            sys.executable, "-m", "jupyter", self.app, "--no-browser", "--allow-root",
            f"--port={self.port}", "--ServerApp.port_retries=0", "--ip=127.0.0.1",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
            *self.extra_args,
        ]  # fmt: skip
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited: {self.log_path.read_text()[-3000:]}")
            try:
                r = httpx.get(self.api + "status", headers=self.headers, timeout=2)
                if r.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"jupyter {self.app} did not answer within {timeout}s: {self.log_path.read_text()[-3000:]}"
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send a signal to the server (not its kernels or workers) and wait for it to go."""
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        self.proc.wait(30)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.api + path, headers=self.headers, timeout=30, **kwargs)
