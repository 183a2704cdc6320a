"""A job running when the server is killed (kill -9) is found 'interrupted' after a restart."""

from __future__ import annotations

import signal
import time

import pytest

from servers import JupyterServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def a_vrelab_server(tmp_path):
    server = JupyterServerProcess(
        tmp_path,
        vrelab_config={
            "extra_job_kinds": {"test.steps": "jobkinds:steps", "test.burn": "jobkinds:burn@process"}
        },
    )
    yield server.start()
    server.stop()


def _wait_running(server, job_id, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = server.request("GET", f"jobs/{job_id}").json()
        if job["state"] == "running" and job["progress"]["done"] >= 1:
            return job
        time.sleep(0.1)
    raise AssertionError(job)


def test_job_survives_kill_9_as_interrupted_and_can_be_resubmitted(a_vrelab_server):
    server = a_vrelab_server
    r = server.request("POST", "jobs", json={"kind": "test.steps", "params": {"steps": 1000, "delay": 0.05}})
    assert r.status_code == 202
    running = r.json()
    burning = server.request("POST", "jobs", json={"kind": "test.burn", "params": {"seconds": 600}}).json()
    _wait_running(server, running["id"])
    server.kill(signal.SIGKILL)

    server.start()
    for job_id in (running["id"], burning["id"]):
        job = server.request("GET", f"jobs/{job_id}").json()
        assert job["state"] == "interrupted", job
        assert "Resubmit" in job["error"]["message"]
    # the progress made before the crash is kept on the record
    assert server.request("GET", f"jobs/{running['id']}").json()["progress"]["done"] >= 1
    r = server.request("POST", f"jobs/{running['id']}/resubmit")
    assert r.status_code == 202
    new = r.json()
    assert new["resubmitted_from"] == running["id"] and new["params"] == running["params"]
    assert server.request("POST", f"jobs/{new['id']}/cancel").status_code == 202
    listed = server.request("GET", "jobs", params={"state": "interrupted"}).json()
    assert {j["id"] for j in listed["jobs"]} == {running["id"], burning["id"]}


def test_worker_process_stops_when_its_server_is_killed(a_vrelab_server):
    import psutil

    server = a_vrelab_server
    job = server.request("POST", "jobs", json={"kind": "test.burn", "params": {"seconds": 600}}).json()
    deadline = time.monotonic() + 30
    workers: list = []
    while time.monotonic() < deadline and not workers:
        workers = [
            p
            for p in psutil.Process(server.proc.pid).children(recursive=True)
            if "multiprocessing" in " ".join(p.cmdline())
        ]
        time.sleep(0.2)
    assert workers, "the burn job runs in a worker process"
    server.kill(signal.SIGKILL)
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, "orphaned worker processes kept running"
    server.start()
    assert server.request("GET", f"jobs/{job['id']}").json()["state"] == "interrupted"


def test_a_graceful_stop_closes_the_services_and_records_running_jobs(a_vrelab_server):
    """Jupyter's unload hook closes vrelab's services: a job running at a normal stop is recorded then."""
    server = a_vrelab_server
    running = server.request("POST", "jobs", json={"kind": "test.steps", "params": {"steps": 1000, "delay": 0.05}})
    job_id = running.json()["id"]
    _wait_running(server, job_id)
    server.stop()  # SIGTERM: the server shuts down as on Ctrl-C

    server.start()
    job = server.request("GET", f"jobs/{job_id}").json()
    assert job["state"] == "interrupted", job
    # recorded by the stopping server itself, not found half-done by the next start
    assert job["error"]["message"].startswith("The server was stopped while this job"), job["error"]
