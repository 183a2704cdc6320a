"""Scans on a Dask cluster (``VRELab.dask_scheduler``), here a LocalCluster of two processes."""

from __future__ import annotations

import pytest

pyhf = pytest.importorskip("pyhf")
distributed = pytest.importorskip("distributed")

from test_fit_api import run_job, simple_patchset, simple_workspace  # noqa: E402


@pytest.fixture(scope="module")
def dask_cluster():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    yield cluster
    cluster.close()


@pytest.fixture
def jp_server_config(tmp_path, dask_cluster):
    return {
        "ServerApp": {"jpserver_extensions": {"vrelab": True}},
        "VRELab": {"data_dir": str(tmp_path / "vrelab-data"), "dask_scheduler": dask_cluster.scheduler_address},
    }


async def test_a_scan_runs_on_the_dask_cluster(api):
    ws = simple_workspace()
    _, added = await api(
        "POST", "fit/workspaces", {"workspace": ws, "patchset": simple_patchset(ws, broken="pt_300_0")}
    )
    job = await run_job(api, "fit.scan", {"workspace_id": added["id"]}, timeout=300)
    assert job["state"] == "succeeded", job["error"]
    result = job["result"]
    assert result["executor"].startswith("dask ") and result["n_points"] == 6
    assert result["failed"] == ["pt_300_0"] and "does not apply" in result["points"][4]["error"]
    # the same CLs as pyhf computes here
    patch = simple_patchset(ws)["patches"][0]
    model = pyhf.Workspace(ws).model(patches=[patch["patch"]])
    expected = pyhf.infer.hypotest(1.0, pyhf.Workspace(ws).data(model), model, test_stat="qtilde")
    assert result["points"][0]["CLs_obs"] == pytest.approx(float(expected), abs=1e-6)
    _, status = await api("GET", "status")
    assert status["capabilities"]["fit"]["dask_scheduler"] is True
