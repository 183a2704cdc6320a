"""Workflows on the local backend through the REST API of a real Jupyter server: a DAG in
parallel, a failing step, a stop, outputs, logs, and bad input refused with nothing created."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import pytest

DAG = """
name: three-steps
inputs:
  files: [data/numbers.txt]
  parameters: {factor: 3}
steps:
  - name: left
    image: python:3.11-slim
    command: sleep 1; echo "left started" && wc -l < data/numbers.txt > left.txt
    outputs: [left.txt]
  - name: right
    image: python:3.11-slim
    command: sleep 1; echo "right started" && echo "${factor}" > right.txt
    outputs: [right.txt]
  - name: join
    image: python:3.11-slim
    needs: [left, right]
    inputs: [left.txt, right.txt]
    command: mkdir -p results && echo $(( $(cat left.txt) * $(cat right.txt) )) > results/total.txt
    outputs: [results/total.txt]
outputs:
  files: [results/total.txt]
"""


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def workdir(jp_root_dir):
    (jp_root_dir / "data").mkdir()
    (jp_root_dir / "data" / "numbers.txt").write_text("1\n2\n3\n4\n")
    (jp_root_dir / "dag.yaml").write_text(DAG)
    return jp_root_dir


async def wait_run(api, run_id: str, timeout: float = 60.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        code, run = await api("GET", f"workflows/{run_id}")
        assert code == 200, run
        if run["job"]["state"] not in ("queued", "running"):
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} did not end in {timeout} s")


async def wait_status(api, run_id: str, predicate, timeout: float = 30.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        _, run = await api("GET", f"workflows/{run_id}")
        if predicate(run):
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(run)


async def test_a_dag_runs_two_steps_in_parallel_then_the_third(api, workdir):
    code, run = await api("POST", "workflows", {"path": "dag.yaml", "parameters": {"factor": 5}})
    assert code == 202, run
    assert run["status"] in ("queued", "running") and run["progress"]["total"] == 3
    run = await wait_run(api, run["id"])
    assert run["status"] == "finished", run
    assert run["progress"] == {"total": 3, "finished": 3, "running": 0, "failed": 0}
    steps = {s["name"]: s for s in run["steps"]}
    left, right, join = steps["left"], steps["right"], steps["join"]
    # both one-second steps started before either ended: they ran at the same time
    assert _t(left["started_at"]) < _t(right["finished_at"]) and _t(right["started_at"]) < _t(left["finished_at"])
    assert _t(join["started_at"]) >= max(_t(left["finished_at"]), _t(right["finished_at"]))
    assert all(s["exit_code"] == 0 and s["image"] == "python:3.11-slim" for s in steps.values())

    code, outputs = await api("GET", f"workflows/{run['id']}/outputs")
    assert code == 200
    files = {f["path"]: f for f in outputs["files"]}
    assert files["results/total.txt"]["declared"] and files["data/numbers.txt"]["declared"] is False
    assert outputs["missing"] == []
    code, body = await api("GET", f"workflows/{run['id']}/outputs/results/total.txt")
    assert code == 200 and body.strip() == "20"  # 4 lines x factor 5
    code, logs = await api("GET", f"workflows/{run['id']}/logs")
    assert code == 200
    by_step = {s["name"]: s for s in logs["steps"]}
    assert "left started" in by_step["left"]["logs"] and "right started" in by_step["right"]["logs"]
    assert "step join finished" in logs["workflow_logs"]
    code, only = await api("GET", f"workflows/{run['id']}/logs", step="right")
    assert [s["name"] for s in only["steps"]] == ["right"]
    code, listed = await api("GET", "workflows", status="finished")
    assert [r["id"] for r in listed["workflows"]] == [run["id"]]
    # the run's folder lives inside the root, where the user sees it
    assert (workdir / run["workspace"] / "results" / "total.txt").is_file()


async def test_a_failing_step_fails_the_run_with_its_log_and_later_steps_never_run(api, workdir):
    spec = DAG.replace('echo "${factor}" > right.txt', 'echo "cannot read the ntuple" >&2; exit 3')
    code, run = await api("POST", "workflows", {"spec": spec})
    assert code == 202
    run = await wait_run(api, run["id"])
    assert run["status"] == "failed" and run["job"]["state"] == "failed"
    assert "step 'right' failed: exited with code 3" in run["message"]
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["right"]["status"] == "failed" and steps["right"]["exit_code"] == 3
    assert steps["join"]["status"] == "created" and steps["join"]["started_at"] is None
    assert steps["join"]["message"].startswith("not run:")
    _, logs = await api("GET", f"workflows/{run['id']}/logs", step="right")
    assert "cannot read the ntuple" in logs["steps"][0]["logs"]
    code, job = await api("GET", f"jobs/{run['id']}")
    assert job["error"]["code"] == "workflow_failed"


async def test_a_run_stops_mid_run_killing_its_step_and_starting_nothing_after(api, workdir):
    spec = """
steps:
  - {name: long, image: busybox, command: "echo $$ > pid.txt; sleep 60"}
  - {name: after, image: busybox, command: "touch after.txt", needs: [long]}
"""
    code, run = await api("POST", "workflows", {"spec": spec})
    assert code == 202
    running = await wait_status(api, run["id"], lambda r: r["steps"][0]["status"] == "running")
    workspace = workdir / running["workspace"]
    for _ in range(100):
        if (workspace / "pid.txt").exists() and (workspace / "pid.txt").read_text().strip():
            break
        await asyncio.sleep(0.05)
    pid = int((workspace / "pid.txt").read_text())
    code, stopped = await api("POST", f"workflows/{run['id']}/stop")
    assert code == 202
    final = await wait_run(api, run["id"], timeout=20)
    assert final["status"] == "stopped" and final["job"]["state"] == "cancelled"
    assert [s["status"] for s in final["steps"]] == ["stopped", "created"]
    assert not (workspace / "after.txt").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    code, again = await api("POST", f"workflows/{run['id']}/stop")
    assert code == 409 and "already ended" in again["error"]["message"]
    code, _ = await api("DELETE", f"workflows/{run['id']}")
    assert code == 204
    assert not workspace.exists()
    code, _ = await api("GET", f"workflows/{run['id']}")
    assert code == 404


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"spec": "steps:\n  - name: a\n   image: [x\n"}, 400, "not valid YAML at line 3"),
        ({"spec": "steps:\n  - {name: a, image: x, command: ls, needs: [b]}\n"
                  "  - {name: b, image: x, command: ls, needs: [a]}\n"},
         400, "cycle: a -> b -> a"),
        ({"spec": "steps: [{name: a, command: ls}]"}, 400, "has no container image"),
        ({"spec": "steps: [{name: a, image: x, command: ls}]", "backend": "kubernetes"}, 400,
         "Unknown workflow backend"),
        ({"path": "dag.yaml", "base_dir": "elsewhere"}, 404, "Input 'data/numbers.txt'"),
        ({"path": "../outside.yaml"}, 403, "outside your home folder"),
        ({"path": "dag.yaml", "parameters": {"nope": 1}}, 400, "no parameter(s) 'nope'"),
        ({"path": "dag.yaml", "extra": 1}, 400, "Unknown field(s)"),
    ],
)  # fmt: skip
async def test_bad_submissions_are_clear_errors_and_create_nothing(api, workdir, body, status, message):
    code, err = await api("POST", "workflows", body)
    assert code == status, err
    assert message in err["error"]["message"]
    _, listed = await api("GET", "workflows")
    assert listed["total"] == 0
    assert not (workdir / "workflows").exists() or not any((workdir / "workflows").iterdir())


async def test_validate_checks_without_running_and_status_lists_backends(api, workdir):
    code, out = await api("POST", "workflows/validate", {"path": "dag.yaml", "backend": "local"})
    assert code == 200 and out["valid"] and out["backend"]["available"]
    assert [s["name"] for s in out["workflow"]["steps"]][-1] == "join"
    code, status = await api("GET", "status")
    assert "local" in status["capabilities"]["workflows"]["backends"]
    _, listed = await api("GET", "workflows")
    assert listed["total"] == 0


async def test_outputs_cannot_be_read_outside_the_run(api, workdir):
    # a step plants a symbolic link to a file outside its workspace: it must not be served
    spec = "steps: [{name: a, image: x, command: 'echo hi > a.txt; ln -s ../../../dag.yaml link.yaml'}]"
    _, run = await api("POST", "workflows", {"spec": spec})
    run = await wait_run(api, run["id"])
    assert (workdir / run["workspace"] / "link.yaml").is_symlink()
    code, outputs = await api("GET", f"workflows/{run['id']}/outputs")
    assert [f["path"] for f in outputs["files"]] == ["a.txt"]
    for path, status in (("link.yaml", 403), ("nope.txt", 404)):
        code, err = await api("GET", f"workflows/{run['id']}/outputs/{path}")
        assert code == status, (path, err)
    code, err = await api("GET", "workflows/0123456789abcdef")
    assert code == 404 and "No workflow run" in err["error"]["message"]
    assert Path(workdir / run["workspace"] / "a.txt").read_text() == "hi\n"
