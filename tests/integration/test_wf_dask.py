"""The dask backend on a real Dask LocalCluster: a DAG's steps as tasks, in parallel, and a stop."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from vrelab.errors import Unavailable
from vrelab.jobs import JobManager, JobRegistry, JobStore
from vrelab.workflows.service import WorkflowService

distributed = pytest.importorskip("distributed")

DAG = """
steps:
  - {name: a, image: busybox, command: "sleep 1; echo a > a.txt", outputs: [a.txt]}
  - {name: b, image: busybox, command: "sleep 1; echo b > b.txt", outputs: [b.txt]}
  - {name: c, image: busybox, command: "cat a.txt b.txt > c.txt; echo on $VRELAB_STEP", needs: [a, b], outputs: [c.txt]}
"""


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        yield c


def _service(tmp_path, address: str) -> tuple[WorkflowService, JobManager]:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    svc = WorkflowService(root, concurrency=2, dask_scheduler=address)
    registry = JobRegistry()
    for kind in svc.job_kinds():
        registry.register(kind)
    jobs = JobManager(JobStore(tmp_path / "jobs.sqlite"), registry, workers=2, log_dir=tmp_path / "logs")
    svc.attach(jobs)
    return svc, jobs


def _wait(svc: WorkflowService, run_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = svc.get(run_id, "me")
        if run["job"]["state"] not in ("queued", "running"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end")


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_dag_runs_as_dask_tasks_two_at_a_time(cluster, tmp_path):
    svc, jobs = _service(tmp_path, cluster.scheduler_address)
    try:
        assert "dask" in svc.capability()["backends"]
        run = _wait(svc, svc.submit({"spec": DAG, "backend": "dask"}, "me")["id"])
        assert run["status"] == "finished", run
        s = {x["name"]: x for x in run["steps"]}
        assert _t(s["a"]["started_at"]) < _t(s["b"]["finished_at"]) and _t(s["b"]["started_at"]) < _t(
            s["a"]["finished_at"]
        )
        assert _t(s["c"]["started_at"]) >= max(_t(s["a"]["finished_at"]), _t(s["b"]["finished_at"]))
        assert s["c"]["backend_id"].startswith(f"vrelab-{run['id']}-c-")
        logs = {x["name"]: x["logs"] for x in svc.logs(run["id"], "me")["steps"]}
        assert "on c" in logs["c"]
        assert "Dask scheduler" in svc.logs(run["id"], "me")["workflow_logs"]

        slow = svc.submit({"spec": "steps: [{name: s, image: x, command: 'sleep 60'}]", "backend": "dask"}, "me")
        deadline = time.monotonic() + 20
        while svc.get(slow["id"], "me")["steps"][0]["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        svc.stop(slow["id"], "me")
        final = _wait(svc, slow["id"], timeout=30)
        assert final["status"] == "stopped" and final["steps"][0]["status"] == "stopped"
        assert time.monotonic() - started < 20
    finally:
        jobs.shutdown()


def test_an_unreachable_scheduler_is_a_clear_error_before_anything_runs(tmp_path):
    svc, jobs = _service(tmp_path, "tcp://127.0.0.1:9")
    try:
        with pytest.raises(Unavailable, match="Cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
            svc.submit({"spec": DAG, "backend": "dask"}, "me")
        assert svc.list("me")["total"] == 0
    finally:
        jobs.shutdown()
