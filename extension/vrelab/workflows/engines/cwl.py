"""CWL workflows through ``cwltool`` (the CWL reference runner), from its own venv.

Validation is ``cwltool --validate`` (its messages name file, line, column and field). A run is
``cwltool --outdir outputs [--no-container] workflow.cwl job.json`` in the run's workspace, the job
file holding the run's parameters (each value read as YAML, so ``3`` is a number) on top of the CWL
job file REANA calls ``inputs.parameters.input``. cwltool's log lines ``[step NAME] start`` /
``[job NAME] completed success`` become the step records (on the container backend each step runs
in its ``DockerRequirement`` image through the podman command: ``--podman`` when rootless, cwltool's
docker mode with ``docker`` being podman when root, as rootful podman refuses ``--userns=keep-id``);
a tool's output, printed between them, goes to the step's log. Outputs land in the workspace's
``outputs/`` folder, as on REANA.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, ClassVar

import yaml

from ...errors import SpecError
from ..spec import WorkflowSpec
from .base import Engine, EngineStep, Event, LogParser, strip_ansi
from .venv import EngineVenv

__all__ = ["CwlEngine"]

VERSION = "3.3.20260925135507"
_LINE = re.compile(r"^(?:INFO|WARNING|ERROR|DEBUG)?\s*\[(step|job|workflow) ?([^\]]*)\]\s*(.*)$")


class CwlParser(LogParser):
    def __init__(self, steps: list[str]):
        super().__init__(steps)
        self.running: list[str] = []

    def feed(self, line: str) -> list[Event]:
        text = strip_ansi(line)
        match = _LINE.match(text)
        if match is None:
            if text.startswith(("INFO ", "WARNING ", "ERROR ", "DEBUG ")):
                return [Event("engine", text=text)]
            return [Event("output", self.running[-1] if self.running else None, text + "\n")]
        kind, name, rest = match.groups()
        step = self.step_of(name.strip()) if kind != "workflow" else None
        if step is None:
            return [Event("engine", text=text)]
        if kind == "step" and rest == "start":
            if step not in self.running:
                self.running.append(step)
            return [Event("engine", text=text), Event("start", step)]
        if kind == "step" and rest.startswith("completed"):
            ok = rest.endswith("success")
            if step in self.running:
                self.running.remove(step)
            return [Event("engine", text=text), Event("end", step, ok=ok, text="" if ok else f"cwltool: {rest}")]
        if kind == "job" and rest.startswith("completed") and len(self.steps) == 1 and step not in self.running:
            ok = rest.endswith("success")  # a CommandLineTool run directly: no [step] lines
            return [Event("end", step, ok=ok, text="" if ok else f"cwltool: {rest}")]
        if kind == "job" and len(self.steps) == 1 and step not in self.running and "$" in rest:
            self.running.append(step)
            return [Event("start", step), Event("output", step, text + "\n")]
        return [Event("output", step, text + "\n")]


def _job_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


class CwlEngine(Engine):
    name: ClassVar[str] = "cwl"
    program: ClassVar[str] = "cwltool"
    venv: ClassVar[EngineVenv] = EngineVenv("cwltool", VERSION, (f"cwltool=={VERSION}",), "import cwltool.main")
    merge_stdout: ClassVar[bool] = False
    runs_in_containers: ClassVar[bool] = True

    def validate(self, folder: Path, spec: WorkflowSpec) -> list[EngineStep]:
        assert spec.engine is not None
        self.venv.ensure()
        out = self.run_check(
            [str(self.venv.bin("cwltool")), "--disable-color", "--validate", spec.engine.file], folder, "validate"
        )
        if out.returncode != 0:
            said = strip_ansi(out.stdout + "\n" + out.stderr).splitlines()  # cwltool logs to either
            lines = [ln for ln in said if "Resolved '" not in ln and "cwltool " not in ln]
            message = self.clean_message("\n".join(lines), folder).removeprefix("ERROR ").strip()
            raise SpecError(f"cwltool --validate refused {spec.engine.file}: {message}", details={"engine": "cwltool"})
        return self._steps(spec)

    @staticmethod
    def _steps(spec: WorkflowSpec) -> list[EngineStep]:
        assert spec.engine is not None
        try:
            doc = yaml.safe_load(spec.engine.text)
        except yaml.YAMLError as exc:
            raise SpecError(f"{spec.engine.file} is not valid YAML: {exc}") from None
        if isinstance(doc, dict) and "$graph" in doc:
            graph = [d for d in doc["$graph"] if isinstance(d, dict)]
            doc = next((d for d in graph if str(d.get("id", "")).lstrip("#") == "main"), graph[0] if graph else {})
        if not isinstance(doc, dict):
            raise SpecError(f"{spec.engine.file} is not a CWL document.")
        image = _docker(doc)
        if doc.get("class") != "Workflow":
            return [EngineStep(spec.engine.file.rsplit("/", 1)[-1].split(".")[0], image)]
        raw = doc.get("steps") or {}
        items = raw.items() if isinstance(raw, dict) else ((s.get("id"), s) for s in raw if isinstance(s, dict))
        steps = []
        for name, body in items:
            run = body.get("run") if isinstance(body, dict) else None
            steps.append(EngineStep(str(name).lstrip("#"), (_docker(run) if isinstance(run, dict) else "") or image))
        return steps

    def command(
        self, spec: WorkflowSpec, workspace: Path, scratch: Path, cores: int, *, containers: bool = False
    ) -> list[str]:
        assert spec.engine is not None
        job: dict[str, Any] = {}
        if spec.engine.input:
            loaded = yaml.safe_load((workspace / spec.engine.input).read_text()) or {}
            if isinstance(loaded, dict):
                job.update(loaded)
        job.update({k: _job_value(v) for k, v in spec.parameters.items()})
        scratch.mkdir(parents=True, exist_ok=True)
        job_file = scratch / "job.json"
        job_file.write_text(json.dumps(job, indent=1))
        argv = [str(self.venv.bin("cwltool")), "--disable-color", "--outdir", "outputs"]
        argv += ["--tmpdir-prefix", f"{scratch}/tmp-", "--tmp-outdir-prefix", f"{scratch}/out-"]
        if not containers:
            argv += ["--no-container"]
        elif os.geteuid() != 0:
            argv += ["--podman"]  # rootless podman: cwltool's own podman mode (--userns=keep-id)
        else:
            # rootful podman refuses keep-id, which cwltool's podman mode always asks for: run cwltool's
            # docker mode with "docker" being podman (the same CLI), so the steps run as root:root
            shim = scratch / "bin" / "docker"
            shim.parent.mkdir(parents=True, exist_ok=True)
            shim.write_text('#!/bin/sh\nexec podman "$@"\n')
            shim.chmod(0o755)
        argv += [spec.engine.file, str(job_file)]
        return argv

    def parser(self, steps: list[str]) -> LogParser:
        return CwlParser(steps)

    def after(self, workspace: Path, scratch: Path, stdout: str) -> list[str]:
        try:
            result = json.loads(stdout) if stdout.strip() else {}
        except ValueError:
            return []
        lines = []
        for key, value in result.items() if isinstance(result, dict) else []:
            if isinstance(value, dict) and value.get("path"):
                path = Path(value["path"])
                shown = path.relative_to(workspace).as_posix() if path.is_relative_to(workspace) else path.name
                lines.append(f"cwltool output {key}: {shown}")
        return lines


def _docker(doc: Any) -> str:
    for section in ("requirements", "hints"):
        items = doc.get(section) if isinstance(doc, dict) else None
        if isinstance(items, dict):
            items = [{"class": k, **(v or {})} for k, v in items.items()]
        for item in items or []:
            if isinstance(item, dict) and item.get("class") == "DockerRequirement":
                return str(item.get("dockerPull") or item.get("dockerImageId") or "")
    return ""
