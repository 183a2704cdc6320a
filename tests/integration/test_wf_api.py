"""Workflows from the Python client and the `vrelab wf` command against a real server process,
and a run that survives a kill -9 of its server as a record with its logs and outputs."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from click.testing import CliRunner

from servers import JupyterServerProcess
from vrelab import errors
from vrelab.cli import main
from vrelab.client import Client
from vrelab.workflows.examples import copy_example

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = JupyterServerProcess(tmp_path_factory.mktemp("wf-server"), vrelab_config={"workflow_concurrency": 2})
    srv.root.mkdir(parents=True, exist_ok=True)
    copy_example("dag", srv.root / "dag")
    yield srv.start()
    srv.stop()


@pytest.fixture
def client(server):
    with Client(server.url, server.token) as c:
        yield c


def _cli(server, *args):
    return CliRunner().invoke(main, ["--url", server.url, "--token", server.token, *args])


def test_client_submits_follows_and_fetches_outputs(client, tmp_path):
    wf = client.workflows
    assert "local" in wf.backends()
    seen = []
    run = wf.submit(path="dag/workflow.yaml", parameters={"label": "from-client"}, wait=True,
                    on_progress=lambda r: seen.append(r["progress"]["finished"]))  # fmt: skip
    assert run["status"] == "finished", run
    assert seen and seen == sorted(seen)
    assert {s["name"]: s["status"] for s in run["steps"]} == {
        "count_a": "finished",
        "count_b": "finished",
        "combine": "finished",
    }
    total = json.loads(wf.read(run["id"], "total.json"))
    assert total == {"a": sum(range(1000)), "b": sum(range(2000)), "label": "from-client"}
    saved = wf.download(run["id"], "total.json", tmp_path / "out" / "total.json")
    assert json.loads(saved.read_text()) == total
    with pytest.raises(errors.NotFound):
        wf.status("0123456789abcdef")
    with pytest.raises(errors.BadRequest, match="cycle"):
        wf.validate("steps:\n  - {name: a, image: x, command: ls, needs: [a]}\n")


def test_cli_submit_status_logs_outputs_ls_and_stop(server):
    r = _cli(server, "wf", "submit", "dag/workflow.yaml", "-p", "label=cli", "--json")
    assert r.exit_code == 0, r.output
    run = json.loads(r.output)
    assert run["status"] == "finished"
    r = _cli(server, "wf", "status", run["id"])
    assert r.exit_code == 0 and "FINISHED" in r.output and "combine" in r.output
    r = _cli(server, "wf", "logs", run["id"], "--step", "combine")
    assert r.exit_code == 0 and "== step combine [finished, exit code 0]" in r.output
    r = _cli(server, "wf", "outputs", run["id"])
    assert r.exit_code == 0 and "total.json" in r.output
    r = _cli(server, "wf", "ls", "--json")
    assert run["id"] in {w["id"] for w in json.loads(r.output)["workflows"]}
    r = _cli(server, "wf", "submit", "dag/nope.yaml")
    assert r.exit_code == 1 and "No such file" in r.output and "Traceback" not in r.output
    spec = "steps: [{name: slow, image: busybox, command: 'sleep 60'}]"
    (server.root / "slow.yaml").write_text(spec)
    r = _cli(server, "wf", "submit", "slow.yaml", "--no-wait", "--json")
    slow = json.loads(r.output)
    for _ in range(100):
        if _cli(server, "wf", "status", slow["id"], "--json").output.count('"running"') >= 2:
            break
        time.sleep(0.1)
    r = _cli(server, "wf", "stop", slow["id"], "--json")
    assert r.exit_code == 0 and json.loads(r.output)["status"] == "stopped"


def test_workflow_panel_submits_follows_shows_logs_and_downloads(client, tmp_path):
    from vrelab.widgets import WorkflowPanel

    panel = WorkflowPanel(client)
    assert "local" in panel.backend.options
    panel.submit_button.click()  # an empty spec: a message in the banner, no traceback
    assert "Write a workflow spec" in panel.banner.value
    panel.set_spec(
        "inputs: {parameters: {who: nobody}}\n"
        "steps:\n  - {name: hello, image: busybox, command: 'echo hello $who > hello.txt; echo said-hello'}\n"
    )
    panel.parameters.value = "who=world"
    run = panel.submit()
    final = panel.wait(30)
    assert final is not None and final["id"] == run["id"] and final["status"] == "finished"
    assert "hello" in panel.steps.value and "finished" in panel.steps.value
    assert "said-hello" in panel.show_logs("hello")
    assert panel.refresh_outputs() == ["hello.txt"]
    saved = panel.download("hello.txt", tmp_path / "hello.txt")
    assert saved.read_text() == "hello world\n"
    panel.set_spec("steps:\n  - {name: a, image: x, command: ls, needs: [a]}\n")
    panel.validate_button.click()
    assert "cycle" in panel.banner.value


def test_a_run_survives_a_kill_9_of_its_server(server):
    spec = """
steps:
  - {name: first, image: busybox, command: "echo first-output; echo 1 > first.txt", outputs: [first.txt]}
  - {name: long, image: busybox, command: "echo $$ > long.pid; echo long-started; sleep 120", needs: [first]}
"""
    r = server.request("POST", "workflows", json={"spec": spec})
    assert r.status_code == 202
    run_id = r.json()["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = server.request("GET", f"workflows/{run_id}").json()
        if run["steps"][1]["status"] == "running":
            break
        time.sleep(0.1)
    workspace = server.root / run["workspace"]
    while not (workspace / "long.pid").exists() or not (workspace / "long.pid").read_text().strip():
        time.sleep(0.05)
    pid = int((workspace / "long.pid").read_text())
    server.kill(signal.SIGKILL)

    server.start()
    run = server.request("GET", f"workflows/{run_id}").json()
    assert run["status"] == "failed" and run["job"]["state"] == "interrupted"
    assert "server stopped" in run["message"]
    assert [s["status"] for s in run["steps"]] == ["finished", "failed"]
    logs = server.request("GET", f"workflows/{run_id}/logs").json()
    by_step = {s["name"]: s["logs"] for s in logs["steps"]}
    assert "first-output" in by_step["first"] and "long-started" in by_step["long"]
    assert server.request("GET", f"workflows/{run_id}/outputs/first.txt").text == "1\n"
    # the step the dead server left behind was stopped at the restart
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the orphaned step process kept running")
