"""The ``reana`` backend and vrelab's REANA client against the REANA test double, which validates
every request and response against REANA's own OpenAPI document (tests/reana_double.py)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest

from vrelab.errors import NotFound, Unauthorized, Unavailable
from vrelab.jobs import JobManager, JobRegistry, JobStore
from vrelab.workflows.reana_api import ReanaClient
from vrelab.workflows.service import WorkflowService

DAG = """
name: three-on-reana
inputs:
  files: [data/numbers.txt]
  parameters: {factor: 3, label: "x; touch pwned $HOME ${factor}"}
steps:
  - name: left
    image: docker.io/library/python:3.11-slim
    command: echo "left" && wc -l < data/numbers.txt > left.txt
    outputs: [left.txt]
  - name: right
    image: docker.io/library/python:3.11-slim
    command: echo "right label=${label} on $VRELAB_STEP" && echo "${factor}" > right.txt
    outputs: [right.txt]
  - name: join
    image: docker.io/library/busybox:1.36
    needs: [left, right]
    command: mkdir -p results && echo $(( $(cat left.txt) * $(cat right.txt) )) > results/total.txt
    outputs: [results/total.txt]
outputs:
  files: [results/total.txt]
"""


# ------------------------------------------------------------------------------------ the client
async def test_client_speaks_reana_and_never_shows_the_token(reana_server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    token = reana_server.token
    spec = {
        "version": "0.9.0",
        "inputs": {"files": ["in/data.txt"], "parameters": {"n": "2"}},
        "workflow": {"type": "serial", "specification": {"steps": [
            {"name": "count", "environment": "busybox",
             "commands": ["mkdir -p out; wc -l < in/data.txt > out/n.txt; echo n=$n"]},
        ]}},
        "outputs": {"files": ["out/n.txt"]},
    }  # fmt: skip
    (tmp_path / "data.txt").write_text("a\nb\nc\n")
    async with ReanaClient(reana_server.url, token) as reana:
        pong = await reana.ping()
        assert pong["user"] == {"email": "physicist@example.org"}  # the /api/you answer holds the token: dropped
        info = await reana.info()
        assert info["compute_backends"]["value"] == ["kubernetes"]
        created = await reana.create_workflow("client-test", spec)
        wid = created["workflow_id"]
        assert created["workflow_name"].startswith("client-test.")
        assert await reana.upload_path(wid, tmp_path / "data.txt", "in/data.txt") == 6
        await reana.start(wid, {"n": "7"})
        deadline = time.monotonic() + 20
        while (status := await reana.status(wid)).status not in ("finished", "failed"):
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
        assert status.status == "finished" and (status.total, status.finished, status.failed) == (1, 1, 0)
        assert status.run_started_at and status.run_finished_at
        logs = await reana.logs(wid)
        (job,) = logs["job_logs"].values()
        assert job["job_name"] == "count" and job["status"] == "finished" and job["logs"] == "n=7\n"
        assert job["docker_img"] == "busybox" and job["started_at"] and job["finished_at"]
        names = {f["name"]: f["size"] for f in await reana.list_files(wid)}
        assert names == {"in/data.txt": 6, "out/n.txt": 2}
        assert await reana.download(wid, "out/n.txt", tmp_path / "got" / "n.txt") == 2
        assert (tmp_path / "got" / "n.txt").read_text() == "3\n"
        with pytest.raises(NotFound, match="does not exist"):
            await reana.download(wid, "out/missing.txt", tmp_path / "got" / "missing.txt")
        assert not (tmp_path / "got" / "missing.txt").exists() and not list((tmp_path / "got").glob("*.part"))
        await reana.delete(wid)
        with pytest.raises(NotFound):
            await reana.status(wid)
    assert set(reana_server.double.tokens_seen) == {token}
    text = caplog.text
    assert "access_token=***" in text  # httpx logged its requests, with the token masked
    assert token not in text


async def test_client_errors_are_clear_and_hold_no_token(reana_server, caplog):
    caplog.set_level(logging.DEBUG)
    async with ReanaClient(reana_server.url, "not-the-token-0123456789") as reana:
        with pytest.raises(Unauthorized) as err:
            await reana.ping()
    assert "did not accept your access token" in err.value.message
    assert "not-the-token-0123456789" not in err.value.message + caplog.text
    with socket_free_port() as port:
        async with ReanaClient(f"http://127.0.0.1:{port}", "secret-token-abc") as reana:
            with pytest.raises(Unavailable) as down:
                await reana.ping()
    assert f"The REANA server at http://127.0.0.1:{port} cannot be reached (connection refused)" in down.value.message
    assert "secret-token-abc" not in down.value.message + caplog.text


async def test_a_request_that_breaks_the_contract_is_caught(reana_server):
    # the double refuses what REANA's document does not allow, and records it
    async with httpx.AsyncClient(base_url=reana_server.url) as http:
        r = await http.get("/api/workflows", params={"access_token": reana_server.token})  # 'type' is required
        assert r.status_code == 400
        r = await http.post("/api/workflows", params={"access_token": reana_server.token})  # no workflow_name
        assert r.status_code == 400
    found = reana_server.double.take_violations()
    assert len(found) == 2 and all("request breaks the contract" in v for v in found)


class socket_free_port:
    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        pass


# ---------------------------------------------------------------------------------- the backend
@pytest.fixture
def reana_service(tmp_path, reana_server):
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    (root / "data" / "numbers.txt").write_text("1\n2\n3\n4\n")
    token_file = tmp_path / "reana-token"
    token_file.write_text(reana_server.token + "\n")
    token_file.chmod(0o600)
    options = {"reana": {"server_url": reana_server.url, "access_token_file": str(token_file), "poll_seconds": 0.1}}
    svc = _service(tmp_path, root, options)
    yield svc
    svc.jobs.shutdown()


def _service(tmp_path: Path, root: Path, options: dict) -> WorkflowService:
    tmp_path.mkdir(parents=True, exist_ok=True)
    svc = WorkflowService(root, concurrency=2, backend_options=options)
    registry = JobRegistry()
    for kind in svc.job_kinds():
        registry.register(kind)
    svc.attach(JobManager(JobStore(tmp_path / "jobs.sqlite"), registry, workers=2, log_dir=tmp_path / "logs"))
    return svc


def _wait(svc: WorkflowService, run_id: str, predicate=None, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = svc.get(run_id, "me")
        if predicate(run) if predicate else run["job"]["state"] not in ("queued", "running"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id}: condition not reached in {timeout} s: {run}")


def _no_token_anywhere(folder: Path, token: str) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_a_dag_runs_on_reana_and_its_outputs_come_back(reana_service, reana_server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    check = reana_service.backends.get("reana").check()
    assert check.available and "as physicist@example.org" in check.message
    run = reana_service.submit({"spec": DAG, "base_dir": "", "backend": "reana"}, "me")
    run = _wait(reana_service, run["id"])
    assert run["status"] == "finished", run
    steps = {s["name"]: s for s in run["steps"]}
    assert [s["status"] for s in run["steps"]] == ["finished"] * 3
    assert steps["join"]["image"] == "docker.io/library/busybox:1.36"
    assert all(s["backend_id"].startswith("reana:") for s in steps.values())
    workspace = reana_service.root_dir / run["workspace"]
    assert (workspace / "results" / "total.txt").read_text().strip() == "12"  # computed on REANA, copied back
    assert not (workspace / "pwned").exists()
    logs = reana_service.logs(run["id"], "me")
    by_step = {s["name"]: s["logs"] for s in logs["steps"]}
    # REANA's own $-expansion left the parameter's text alone, and the shell did not run it
    assert "right label=x; touch pwned $HOME ${factor} on right" in by_step["right"]
    assert "REANA workflow vrelab-" in logs["workflow_logs"] and "downloaded" in logs["workflow_logs"]
    wf = next(w for w in reana_server.double.workflows.values() if w.name == f"vrelab-{run['id']}.1")
    assert wf.status == "finished"
    reana_service.delete(run["id"], "me")
    assert wf.status == "deleted"
    _no_token_anywhere(tmp_path / "root", reana_server.token)
    _no_token_anywhere(tmp_path / "logs", reana_server.token)
    assert reana_server.token not in caplog.text


def test_a_failing_step_fails_the_run_on_reana(reana_service):
    spec = DAG.replace('echo "${factor}" > right.txt', 'echo "no such ntuple" >&2; exit 3')
    run = _wait(reana_service, reana_service.submit({"spec": spec, "base_dir": "", "backend": "reana"}, "me")["id"])
    assert run["status"] == "failed" and "step 'right' failed" in run["message"]
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["right"]["status"] == "failed" and steps["join"]["status"] == "created"
    assert "no such ntuple" in {s["name"]: s["logs"] for s in reana_service.logs(run["id"], "me")["steps"]}["right"]


def test_a_stop_stops_the_reana_workflow(reana_service, reana_server):
    spec = "steps: [{name: long, image: busybox, command: 'echo begun; sleep 60'}, " \
           "{name: after, image: busybox, command: 'touch after.txt', needs: [long]}]"  # fmt: skip
    run = reana_service.submit({"spec": spec, "backend": "reana"}, "me")
    _wait(reana_service, run["id"], lambda r: r["steps"][0]["status"] == "running", timeout=30)
    began = time.monotonic()
    reana_service.stop(run["id"], "me")
    final = _wait(reana_service, run["id"], timeout=30)
    assert time.monotonic() - began < 15
    assert final["status"] == "stopped" and [s["status"] for s in final["steps"]] == ["stopped", "created"]
    wf = next(w for w in reana_server.double.workflows.values() if w.name == f"vrelab-{run['id']}.1")
    assert wf.status == "stopped"


def test_unreachable_reana_or_a_bad_token_is_refused_before_anything_is_created(tmp_path, reana_server):
    root = tmp_path / "root"
    root.mkdir()
    with socket_free_port() as port:
        token_file = tmp_path / "tok"
        token_file.write_text("a-token-that-must-not-leak")
        dead = _service(tmp_path / "a", root, {"reana": {"server_url": f"http://127.0.0.1:{port}",
                                                         "access_token_file": str(token_file)}})  # fmt: skip
        try:
            with pytest.raises(Unavailable) as err:
                dead.submit({"spec": "steps: [{name: a, image: busybox, command: 'true'}]", "backend": "reana"}, "me")
            assert "The 'reana' workflow backend is not available" in err.value.message
            assert f"http://127.0.0.1:{port} cannot be reached" in err.value.message
            assert "a-token-that-must-not-leak" not in err.value.message
            assert dead.list("me")["total"] == 0
        finally:
            dead.jobs.shutdown()
    wrong = _service(tmp_path / "b", root, {"reana": {"server_url": reana_server.url,
                                                      "access_token_file": str(token_file)}})  # fmt: skip
    try:
        before = len(reana_server.double.workflows)
        with pytest.raises(Unavailable, match="did not accept your access token"):
            wrong.submit({"spec": "steps: [{name: a, image: busybox, command: 'true'}]", "backend": "reana"}, "me")
        assert wrong.list("me")["total"] == 0
        assert len(reana_server.double.workflows) == before  # nothing created on REANA either
    finally:
        wrong.jobs.shutdown()
    assert not (root / "workflows").exists() or not any((root / "workflows").iterdir())


# ------------------------------------------------------------------- CWL, Snakemake, Yadage on REANA
LANG_DATA = Path(__file__).parent.parent / "data" / "wf_languages"


@pytest.mark.parametrize(
    ("kind", "main", "source", "extra", "output", "expected"),
    [
        ("cwl", "wf.cwl", "cwl_two_steps.cwl", {"inputs.yml": "message: on-reana\n"}, "outputs/count.txt",
         ["write", "count"]),
        ("snakemake", "Snakefile", "Snakefile", {"config.yaml": "message: on-reana\n"}, "results/count.txt",
         ["write", "count", "all"]),
        ("yadage", "workflow.yml", "yadage_two_stages.yml", {}, "count/count.txt", ["write", "count"]),
    ],
)  # fmt: skip
def test_each_engine_type_is_sent_as_it_is_and_runs_on_reana(
    reana_service, reana_server, kind, main, source, extra, output, expected
):
    folder = reana_service.root_dir / kind
    folder.mkdir()
    (folder / main).write_text((LANG_DATA / source).read_text())
    for name, text in extra.items():
        (folder / name).write_text(text)
    params = "{input: " + next(iter(extra)) + "}" if extra else "{message: on-reana}"
    (folder / "reana.yaml").write_text(
        f"inputs: {{parameters: {params}}}\nworkflow: {{type: {kind}, file: {main}}}\noutputs: {{files: [{output}]}}\n"
    )
    run = reana_service.submit({"path": f"{kind}/reana.yaml", "backend": "reana"}, "me")
    run = _wait(reana_service, run["id"], timeout=120)
    assert run["status"] == "finished", run
    assert [(s["name"], s["status"]) for s in run["steps"]] == [(n, "finished") for n in expected]
    assert all(s["backend_id"].startswith("reana:") for s in run["steps"])
    wf = next(w for w in reana_server.double.workflows.values() if w.name == f"vrelab-{run['id']}.1")
    assert wf.spec["workflow"]["type"] == kind and wf.spec["workflow"]["file"] == main
    workspace = reana_service.root_dir / run["workspace"]
    assert (workspace / output).read_text().strip() == str(len("on-reana\n"))  # run on REANA, copied back
    logs = {s["name"]: s["logs"] for s in reana_service.logs(run["id"], "me")["steps"]}
    assert "writing on-reana" in logs["write"] and "counting" in logs["count"]
