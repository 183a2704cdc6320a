"""RECAST in one call through the REST API: the shipped example's ntupling step on a generated
signal file, its yields patched into the background-only likelihood, CLs, and the conclusion."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from vrelab.workflows.examples import copy_example

pytest.importorskip("pyhf")
pytest.importorskip("uproot")

SIGNAL = "mc_343981.ggH125_gamgam.GamGam.root"


@pytest.fixture(scope="module")
def signal_file(tmp_path_factory):
    from vrelab.lakeserver.samples import generate_samples

    out = tmp_path_factory.mktemp("samples")
    generate_samples(out, scale=0.05, collections=["GamGam"])
    return out / "GamGam" / "MC" / SIGNAL


async def _wait(api, run_id: str, timeout: float = 240.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        code, run = await api("GET", f"workflows/{run_id}")
        if run["job"]["state"] not in ("queued", "running"):
            return run
        await asyncio.sleep(0.2)
    raise AssertionError(run)


async def test_recast_example_goes_from_spec_to_cls_in_one_call(api, jp_root_dir, signal_file):
    copy_example("recast", jp_root_dir / "recast")
    shutil.copy(signal_file, jp_root_dir / "recast" / "signal.root")
    code, ws = await api("POST", "fit/workspaces", {"path": "recast/background.json", "name": "Hyy background"})
    assert code == 201, ws

    code, run = await api("POST", "workflows/recast", {"path": "recast/reana.yaml", "workspace_id": ws["id"]})
    assert code == 202, run
    assert run["kind"] == "workflow.recast"
    run = await _wait(api, run["id"])
    assert run["status"] == "finished", run
    recast = run["recast"]
    assert recast["channels"] == ["SR_yy"] and recast["patch"][0]["op"] == "add"
    assert recast["CLs_obs"] > 0.05 and recast["excluded"] is False
    assert "not excluded at 95% CL" in recast["conclusion"]
    assert len(recast["CLs_exp"]) == 5
    # the patched likelihood is stored in the fit service, with the signal sample in it
    code, patched = await api("GET", f"fit/workspaces/{recast['patched_workspace_id']}")
    assert code == 200 and "signal" in str(patched["summary"]["channels"])

    # a four times stronger signal (a workflow parameter) is excluded
    code, run = await api(
        "POST", "workflows/recast",
        {"path": "recast/reana.yaml", "workspace_id": ws["id"], "parameters": {"signal_scale": 4}},
    )  # fmt: skip
    strong = await _wait(api, run["id"])
    assert strong["recast"]["excluded"] is True and strong["recast"]["CLs_obs"] < 0.05
    assert "is excluded at 95% CL" in strong["recast"]["conclusion"]
    assert strong["recast"]["CLs_obs"] < recast["CLs_obs"]


async def test_recast_refuses_bad_requests_before_running(api, jp_root_dir):
    copy_example("recast", jp_root_dir / "recast")
    (jp_root_dir / "recast" / "signal.root").write_bytes(b"")
    code, ws = await api("POST", "fit/workspaces", {"path": "recast/background.json"})
    for body, status, message in [
        ({"path": "recast/reana.yaml"}, 400, "workspace_id"),
        ({"path": "recast/reana.yaml", "workspace_id": "0" * 64}, 404, ""),
        ({"path": "recast/reana.yaml", "workspace_id": ws["id"], "channels": ["CR"]}, 404, "no channel(s) CR"),
        ({"path": "recast/reana.yaml", "workspace_id": ws["id"], "level": 2}, 400, "'level'"),
    ]:
        code, err = await api("POST", "workflows/recast", body)
        assert code == status, err
        assert message in err["error"]["message"]
    _, listed = await api("GET", "workflows")
    assert listed["total"] == 0


async def test_recast_fails_clearly_when_the_yields_do_not_fit(api, jp_root_dir):
    copy_example("recast", jp_root_dir / "recast")
    code, ws = await api("POST", "fit/workspaces", {"path": "recast/background.json"})
    spec = """
workflow:
  type: serial
  specification:
    steps:
      - environment: python:3.11-slim
        commands: ['echo "{\\"SR_yy\\": [1, 2]}" > yields.json']
outputs: {files: [yields.json]}
"""
    code, run = await api("POST", "workflows/recast", {"spec": spec, "workspace_id": ws["id"]})
    assert code == 202, run
    run = await _wait(api, run["id"])
    assert run["status"] == "failed"
    assert "Channel 'SR_yy' has 5 bins but the yields for it have 2" in run["message"]
    assert run["steps"][0]["status"] == "finished"
