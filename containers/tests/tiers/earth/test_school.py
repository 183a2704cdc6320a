"""Earth's analysis core: a school notebook executes inside the image, against the image's own
JupyterLab (vrelab's fit service), as a student would run it (on Earth, Mars and Jupyter)."""

from __future__ import annotations

import json

import pytest

from containers.engine import Engine
from containers.tests.conftest import LIKELIHOODS, Lab

NOTEBOOK = "05-published-likelihood.ipynb"
RESULTS_MIME = "application/vnd.vrelab.results+json"
# The image runs no data lake, so the notebook's download of the course archive from the lake (run
# against a real lake by tests/integration/test_notebooks.py) becomes the archive mounted read-only
# in the home folder; every other cell runs as shipped.
DOWNLOAD = "job = client.lake.download(COURSE_FILE"
MOUNTED = 'archive = {"path": "likelihoods/archives/ATLAS-SUSY-2018-04_likelihoods.tar.gz"}'
IN_IMAGE = "05-in-image.ipynb"
SUBSTITUTE = f"""
import json
nb = json.load(open({NOTEBOOK!r}))
cells = [c for c in nb["cells"] if c["cell_type"] == "code" and {DOWNLOAD!r} in "".join(c["source"])]
assert len(cells) == 1, "the notebook's download cell changed: update this test"
lines = "".join(cells[0]["source"]).splitlines(keepends=True)
start = next(i for i, ln in enumerate(lines) if ln.startswith({DOWNLOAD!r}))
end = next(i for i, ln in enumerate(lines) if ln.startswith("print(f\\"downloaded"))
cells[0]["source"] = "".join(lines[:start] + [{MOUNTED!r} + "\\n"] + lines[end + 1:])
json.dump(nb, open({IN_IMAGE!r}, "w"))
"""


def test_school_notebooks_are_in_the_users_home(lab: Lab) -> None:
    names = lab.exec("ls", "/home/jovyan/notebooks").split()
    assert NOTEBOOK in names and "02-higgs-to-diphoton.ipynb" in names


def test_a_school_notebook_executes_inside_the_image(lab: Lab) -> None:
    if not LIKELIHOODS.is_dir():
        pytest.fail(f"the published likelihoods are missing ({LIKELIHOODS}): set VRELAB_LIKELIHOODS")
    lab.exec("python", "-c", SUBSTITUTE, workdir="/home/jovyan/notebooks")
    lab.exec(
        "jupyter", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=600",
        "--output", "/tmp/executed.ipynb", IN_IMAGE,
        env={"VRELAB_URL": lab.url, "VRELAB_TOKEN": lab.token, "MPLBACKEND": "Agg"},
        workdir="/home/jovyan/notebooks", timeout=1200,
    )  # fmt: skip
    nb = json.loads(lab.exec("cat", "/tmp/executed.ipynb"))
    results: dict = {}
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            results.update(output.get("data", {}).get(RESULTS_MIME, {}))
    assert results, "the notebook's results cell did not run"
    assert 0.0 <= results["CLs_obs"] <= 1.0, results


def test_hep_stack_reads_writes_and_fits(engine: Engine, image: str) -> None:
    script = """
import awkward as ak, hist, iminuit, numpy as np, pyhf, uproot, vector
rng = np.random.default_rng(1)
with uproot.recreate("/tmp/t.root") as f:
    f["t"] = {"m": rng.normal(125, 2, 1000)}
m = uproot.open("/tmp/t.root")["t"]["m"].array()
h = hist.Hist.new.Reg(30, 110, 140).Double().fill(ak.to_numpy(m))
v = vector.obj(px=3.0, py=4.0, pz=0.0, E=10.0)
model = pyhf.simplemodels.uncorrelated_background([5.0], [50.0], [7.0])
cls = float(pyhf.infer.hypotest(1.0, [52.0] + model.config.auxdata, model))
print(len(m), int(h.sum()), v.pt, round(cls, 3) if 0 < cls < 1 else "bad")
"""
    out = engine.run(image, "python", "-c", script, options=["-e", "MPLBACKEND=Agg"]).split()
    assert out[:3] == ["1000", "1000", "5.0"] and out[3] != "bad", out
