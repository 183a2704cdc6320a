"""What every workflow engine (cwltool, snakemake, yadage) provides to vrelab.

An :class:`Engine` knows its venv (pins), how to validate a workflow of its type in a folder (its
own validator: the steps it will run, or a :class:`~vrelab.errors.SpecError` with the engine's
message), the command that runs it in a run's workspace, and a :class:`LogParser` that turns the
engine's output, line by line, into step events for the run record.
"""

from __future__ import annotations

import os
import re
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ...errors import SpecError
from ..spec import WorkflowSpec
from ..stepproc import step_environment
from .venv import EngineVenv

__all__ = ["Engine", "EngineStep", "Event", "LogParser", "strip_ansi"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
VALIDATE_TIMEOUT = 300.0


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


@dataclass(frozen=True)
class EngineStep:
    """A step the engine will run (a CWL step, a Snakemake rule, a Yadage stage)."""

    name: str
    image: str = ""


@dataclass(frozen=True)
class Event:
    """What one line of engine output means: a step ``start``\\ed, ``end``\\ed, or ``output`` of a step
    (``step`` None: the step running now); ``engine`` lines belong to the run's own log."""

    kind: str  # start | end | output | engine
    step: str | None = None
    text: str = ""
    ok: bool = True
    exit_code: int | None = None


class LogParser(ABC):
    """Turns engine output into events; ``steps`` are the names validation found."""

    def __init__(self, steps: list[str]):
        self.steps = steps

    def step_of(self, name: str) -> str | None:
        """The known step a name of the engine's means (``count_2`` of a scatter is ``count``)."""
        if name in self.steps:
            return name
        base = re.sub(r"_\d+$", "", name)
        if base in self.steps:
            return base
        return self.steps[0] if len(self.steps) == 1 else None

    @abstractmethod
    def feed(self, line: str) -> list[Event]:
        """Events of one line (without its newline)."""


class Engine(ABC):
    name: ClassVar[str]  # the reana.yaml workflow type
    program: ClassVar[str]  # the engine's name for users
    venv: ClassVar[EngineVenv]
    merge_stdout: ClassVar[bool] = True  # False: the engine's stdout is a result document, kept apart
    runs_in_containers: ClassVar[bool] = False  # True: can run each step in its image through podman

    @abstractmethod
    def validate(self, folder: Path, spec: WorkflowSpec) -> list[EngineStep]:
        """Check the workflow (its main file and inputs are in ``folder``) with the engine's own
        validator; the steps it will run, or :class:`SpecError` with the engine's message."""

    @abstractmethod
    def command(
        self, spec: WorkflowSpec, workspace: Path, scratch: Path, cores: int, *, containers: bool = False
    ) -> list[str]:
        """The command line that runs ``spec`` in ``workspace`` (``scratch``: a folder for the engine's
        temporary files, outside the workspace); ``containers``: each step in its image, through the
        podman command (only engines in :attr:`container_types`)."""

    @abstractmethod
    def parser(self, steps: list[str]) -> LogParser:
        """A parser for one run's output."""

    def after(self, workspace: Path, scratch: Path, stdout: str) -> list[str]:
        """Lines for the run's log once the engine ended (e.g. the outputs it reported)."""
        return []

    # helpers ------------------------------------------------------------------------------------
    def run_check(self, argv: list[str], folder: Path, what: str) -> subprocess.CompletedProcess[str]:
        env = step_environment({})  # never the server's PYTHONPATH & co.: the engine's venv alone
        env["PATH"] = os.pathsep.join([str(self.venv.path / "bin"), env["PATH"]])
        try:
            return subprocess.run(
                argv, cwd=folder, capture_output=True, text=True, timeout=VALIDATE_TIMEOUT, check=False,
                stdin=subprocess.DEVNULL, env=env,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise SpecError(f"{self.program} took more than {VALIDATE_TIMEOUT:g} s to {what}.") from None

    @staticmethod
    def clean_message(text: str, folder: Path, keep: int = 6) -> str:
        """The engine's message, without colours, temporary paths, and at most ``keep`` lines."""
        lines = []
        for raw in strip_ansi(text).splitlines():
            line = raw.replace(f"file://{folder}/", "").replace(f"{folder}/", "").replace(str(folder), ".")
            if line.strip():
                lines.append(line.rstrip())
        return "\n".join(lines[-keep:])
