"""Yadage workflows (stages of packtivity steps, the form ATLAS preserves RECAST analyses in),
through ``yadage-run`` from its own venv — yadage's pins (``jsonschema`` 4.9) break
jupyterlab-server when both share one environment.

Validation checks the workflow against yadage's own schemas (``engineside/yadage_check.py`` in the
yadage venv: the field path and the schema's complaint); its stages are the steps. A run is
``yadage-run . workflow.yml -t . -p name=value ...`` in the run's workspace (the workspace is
yadage's work directory: each stage writes its own folder there, ``_yadage/`` holds yadage's
state). The run's parameters are the workflow's init data (each value read as YAML by yadage).
packtivity's ``pack.<stage>.step`` lines and adage's ``node ready </stage:0|success|...>``
become the step records. Steps run where their ``environment`` says: ``localproc-env`` on this
machine, ``docker-encapsulated`` through the docker command.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import ClassVar

from ...errors import SpecError
from ..spec import WorkflowSpec
from .base import Engine, EngineStep, Event, LogParser, strip_ansi
from .venv import EngineVenv

__all__ = ["YadageEngine"]

VERSION = "0.21.2"
PACKTIVITY = "0.17.1"
_CHECK_SCRIPT = Path(__file__).parent / "engineside" / "yadage_check.py"
_LOGLINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ \|\s*(\S+) \|\s*(\w+) \| (.*)$")
_PACK = re.compile(r"^pack\.(.+)\.step$")
_NODE = re.compile(r"node ready </([^:|>]+):\d+\|(\w+)\|")


class YadageParser(LogParser):
    def __init__(self, steps: list[str]):
        super().__init__(steps)
        self.running: list[str] = []

    def step_of(self, name: str) -> str | None:
        if name in self.steps:
            return name
        for step in sorted(self.steps, key=len, reverse=True):  # a multistep stage's "stage_0", ...
            if name.startswith(step):
                return step
        return None

    def feed(self, line: str) -> list[Event]:
        text = strip_ansi(line).rstrip()
        m = _LOGLINE.match(text)
        if m is None:
            if not text.strip():
                return []
            if self.running:
                return [Event("output", self.running[-1], text + "\n")]
            return [Event("engine", text=text)]
        logger, _level, message = m.groups()
        events = [Event("engine", text=text)]
        if (p := _PACK.match(logger)) and (step := self.step_of(p.group(1))):
            if step not in self.running:
                self.running.append(step)
                events.append(Event("start", step))
            events.append(Event("output", step, message + "\n"))
        elif (n := _NODE.search(message)) and (step := self.step_of(n.group(1))):
            ok = n.group(2) == "success"
            if step in self.running:
                self.running.remove(step)
            events.append(Event("end", step, ok=ok, text="" if ok else f"yadage: the stage's step {n.group(2)}"))
        return events


class YadageEngine(Engine):
    name: ClassVar[str] = "yadage"
    program: ClassVar[str] = "yadage"
    venv: ClassVar[EngineVenv] = EngineVenv(
        "yadage", VERSION, (f"yadage=={VERSION}", f"packtivity=={PACKTIVITY}"),
        "import yadage.steering_api, packtivity, yadageschemas",
    )  # fmt: skip

    def _toplevel(self, spec: WorkflowSpec) -> tuple[str, str]:
        assert spec.engine is not None
        folder, _, name = spec.engine.file.rpartition("/")
        return folder or ".", name

    def validate(self, folder: Path, spec: WorkflowSpec) -> list[EngineStep]:
        assert spec.engine is not None
        self.venv.ensure()
        top, name = self._toplevel(spec)
        out = self.run_check([str(self.venv.python), str(_CHECK_SCRIPT), name, top], folder, "validate")
        if out.returncode != 0:
            problem = self.clean_message(out.stdout.strip() or out.stderr, folder, keep=2)
            raise SpecError(f"yadage refused {spec.engine.file}: {problem}", details={"engine": "yadage"})
        stages = json.loads(out.stdout.strip().splitlines()[-1])["stages"]
        if not stages:
            raise SpecError(f"The yadage workflow {spec.engine.file} has no stages.")
        return [EngineStep(str(s)) for s in stages]

    def command(
        self, spec: WorkflowSpec, workspace: Path, scratch: Path, cores: int, *, containers: bool = False
    ) -> list[str]:
        top, name = self._toplevel(spec)
        argv = [str(self.venv.bin("yadage-run")), "--accept-metadir", ".", name, "-t", top]
        for key, value in spec.parameters.items():
            argv += ["-p", f"{key}={value}"]
        return argv

    def parser(self, steps: list[str]) -> LogParser:
        return YadageParser(steps)
