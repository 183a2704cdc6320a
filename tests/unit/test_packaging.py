"""The Python package and the labextension agree, and the extension is declared to Jupyter."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
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


def test_the_package_is_marked_typed():
    # PEP 561: the marker sits in the package, which the wheel ships whole (tests/integration/test_wheel.py)
    assert resources.files("vrelab").joinpath("py.typed").is_file()
    wheel = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["extension/vrelab"]


def test_project_metadata_names_its_license_and_urls():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "BSD-3-Clause"}
    assert "BSD 3-Clause License" in (REPO / "LICENSE").read_text()
    assert set(project["urls"]) == {"Homepage", "Documentation", "Issues", "Changelog"}
    assert (REPO / "CHANGELOG.md").read_text().startswith("# Changelog")
