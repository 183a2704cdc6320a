"""The training-school notebooks are stored clean: no outputs, no execution counts, valid nbformat.

Outputs belong to a run, not to the repository (they are large, and they would show results that
the code in the cell may no longer produce); ``tests/integration/test_notebooks.py`` executes them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 6, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped_and_valid(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for i, cell in enumerate(nb.cells):
        where = f"{path.name} cell {i}"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{where} has outputs: strip them before committing"
            assert cell.execution_count is None, f"{where} has an execution count"
        assert "execution" not in cell.metadata, f"{where} has execution timings in its metadata"
        assert "collapsed" not in cell.metadata and "scrolled" not in cell.metadata, where
    assert "widgets" not in nb.metadata, f"{path.name} stores widget state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_publishes_its_results(path: Path) -> None:
    """Each notebook ends in a results cell (read by the execution test) and tags its plots."""
    nb = nbformat.read(path, as_version=4)
    tagged = {tag for cell in nb.cells for tag in cell.metadata.get("tags", [])}
    assert "results" in tagged, f"{path.name} has no cell tagged 'results'"
    assert "plot" in tagged, f"{path.name} has no cell tagged 'plot'"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "a title first"
