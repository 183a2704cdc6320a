"""The wheel is all a user needs: the server extension enables itself and the labextension is
prebuilt inside it (no Node on the user's machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from servers import REPO, free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def the_wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(REPO),
            "-w",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("vrelab-*.whl")
    return wheel


def test_wheel_carries_the_prebuilt_labextension_and_the_server_config(the_wheel):
    names = zipfile.ZipFile(the_wheel).namelist()
    data = [n for n in names if ".data/data/" in n]
    assert any(n.endswith("share/jupyter/labextensions/vrelab/package.json") for n in data)
    assert any("share/jupyter/labextensions/vrelab/static/remoteEntry." in n for n in data)
    assert any(n.endswith("etc/jupyter/jupyter_server_config.d/vrelab.json") for n in data)
    assert "vrelab/openapi/jobs.yaml" in names
    assert "vrelab/lakeserver/serverside/serve.py" in names
    assert "vrelab/py.typed" in names  # PEP 561: type checkers read vrelab's annotations
    assert not any(n.endswith(".ts") for n in names)


def test_installed_wheel_serves_api_and_labextension(the_wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(the_wheel)],
        check=True,
        capture_output=True,
    )
    port, token = free_port(), "wheel-test-token"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "VRELAB")) and k != "PYTHONPATH"
    }
    env.update(
        PYTHONPATH=str(target),
        JUPYTER_PATH=str(target / "share/jupyter"),
        JUPYTER_CONFIG_PATH=str(target / "etc/jupyter"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        VRELAB_DATA_DIR=str(tmp_path / "vrelab"),
    )
    # no --ServerApp.jpserver_extensions: the wheel's own config file enables vrelab
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={tmp_path}"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/"
    headers = {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            try:
                status = httpx.get(base + "vrelab/api/v1/status", headers=headers, timeout=2)
                if status.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert status is not None and status.status_code == 200
        imported = httpx.get(base + "vrelab/api/v1/status", headers=headers).json()
        assert imported["version"]
        page = httpx.get(base + "lab", headers=headers, timeout=10).text
        config = json.loads(
            page.split('id="jupyter-config-data" type="application/json">')[1].split("</script>")[0]
        )
        assert "vrelab" in {e["name"] for e in config["federated_extensions"]}
        entry = next((target / "share/jupyter/labextensions/vrelab/static").glob("remoteEntry.*.js"))
        js = httpx.get(base + f"lab/extensions/vrelab/static/{entry.name}", headers=headers, timeout=10)
        assert js.status_code == 200 and len(js.content) > 1000
    finally:
        proc.terminate()
        proc.wait(20)
