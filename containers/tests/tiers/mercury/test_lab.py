"""JupyterLab in the image answers with vrelab's server extension and sidebar (on every tier)."""

from __future__ import annotations

import json
import re

from containers.build import vrelab_version
from containers.tests.conftest import Lab


def test_vrelab_status_answers(lab: Lab) -> None:
    answer = lab.get("vrelab/api/v1/status")
    assert answer.status_code == 200, answer.text
    status = answer.json()
    assert status["version"] == vrelab_version()
    # and it refuses a request without the token
    assert lab.get("vrelab/api/v1/status", headers={}).status_code in (401, 403)


def test_server_and_lab_extensions_are_enabled(lab: Lab) -> None:
    assert re.search(r"vrelab\b.*enabled", lab.exec("sh", "-c", "jupyter server extension list 2>&1"))
    assert re.search(r"vrelab\b.*enabled", lab.exec("sh", "-c", "jupyter labextension list 2>&1"))


def test_sidebar_bundle_is_served(lab: Lab) -> None:
    page = lab.get("lab").text
    config = json.loads(page.split('id="jupyter-config-data" type="application/json">')[1].split("</script>")[0])
    (ext,) = [e for e in config["federated_extensions"] if e["name"] == "vrelab"]
    bundle = lab.get(f"lab/extensions/vrelab/{ext['load']}")
    assert bundle.status_code == 200 and len(bundle.content) > 1000
    assert "javascript" in bundle.headers["content-type"]


def test_healthcheck_passes_while_lab_runs(lab: Lab) -> None:
    assert lab.exec("/usr/local/bin/vrelab-healthcheck").strip() == "ok"


def test_a_kernel_starts_and_finds_vrelab(lab: Lab) -> None:
    kernel = lab.get("api/kernelspecs").json()
    assert "python3" in kernel["kernelspecs"]
    out = lab.exec("python", "-c", "import vrelab.client, ipywidgets; print(vrelab.client.Client.__name__)")
    assert out.strip() == "Client"
