"""A real JupyterHub (jupyterhub + DockerSpawner from PyPI, configurable-http-proxy from npm, a dummy
authenticator) spawns single-user servers from the Mercury and Earth images through podman's Docker-API
socket, using containers/hub/jupyterhub_config.py; vrelab answers through the hub's proxy with the
user's own token, and the data-lake settings of the hub's environment reach the user's server.

The hub runs in a virtual environment of its own (state_home()/hub-venv), so its pins never meet the
project's. Test-only overrides: host networking (no bridge, no iptables rules), a free port per user.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from containers.engine import Engine, state_home
from containers.tests.conftest import free_port, selected_tiers
from containers.tiers import HERE as CONTAINERS

HUB_PINS = ("jupyterhub==6.1.1", "dockerspawner==14.0.0")
CHP_PIN = "configurable-http-proxy@4"
LAKE = [{"name": "hub-test-lake", "rucio_host": "http://127.0.0.1:9", "auth_host": "http://127.0.0.1:9"}]
SPAWN_TIERS = [t for t in ("mercury", "earth") if t in selected_tiers()]

pytestmark = pytest.mark.skipif(not SPAWN_TIERS, reason="VRELAB_IMAGE_TIERS selects neither mercury nor earth")


def _hub_venv() -> Path:
    venv = state_home() / "hub-venv"
    stamp = venv / ".installed"
    if not stamp.exists() or stamp.read_text() != " ".join(HUB_PINS):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *HUB_PINS], check=True)
        stamp.write_text(" ".join(HUB_PINS))
    return venv


def _chp() -> Path:
    prefix = state_home() / "chp"
    binary = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    if not binary.exists():
        subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error",
                        CHP_PIN], check=True)  # fmt: skip
    return binary


@pytest.fixture(scope="module")
def podman_socket(engine: Engine) -> Iterator[str]:
    """``podman system service`` on a private socket, over the store the images were built in."""
    if engine.runner != "podman":
        url = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="vrelab-hub-", dir="/tmp"))
    socket = folder / "podman.sock"
    log = open(folder / "service.log", "wb")
    proc = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{socket}"], env=engine.env(),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not socket.exists():
            assert proc.poll() is None and time.monotonic() < deadline, (folder / "service.log").read_text()
            time.sleep(0.1)
        yield f"unix://{socket}"
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


class Hub:
    def __init__(self, url: str, token: str, workdir: Path, proc: subprocess.Popen[bytes]) -> None:
        self.url, self.token, self.workdir, self.proc = url, token, workdir, proc

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        return httpx.request(method, f"{self.url}hub/api/{path}", headers={"Authorization": f"token {self.token}"},
                             timeout=60, **kwargs)  # fmt: skip

    def log(self) -> str:
        return (self.workdir / "hub.log").read_text()[-6000:]


@pytest.fixture(scope="module")
def hub(images: dict[str, str], podman_socket: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    venv, chp = _hub_venv(), _chp()
    workdir = tmp_path_factory.mktemp("hub")
    port, hub_port, api_port = free_port(), free_port(), free_port()
    token = secrets.token_hex(24)
    (workdir / "jupyterhub_config.py").write_text(f'''
import socket
from dockerspawner import DockerSpawner
c = get_config()
load_subconfig({str(CONTAINERS / "hub" / "jupyterhub_config.py")!r})

class HostNetworkSpawner(DockerSpawner):
    """The test's one change of behaviour: host networking, each user server on a free port."""
    async def get_ip_and_port(self):
        return ("127.0.0.1", self.port)

def free_port(spawner):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        spawner.port = s.getsockname()[1]

c.JupyterHub.spawner_class = HostNetworkSpawner
c.Spawner.pre_spawn_hook = free_port
c.DockerSpawner.network_name = "host"
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.volumes = {{}}
c.DockerSpawner.pull_policy = "never"
c.DockerSpawner.mem_limit = None
c.Spawner.mem_limit = None
c.DockerSpawner.client_kwargs = {{"base_url": {podman_socket!r}}}
c.DockerSpawner.name_template = "vrelab-hub-test-{{username}}-{hub_port}"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.hub_connect_ip = "127.0.0.1"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{str(chp)!r}]
c.JupyterHub.db_url = "sqlite:///{workdir / "hub.sqlite"}"
c.JupyterHub.cookie_secret_file = "{workdir / "cookie_secret"}"
c.JupyterHub.pid_file = "{workdir / "hub.pid"}"
c.JupyterHub.services = [{{"name": "tester", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "tester", "services": ["tester"],
    "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "read:users"]}}]
''')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "VRELAB_", "RUCIO_"))},
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "VRELAB_IMAGE_REGISTRY": images[SPAWN_TIERS[0]].rsplit("/", 1)[0],
        "VRELAB_LAKE_INSTANCES": json.dumps(LAKE),
        "VRELAB_DEFAULT_LAKE_INSTANCE": LAKE[0]["name"],
    }
    with open(workdir / "hub.log", "wb") as log:
        proc = subprocess.Popen(
            [str(venv / "bin" / "jupyterhub"), "-f", str(workdir / "jupyterhub_config.py")],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = Hub(f"http://127.0.0.1:{port}/", token, workdir, proc)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if hub.api("GET", "").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, f"the hub did not start:\n{hub.log()}"
            time.sleep(0.5)
        yield hub
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.parametrize("spawn_tier", SPAWN_TIERS)
def test_hub_spawns_the_tier_and_vrelab_answers_through_the_proxy(
    hub: Hub, spawn_tier: str, engine: Engine, images: dict[str, str]
) -> None:
    user = f"student-{spawn_tier}"
    assert hub.api("POST", f"users/{user}").status_code in (201, 409)
    started = hub.api("POST", f"users/{user}/server", json={"image": spawn_tier})
    assert started.status_code in (201, 202), started.text
    deadline = time.monotonic() + 240
    while True:
        model = hub.api("GET", f"users/{user}").json()
        server = model["servers"].get("")
        if server and server["ready"]:
            break
        assert server and time.monotonic() < deadline, f"{user}'s server did not become ready:\n{hub.log()}"
        time.sleep(1)
    try:
        user_token = hub.api("POST", f"users/{user}/tokens", json={"note": "hub test"}).json()["token"]
        url = f"{hub.url}user/{user}/vrelab/api/v1/status"
        status = httpx.get(url, headers={"Authorization": f"token {user_token}"}, timeout=60)
        assert status.status_code == 200, status.text
        body = status.json()
        assert body["version"]
        # the data-lake settings of the hub's environment reached the user's server
        assert LAKE[0]["name"] in json.dumps(body), body
        # the container runs the image of the tier asked for
        # (the spawner escapes the user name in the container name; this user's is the only one running)
        running = engine.cli("ps", "--filter", "name=vrelab-hub-test-", "--format", "{{.Image}}").stdout
        assert running.split() == [images[spawn_tier]], running
        assert httpx.get(url, timeout=30, follow_redirects=False).status_code in (302, 401, 403)
    finally:
        stopped = hub.api("DELETE", f"users/{user}/server")
        assert stopped.status_code in (202, 204), stopped.text
