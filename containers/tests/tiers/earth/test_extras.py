"""Earth's heavy extras (coffea, cabinetry, the Dask dashboard): on Earth and on Jupyter, not on Mars,
which drops them."""

from __future__ import annotations

from containers.engine import Engine
from containers.tests.conftest import Lab

REQUIRES = ("coffea", "cabinetry", "dask_labextension")


def test_dask_labextension_is_enabled(lab: Lab) -> None:
    listing = lab.exec("sh", "-c", "jupyter labextension list 2>&1; jupyter server extension list 2>&1")
    assert "dask-labextension" in listing and "dask_labextension" in listing


def test_coffea_and_cabinetry_import(engine: Engine, image: str) -> None:
    script = "import coffea, cabinetry; from coffea import processor; print(coffea.__version__ != '')"
    assert engine.run(image, "python", "-c", script).strip() == "True"
