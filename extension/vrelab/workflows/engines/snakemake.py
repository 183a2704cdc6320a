"""Snakefiles through ``snakemake``, from its own venv.

Validation is snakemake's own dry run (``snakemake -n``): a syntax error comes back with the
Snakefile's line, a rule with missing inputs with its name; the jobs it would run give the steps
(one per rule). A run is ``snakemake --cores N --nocolor --config k=v ...`` in the run's workspace
(the run's parameters are its config, each value read as YAML by snakemake; REANA's
``inputs.parameters.input`` names a config file, passed with ``--configfile``). snakemake's
``rule NAME:`` / ``Finished jobid: N (Rule: NAME)`` / ``Error in rule NAME:`` lines become the step
records; a job's own output, printed between them, goes to its rule's log.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from ...errors import SpecError
from ..spec import WorkflowSpec
from .base import Engine, EngineStep, Event, LogParser, strip_ansi
from .venv import EngineVenv

__all__ = ["SnakemakeEngine"]

VERSION = "9.27.1"
_RULE = re.compile(r"^(?:local)?(?:rule|checkpoint) (\S+):$")
_JOBID = re.compile(r"^\s+jobid: (\d+)$")
_FINISHED = re.compile(r"^Finished job(?:id:)? (\d+)\.?(?: \(Rule: (\S+)\))?")
_COUNT = re.compile(r"^\S+\s+\d+$")  # a row of the job stats table
_ERROR = re.compile(r"^Error in rule (\S+):$")
_ENGINE = re.compile(
    r"^(\[\w{3} \w{3} .*\]|\s+(input|output|log|jobid|reason|resources|wildcards|threads|shell|message|"
    r"conda-env|container|benchmark|priority|params|affected files|exitcode|wildcards):.*|Select jobs to execute.*|"
    r"Execute \d+ jobs.*|\d+ of \d+ steps .* done|Building DAG.*|Using shell.*|Provided cores.*|Rules claiming.*|"
    r"Job stats:|job\s+count|-+\s+-+|total\s+\d+|Complete log.*|Elapsed time.*|Assuming unrestricted.*|"
    r"Shutting down.*|Exiting because.*|Removing output files.*|Nothing to be done.*)$"
)


class SnakemakeParser(LogParser):
    def __init__(self, steps: list[str]):
        super().__init__(steps)
        self.jobs: dict[str, str] = {}  # jobid -> rule
        self.pending: str | None = None  # a rule header seen, its jobid not yet
        self.running: list[str] = []  # job ids, in start order
        self.in_header = False

    def _current(self) -> str | None:
        return self.jobs.get(self.running[-1]) if self.running else None

    def feed(self, line: str) -> list[Event]:
        text = strip_ansi(line).rstrip()
        if (m := _RULE.match(text)) and m.group(1) in self.steps:
            self.pending = m.group(1)
            self.in_header = True
            return [Event("engine", text=text)]
        if self.pending and (m := _JOBID.match(text)):
            rule, self.pending = self.pending, None
            self.jobs[m.group(1)] = rule
            self.running.append(m.group(1))
            return [Event("engine", text=text), Event("start", rule)]
        if m := _FINISHED.match(text):
            job = m.group(1)
            rule = self.jobs.get(job) or m.group(2)
            if job in self.running:
                self.running.remove(job)
            self.in_header = False
            if rule in self.steps and not any(self.jobs.get(j) == rule for j in self.running):
                return [Event("engine", text=text), Event("end", rule, ok=True)]
            return [Event("engine", text=text)]
        if (m := _ERROR.match(text)) and m.group(1) in self.steps:
            rule = m.group(1)
            self.running = [j for j in self.running if self.jobs.get(j) != rule]
            self.in_header = False
            return [Event("engine", text=text), Event("end", rule, ok=False, text="snakemake: error in rule " + rule)]
        if not text.strip():
            return []
        if _ENGINE.match(text) or (self.in_header and text.startswith("    ")):
            return [Event("engine", text=text)]
        self.in_header = False
        current = self._current()
        if current is None:
            return [Event("engine", text=text)]
        return [Event("output", current, text + "\n")]


class SnakemakeEngine(Engine):
    name: ClassVar[str] = "snakemake"
    program: ClassVar[str] = "snakemake"
    venv: ClassVar[EngineVenv] = EngineVenv(
        "snakemake", VERSION, (f"snakemake=={VERSION}",), "import snakemake, snakemake.cli"
    )

    def _args(self, spec: WorkflowSpec) -> list[str]:
        assert spec.engine is not None
        args = ["--snakefile", spec.engine.file, "--nocolor"]
        if spec.engine.input:
            args += ["--configfile", spec.engine.input]
        if spec.parameters:
            args += ["--config", *(f"{k}={v}" for k, v in spec.parameters.items())]
        return args

    def validate(self, folder: Path, spec: WorkflowSpec) -> list[EngineStep]:
        assert spec.engine is not None
        self.venv.ensure()
        argv = [str(self.venv.bin("snakemake")), "-n", "--cores", "1", *self._args(spec)]
        out = self.run_check(argv, folder, "check the Snakefile (dry run)")
        text = strip_ansi(out.stdout + "\n" + out.stderr)
        if out.returncode != 0:
            lines = [ln for ln in text.splitlines() if ln.strip() and not _ENGINE.match(ln) and not _COUNT.match(ln)]
            first = next((i for i, ln in enumerate(lines) if "Error" in ln or "Exception" in ln), None)
            lines = lines[first:] if first is not None else lines  # from snakemake's error on
            problem = self.clean_message("\n".join(lines) or text, folder)
            raise SpecError(f"snakemake -n refused {spec.engine.file}: {problem}", details={"engine": "snakemake"})
        rules: list[str] = []
        table = False
        for line in text.splitlines():
            s = line.strip()
            if s == "Job stats:":
                table = True
            elif table and (s.startswith("total") or not s):
                if rules:
                    break
            elif table and not s.startswith(("job", "-")):
                name = s.split()[0]
                if name not in rules:
                    rules.append(name)
        if not rules:
            raise SpecError(
                f"snakemake -n found nothing to do in {spec.engine.file}: the targets exist already or it has no rule."
            )
        return [EngineStep(r) for r in rules]

    def command(
        self, spec: WorkflowSpec, workspace: Path, scratch: Path, cores: int, *, containers: bool = False
    ) -> list[str]:
        return [str(self.venv.bin("snakemake")), "--cores", str(max(1, cores)), *self._args(spec)]

    def parser(self, steps: list[str]) -> LogParser:
        return SnakemakeParser(steps)
