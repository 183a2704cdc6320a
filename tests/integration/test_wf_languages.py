"""CWL, Snakemake and Yadage workflows through the REST API of a real Jupyter server, each run by
its real engine (cwltool, snakemake, yadage + packtivity) from its own cached venv on the local
backend: status, step logs and outputs in vrelab's run record, and bad specs refused with a 400
carrying the engine's own message, nothing created."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from vrelab.workflows.engines import engine_for

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent.parent / "data" / "wf_languages"

REANA_CWL = """
version: 0.9.0
inputs:
  files: [wf.cwl]
  parameters:
    input: inputs.yml
workflow:
  type: cwl
  file: wf.cwl
outputs:
  files: [outputs/count.txt]
"""

REANA_SNAKEMAKE = """
inputs:
  parameters:
    input: config.yaml
workflow:
  type: snakemake
  file: Snakefile
outputs:
  files: [results/count.txt]
"""

REANA_YADAGE = """
inputs:
  parameters: {message: hello-yadage}
workflow:
  type: yadage
  file: workflow.yml
outputs:
  files: [count/count.txt]
"""


@pytest.fixture(scope="module", autouse=True)
def engines() -> None:
    """Each engine's venv, built once per machine (minutes; the three at once) and reused after."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(3) as pool:
        for built in [pool.submit(engine_for(k).venv.ensure, print) for k in ("cwl", "snakemake", "yadage")]:
            built.result()


@pytest.fixture
def workdir(jp_root_dir: Path) -> Path:
    cwl = jp_root_dir / "cwl"
    cwl.mkdir()
    (cwl / "wf.cwl").write_text((DATA / "cwl_two_steps.cwl").read_text())
    (cwl / "inputs.yml").write_text("message: hello-cwl\n")
    (cwl / "reana.yaml").write_text(REANA_CWL)
    smk = jp_root_dir / "smk"
    smk.mkdir()
    (smk / "Snakefile").write_text((DATA / "Snakefile").read_text())
    (smk / "config.yaml").write_text("message: hello-snake\n")
    (smk / "reana.yaml").write_text(REANA_SNAKEMAKE)
    yad = jp_root_dir / "yad"
    yad.mkdir()
    (yad / "workflow.yml").write_text((DATA / "yadage_two_stages.yml").read_text())
    (yad / "reana.yaml").write_text(REANA_YADAGE)
    return jp_root_dir


async def wait_run(api, run_id: str, timeout: float = 120.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        code, run = await api("GET", f"workflows/{run_id}")
        assert code == 200, run
        if run["job"]["state"] not in ("queued", "running"):
            return run
        await asyncio.sleep(0.2)
    raise AssertionError(f"run {run_id} did not end in {timeout} s")


async def _run(api, body: dict) -> dict:
    code, run = await api("POST", "workflows", body)
    assert code == 202, run
    return await wait_run(api, run["id"])


async def _logs(api, run: dict) -> dict[str, str]:
    code, logs = await api("GET", f"workflows/{run['id']}/logs")
    assert code == 200
    return {"": logs["workflow_logs"], **{s["name"]: s["logs"] for s in logs["steps"]}}


async def _read(api, run: dict, path: str) -> str:
    code, body = await api("GET", f"workflows/{run['id']}/outputs/{path}")
    assert code == 200, body
    return body


async def test_a_reana_cwl_workflow_runs_with_cwltool_passing_a_file_between_its_steps(api, workdir):
    run = await _run(api, {"path": "cwl/reana.yaml"})
    assert run["status"] == "finished", run
    assert [(s["name"], s["status"], s["exit_code"]) for s in run["steps"]] == [
        ("write", "finished", 0),
        ("count", "finished", 0),
    ]
    assert run["progress"] == {"total": 2, "finished": 2, "running": 0, "failed": 0}
    assert all(s["started_at"] and s["finished_at"] for s in run["steps"])
    logs = await _logs(api, run)
    assert "writing hello-cwl" in logs["write"] and "counting" in logs["count"]
    assert "cwltool: INFO [workflow ] completed success" in logs[""]
    assert "cwltool output final: outputs/count.txt" in logs[""]
    assert (await _read(api, run, "outputs/count.txt")).strip() == str(len("hello-cwl\n"))
    _, outputs = await api("GET", f"workflows/{run['id']}/outputs")
    files = {f["path"]: f["declared"] for f in outputs["files"]}
    assert files["outputs/count.txt"] is True and files["wf.cwl"] is False and outputs["missing"] == []


async def test_a_plain_cwl_file_is_submitted_directly_with_its_inputs_as_parameters(api, workdir):
    run = await _run(api, {"path": "cwl/wf.cwl", "parameters": {"message": "direct"}})
    assert run["status"] == "finished", run
    assert run["name"] == "wf" and [s["name"] for s in run["steps"]] == ["write", "count"]
    assert (await _read(api, run, "outputs/count.txt")).strip() == str(len("direct\n"))


async def test_a_snakefile_runs_with_snakemake_one_step_per_rule(api, workdir):
    run = await _run(api, {"path": "smk/reana.yaml"})
    assert run["status"] == "finished", run
    assert {s["name"]: s["status"] for s in run["steps"]} == {"write": "finished", "count": "finished",
                                                               "all": "finished"}  # fmt: skip
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["write"]["finished_at"] <= steps["count"]["started_at"]
    logs = await _logs(api, run)
    assert "writing hello-snake" in logs["write"] and "counting" in logs["count"]
    assert "counting" not in logs["write"]
    assert (await _read(api, run, "results/count.txt")).strip() == str(len("hello-snake\n"))
    # the Snakefile itself, submitted directly, its config given as parameters
    run = await _run(api, {"path": "smk/Snakefile", "parameters": {"message": "plain"}})
    assert run["status"] == "finished", run
    assert (await _read(api, run, "results/count.txt")).strip() == str(len("plain\n"))


async def test_a_failing_snakemake_rule_fails_its_step_with_its_log(api, workdir):
    (workdir / "smk" / "Snakefile").write_text(
        (DATA / "Snakefile").read_text().replace("echo counting;", "echo cannot count >&2; exit 3;")
    )
    run = await _run(api, {"path": "smk/reana.yaml"})
    assert run["status"] == "failed" and run["job"]["state"] == "failed"
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["write"]["status"] == "finished" and steps["count"]["status"] == "failed"
    assert "step 'count' failed" in run["message"]
    assert steps["all"]["status"] == "created"
    assert "cannot count" in (await _logs(api, run))["count"]


async def test_a_yadage_workflow_runs_with_yadage_and_packtivity(api, workdir):
    run = await _run(api, {"path": "yad/reana.yaml"})
    assert run["status"] == "finished", run
    assert [(s["name"], s["status"]) for s in run["steps"]] == [("write", "finished"), ("count", "finished")]
    logs = await _logs(api, run)
    assert "writing hello-yadage" in logs["write"] and "counting" in logs["count"]
    assert "workflow completed successfully" in logs[""]
    assert (await _read(api, run, "count/count.txt")).strip() == str(len("hello-yadage\n"))
    _, outputs = await api("GET", f"workflows/{run['id']}/outputs")
    assert {"count/count.txt", "write/said.txt"} <= {f["path"] for f in outputs["files"]}


@pytest.mark.parametrize(
    ("folder", "name", "text", "expected"),
    [
        ("cwl", "wf.cwl",
         "cwlVersion: v1.2\nclass: Workflow\ninputs: {}\noutputs: {}\nsteps:\n  a:\n"
         "    run: nope.cwl\n    in: {}\n    out: []\n",
         ["cwltool --validate refused wf.cwl", "wf.cwl:7:5:", "Field 'run'", "nope.cwl"]),
        ("smk", "Snakefile", 'rule a:\n    output: "x"\n    shel: "echo"\n',
         ["snakemake -n refused Snakefile", "line 2", "Unexpected keyword shel"]),
        ("yad", "workflow.yml",
         (DATA / "yadage_two_stages.yml").read_text().replace("scheduler_type: singlestep", "scheduler_typo: x", 1),
         ["yadage refused workflow.yml", "scheduler_type"]),
    ],
)  # fmt: skip
async def test_a_bad_workflow_of_each_type_is_a_400_with_the_engines_message(
    api, workdir, folder, name, text, expected
):
    (workdir / folder / name).write_text(text)
    code, body = await api("POST", "workflows", {"path": f"{folder}/reana.yaml"})
    assert code == 400, body
    message = body["error"]["message"]
    for part in expected:
        assert part in message, message
    assert "Traceback" not in message and "/tmp/" not in message
    code, direct = await api("POST", "workflows/validate", {"path": f"{folder}/{name}"})
    assert code == 400 and expected[0] in direct["error"]["message"]
    _, listed = await api("GET", "workflows")
    assert listed["total"] == 0
    assert not (workdir / "workflows").exists() or not any((workdir / "workflows").iterdir())


async def test_a_reana_spec_naming_a_missing_workflow_file_is_refused(api, workdir):
    code, body = await api("POST", "workflows", {"spec": "workflow: {type: cwl, file: missing.cwl}\n"})
    assert code == 404 and "missing.cwl" in body["error"]["message"]
    code, body = await api("POST", "workflows", {"spec": "workflow: {type: snakemake}\n"})
    assert code == 400 and "workflow.file" in body["error"]["message"]
    code, body = await api("POST", "workflows/validate", {"path": "cwl/reana.yaml"})
    assert code == 200 and body["workflow"]["form"] == "cwl"
    assert [s["name"] for s in body["workflow"]["steps"]] == ["write", "count"]


async def test_a_snakemake_run_stops_mid_rule_killing_the_engine(api, workdir):
    (workdir / "smk" / "Snakefile").write_text(
        'rule all:\n    input: "done.txt"\n\n'
        'rule long:\n    output: "done.txt"\n    shell: "echo $$ > pid.txt; echo begun; sleep 60; touch {output}"\n'
    )
    code, run = await api("POST", "workflows", {"path": "smk/Snakefile"})
    assert code == 202, run
    workspace = workdir / run["workspace"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while not ((workspace / "pid.txt").is_file() and (workspace / "pid.txt").read_text().strip()):
        assert loop.time() < deadline, "the rule never started"
        await asyncio.sleep(0.1)
    pid = int((workspace / "pid.txt").read_text())
    code, _ = await api("POST", f"workflows/{run['id']}/stop")
    assert code == 202
    run = await wait_run(api, run["id"])
    assert run["status"] == "stopped"
    steps = {s["name"]: s["status"] for s in run["steps"]}
    assert steps == {"long": "stopped", "all": "created"}
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    assert not (workspace / "done.txt").exists()


# ------------------------------------------------------------------------ CWL steps in containers
def test_a_cwl_workflow_runs_its_steps_in_their_images_with_cwltool_podman(
    tmp_path, container_engine_url, container_test_image
):
    import time

    from vrelab.jobs import JobManager, JobRegistry, JobStore
    from vrelab.workflows.service import WorkflowService

    root = tmp_path / "root"
    (root / "cwl").mkdir(parents=True)
    requirement = f"requirements:\n  DockerRequirement: {{dockerPull: '{container_test_image}'}}\n"
    text = (DATA / "cwl_two_steps.cwl").read_text().replace("inputs:\n", requirement + "inputs:\n", 1)
    # inside the image: its own /etc/passwd names root only, so the step proves where it ran
    text = text.replace('echo "writing $0";', 'echo "writing $0 as `cut -d: -f1 /etc/passwd`";')
    (root / "cwl" / "wf.cwl").write_text(text)
    svc = WorkflowService(root, concurrency=1, backend_options={"container": {"url": container_engine_url}})
    registry = JobRegistry()
    for kind in svc.job_kinds():
        registry.register(kind)
    jobs = JobManager(JobStore(tmp_path / "jobs.sqlite"), registry, workers=1, log_dir=tmp_path / "logs")
    svc.attach(jobs)
    try:
        run = svc.submit({"path": "cwl/wf.cwl", "parameters": {"message": "boxed"}, "backend": "container"}, "me")
        deadline = time.monotonic() + 180
        while (run := svc.get(run["id"], "me"))["job"]["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, run
            time.sleep(0.2)
        logs = svc.logs(run["id"], "me")
        assert run["status"] == "finished", (run, logs["workflow_logs"][-3000:])
        assert [(s["name"], s["status"], s["image"]) for s in run["steps"]] == [
            ("write", "finished", container_test_image),
            ("count", "finished", container_test_image),
        ]
        by_step = {s["name"]: s["logs"] for s in logs["steps"]}
        assert "writing boxed as root" in by_step["write"]
        assert "podman" in logs["workflow_logs"]
        workspace = root / run["workspace"]
        assert (workspace / "outputs" / "count.txt").read_text().strip() == str(len("boxed\n"))
        with pytest.raises(Exception, match="runs on the local or reana backend"):
            svc.submit({"spec": "rule a:\n  shell: 'true'\n", "backend": "container"}, "me")  # a Snakefile
    finally:
        jobs.shutdown()


def test_a_snakemake_run_survives_a_kill_9_of_its_server(tmp_path):
    import os
    import signal
    import time

    from servers import JupyterServerProcess

    server = JupyterServerProcess(tmp_path / "srv")
    (server.root / "smk").mkdir(parents=True)
    (server.root / "smk" / "Snakefile").write_text(
        'rule all:\n    input: "long.txt"\n\n'
        'rule first:\n    output: "first.txt"\n    shell: "echo first-output; echo 1 > {output}"\n\n'
        'rule long:\n    input: "first.txt"\n    output: "long.txt"\n'
        '    shell: "echo $$ > long.pid; echo long-started; sleep 120; touch {output}"\n'
    )
    server.start()
    try:
        r = server.request("POST", "workflows", json={"path": "smk/Snakefile"})
        assert r.status_code == 202, r.text
        run_id = r.json()["id"]
        workspace = server.root / r.json()["workspace"]
        deadline = time.monotonic() + 60
        while not ((workspace / "long.pid").is_file() and (workspace / "long.pid").read_text().strip()):
            assert time.monotonic() < deadline, "the long rule never started"
            time.sleep(0.1)
        pid = int((workspace / "long.pid").read_text())
        server.kill(signal.SIGKILL)

        server.start()
        run = server.request("GET", f"workflows/{run_id}").json()
        assert run["status"] == "failed" and run["job"]["state"] == "interrupted"
        steps = {s["name"]: s["status"] for s in run["steps"]}
        assert steps == {"first": "finished", "long": "failed", "all": "created"}
        logs = {s["name"]: s["logs"] for s in server.request("GET", f"workflows/{run_id}/logs").json()["steps"]}
        assert "first-output" in logs["first"] and "long-started" in logs["long"]
        assert server.request("GET", f"workflows/{run_id}/outputs/first.txt").text == "1\n"
        deadline = time.monotonic() + 10  # the engine the dead server left behind was stopped, steps and all
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the orphaned rule kept running")
    finally:
        server.stop()


async def test_an_engine_type_on_a_backend_that_cannot_run_it_and_a_snakefile_lacking_its_config_are_400s(api, workdir):
    code, body = await api("POST", "workflows/validate", {"path": "smk/reana.yaml", "backend": "container"})
    assert code == 400 and "runs on the local or reana backend, not on 'container'" in body["error"]["message"]
    code, body = await api("POST", "workflows/validate", {"path": "smk/Snakefile"})  # its config not given
    assert code == 400 and body["error"]["message"].startswith("snakemake -n refused Snakefile: RuleException in rule")
    assert "'message' is unknown" in body["error"]["message"]
    code, body = await api("POST", "workflows", {"path": "yad/reana.yaml", "backend": "container"})
    assert code == 400 and "yadage workflow runs on the local or reana backend" in body["error"]["message"]
    _, listed = await api("GET", "workflows")
    assert listed["total"] == 0
