"""Batched finite-difference gradients: the same numbers as scipy's own, used only where they pay."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pyhf = pytest.importorskip("pyhf")
pytest.importorskip("scipy")

from scipy.optimize._numdiff import approx_derivative  # noqa: E402

from vrelab.fit.batchgrad import STEP, _gradient, register  # noqa: E402
from vrelab.fit.inference import FitOptions, batched_gradient_pays, prepare, use_backend  # noqa: E402

LIKELIHOODS = Path(os.environ.get("VRELAB_LIKELIHOODS", Path(__file__).parents[3] / "shared" / "likelihoods"))


def _workspace_and_patch(name: str, index: int) -> tuple[object, list[dict]]:
    folder = LIKELIHOODS / name
    if not folder.is_dir():
        pytest.fail(f"the published likelihoods are not at {LIKELIHOODS} (set VRELAB_LIKELIHOODS)")
    patchset = json.loads((folder / "patchset.json").read_text())
    patch = sorted(patchset["patches"], key=lambda p: p["metadata"]["values"])[index]["patch"]
    return pyhf.Workspace(json.loads((folder / "BkgOnly.json").read_text())), patch


@pytest.fixture(scope="module")
def three_lepton():
    """A 3L-eRJR patch (69 parameters, 4 bins): the kind of model batched gradients are for."""
    use_backend("numpy", "scipy", batched_gradients=False)
    ws, patch = _workspace_and_patch("3L-eRJR", 10)
    prep = prepare(ws, FitOptions(fix_shapesys_tau_above=1e8), patch, validate=False)
    twin = ws.model(patches=[patch], validate=False, batch_size=prep.model.config.npars + 1)
    return prep, twin


def test_the_batched_gradient_is_scipys_forward_difference(three_lepton):
    prep, twin = three_lepton
    bounds = prep.bounds
    x = np.array(prep.init, dtype=float)
    x[prep.model.config.poi_index] = bounds[prep.model.config.poi_index][1]  # at an upper bound: a backward step

    def twice_nll(p: np.ndarray) -> float:
        return float(-2.0 * prep.model.logpdf(p, prep.data)[0])

    lower, upper = np.array(bounds).T
    expected = approx_derivative(twice_nll, x, method="2-point", abs_step=STEP, bounds=(lower, upper))
    got = _gradient(twin, prep.data, bounds)(x)
    assert np.any(expected != 0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_a_fit_with_batched_gradients_follows_pyhfs_path(three_lepton):
    prep, twin = three_lepton
    use_backend("numpy", "scipy", batched_gradients=False)
    plain = pyhf.infer.mle.fit(prep.data, prep.model, prep.init, prep.bounds, prep.fixed)
    use_backend("numpy", "scipy", batched_gradients=True)
    try:
        register(prep.model, twin)
        batched = pyhf.infer.mle.fit(prep.data, prep.model, prep.init, prep.bounds, prep.fixed)
    finally:
        use_backend("numpy", "scipy", batched_gradients=False)
    np.testing.assert_allclose(batched, plain, rtol=0, atol=1e-9)


def test_batched_gradients_are_chosen_by_the_models_shape():
    use_backend("numpy", "scipy", batched_gradients=False)
    small, patch = _workspace_and_patch("3L-eRJR", 0)
    wide, wide_patch = _workspace_and_patch("staus-combined", 0)
    assert batched_gradient_pays(small.model(patches=[patch], validate=False))
    assert not batched_gradient_pays(wide.model(patches=[wide_patch], validate=False))
