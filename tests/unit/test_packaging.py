"""The Python package and the labextension agree, and the extension is declared to Jupyter."""

from __future__ import annotations

import json
from pathlib import Path

import vrelab

REPO = Path(__file__).resolve().parents[2]


def test_labextension_version_matches_the_python_package():
    assert json.loads((REPO / "package.json").read_text())["version"] == vrelab.__version__


def test_extension_points():
    assert vrelab._jupyter_server_extension_points() == [{"module": "vrelab"}]
    assert vrelab._jupyter_labextension_paths() == [{"src": "labextension", "dest": "vrelab"}]
    config = json.loads((REPO / "jupyter-config/server-config/vrelab.json").read_text())
    assert config["ServerApp"]["jpserver_extensions"]["vrelab"] is True
