"""The ``container`` workflow backend on a real podman API service: a DAG (two parallel steps,
then one) in containers, a failing step, a stop mid-run, an unreachable engine refused before
anything is created, and one run end to end through the REST API."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from vrelab.errors import Unavailable
from vrelab.jobs import JobManager, JobRegistry, JobStore
from vrelab.workflows.docker_api import LABEL_RUN
from vrelab.workflows.service import WorkflowService

DAG = """
name: three-in-containers
inputs:
  files: [data/numbers.txt]
  parameters: {factor: 3, label: "x; touch /workspace/pwned"}
steps:
  - name: left
    image: {image}
    command: sleep 1; echo "left in $(cat /etc/passwd | head -c 4)" && wc -l < data/numbers.txt > left.txt
    outputs: [left.txt]
  - name: right
    image: {image}
    command: sleep 1; echo "right label=${label}" && echo "${factor}" > right.txt
    outputs: [right.txt]
  - name: join
    image: {image}
    needs: [left, right]
    inputs: [left.txt, right.txt]
    command: mkdir -p results && echo $(( $(cat left.txt) * $(cat right.txt) )) > results/total.txt; pwd
    outputs: [results/total.txt]
outputs:
  files: [results/total.txt]
"""


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def service(tmp_path, container_engine_url):
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    (root / "data" / "numbers.txt").write_text("1\n2\n3\n4\n")
    svc = WorkflowService(root, concurrency=2, backend_options={"container": {"url": container_engine_url,
                                                                              "network": "none"}})  # fmt: skip
    registry = JobRegistry()
    for kind in svc.job_kinds():
        registry.register(kind)
    jobs = JobManager(JobStore(tmp_path / "jobs.sqlite"), registry, workers=2, log_dir=tmp_path / "logs")
    svc.attach(jobs)
    yield svc
    jobs.shutdown()


def _wait(svc: WorkflowService, run_id: str, predicate=None, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = svc.get(run_id, "me")
        if predicate(run) if predicate else run["job"]["state"] not in ("queued", "running"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id}: condition not reached in {timeout} s: {run}")


def test_a_dag_runs_in_containers_two_steps_in_parallel_then_the_third(service, container_test_image,
                                                                       container_engine):  # fmt: skip
    assert "container" in service.capability()["backends"]
    spec = DAG.replace("{image}", container_test_image)
    run = _wait(service, service.submit({"spec": spec, "base_dir": "", "backend": "container"}, "me")["id"])
    assert run["status"] == "finished", run
    steps = {s["name"]: s for s in run["steps"]}
    left, right, join = steps["left"], steps["right"], steps["join"]
    assert _t(left["started_at"]) < _t(right["finished_at"]) and _t(right["started_at"]) < _t(left["finished_at"])
    assert _t(join["started_at"]) >= max(_t(left["finished_at"]), _t(right["finished_at"]))
    assert all(s["image"] == container_test_image and s["exit_code"] == 0 for s in steps.values())
    assert all(s["backend_id"].startswith("container:") for s in steps.values())
    workspace = service.root_dir / run["workspace"]
    assert (workspace / "results" / "total.txt").read_text().strip() == "12"
    assert not (workspace / "pwned").exists()  # a parameter value is data, never shell code
    logs = {s["name"]: s["logs"] for s in service.logs(run["id"], "me")["steps"]}
    assert "left in root" in logs["left"]  # /etc/passwd of the image, not of the host
    assert "right label=x; touch /workspace/pwned" in logs["right"]
    assert logs["join"].strip() == "/workspace"
    assert "container engine: " in service.logs(run["id"], "me")["workflow_logs"]
    assert container_engine.run_containers(run["id"]) == []  # nothing left on the engine


def test_a_failing_step_fails_the_run_and_later_steps_never_start(service, container_test_image, container_engine):
    spec = DAG.replace("{image}", container_test_image).replace(
        'echo "${factor}" > right.txt', 'echo "no such ntuple" >&2; exit 3'
    )
    run = _wait(service, service.submit({"spec": spec, "base_dir": "", "backend": "container"}, "me")["id"])
    assert run["status"] == "failed" and "step 'right' failed: exited with code 3" in run["message"]
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["right"]["status"] == "failed" and steps["right"]["exit_code"] == 3
    assert steps["join"]["status"] == "created" and steps["join"]["started_at"] is None
    assert steps["left"]["status"] == "finished"  # already running when 'right' failed: it ends normally
    logs = {s["name"]: s["logs"] for s in service.logs(run["id"], "me")["steps"]}
    assert "no such ntuple" in logs["right"]
    assert container_engine.run_containers(run["id"]) == []


def test_a_stop_ends_the_running_container_and_starts_nothing_after(service, container_test_image, container_engine):
    spec = f"""
steps:
  - {{name: long, image: {container_test_image}, command: "echo begun; sleep 60; echo never"}}
  - {{name: after, image: {container_test_image}, command: "touch after.txt", needs: [long]}}
"""
    run = service.submit({"spec": spec, "backend": "container"}, "me")
    _wait(service, run["id"], lambda r: r["steps"][0]["status"] == "running")
    deadline = time.monotonic() + 20
    while not container_engine.run_containers(run["id"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    labels = [c.labels[LABEL_RUN] for c in container_engine.run_containers(run["id"])]
    assert labels == [run["id"]]
    began = time.monotonic()
    service.stop(run["id"], "me")
    final = _wait(service, run["id"], timeout=30)
    assert time.monotonic() - began < 15
    assert final["status"] == "stopped" and [s["status"] for s in final["steps"]] == ["stopped", "created"]
    assert not (service.root_dir / final["workspace"] / "after.txt").exists()
    assert container_engine.run_containers(run["id"]) == []
    logs = {s["name"]: s["logs"] for s in service.logs(run["id"], "me")["steps"]}
    assert "begun" in logs["long"] and "never" not in logs["long"]


def test_an_unreachable_engine_is_a_clear_error_and_creates_nothing(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    dead = f"unix://{tmp_path}/no-engine.sock"
    svc = WorkflowService(root, backend_options={"container": {"url": dead}})
    registry = JobRegistry()
    for kind in svc.job_kinds():
        registry.register(kind)
    jobs = JobManager(JobStore(tmp_path / "jobs.sqlite"), registry, workers=1, log_dir=tmp_path / "logs")
    svc.attach(jobs)
    try:
        check = svc.backends.get("container").check()
        assert not check.available and f"No container engine reachable at {dead}" in check.message
        with pytest.raises(Unavailable) as err:
            svc.submit({"spec": "steps: [{name: a, image: busybox, command: 'true'}]", "backend": "container"}, "me")
        assert "The 'container' workflow backend is not available" in err.value.message
        assert "podman system service" in err.value.message
        assert svc.list("me")["total"] == 0
        assert not (root / "workflows").exists() or not any((root / "workflows").iterdir())
    finally:
        jobs.shutdown()


@pytest.fixture
def jp_server_config(tmp_path, container_engine_url):
    return {
        "ServerApp": {"jpserver_extensions": {"vrelab": True}},
        "VRELab": {
            "data_dir": str(tmp_path / "vrelab-data"),
            "container_engine_url": container_engine_url,
            "container_network": "none",
        },
    }


async def test_a_container_run_end_to_end_through_the_rest_api(api, jp_root_dir, container_test_image):
    (jp_root_dir / "data").mkdir()
    (jp_root_dir / "data" / "numbers.txt").write_text("1\n2\n")
    code, status = await api("GET", "status")
    assert "container" in status["capabilities"]["workflows"]["backends"]
    code, checked = await api("POST", "workflows/validate", {"spec": DAG.replace("{image}", container_test_image),
                                                             "backend": "container"})  # fmt: skip
    assert code == 200 and checked["backend"]["available"], checked
    assert checked["backend"]["details"]["engine"]
    body = {"spec": DAG.replace("{image}", container_test_image), "backend": "container", "parameters": {"factor": 7}}
    code, run = await api("POST", "workflows", body)
    assert code == 202, run
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while loop.time() < deadline:
        _, run = await api("GET", f"workflows/{run['id']}")
        if run["job"]["state"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.1)
    assert run["status"] == "finished", run
    code, text = await api("GET", f"workflows/{run['id']}/outputs/results/total.txt")
    assert code == 200 and text.strip() == "14"
    code, logs = await api("GET", f"workflows/{run['id']}/logs", step="join")
    assert code == 200 and logs["steps"][0]["logs"].strip() == "/workspace"


def test_a_server_that_died_mid_step_leaves_no_container_behind(tmp_path, service, container_test_image,
                                                                container_engine, container_engine_url):  # fmt: skip
    spec = f"name: long\nsteps:\n  - name: wait\n    image: {container_test_image}\n    command: sleep 120\n"
    run_id = service.submit({"spec": spec, "base_dir": "", "backend": "container"}, "me")["id"]
    _wait(service, run_id, lambda r: r["steps"][0]["status"] == "running" and r["steps"][0].get("backend_id"))
    assert container_engine.run_containers(run_id), "the step runs in a labelled container"
    # a new server on the same state, as after kill -9: the job store marks the job interrupted and
    # the workflow service settles the run, removing the step's container from the engine
    registry = JobRegistry()
    options = {"container": {"url": container_engine_url, "network": "none"}}
    restarted = WorkflowService(service.root_dir, concurrency=2, backend_options=options)
    for kind in restarted.job_kinds():
        registry.register(kind)
    jobs = JobManager(JobStore(tmp_path / "jobs.sqlite"), registry, workers=1, log_dir=tmp_path / "logs2")
    try:
        jobs.recover()
        restarted.attach(jobs)
        assert container_engine.run_containers(run_id) == []
        record = restarted.get(run_id, "me")
        assert record["status"] == "failed" and record["steps"][0]["status"] == "failed"
    finally:
        jobs.shutdown()
