"""Specs of the engine types (cwl, snakemake, yadage) and the parsers that turn each engine's
output into step events — no engine needed here (tests/integration/test_wf_languages.py runs them)."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import pytest

from vrelab.errors import SpecError, Unavailable
from vrelab.workflows.engines.cwl import CwlParser
from vrelab.workflows.engines.snakemake import SnakemakeParser
from vrelab.workflows.engines.venv import EngineVenv
from vrelab.workflows.engines.yadage import YadageParser
from vrelab.workflows.spec import parse_spec, spec_from_text


def test_a_reana_spec_of_each_engine_type_keeps_its_file_inputs_and_parameters():
    spec = spec_from_text(
        "inputs:\n  files: [code/a.py]\n  parameters: {input: inputs.yml, n: 3}\n"
        "workflow: {type: cwl, file: wf/main.cwl}\noutputs: {files: [outputs/x.txt]}\n"
    )
    assert spec.form == "cwl" and spec.engine is not None
    assert (spec.engine.file, spec.engine.input, spec.engine.text) == ("wf/main.cwl", "inputs.yml", "")
    assert spec.input_files == ("code/a.py", "inputs.yml") and spec.parameters == {"n": "3"}
    again = parse_spec(spec.to_dict())  # the stored form (job parameters, records) reads back the same
    assert again == spec
    reana = spec.to_reana()
    assert reana["workflow"] == {"type": "cwl", "file": "wf/main.cwl"}
    assert reana["inputs"]["parameters"] == {"n": "3", "input": "inputs.yml"}
    yad = spec_from_text("workflow:\n  type: yadage\n  specification: {stages: []}\n")
    assert yad.engine is not None and yad.engine.file == "workflow.yml" and "stages: []" in yad.engine.text
    with pytest.raises(SpecError, match=r"inputs.parameters.input.*relative"):
        spec_from_text("inputs: {parameters: {input: /etc/passwd}}\nworkflow: {type: snakemake, file: Snakefile}\n")


def test_plain_engine_files_are_recognised_and_take_any_parameter():
    cwl = spec_from_text("cwlVersion: v1.2\nclass: CommandLineTool\n", filename="tool.cwl")
    assert (cwl.form, cwl.name, cwl.engine.file) == ("cwl", "tool", "tool.cwl")  # type: ignore[union-attr]
    smk = spec_from_text("rule all:\n    input: 'x'\n")
    assert smk.form == "snakemake" and smk.engine.file == "Snakefile"  # type: ignore[union-attr]
    assert spec_from_text("print(1)\n", filename="Snakefile").form == "snakemake"
    yad = spec_from_text("stages:\n  - name: a\n")
    assert yad.form == "yadage"
    assert cwl.with_parameters({"message": "hi"}).parameters == {"message": "hi"}
    with pytest.raises(SpecError, match="reserved"):
        cwl.with_parameters({"LD_PRELOAD": "x"})


def test_cwltool_lines_become_step_events():
    parser = CwlParser(["write", "count"])
    kinds = []
    for line in [
        "INFO [workflow ] start",
        "INFO [step write] start",
        "INFO [job write] /tmp/x$ sh -c 'echo hi'",
        "hi",
        "INFO [job write] completed success",
        "INFO [step write] completed success",
        "INFO [step count] start",
        "oops",
        "WARNING [job count] completed permanentFail",
        "WARNING [step count] completed permanentFail",
    ]:
        kinds += [(e.kind, e.step, e.ok) for e in parser.feed(line) if e.kind != "engine"]
    assert ("start", "write", True) in kinds and ("end", "write", True) in kinds
    assert ("output", "write", True) in kinds and ("output", "count", True) in kinds
    assert kinds[-1] == ("end", "count", False)


def test_snakemake_lines_become_step_events_per_rule():
    parser = SnakemakeParser(["write", "count", "all"])
    events = []
    for line in [
        "localrule write:", "    output: said.txt", "    jobid: 2", "    resources: tmpdir=/tmp", "writing hello",
        "[Fri Dec  4 22:26:49 2026]", "Finished jobid: 2 (Rule: write)", "1 of 3 steps (33%) done",
        "rule count:", "    jobid: 1", "cannot count", "Error in rule count:", "    jobid: 1",
    ]:  # fmt: skip
        events += [(e.kind, e.step, e.text.strip()) for e in parser.feed(line) if e.kind != "engine"]
    assert events == [
        ("start", "write", ""), ("output", "write", "writing hello"), ("end", "write", ""),
        ("start", "count", ""), ("output", "count", "cannot count"),
        ("end", "count", "snakemake: error in rule count"),
    ]  # fmt: skip


def test_yadage_lines_become_step_events_per_stage():
    parser = YadageParser(["write", "count"])
    pre = "2026-12-04 22:27:19,794 |"
    events = []
    for line in [
        f"{pre}           adage.node |   INFO | node ready </init:0|success|known>",
        f"{pre}      pack.write.step |   INFO | starting file logging for topic: step",
        "writing hello",
        f"{pre}           adage.node |   INFO | node ready </write:0|success|known>",
        f"{pre}      pack.count.step |   INFO | running ['sh', '-c', 'false']",
        f"{pre}           adage.node |   INFO | node ready </count:0|failed|known>",
    ]:
        events += [(e.kind, e.step, e.ok) for e in parser.feed(line) if e.kind != "engine"]
    assert events == [
        ("start", "write", True), ("output", "write", True), ("output", "write", True), ("end", "write", True),
        ("start", "count", True), ("output", "count", True), ("end", "count", False),
    ]  # fmt: skip


def test_an_engine_venv_that_cannot_be_built_says_why_and_leaves_nothing(tmp_path: Path):
    venv = EngineVenv("nosuch", "0", ("vrelab-no-such-package-anywhere==0.0.0",), "import nosuch", root=tmp_path)
    with pytest.raises(Unavailable, match=r"The nosuch engine cannot be set up: pip install .* failed: .*"):
        venv.ensure()
    assert not venv.path.exists() and not venv.is_ready()


def test_concurrent_first_uses_wait_for_one_build(tmp_path: Path):
    venv = EngineVenv("tiny", "1", (), "import json", root=tmp_path)
    lock = venv.path.with_name(venv.path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    builds: list[str] = []
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process is building it
        threads = [threading.Thread(target=venv.ensure, args=(builds.append,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(0.5)
        assert all(t.is_alive() for t in threads) and not venv.path.exists()
        fcntl.flock(held, fcntl.LOCK_UN)
    for t in threads:
        t.join(120)
    assert venv.is_ready()
    assert sum(1 for b in builds if b.startswith("creating")) == 1  # the second found it built
