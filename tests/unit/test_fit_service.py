"""The fit service without a server: loading and validating workspaces, archives, operations,
inference against pyhf itself, contours, the result cache and the worker pool's resilience."""

from __future__ import annotations

import copy
import io
import json
import math
import os
import shutil
import signal
import tarfile
import threading
import time
from pathlib import Path

import pytest

pyhf = pytest.importorskip("pyhf")

from vrelab.errors import BadRequest, Forbidden, NotFound  # noqa: E402
from vrelab.fit import FitService, InvalidWorkspace, PatchDoesNotApply  # noqa: E402
from vrelab.fit.cache import ResultCache, result_key  # noqa: E402
from vrelab.fit.contour import contours  # noqa: E402
from vrelab.fit.errors import FitFailed  # noqa: E402
from vrelab.fit.inference import FitOptions, hypotest, mle_fit, prepare, upper_limit, use_backend  # noqa: E402
from vrelab.fit.pool import Task, WorkerPool  # noqa: E402

LIKELIHOODS = Path(os.environ.get("VRELAB_LIKELIHOODS", Path(__file__).parents[3] / "shared" / "likelihoods"))
from likelihoods import needs_likelihoods  # noqa: E402


def simple_workspace(signal_events: float = 5.0) -> dict:
    model = pyhf.simplemodels.uncorrelated_background(
        signal=[signal_events, 10.0], bkg=[50.0, 60.0], bkg_uncertainty=[5.0, 8.0]
    )
    return json.loads(json.dumps(pyhf.Workspace.build(model, [55.0, 62.0])))


def simple_patchset(ws: dict) -> dict:
    patches = []
    for m1 in (100.0, 200.0, 300.0):
        for m2 in (0.0, 50.0):
            ops = [{"op": "replace", "path": "/channels/0/samples/0/data", "value": [m1 / 20, m1 / 15 - m2 / 50]}]
            patches.append({"metadata": {"name": f"pt_{int(m1)}_{int(m2)}", "values": [m1, m2]}, "patch": ops})
    return {
        "metadata": {
            "name": "test",
            "description": "test patchset",
            "digests": {"sha256": pyhf.utils.digest(ws)},
            "labels": ["m1", "m2"],
            "references": {"hepdata": "ins1234567"},
        },
        "patches": patches,
        "version": "1.0.0",
    }


@pytest.fixture
def service(tmp_path) -> FitService:
    root = tmp_path / "root"
    root.mkdir()
    return FitService(tmp_path / "fit", root, workers=2)


# ------------------------------------------------------------------ loading and validation
def test_upload_is_validated_stored_by_content_and_inspected(service):
    ws = simple_workspace()
    first = service.add_workspace({"workspace": ws, "patchset": simple_patchset(ws), "name": "simple"})
    again = service.add_workspace({"workspace": copy.deepcopy(ws), "patchset": simple_patchset(ws)})
    assert first["id"] == again["id"] and len(first["id"]) == 64
    info = service.inspect(first["id"])
    s = info["summary"]
    assert [c["name"] for c in s["channels"]] == ["singlechannel"] and s["n_bins"] == 2
    assert s["poi"] == "mu" and {m["type"] for m in s["modifiers"]} == {"normfactor", "shapesys"}
    assert s["patchset"]["labels"] == ["m1", "m2"] and s["patchset"]["n_patches"] == 6
    assert s["patchset"]["digest_matches"] is True
    patches = service.patches(first["id"], limit=2, offset=1)
    assert patches["total"] == 6 and patches["patches"][0]["by_label"] == {"m1": 100.0, "m2": 50.0}
    assert service.list_workspaces()["total"] == 1


def test_schema_violation_names_the_bad_part(service):
    ws = simple_workspace()
    del ws["channels"][0]["samples"][1]["modifiers"][0]["type"]
    with pytest.raises(InvalidWorkspace) as err:
        service.add_workspace({"workspace": ws})
    message = err.value.message
    assert "schema" in message and "channels[0].samples[1].modifiers[0]" in message and "'type'" in message


def test_invalid_json_text_says_where(service):
    with pytest.raises(InvalidWorkspace, match=r"not valid JSON: .* line 1, column \d+"):
        service.add_workspace({"workspace": '{"channels": [}'})


def test_paths_stay_inside_the_root(service, tmp_path):
    with pytest.raises(Forbidden):
        service.add_workspace({"path": "../outside.json"})
    with pytest.raises(NotFound):
        service.add_workspace({"path": "missing.json"})
    with pytest.raises(BadRequest, match="exactly one"):
        service.add_workspace({})


def _tar(files: dict[str, dict]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, doc in files.items():
            data = json.dumps(doc).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_hepdata_archive_with_loose_patch_files_and_regions(service):
    ws = simple_workspace()
    ps = simple_patchset(ws)
    files = {"RegionA/BkgOnly.json": ws, "RegionB/BkgOnly.json": ws}
    for p in ps["patches"]:
        files[f"RegionA/patch.{p['metadata']['name']}.json"] = p["patch"]
    (service.root_dir / "lh.tar.gz").write_bytes(_tar(files))
    with pytest.raises(BadRequest, match="RegionA, RegionB"):
        service.add_workspace({"path": "lh.tar.gz"})
    added = service.add_workspace({"path": "lh.tar.gz", "region": "RegionA", "labels": ["m1", "m2"]})
    assert added["n_patches"] == 6 and added["labels"] == ["m1", "m2"]
    rows = service.patches(added["id"])["patches"]
    assert {tuple(r["values"]) for r in rows} == {(m1, m2) for m1 in (100, 200, 300) for m2 in (0, 50)}


@needs_likelihoods
def test_the_shared_staus_archive_loads(service):
    shutil.copy(LIKELIHOODS / "archives" / "ATLAS-SUSY-2018-04_likelihoods.tar.gz", service.root_dir / "staus.tar.gz")
    added = service.add_workspace({"path": "staus.tar.gz", "region": "Region-combined", "labels": ["mstau", "mn1"]})
    assert added["n_patches"] == 57 and added["poi"] == "mu_SIG"


def test_prune_rename_combine_apply_patch(service):
    ws = simple_workspace()
    wid = service.add_workspace({"workspace": ws, "patchset": simple_patchset(ws)})["id"]
    renamed = service.rename(wid, {"channels": {"singlechannel": "SR"}, "modifiers": {"uncorr_bkguncrt": "u2"}})
    assert service.inspect(renamed["id"])["summary"]["channels"][0]["name"] == "SR"
    pruned = service.prune(wid, {"modifier_types": ["shapesys"]})
    assert service.inspect(pruned["id"])["summary"]["modifiers"] == [{"name": "mu", "type": "normfactor"}]
    combined = service.combine(wid, {"other": renamed["id"], "join": "outer"})
    assert combined["n_channels"] == 2
    patched = service.apply_patch(wid, {"patch": "pt_200_50"})
    doc = service.workspace_document(patched["id"])
    assert doc["channels"][0]["samples"][0]["data"] == [10.0, 200 / 15 - 1]
    with pytest.raises(PatchDoesNotApply, match="does not apply"):
        service.apply_patch(wid, {"operations": [{"op": "replace", "path": "/channels/7/samples/0", "value": 1}]})
    with pytest.raises(BadRequest, match="not a valid|Name what"):
        service.prune(wid, {})


def test_job_parameters_are_checked(service):
    ws = simple_workspace()
    wid = service.add_workspace({"workspace": ws, "patchset": simple_patchset(ws)})["id"]
    params = service.validate_job("fit.hypotest", {"workspace_id": wid, "patch": "pt_100_0"})
    assert "_fit" not in params and params["test_stat"] == "qtilde"
    with pytest.raises(NotFound):
        service.validate_job("fit.hypotest", {"workspace_id": wid, "patch": "nope"})
    with pytest.raises(NotFound):
        service.validate_job("fit.hypotest", {"workspace_id": "0" * 64})
    with pytest.raises(BadRequest, match="Unknown parameter"):
        service.validate_job("fit.mle", {"workspace_id": wid, "poi": 1})
    with pytest.raises(BadRequest, match="test_stat"):
        service.validate_job("fit.hypotest", {"workspace_id": wid, "test_stat": "q9"})
    with pytest.raises(BadRequest, match="contour_axes"):
        service.validate_job("fit.scan", {"workspace_id": wid, "contour_axes": ["m1", "zz"]})
    grid = service.validate_job("fit.limit", {"workspace_id": wid, "scan": {"start": 0, "stop": 2, "steps": 5}})
    assert grid["scan"] == [0.0, 0.5, 1.0, 1.5, 2.0]


# ------------------------------------------------------------------ inference
@pytest.fixture
def prepared():
    use_backend("numpy", "scipy")
    ws = pyhf.Workspace(simple_workspace())
    options = FitOptions()
    return ws, options, prepare(ws, options)


def test_hypotest_agrees_with_pyhf(prepared):
    ws, options, prep = prepared
    ours = hypotest(prep, options)
    assert ours.to_dict()["poi"] == "mu"
    model = ws.model()
    cls_obs, cls_exp = pyhf.infer.hypotest(1.0, ws.data(model), model, test_stat="qtilde", return_expected_set=True)
    assert ours.cls_obs == pytest.approx(float(cls_obs), abs=1e-6)
    assert ours.cls_exp == pytest.approx([float(v) for v in cls_exp], abs=1e-6)


def test_mle_fit_uncertainty_matches_the_profile_likelihood(prepared):
    ws, options, prep = prepared
    result = mle_fit(prep, options)
    d = result.to_dict()
    mu, sigma = d["poi_bestfit"], d["poi_uncertainty"]
    assert sigma > 0
    # the profile likelihood rises by ~1 (in -2 ln L) one sigma away from the best fit
    for shifted in (s for s in (mu - sigma, mu + sigma) if s >= 0):
        _, twice_nll = pyhf.infer.mle.fixed_poi_fit(
            shifted, prep.data, prep.model, prep.init, prep.bounds, prep.fixed, return_fitted_val=True
        )
        assert float(twice_nll) - d["twice_nll"] == pytest.approx(1.0, abs=0.15)
    assert len(d["correlations"]) == len(d["labels"]) and d["correlations"][0][0] == pytest.approx(1.0)
    assert {p["parameter"] for p in d["pulls"]} == {"uncorr_bkguncrt[0]", "uncorr_bkguncrt[1]"}
    (channel,) = d["yields"]
    assert channel["observed"] == [55.0, 62.0] and len(channel["postfit_total"]) == 2
    assert all(u > 0 for u in channel["prefit_uncertainty"] + channel["postfit_uncertainty"])


def test_upper_limit_with_brazil_band(prepared):
    ws, options, prep = prepared
    grid = upper_limit(prep, options, scan=[0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0])
    model = ws.model()
    obs, exp = pyhf.infer.intervals.upper_limits.upper_limit(
        ws.data(model), model, scan=pyhf.tensorlib.astensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0])
    )
    assert grid.obs_limit == pytest.approx(float(obs), rel=1e-4)
    assert len(grid.cls_exp) == 5 and len(grid.cls_exp[0]) == 8
    toms = upper_limit(prep, options)
    obs_toms, _ = pyhf.infer.intervals.upper_limits.upper_limit(ws.data(model), model)
    assert toms.poi == "mu" and toms.method == "toms748" and toms.obs_limit == pytest.approx(float(obs_toms), rel=1e-3)


def test_a_scan_names_the_poi_of_the_measurement_it_uses():
    from vrelab.fit.jobs import _poi_name
    from vrelab.fit.summary import summarize

    ws = simple_workspace()
    bkg = ws["channels"][0]["samples"][1]
    bkg["modifiers"].append({"name": "mu_bkg", "type": "normfactor", "data": None})
    second = copy.deepcopy(ws["measurements"][0])
    second["name"], second["config"]["poi"] = "bkg_norm", "mu_bkg"
    ws["measurements"].append(second)
    workspace = pyhf.Workspace(ws)
    summary = summarize(workspace)
    for measurement in (None, ws["measurements"][0]["name"], "bkg_norm"):
        model = workspace.model(measurement_name=measurement)
        assert _poi_name(summary, measurement) == model.config.poi_name
    assert _poi_name(summary, "bkg_norm") == "mu_bkg" and _poi_name(summary, None) == "mu"


def test_a_fit_that_does_not_converge_is_reported(prepared, monkeypatch):
    ws, options, prep = prepared

    def failing(*args, **kwargs):
        raise pyhf.exceptions.FailedMinimization(type("R", (), {"message": "Iteration limit reached"})())

    monkeypatch.setattr(pyhf.infer.mle, "fit", failing)
    with pytest.raises(FitFailed, match="did not converge"):
        mle_fit(prep, options)


def test_patch_that_does_not_apply(prepared):
    ws, options, _ = prepared
    with pytest.raises(PatchDoesNotApply):
        prepare(ws, options, [{"op": "add", "path": "/channels/3/samples/0", "value": {}}])


def test_fixed_params_and_stiff_shapesys(prepared):
    ws, _, _ = prepared
    prep = prepare(ws, FitOptions(fixed_params=(("uncorr_bkguncrt[1]", 1.2),)))
    i = prep.labels.index("uncorr_bkguncrt[1]")
    assert prep.fixed[i] and prep.init[i] == 1.2
    # taus are (50/5)^2 = 100 and (60/8)^2 = 56.25
    stiff = prepare(ws, FitOptions(fix_shapesys_tau_above=60.0))
    assert [stiff.fixed[stiff.labels.index(f"uncorr_bkguncrt[{k}]")] for k in (0, 1)] == [True, False]
    with pytest.raises(BadRequest, match="not a parameter"):
        prepare(ws, FitOptions(fixed_params=(("nope", 1.0),)))


# ------------------------------------------------------------------ contours, cache
def test_contour_follows_the_cls_boundary():
    points = []
    for x in range(100, 1001, 50):
        for y in range(0, 801, 50):
            if y >= x:
                continue
            cls = 0.05 * 10 ** ((x - 600) / 200)  # CLs = 0.05 on the line x = 600
            points.append({"values": [float(x), float(y), 1.0], "CLs_obs": cls, "CLs_exp": [cls] * 5})
    (entry,) = contours(["mx", "my", "other"], points)
    assert entry["x"] == "mx" and entry["y"] == "my" and entry["fixed"] == {"other": 1.0}
    xs = [p[0] for line in entry["observed"] for p in line]
    assert xs and all(abs(x - 600) < 1e-6 for x in xs)
    assert contours(["a", "b"], points[:2]) == []


def test_cache_keys_and_eviction(tmp_path):
    cache = ResultCache(tmp_path / "cache", max_bytes=2000)
    a = result_key("fit.point", workspace="w", patch="p", options={"test_stat": "qtilde"})
    assert a == result_key("fit.point", patch="p", workspace="w", options={"test_stat": "qtilde"})
    assert a != result_key("fit.point", workspace="w", patch="p", options={"test_stat": "q"})
    cache.put(a, {"CLs_obs": 0.1})
    assert cache.get(a) == {"CLs_obs": 0.1} and cache.get("0" * 64) is None
    for i in range(50):
        cache.put(result_key("x", i=i), {"padding": "x" * 100})
    cache.prune()
    assert sum(p.stat().st_size for p in (tmp_path / "cache").glob("*/*.json")) <= 2000


# ------------------------------------------------------------------ worker pool
@needs_likelihoods
@pytest.mark.slow
def test_a_killed_worker_fails_only_its_point(service):
    shutil.copytree(LIKELIHOODS / "3L-eRJR", service.root_dir / "3L")
    wid = service.add_workspace({"path": "3L"})["id"]
    names = [p["name"] for p in service.patches(wid, limit=3)["patches"]]
    args = {
        "workspace_path": str(service.store.workspace_path(wid)),
        "patchset_path": str(service.store.patchset_path(wid)),
        "options": {"fix_shapesys_tau_above": 1e8},
    }
    started: list[int] = []
    pool = WorkerPool(2, on_start=started.extend)
    tasks = [Task(name, "point", {**args, "patch": name}) for name in names]

    def killer() -> None:
        while not started:
            time.sleep(0.05)
        time.sleep(1.0)
        os.kill(started[0], signal.SIGKILL)

    threading.Thread(target=killer, daemon=True).start()
    outcomes = {o.key: o for o in pool.run(tasks)}
    assert set(outcomes) == set(names)
    dead = [o for o in outcomes.values() if not o.ok]
    assert len(dead) == 1 and "killed by SIGKILL" in dead[0].value["message"]
    assert all(math.isfinite(o.value["CLs_obs"]) for o in outcomes.values() if o.ok)


def test_the_cache_size_limit_holds_across_jobs(tmp_path):
    """Every fit job writes into the service's one cache, so its size limit holds over many jobs."""
    from vrelab.jobs import JobManager, JobRegistry, JobStore

    root = tmp_path / "root"
    root.mkdir()
    service = FitService(tmp_path / "fit", root, workers=1)
    wid = service.add_workspace({"workspace": simple_workspace()})["id"]
    registry = JobRegistry()
    for kind in service.job_kinds():
        registry.register(kind)
    manager = JobManager(JobStore(tmp_path / "jobs.sqlite"), registry, workers=1)
    try:
        # pyhf's path: each job spawns its worker, and the engine's per-process start (importing
        # and loading compiled code) would dominate 18 tiny tests; the cache is the engine's alike
        first = manager.submit("fit.hypotest", {"workspace_id": wid, "poi_value": 0.5, "engine": "pyhf"}, "alice")
        deadline = time.monotonic() + 120
        while not manager.get(first.id, "alice").state.finished and time.monotonic() < deadline:
            time.sleep(0.05)
        assert manager.get(first.id, "alice").state == "succeeded"
        entry = sum(p.stat().st_size for p in (tmp_path / "fit" / "cache").glob("*/*.json"))
        assert entry > 0
        # a limit of ~12 entries: one job's write is under the tenth that triggers pruning, so only a
        # cache shared by all the jobs (as the service's is) counts enough writes to prune
        service.cache.max_bytes = int(entry * 12)
        params = [{"workspace_id": wid, "poi_value": 0.6 + 0.1 * i, "engine": "pyhf"} for i in range(17)]
        jobs = [manager.submit("fit.hypotest", p, "alice") for p in params]
        deadline = time.monotonic() + 900  # a busy machine is slow, never wrong
        for job in jobs:
            while not manager.get(job.id, "alice").state.finished and time.monotonic() < deadline:
                time.sleep(0.05)
            assert manager.get(job.id, "alice").state == "succeeded", manager.get(job.id, "alice").error
        total = sum(p.stat().st_size for p in (tmp_path / "fit" / "cache").glob("*/*.json"))
        assert total <= service.cache.max_bytes + 2 * entry, (total, service.cache.max_bytes)
    finally:
        manager.shutdown()
