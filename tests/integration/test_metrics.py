"""GET metrics through a real Jupyter server: real fit and workflow jobs, then the Prometheus
exposition parsed and its numbers checked against the jobs' own records; requests to a real
Rucio server counted by instance; unauthenticated scrapes refused unless the operator allows them."""

from __future__ import annotations

import asyncio
import json
import math

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from servers import free_port

pyhf = pytest.importorskip("pyhf")

ONE_STEP = """
name: one-step
steps:
  - name: hello
    image: python:3.11-slim
    command: {command}
    outputs: [hello.txt]
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def jp_server_config(tmp_path, request):
    vrelab: dict = {"data_dir": str(tmp_path / "vrelab-data"), "job_workers": 1, "fit_workers": 2}
    if "public_metrics" in request.fixturenames:
        vrelab["metrics_allow_unauthenticated"] = True
    if "embedded_lake" in request.fixturenames:
        lake = request.getfixturevalue("embedded_lake")
        (embedded,) = json.loads(lake.jupyter_config.read_text())["VRELab"]["lake_instances"]
        auth = {k: v for k, v in embedded["auth"].items() if k != "password_file"}
        embedded = {**embedded, "auth": {**auth, "password_file": str(lake.user_password_file)}}
        dead_password = tmp_path / "dead.password"
        dead_password.write_text("dead-lake-password\n")
        dead = {
            "name": "dead",
            "rucio_host": f"http://127.0.0.1:{free_port()}",  # nobody listens there
            "auth": {"auth_type": "userpass", "account": "nobody", "password_file": str(dead_password)},
        }
        vrelab.update(lake_instances=[embedded, dead], default_lake_instance="embedded", lake_timeout_seconds=5)
    return {"ServerApp": {"jpserver_extensions": {"vrelab": True}}, "VRELab": vrelab}


@pytest.fixture
def public_metrics() -> bool:
    """Asked for by a test: its server sets VRELab.metrics_allow_unauthenticated."""
    return True


@pytest.fixture
def base_url(http_server_client, jp_http_port, jp_base_url) -> str:
    return f"http://127.0.0.1:{jp_http_port}{jp_base_url}"


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when the series does not exist (a counter nothing has touched)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(api) -> Samples:
    code, text = await api("GET", "metrics")
    assert code == 200, text
    assert isinstance(text, str) and text.startswith("# HELP")
    return parse(text)


async def wait_job(api, job_id: str, *, until=lambda job: job["state"] not in ("queued", "running"), timeout=300.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        code, job = await api("GET", f"jobs/{job_id}")
        assert code == 200, job
        if until(job):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not get there in {timeout} s")


async def submit(api, kind: str, params: dict) -> dict:
    code, job = await api("POST", "jobs", {"kind": kind, "params": params})
    assert code == 202, job
    return job


async def run_job(api, kind: str, params: dict) -> dict:
    return await wait_job(api, (await submit(api, kind, params))["id"])


async def run_workflow(api, command: str) -> dict:
    code, run = await api("POST", "workflows", {"spec": ONE_STEP.format(command=json.dumps(command))})
    assert code == 202, run
    return await wait_job(api, run["id"])


def workspace_with_a_broken_patch() -> dict:
    model = pyhf.simplemodels.uncorrelated_background(signal=[5.0, 10.0], bkg=[50.0, 60.0], bkg_uncertainty=[5.0, 8.0])
    ws = json.loads(json.dumps(pyhf.Workspace.build(model, [55.0, 62.0])))
    patches = []
    for i, scale in enumerate((1.0, 2.0, 3.0)):
        path = "/channels/9/samples/0/data" if i == 2 else "/channels/0/samples/0/data"  # the last one cannot apply
        ops = [{"op": "replace", "path": path, "value": [5 * scale, 10 * scale]}]
        patches.append({"metadata": {"name": f"p{i}", "values": [scale]}, "patch": ops})
    patchset = {
        "metadata": {
            "name": "metrics",
            "description": "three signal strengths",
            "digests": {"sha256": pyhf.utils.digest(ws)},
            "labels": ["scale"],
            "references": {"hepdata": "ins0000000"},
        },
        "patches": patches,
        "version": "1.0.0",
    }
    return {"workspace": ws, "patchset": patchset, "name": "metrics"}


async def test_the_metrics_count_real_jobs_by_kind_and_state(api, jp_root_dir):
    before = await scrape(api)
    assert value(before, "vrelab_job_workers") == 1
    for kind in ("fit.hypotest", "fit.scan", "workflow.run"):  # every kind has its gauges, at 0
        assert ("vrelab_jobs_queued", frozenset({("kind", kind)})) in before
        assert value(before, "vrelab_jobs_queued", kind=kind) == 0
        assert value(before, "vrelab_jobs_running", kind=kind) == 0
    assert value(before, "vrelab_jobs_submitted_total", kind="fit.hypotest") == 0

    code, added = await api("POST", "fit/workspaces", workspace_with_a_broken_patch())
    assert code == 201, added
    wid = added["id"]
    computed = await run_job(api, "fit.hypotest", {"workspace_id": wid})
    assert computed["state"] == "succeeded" and computed["result"]["cached"] is False
    code, same = await api("POST", "jobs", {"kind": "fit.hypotest", "params": {"workspace_id": wid}})
    assert code in (200, 202) and same["reused"] and same["id"] == computed["id"]  # no new job: not counted
    code, again = await api("POST", f"jobs/{computed['id']}/resubmit")
    assert code == 202
    cached = await wait_job(api, again["id"])
    assert cached["state"] == "succeeded" and cached["result"]["cached"] is True
    broken = await run_job(api, "fit.hypotest", {"workspace_id": wid, "patch": "p2"})  # bad input, found when run
    assert broken["state"] == "failed" and broken["error"]["code"] == "patch_does_not_apply"
    scan = await run_job(api, "fit.scan", {"workspace_id": wid})
    assert scan["state"] == "succeeded" and scan["result"]["n_failed"] == 1
    finished_run = await run_workflow(api, "echo hello > hello.txt")
    failed_run = await run_workflow(api, "echo no >&2; exit 3")
    assert finished_run["state"] == "succeeded" and failed_run["state"] == "failed"
    jobs = [computed, cached, broken, scan, finished_run, failed_run]

    after = await scrape(api)
    assert value(after, "vrelab_jobs_submitted_total", kind="fit.hypotest") == 3
    assert value(after, "vrelab_jobs_submitted_total", kind="fit.scan") == 1
    assert value(after, "vrelab_jobs_submitted_total", kind="workflow.run") == 2
    assert value(after, "vrelab_jobs_finished_total", kind="fit.hypotest", state="succeeded") == 2
    assert value(after, "vrelab_jobs_finished_total", kind="fit.hypotest", state="failed") == 1
    assert value(after, "vrelab_jobs_finished_total", kind="fit.scan", state="succeeded") == 1
    assert value(after, "vrelab_jobs_finished_total", kind="workflow.run", state="succeeded") == 1
    assert value(after, "vrelab_jobs_finished_total", kind="workflow.run", state="failed") == 1

    # the duration histogram holds exactly the jobs' own running times (started to finished)
    for kind, state in {(j["kind"], j["state"]) for j in jobs}:
        mine = [j for j in jobs if (j["kind"], j["state"]) == (kind, state)]
        labels = {"kind": kind, "state": state}
        assert value(after, "vrelab_job_duration_seconds_count", **labels) == len(mine)
        ran = sum(j["finished"] - j["started"] for j in mine)
        assert math.isclose(value(after, "vrelab_job_duration_seconds_sum", **labels), ran, abs_tol=1e-6)
        assert value(after, "vrelab_job_duration_seconds_bucket", **labels, le="+Inf") == len(mine)
    waited = sum(j["started"] - j["created"] for j in jobs if j["kind"] == "fit.hypotest")
    assert value(after, "vrelab_job_wait_seconds_count", kind="fit.hypotest") == 3
    assert math.isclose(value(after, "vrelab_job_wait_seconds_sum", kind="fit.hypotest"), waited, abs_tol=1e-6)

    # fit points: one computed, one from the cache, one failed; the scan computed 2, failed 1
    assert value(after, "vrelab_fit_points_total", kind="fit.hypotest", source="computed") == 1
    assert value(after, "vrelab_fit_points_total", kind="fit.hypotest", source="cached") == 1
    assert value(after, "vrelab_fit_points_total", kind="fit.hypotest", source="failed") == 1
    assert value(after, "vrelab_fit_points_total", kind="fit.scan", source="computed") == 2
    assert value(after, "vrelab_fit_points_total", kind="fit.scan", source="failed") == 1
    assert value(after, "vrelab_fit_point_seconds_total", kind="fit.scan") > 0
    assert value(after, "vrelab_workflow_runs_total", backend="local", status="finished") == 1
    assert value(after, "vrelab_workflow_runs_total", backend="local", status="failed") == 1
    for kind in ("fit.hypotest", "fit.scan", "workflow.run"):
        assert value(after, "vrelab_jobs_queued", kind=kind) == 0
        assert value(after, "vrelab_jobs_running", kind=kind) == 0

    # a second scan answers its cached points from the cache: 2 more cached, no more computed
    scan2 = await wait_job(api, (await api("POST", f"jobs/{scan['id']}/resubmit"))[1]["id"])
    assert scan2["result"]["n_cached"] == 2
    again = await scrape(api)
    assert value(again, "vrelab_fit_points_total", kind="fit.scan", source="cached") == 2
    assert value(again, "vrelab_fit_points_total", kind="fit.scan", source="computed") == 2
    assert value(again, "vrelab_fit_points_total", kind="fit.scan", source="failed") == 2


async def test_the_gauges_show_the_queue_and_the_running_jobs_at_scrape_time(api, jp_root_dir):
    code, added = await api("POST", "fit/workspaces", workspace_with_a_broken_patch())
    assert code == 201
    # the server has one job worker: a long workflow runs, a fit waits behind it
    code, run = await api("POST", "workflows", {"spec": ONE_STEP.format(command='"sleep 120"')})
    assert code == 202, run
    await wait_job(api, run["id"], until=lambda job: job["state"] == "running")
    queued = await submit(api, "fit.hypotest", {"workspace_id": added["id"]})
    assert queued["state"] == "queued"
    now = await scrape(api)
    assert value(now, "vrelab_jobs_running", kind="workflow.run") == 1
    assert value(now, "vrelab_jobs_queued", kind="fit.hypotest") == 1
    assert value(now, "vrelab_jobs_queued", kind="workflow.run") == 0
    assert value(now, "vrelab_jobs_running", kind="fit.hypotest") == 0

    code, cancelled = await api("POST", f"jobs/{queued['id']}/cancel")
    assert code == 202 and cancelled["state"] == "cancelled"  # a queued job is cancelled at once
    code, _ = await api("POST", f"jobs/{run['id']}/cancel")
    assert code == 202
    stopped = await wait_job(api, run["id"])
    assert stopped["state"] == "cancelled"
    later = await scrape(api)
    assert value(later, "vrelab_jobs_running", kind="workflow.run") == 0
    assert value(later, "vrelab_jobs_queued", kind="fit.hypotest") == 0
    assert value(later, "vrelab_jobs_finished_total", kind="fit.hypotest", state="cancelled") == 1
    assert value(later, "vrelab_jobs_finished_total", kind="workflow.run", state="cancelled") == 1
    # the fit never ran: it has no running time; the workflow has one
    assert value(later, "vrelab_job_duration_seconds_count", kind="fit.hypotest", state="cancelled") == 0
    assert value(later, "vrelab_job_duration_seconds_count", kind="workflow.run", state="cancelled") == 1
    assert value(later, "vrelab_workflow_runs_total", backend="local", status="stopped") == 1


async def test_an_unauthenticated_scrape_is_refused(api, base_url):
    async with httpx.AsyncClient(timeout=10) as client:
        for headers in ({}, {"Authorization": "token not-the-token"}):
            r = await client.get(base_url + "vrelab/api/v1/metrics", headers=headers)
            assert r.status_code in (401, 403), (headers, r.status_code)
            assert r.json()["error"]["code"] in ("unauthorized", "forbidden")
            assert "vrelab_jobs" not in r.text
    code, text = await api("GET", "metrics")  # with the server's token
    assert code == 200 and "vrelab_jobs_queued" in text


async def test_a_scrape_is_no_user_activity(api, jp_serverapp):
    """JupyterHub culls idle servers by their last activity: a scraper must not keep one alive."""
    settings = jp_serverapp.web_app.settings
    code, _ = await api("GET", "status")
    assert code == 200
    last = settings["api_last_activity"]
    await asyncio.sleep(0.01)
    code, _ = await api("GET", "metrics")
    assert code == 200
    assert settings["api_last_activity"] == last
    code, _ = await api("GET", "jobs")
    assert code == 200 and settings["api_last_activity"] > last


async def test_the_operator_can_allow_unauthenticated_scrapes(public_metrics, jp_serverapp, api, base_url):
    assert jp_serverapp.web_app.settings["vrelab"].config.metrics_allow_unauthenticated
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.get(base_url + "vrelab/api/v1/metrics")
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        samples = parse(r.text)
        assert value(samples, "vrelab_job_workers") == 1
        # only the metrics: every other route still wants credentials
        r = await client.get(base_url + "vrelab/api/v1/status")
        assert r.status_code in (401, 403)
        r = await client.get(base_url + "vrelab/api/v1/jobs")
        assert r.status_code in (401, 403)


@pytest.mark.lake
async def test_requests_to_rucio_are_timed_and_their_errors_counted_by_instance(api, embedded_lake):
    before = await scrape(api)
    code, data = await api("GET", "lake/instances/embedded/scopes")  # logs in, then lists
    assert code == 200 and "ATLAS_OD_EDU" in data["scopes"]
    ok = await scrape(api)
    requests = value(ok, "vrelab_lake_request_duration_seconds_count", lake_instance="embedded")
    assert requests >= 2 > value(before, "vrelab_lake_request_duration_seconds_count", lake_instance="embedded")
    assert value(ok, "vrelab_lake_request_duration_seconds_sum", lake_instance="embedded") > 0
    for error in ("4xx", "5xx", "unreachable"):
        assert value(ok, "vrelab_lake_request_errors_total", lake_instance="embedded", error=error) == 0

    code, err = await api("GET", "lake/instances/embedded/dids/ATLAS_OD_EDU:no.such.file")
    assert code == 404, err
    missing = await scrape(api)
    assert value(missing, "vrelab_lake_request_errors_total", lake_instance="embedded", error="4xx") >= 1
    assert value(missing, "vrelab_lake_request_duration_seconds_count", lake_instance="embedded") > requests
    assert value(missing, "vrelab_lake_request_errors_total", lake_instance="embedded", error="unreachable") == 0

    code, err = await api("GET", "lake/instances/dead/scopes")
    assert code == 503, err
    dead = await scrape(api)
    assert value(dead, "vrelab_lake_request_errors_total", lake_instance="dead", error="unreachable") >= 1
    assert value(dead, "vrelab_lake_request_duration_seconds_count", lake_instance="dead") >= 1
    assert value(dead, "vrelab_lake_request_errors_total", lake_instance="embedded", error="unreachable") == 0
