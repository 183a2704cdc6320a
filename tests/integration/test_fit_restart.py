"""kill -9 of the server during a scan: the points finished before are kept (each is cached as it
completes), the fit workers stop, and the resubmitted scan computes only the rest."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from servers import JupyterServerProcess

pytest.importorskip("pyhf")
pytestmark = pytest.mark.slow

from likelihoods import needs_likelihoods  # noqa: E402

LIKELIHOODS = Path(os.environ.get("VRELAB_LIKELIHOODS", Path(__file__).parents[3] / "shared" / "likelihoods"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@needs_likelihoods
def test_kill_9_during_a_scan_keeps_the_finished_points(tmp_path):
    server = JupyterServerProcess(tmp_path, vrelab_config={"fit_workers": 1})
    server.start()
    try:
        shutil.copytree(LIKELIHOODS / "3L-eRJR", server.root / "3L")
        wid = server.request("POST", "fit/workspaces", json={"path": "3L"}).json()["id"]
        names = [p["name"] for p in server.request("GET", f"fit/workspaces/{wid}/patches?limit=6").json()["patches"]]
        # pyhf's per-point path: the jax engine fits these six points in two batches, too quickly
        # after each other to kill the server in between (its chunks are cached alike)
        params = {"workspace_id": wid, "patches": names, "fix_shapesys_tau_above": 1e8, "engine": "pyhf"}
        job = server.request("POST", "jobs", json={"kind": "fit.scan", "params": params}).json()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            current = server.request("GET", f"jobs/{job['id']}").json()
            if current["progress"]["done"] >= 2:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(current)
        log = server.request("GET", f"jobs/{job['id']}/log").json()["log"]
        pids = [int(p) for p in re.findall(r"\d+", log.split("pid(s)")[1].split("\n")[0])]
        server.kill(signal.SIGKILL)
        # the worker notices its server is gone and stops (it polls once a second)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(p) for p in pids)

        server.start()
        assert server.request("GET", f"jobs/{job['id']}").json()["state"] == "interrupted"
        again = server.request("POST", f"jobs/{job['id']}/resubmit").json()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            final = server.request("GET", f"jobs/{again['id']}").json()
            if final["state"] not in ("queued", "running"):
                break
            time.sleep(0.5)
        assert final["state"] == "succeeded", final
        result = final["result"]
        assert result["n_points"] == 6 and result["n_failed"] == 0 and result["n_cached"] >= 2
    finally:
        server.stop()
