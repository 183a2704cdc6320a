"""The compiled fit engine against pyhf: every modifier type on a small synthetic workspace (rates,
likelihood, CLs, best fit), the published likelihoods' reference CLs on patches spread over each
grid, the fallback to pyhf, and the engine inside the scan job."""

from __future__ import annotations

import copy
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pyhf = pytest.importorskip("pyhf")
pytest.importorskip("jax")

from likelihoods import PYHF_MISFITS, needs_likelihoods, require_likelihoods  # noqa: E402

from vrelab.errors import BadRequest  # noqa: E402
from vrelab.fit import FitService  # noqa: E402
from vrelab.fit.engine.batch import hypotests  # noqa: E402
from vrelab.fit.engine.dispatch import hypotest as engine_hypotest  # noqa: E402
from vrelab.fit.engine.layout import Background, Unsupported, dims_of, padded  # noqa: E402
from vrelab.fit.engine.runtime import setup  # noqa: E402
from vrelab.fit.inference import FitOptions, hypotest, parameter_labels, prepare, use_backend  # noqa: E402

TOLERANCE = 1e-4


def synthetic() -> dict[str, Any]:
    """Two channels using every modifier type pyhf has, sharing parameters across samples."""
    return {
        "channels": [
            {
                "name": "A",
                "samples": [
                    {
                        "name": "signal",
                        "data": [3.0, 2.0],
                        "modifiers": [
                            {"name": "mu", "type": "normfactor", "data": None},
                            {"name": "lumi", "type": "lumi", "data": None},
                            {"name": "theory", "type": "normsys", "data": {"hi": 1.1, "lo": 0.92}},
                            {"name": "staterror_A", "type": "staterror", "data": [0.3, 0.2]},
                        ],
                    },
                    {
                        "name": "bkg1",
                        "data": [20.0, 15.0],
                        "modifiers": [
                            {"name": "lumi", "type": "lumi", "data": None},
                            {"name": "jes", "type": "normsys", "data": {"hi": 1.05, "lo": 0.97}},
                            {
                                "name": "shape",
                                "type": "histosys",
                                "data": {"hi_data": [21.0, 16.5], "lo_data": [19.5, 13.8]},
                            },
                            {"name": "staterror_A", "type": "staterror", "data": [1.0, 0.8]},
                            {"name": "bkg1_stat", "type": "shapesys", "data": [2.0, 1.5]},
                        ],
                    },
                    {
                        "name": "bkg2",
                        "data": [5.0, 8.0],
                        "modifiers": [
                            {"name": "sf_A", "type": "shapefactor", "data": None},
                            {
                                "name": "shape",
                                "type": "histosys",
                                "data": {"hi_data": [5.5, 8.2], "lo_data": [4.7, 7.5]},
                            },
                            {"name": "jes", "type": "normsys", "data": {"hi": 0.96, "lo": 1.06}},
                        ],
                    },
                ],
            },
            {
                "name": "B",
                "samples": [
                    {
                        "name": "signal",
                        "data": [1.0, 1.5, 0.5],
                        "modifiers": [
                            {"name": "mu", "type": "normfactor", "data": None},
                            {"name": "lumi", "type": "lumi", "data": None},
                        ],
                    },
                    {
                        "name": "bkg1",
                        "data": [30.0, 20.0, 10.0],
                        "modifiers": [
                            {"name": "mu_b", "type": "normfactor", "data": None},
                            {"name": "jes", "type": "normsys", "data": {"hi": 1.08, "lo": 0.9}},
                            {
                                "name": "shape2",
                                "type": "histosys",
                                "data": {"hi_data": [33.0, 21.0, 9.0], "lo_data": [28.0, 19.5, 10.8]},
                            },
                            {"name": "bkg1_statB", "type": "shapesys", "data": [3.0, 0.0, 1.0]},
                            {"name": "staterror_B", "type": "staterror", "data": [1.0, 1.0, 0.0]},
                        ],
                    },
                ],
            },
        ],
        "observations": [{"name": "A", "data": [26.0, 22.0]}, {"name": "B", "data": [33.0, 25.0, 9.0]}],
        "measurements": [
            {
                "name": "meas",
                "config": {
                    "poi": "mu",
                    "parameters": [
                        {"name": "lumi", "auxdata": [1.0], "sigmas": [0.02], "bounds": [[0.9, 1.1]], "inits": [1.0]},
                        {"name": "mu_b", "bounds": [[0.0, 5.0]], "inits": [1.2]},
                    ],
                },
            }
        ],
        "version": "1.0.0",
    }


@pytest.fixture(scope="module", autouse=True)
def engine() -> None:
    setup()
    use_backend("numpy", "scipy")


@pytest.fixture
def precise_pyhf():
    """pyhf with a tight optimizer tolerance: its default (SLSQP, 1e-6) leaves CLs_exp ~2e-4 off on
    the synthetic model, where the engine's fits converge further."""
    from vrelab.fit import inference

    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-12))
    yield
    inference._BACKEND = None
    use_backend("numpy", "scipy")


def _pyhf_order(model: Any, layout: Any) -> list[int]:
    """For each pyhf parameter element, the engine's index of the same element."""
    mine = {label: i for i, label in enumerate(layout.labels)}
    return [mine[label] for label in parameter_labels(model)]


CODES = [("code4", "code4p"), ("code1", "code0")]


@pytest.mark.parametrize(("normsys", "histosys"), CODES)
def test_rates_and_likelihood_equal_pyhfs_for_every_modifier_type(normsys, histosys):
    import jax

    from vrelab.fit.engine.model import Model, Yields, expected, expected_and_jacobian, nll, nll_constant

    spec = synthetic()
    ws = pyhf.Workspace(spec)
    model = ws.model(modifier_settings={"normsys": {"interpcode": normsys}, "histosys": {"interpcode": histosys}})
    layout = Background(spec, normsys_code=normsys, histosys_code=histosys).layout()
    assert sorted(layout.labels) == sorted(parameter_labels(model))
    order = _pyhf_order(model, layout)
    m, y = Model(*layout.structure_arrays()), Yields(*layout.yield_arrays())
    # pyhf's suggested values where the engine's come from
    assert np.allclose(np.asarray(model.config.suggested_init()), layout.init[order])
    assert np.array_equal(np.asarray(model.config.suggested_fixed()), layout.fixed[order])
    assert np.allclose(np.asarray(model.config.suggested_bounds()), np.c_[layout.lower, layout.upper][order])
    data = np.asarray(ws.data(model))
    rng = np.random.default_rng(7)
    for _ in range(6):
        theta = layout.init + rng.normal(0.0, 0.6, layout.npars) * ~layout.fixed  # inside and outside |alpha| < 1
        theta = np.clip(theta, layout.lower + 0.05, layout.upper)
        pars = theta[order]
        assert np.allclose(np.asarray(expected(m, y, theta)), np.asarray(model.expected_actualdata(pars)), rtol=1e-12)
        ours = float(nll(m, y, theta, layout.observed, layout.aux)) + nll_constant(
            layout.ctype, layout.sigma, layout.observed, layout.aux
        )
        assert ours == pytest.approx(-float(model.logpdf(pars, data)[0]), rel=1e-12, abs=1e-9)
        # the hand-assembled Jacobian is autodiff's
        lam, jac = expected_and_jacobian(m, y, theta)
        auto = jax.jacrev(lambda t: expected(m, y, t))(theta)
        assert np.allclose(np.asarray(jac), np.asarray(auto), rtol=1e-10, atol=1e-10)


def test_cls_and_best_fit_agree_with_pyhf_on_every_modifier_type(precise_pyhf):
    spec = synthetic()
    ws = pyhf.Workspace(spec)
    model = ws.model()
    data = ws.data(model)
    layout = Background(spec).layout()
    order = _pyhf_order(model, layout)
    for mu, stat in ((1.0, "qtilde"), (2.5, "qtilde"), (1.5, "q")):
        (ours,) = hypotests([layout], mu, stat)
        assert ours.problem is None
        cls_obs, cls_exp = pyhf.infer.hypotest(mu, data, model, test_stat=stat, return_expected_set=True)
        assert ours.cls_obs == pytest.approx(float(cls_obs), abs=TOLERANCE)
        assert ours.cls_exp == pytest.approx([float(v) for v in cls_exp], abs=TOLERANCE)
    bestfit = np.asarray(pyhf.infer.mle.fit(data, model))
    ours_fit = np.array([ours.bestfit[label] for label in parameter_labels(model)])
    assert ours_fit == pytest.approx(bestfit, abs=1e-3)
    assert len(order) == layout.npars


def test_fixed_parameters_and_stiff_shapesys_follow_the_options():
    spec = synthetic()
    ws = pyhf.Workspace(spec)
    opts = FitOptions(fixed_params=(("jes", 0.5), ("sf_A[1]", 1.3)), fix_shapesys_tau_above=50.0, engine="jax")
    layout = Background(spec, fixed_params=opts.fixed_params, fix_shapesys_tau_above=50.0).layout()
    prep = prepare(ws, opts)
    order = _pyhf_order(prep.model, layout)
    assert np.array_equal(np.asarray(prep.fixed), layout.fixed[order])
    assert np.allclose(np.asarray(prep.init), layout.init[order])
    reference = hypotest(prep, opts)
    (ours,) = hypotests([layout], 1.0)
    assert ours.cls_obs == pytest.approx(reference.cls_obs, abs=TOLERANCE)
    assert ours.cls_exp == pytest.approx(reference.cls_exp, abs=TOLERANCE)
    assert ours.bestfit is not None and ours.bestfit["jes"] == 0.5 and ours.bestfit["sf_A[1]"] == 1.3


def test_patches_of_different_structures_fit_in_one_padded_batch(precise_pyhf):
    spec = synthetic()
    background = Background(spec)
    add = {
        "name": "signal2",
        "data": [0.5, 1.0, 0.2],
        "modifiers": [
            {"name": "mu", "type": "normfactor", "data": None},
            {"name": "signal2_stat", "type": "shapesys", "data": [0.1, 0.3, 0.05]},
        ],
    }
    # (channel A has a free shapefactor per bin: it constrains the background, B measures mu)
    patches = [
        None,
        [{"op": "add", "path": "/channels/1/samples/-", "value": add}],
        [{"op": "remove", "path": "/channels/0"}],
        [{"op": "replace", "path": "/channels/1/samples/0/data", "value": [3.0, 4.0, 1.0]}],  # parsed in full
    ]
    layouts = [background.layout(p) for p in patches]
    assert len({lay.key for lay in layouts}) == 3  # (the data replacement keeps the structure)
    dims = dims_of(layouts)
    assert all(padded(lay, dims)["nominal"].shape == (dims.rows, dims.bins) for lay in layouts)
    outcomes = hypotests(layouts, 1.0)
    assert outcomes[1].cls_obs != pytest.approx(outcomes[0].cls_obs, abs=1e-3)  # the patches matter
    assert outcomes[3].cls_obs != pytest.approx(outcomes[0].cls_obs, abs=1e-3)
    ws = pyhf.Workspace(spec)
    for patch, ours in zip(patches, outcomes, strict=True):
        model = ws.model(patches=[patch] if patch else None)
        cls_obs, cls_exp = pyhf.infer.hypotest(1.0, ws.data(model), model, return_expected_set=True)
        assert ours.cls_obs == pytest.approx(float(cls_obs), abs=TOLERANCE)
        assert ours.cls_exp == pytest.approx([float(v) for v in cls_exp], abs=TOLERANCE)


def test_an_unsupported_model_falls_back_to_pyhf_and_says_so(tmp_path):
    spec = synthetic()
    # one shapefactor shared by the bins of two channels: pyhf has it, the engine does not
    spec["channels"][1]["samples"][1]["modifiers"].append({"name": "sf_A", "type": "shapefactor", "data": None})
    spec["channels"][1]["samples"][1]["data"] = [30.0, 20.0]
    for mod in spec["channels"][1]["samples"][1]["modifiers"]:
        if mod["type"] == "histosys":
            mod["data"] = {"hi_data": [33.0, 21.0], "lo_data": [28.0, 19.5]}
        elif mod["type"] in ("shapesys", "staterror"):
            mod["data"] = mod["data"][:2]
    spec["channels"][1]["samples"][0]["data"] = [1.0, 1.5]
    spec["observations"][1]["data"] = [33.0, 25.0]
    ws = pyhf.Workspace(spec)
    with pytest.raises(Unsupported, match="spans several channels"):
        Background(spec).layout()
    path = tmp_path / "ws.json"
    path.write_text(json.dumps(spec))
    result = engine_hypotest(str(path), None, None, {"engine": "jax"})
    assert result["engine"] == "pyhf" and "spans several channels" in result["engine_note"]
    model = ws.model()
    cls_obs = pyhf.infer.hypotest(1.0, ws.data(model), model)
    assert result["CLs_obs"] == pytest.approx(float(cls_obs), abs=TOLERANCE)


def test_the_engine_option():
    assert FitOptions.from_params({}).engine == "jax"
    assert FitOptions.from_params({"engine": "pyhf"}).engine == "pyhf"
    assert FitOptions.from_params({"calctype": "toybased"}).engine == "pyhf"
    assert FitOptions.from_params({"optimizer": "minuit"}).engine == "pyhf"
    with pytest.raises(BadRequest, match="engine"):
        FitOptions.from_params({"engine": "numba"})
    with pytest.raises(BadRequest, match="toy-based"):
        FitOptions.from_params({"engine": "jax", "calctype": "toybased"})


# ------------------------------------------------------------------ the published likelihoods
def _spread(patches: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    ordered = sorted(patches, key=lambda p: p["metadata"]["values"])
    step = (len(ordered) - 1) / (n - 1)
    return [ordered[round(i * step)] for i in range(n)]


@needs_likelihoods
@pytest.mark.slow
@pytest.mark.parametrize("name", ["3L-eRJR", "staus-combined", "sbottom-RegionA"])
def test_reference_cls_of_spread_patches(name):
    folder = require_likelihoods(name)
    spec = json.loads((folder / "BkgOnly.json").read_text())
    patchset = json.loads((folder / "patchset.json").read_text())
    reference = json.loads((folder / "reference.json").read_text())["results"]
    background = Background(spec, fix_shapesys_tau_above=1e8 if name == "3L-eRJR" else None)
    chosen = _spread(patchset["patches"], 6)
    outcomes = hypotests([background.layout(p["patch"]) for p in chosen], 1.0)
    for patch, ours in zip(chosen, outcomes, strict=True):
        name_ = patch["metadata"]["name"]
        ref = reference[name_]
        assert ours.problem is None, name_
        deviation = max(
            abs(a - b) for a, b in zip([ours.cls_obs, *ours.cls_exp], [ref["CLs_obs"], *ref["CLs_exp"]], strict=True)
        )
        if name_ in PYHF_MISFITS:
            _assert_pyhf_misfits(spec, patch["patch"])
            continue
        assert deviation < TOLERANCE, (name_, ours, ref)


def _engine_fixed_poi_fits(layout: Any, mu: float, asimov_pars: np.ndarray, order: list[int]) -> tuple[Any, Any]:
    """The engine's fits at ``mu`` to the data and to pyhf's Asimov data (made at pyhf's
    ``asimov_pars``), in the engine's parameter order."""
    import jax

    from vrelab.fit.engine.model import Model, Yields, asimov_aux, expected
    from vrelab.fit.engine.optimize import minimize

    m, y = Model(*layout.structure_arrays()), Yields(*layout.yield_arrays())
    fixed = layout.fixed.copy()
    fixed[layout.poi_index] = True
    init = np.array(layout.init, dtype=float)
    init[layout.poi_index] = mu
    theta_a = np.array(layout.init, dtype=float)
    theta_a[order] = asimov_pars
    asimov = (np.asarray(expected(m, y, theta_a)), np.asarray(asimov_aux(m, y, theta_a, layout.aux)))
    fit = jax.jit(minimize)
    out = []
    for main, aux in ((layout.observed, layout.aux), asimov):
        result = fit(m, y, main, aux, init, layout.lower, layout.upper, fixed)
        assert bool(result.converged)
        out.append(np.asarray(result.theta))
    return out[0], out[1]


def _assert_pyhf_misfits(spec: dict[str, Any], patch: list[dict[str, Any]], mu: float = 1.0) -> None:
    """One of pyhf's four fits of the test at ``mu`` stops above a point the engine finds, by pyhf's
    own likelihood: the free fit to the Asimov data above the point the data were made from, or a
    fit at ``mu`` above the engine's fit to the same (pyhf's) data."""
    ws = pyhf.Workspace(spec)
    model = ws.model(patches=[patch])
    data = np.asarray(ws.data(model))
    calc = pyhf.infer.calculators.AsymptoticCalculator(data, model, test_stat="qtilde")
    calc.teststatistic(mu)
    fitted = calc.fitted_pars
    asimov = np.asarray(model.expected_data(fitted.asimov_pars))
    layout = Background(spec).layout(patch)
    order = _pyhf_order(model, layout)
    on_data, on_asimov = _engine_fixed_poi_fits(layout, mu, np.asarray(fitted.asimov_pars), order)

    def nll(pars: Any, values: np.ndarray) -> float:
        return -float(model.logpdf(np.asarray(pars), values)[0])

    above = {
        "free fit to the Asimov data": nll(fitted.free_fit_to_asimov, asimov) - nll(fitted.asimov_pars, asimov),
        "fit at mu to the data": nll(fitted.fixed_poi_fit_to_data, data) - nll(on_data[order], data),
        "fit at mu to the Asimov data": nll(fitted.fixed_poi_fit_to_asimov, asimov) - nll(on_asimov[order], asimov),
    }
    assert max(above.values()) > 1e-5, above


@needs_likelihoods
@pytest.mark.slow
@pytest.mark.parametrize("point", ["sbottom_500_131_1", "sbottom_1600_1595_60"])
def test_reference_cls_where_pyhf_misfits(point):
    """The points whose reference CLs differ from the engine's: each is pyhf's miss, shown by
    pyhf's own likelihood at the engine's fit, and the engine's CLs are not the reference's."""
    folder = require_likelihoods("sbottom-RegionA")
    spec = json.loads((folder / "BkgOnly.json").read_text())
    patchset = json.loads((folder / "patchset.json").read_text())
    ref = json.loads((folder / "reference.json").read_text())["results"][point]
    patch = next(p["patch"] for p in patchset["patches"] if p["metadata"]["name"] == point)
    (ours,) = hypotests([Background(spec).layout(patch)], 1.0)
    assert ours.problem is None and ours.cls_exp is not None
    deviation = max(
        abs(a - b) for a, b in zip([ours.cls_obs, *ours.cls_exp], [ref["CLs_obs"], *ref["CLs_exp"]], strict=True)
    )
    assert deviation > TOLERANCE  # (else the point needs no excuse)
    assert point in PYHF_MISFITS
    _assert_pyhf_misfits(spec, patch)


# ------------------------------------------------------------------ in the scan job
class _Context:
    cancelled = False

    def __init__(self) -> None:
        self.lines: list[str] = []

    def progress(self, done: int, total: int, message: str = "") -> None:
        pass

    def log(self, text: str) -> None:
        self.lines.append(text)

    def check_cancelled(self) -> None:
        pass


def _patchset(spec: dict[str, Any]) -> dict[str, Any]:
    patches = []
    for scale in (0.5, 1.0, 2.0, 4.0):
        signal = copy.deepcopy(spec["channels"][0]["samples"][0])
        signal["data"] = [v * scale for v in signal["data"]]
        ops = [{"op": "replace", "path": "/channels/0/samples/0", "value": signal}]
        name = f"s{scale}".replace(".", "p")
        patches.append({"metadata": {"name": name, "values": [scale]}, "patch": ops})
    return {
        "metadata": {
            "name": "scales",
            "description": "signal scales",
            "digests": {"sha256": pyhf.utils.digest(spec)},
            "labels": ["scale"],
            "references": {"hepdata": "ins1234567"},
        },
        "patches": patches,
        "version": "1.0.0",
    }


@pytest.mark.slow
def test_a_scan_runs_on_the_engine_and_caches_every_point(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    service = FitService(tmp_path / "fit", root, workers=2)
    spec = synthetic()
    wid = service.add_workspace({"workspace": spec, "patchset": _patchset(spec)})["id"]
    ctx = _Context()
    params = service.validate_job("fit.scan", {"workspace_id": wid})
    assert params["engine"] == "jax"
    result = service.scan(params, ctx)
    assert result["n_failed"] == 0 and result["executor"] == "local processes, jax engine"
    assert {p["engine"] for p in result["points"]} == {"jax"}
    assert any("jax engine" in line for line in ctx.lines)
    ws = pyhf.Workspace(spec)
    patchset = _patchset(spec)
    for point, patch in zip(result["points"], patchset["patches"], strict=True):
        model = ws.model(patches=[patch["patch"]])
        cls_obs = pyhf.infer.hypotest(1.0, ws.data(model), model)
        assert point["CLs_obs"] == pytest.approx(float(cls_obs), abs=TOLERANCE)
    # point by point from the cache: a scan of a subset computes nothing
    subset = service.validate_job("fit.scan", {"workspace_id": wid, "patches": ["s1p0", "s4p0"]})
    again = service.scan(subset, _Context())
    assert again["n_cached"] == 2 and [p["CLs_obs"] for p in again["points"]] == [
        result["points"][1]["CLs_obs"],
        result["points"][3]["CLs_obs"],
    ]
    # the same points with pyhf are other cache entries, and agree
    pyhf_scan = service.scan(service.validate_job("fit.scan", {"workspace_id": wid, "engine": "pyhf"}), _Context())
    assert pyhf_scan["n_cached"] == 0 and {p["engine"] for p in pyhf_scan["points"]} == {"pyhf"}
    for a, b in zip(result["points"], pyhf_scan["points"], strict=True):
        assert math.isclose(a["CLs_obs"], b["CLs_obs"], abs_tol=TOLERANCE)
    shutil.rmtree(tmp_path / "fit", ignore_errors=True)
