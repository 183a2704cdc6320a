"""The jobs API through a real Jupyter server (pytest-jupyter's jp_fetch)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest


async def wait_state(api, job_id, states=("succeeded", "failed", "cancelled"), timeout=30.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        code, job = await api("GET", f"jobs/{job_id}")
        assert code == 200
        if job["state"] in states:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} stuck in {job['state']}")


async def test_status(api):
    code, data = await api("GET", "status")
    assert code == 200
    from vrelab import __version__

    assert data["version"] == __version__
    assert {"jobs", "lake", "fit", "workflows"} <= set(data["capabilities"])
    assert "test.steps" in data["capabilities"]["jobs"]["kinds"]


async def test_submit_follow_and_fetch_a_job(api):
    code, job = await api("POST", "jobs", {"kind": "test.steps", "params": {"steps": 3, "delay": 0.01}})
    assert code == 202
    assert job["state"] in ("queued", "running") and job["kind"] == "test.steps"
    final = await wait_state(api, job["id"])
    assert final["state"] == "succeeded"
    assert final["result"]["steps"] == 3
    assert final["progress"] == {"done": 3, "total": 3, "message": "step 3 of 3", "fraction": 1.0}
    code, page = await api("GET", "jobs", kind="test.steps")
    assert code == 200 and page["total"] == 1 and page["jobs"][0]["id"] == job["id"]
    assert "result" not in page["jobs"][0]
    code, log = await api("GET", f"jobs/{job['id']}/log")
    assert code == 200 and "done 3 steps" in log["log"]
    code, kinds = await api("GET", "jobs/kinds")
    assert code == 200 and any(k["kind"] == "test.burn" and k["process"] for k in kinds["kinds"])


async def test_cancel_delete_resubmit(api):
    _, job = await api("POST", "jobs", {"kind": "test.steps", "params": {"steps": 500, "delay": 0.02}})
    code, _ = await api("DELETE", f"jobs/{job['id']}")
    assert code == 409  # still active
    code, _ = await api("POST", f"jobs/{job['id']}/cancel")
    assert code == 202
    final = await wait_state(api, job["id"])
    assert final["state"] == "cancelled"
    code, again = await api("POST", f"jobs/{job['id']}/cancel")
    assert code == 409 and "already cancelled" in again["error"]["message"]
    code, new = await api("POST", f"jobs/{job['id']}/resubmit")
    assert code == 202 and new["resubmitted_from"] == job["id"] and new["params"] == job["params"]
    await api("POST", f"jobs/{new['id']}/cancel")
    await wait_state(api, new["id"])
    code, _ = await api("DELETE", f"jobs/{job['id']}")
    assert code == 204
    code, err = await api("GET", f"jobs/{job['id']}")
    assert code == 404 and err["error"]["code"] == "not_found"


async def test_failed_job_reports_its_error(api):
    _, job = await api("POST", "jobs", {"kind": "test.fail", "params": {"message": "no such DID"}})
    final = await wait_state(api, job["id"])
    assert final["state"] == "failed"
    assert final["error"]["message"] == "no such DID"


@pytest.mark.parametrize(
    ("method", "path", "request_kwargs", "status", "code", "words"),
    [
        ("POST", "jobs", {"raw_body": b'{"kind": "test.steps",'}, 400, "bad_request", "not valid JSON"),
        ("POST", "jobs", {"raw_body": b"[1, 2]"}, 400, "bad_request", "JSON object"),
        ("POST", "jobs", {"body": {"params": {}}}, 400, "bad_request", "kind"),
        ("POST", "jobs", {"body": {"kind": "no.such.kind"}}, 400, "bad_request", "Unknown job kind"),
        ("POST", "jobs", {"body": {"kind": "test.steps", "params": [1]}}, 400, "bad_request", "params"),
        ("GET", "jobs", {"query": {"limit": "100000"}}, 400, "bad_request", "limit"),
        ("GET", "jobs", {"query": {"limit": "ten"}}, 400, "bad_request", "limit"),
        ("GET", "jobs", {"query": {"state": "exploded"}}, 400, "bad_request", "Unknown job state"),
        ("GET", "jobs/does-not-exist", {}, 404, "not_found", "does-not-exist"),
    ],
)
async def test_bad_requests_get_clear_json_errors(api, method, path, request_kwargs, status, code, words):
    """Every bad request gets its own status and a complete error body naming the problem."""
    body = request_kwargs.get("body")
    args = (method, path) if body is None else (method, path, body)
    got, err = await api(*args, raw_body=request_kwargs.get("raw_body"), **request_kwargs.get("query", {}))
    assert got == status, err
    assert set(err["error"]) == {"code", "message", "details"}, err
    assert err["error"]["code"] == code and words in err["error"]["message"], err
    assert "Traceback" not in err["error"]["message"]


async def test_body_size_limit(api, jp_serverapp):
    jp_serverapp.web_app.settings["vrelab"].config.max_body_bytes = 1000
    code, err = await api("POST", "jobs", {"kind": "test.steps", "params": {"pad": "x" * 2000}})
    assert code == 413 and err["error"]["code"] == "payload_too_large"


async def test_progress_streams_to_a_client(api, jp_serverapp, jp_http_port, jp_base_url):
    token = jp_serverapp.identity_provider.token
    _, job = await api("POST", "jobs", {"kind": "test.steps", "params": {"steps": 8, "delay": 0.15}})
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}vrelab/api/v1/jobs/{job['id']}/events"
    events = []
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream("GET", url, headers={"Authorization": f"token {token}"}) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
    states = [e["job"]["state"] for e in events]
    dones = [e["job"]["progress"]["done"] for e in events]
    assert states[-1] == "succeeded", states
    assert len({d for d in dones if 0 < d < 8}) >= 3, dones  # intermediate progress arrived live
    assert dones == sorted(dones)
    assert events[-1]["job"]["result"]["steps"] == 8


async def test_stream_of_all_jobs_sees_new_jobs(api, jp_serverapp, jp_http_port, jp_base_url):
    token = jp_serverapp.identity_provider.token
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}vrelab/api/v1/jobs/events"
    seen: list[dict] = []

    async def listen():
        async with httpx.AsyncClient(timeout=30) as client:
            async with client.stream("GET", url, headers={"Authorization": f"token {token}"}) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data:"):
                        seen.append(json.loads(line[5:])["job"])
                        if seen[-1]["state"] == "succeeded":
                            return

    task = asyncio.ensure_future(listen())
    await asyncio.sleep(0.3)
    _, job = await api("POST", "jobs", {"kind": "test.steps", "params": {"steps": 2, "delay": 0.01}})
    await asyncio.wait_for(task, 20)
    assert {j["id"] for j in seen} == {job["id"]}
    assert seen[0]["state"] in ("queued", "running")
