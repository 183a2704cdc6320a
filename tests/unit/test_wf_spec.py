"""Workflow specs: both forms, every validation error, and parameters that cannot inject commands."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vrelab.errors import BadRequest, NotFound
from vrelab.jobs import JobManager, JobRegistry, JobStore
from vrelab.workflows.backends import BackendRegistry, BackendSettings
from vrelab.workflows.service import WorkflowService
from vrelab.workflows.spec import SpecError, spec_from_text

REANA = """
version: 0.9.0
inputs:
  files: [code/gen.py]
  parameters: {nevents: 1000, label: test}
workflow:
  type: serial
  specification:
    steps:
      - environment: python:3.11-slim
        commands:
          - python code/gen.py "${nevents}"
      - name: fit
        environment: python:3.11-slim
        commands: [echo fit, echo done]
outputs:
  files: [results/fit.json]
"""

DAG = """
name: diamond
steps:
  - {name: join, image: busybox, command: "cat a b", needs: [left, right], inputs: [a, b]}
  - {name: left, image: busybox, command: "echo a > a", outputs: [a]}
  - {name: right, image: busybox, command: "echo b > b", outputs: [b]}
"""


def test_reana_serial_spec_is_read_with_default_names_and_a_chain_of_needs():
    spec = spec_from_text(REANA)
    assert spec.form == "serial"
    assert [s.name for s in spec.steps] == ["step1", "fit"]
    assert spec.steps[1].needs == ("step1",) and spec.steps[0].needs == ()
    assert spec.steps[0].image == "python:3.11-slim"
    assert spec.parameters == {"nevents": "1000", "label": "test"}
    assert spec.input_files == ("code/gen.py",) and spec.output_files == ("results/fit.json",)
    assert spec.steps[1].script == "set -e\necho fit\necho done\n"
    assert spec.to_reana()["workflow"]["specification"]["steps"][1]["commands"] == ["echo fit", "echo done"]


def test_dag_steps_come_in_an_order_where_each_follows_what_it_needs():
    spec = spec_from_text(DAG)
    order = [s.name for s in spec.steps]
    assert order.index("join") > order.index("left") and order.index("join") > order.index("right")
    assert spec.name == "diamond" and spec.form == "dag"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps:\n  - name: a\n   image: [x\n", r"not valid YAML at line 3, column 4"),
        ("workflow: {type: serial, specification: {steps: [{commands: [ls]}]}}",
         r"Step 'step1' \(line 1\) has no container image: give 'environment'"),
        ("steps:\n  - {name: a, command: ls}\n", r"Step 'a' \(line 2\) has no container image: give 'image'"),
        ("steps:\n  - {name: a, image: x, command: ls, needs: [b]}\n",
         r"Step 'a' needs 'b', but there is no step of that name"),
        ("steps:\n  - {name: a, image: x, command: ls, needs: [c]}\n  - {name: b, image: x, command: ls, needs: [a]}\n"
         "  - {name: c, image: x, command: ls, needs: [b]}\n", r"form a cycle: a -> c -> b -> a"),
        ("steps:\n  - {name: a, image: x, command: ls}\n  - {name: a, image: x, command: ls}\n", r"same name"),
        ("steps:\n  - {name: a, image: x}\n", r"needs 'commands'"),
        ("workflow: {type: nextflow, file: main.nf}", r"Workflow type 'nextflow' \(line 1\) is not supported"),
        ("workflow: {type: cwl}", r"needs 'workflow.file'"),
        ("workflow: {type: snakemake, specification: {rules: 1}}", r"must be its document as a mapping"),
        ("inputs: {parameters: {PATH: /evil}}\nsteps: [{name: a, image: x, command: ls}]",
         r"'PATH' \(line 1\) is reserved"),
        ("inputs: {parameters: {'a b': 1}}\nsteps: [{name: a, image: x, command: ls}]", r"Parameter name 'a b'"),
        ("inputs: {files: [../secret]}\nsteps: [{name: a, image: x, command: ls}]", r"without '\.\.'"),
        ("steps:\n  - {name: a, image: x, command: ls, outputs: [f]}\n"
         "  - {name: b, image: x, command: ls, inputs: [f]}\n",
         r"Step 'b' reads 'f', which step 'a' writes, but does not need it"),
        ("steps: [{name: a, image: x, command: ls, resources: {gpus: 1}}]", r"unknown resource\(s\) gpus"),
        ("42", r"must be a mapping"),
        ("\u00e9\u00cd\u0085\u00b9\u00de\u00d7\n", r"characters YAML cannot read"),
        ("", r"is empty"),
    ],
)  # fmt: skip
def test_invalid_specs_are_refused_saying_where_and_why(text, message):
    with pytest.raises(SpecError, match=message) as info:
        spec_from_text(text)
    assert info.value.status == 400


def test_cycle_error_names_the_cycle_in_its_details():
    with pytest.raises(SpecError) as info:
        spec_from_text("steps:\n  - {name: a, image: x, command: ls, needs: [a]}\n")
    assert info.value.details["cycle"] == ["a", "a"]


def test_parameters_can_be_given_new_values_but_not_invented():
    spec = spec_from_text(REANA)
    assert spec.with_parameters({"nevents": 5, "label": True}).parameters == {"nevents": "5", "label": "true"}
    with pytest.raises(SpecError, match=r"no parameter\(s\) 'nevnts'; its parameters: label, nevents"):
        spec.with_parameters({"nevnts": 5})
    with pytest.raises(SpecError, match="must be a text, a number"):
        spec.with_parameters({"nevents": [1, 2]})


def test_an_unknown_backend_is_refused_naming_the_available_ones(tmp_path):
    registry = BackendRegistry(BackendSettings(tmp_path, tmp_path / "runs"), {"dask": {"enabled": False}})
    assert "local" in registry.names() and "dask" not in registry.names()
    with pytest.raises(
        BadRequest, match=r"Unknown workflow backend 'kubernetes'. Backends on this server: local"
    ) as info:
        registry.get("kubernetes")
    assert info.value.code == "unknown_backend"
    with pytest.raises(BadRequest, match=r"'dask' \(disabled by VRELab.workflow_backends\)"):
        registry.get("dask")


@pytest.fixture
def service(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    svc = WorkflowService(root, concurrency=2)
    registry = JobRegistry()
    for kind in svc.job_kinds():
        registry.register(kind)
    jobs = JobManager(JobStore(tmp_path / "jobs.sqlite"), registry, workers=2, log_dir=tmp_path / "logs")
    svc.attach(jobs)
    yield svc
    jobs.shutdown()


def _wait(svc: WorkflowService, run_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = svc.get(run_id, "me")
        if run["job"]["state"] not in ("queued", "running"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end")


@pytest.mark.parametrize(
    "shape", ["x; touch {p}", "$(touch {p})", "`touch {p}`", "'; touch {p}; echo '", '"; touch {p}; "']
)
def test_parameter_values_never_run_as_commands(service, tmp_path, shape):
    pwned = tmp_path / "pwned"
    value = shape.format(p=pwned)
    spec = (
        "inputs: {parameters: {msg: hello}}\n"
        "steps:\n"
        "  - name: echo\n"
        "    image: busybox\n"
        "    commands: ['printf %s \"${msg}\" > out.txt', 'echo ${msg} >> words.txt']\n"
    )
    run = _wait(service, service.submit({"spec": spec, "parameters": {"msg": value}}, "me")["id"])
    assert run["status"] == "finished", run
    assert not pwned.exists(), "a parameter value was executed"
    workspace = Path(service.root_dir) / run["workspace"]
    assert (workspace / "out.txt").read_text() == value
    assert run["parameters"]["msg"] == value


def test_bad_submissions_leave_nothing_behind(service):
    with pytest.raises(SpecError, match="line 3"):
        service.submit({"spec": "steps:\n  - name: a\n   image: [x\n"}, "me")
    with pytest.raises(BadRequest, match="Unknown workflow backend 'nope'"):
        service.submit({"spec": DAG, "backend": "nope"}, "me")
    with pytest.raises(NotFound, match="Input 'code/gen.py' of the workflow was not found"):
        service.submit({"spec": REANA}, "me")
    with pytest.raises(BadRequest, match="exactly one of 'spec'"):
        service.submit({}, "me")
    assert service.list("me")["total"] == 0
    assert not service.runs_dir.exists() or not any(service.runs_dir.iterdir())
