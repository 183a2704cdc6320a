"""The ``local`` backend (the default): each step a shell process on the server's machine.

Steps run in the run's workspace (inside the server root), in parallel where ``needs`` allows and
at most ``VRELab.workflow_concurrency`` CPU slots at a time. The step's image is recorded but not
used: the commands run with the server's own software (its Python first on ``PATH``), which is
what a notebook user has at hand. Use the ``container`` backend to run them in their images.
"""

from __future__ import annotations

import subprocess
from typing import ClassVar

from ..scheduler import StepResult, run_dag
from ..spec import Step
from ..stepproc import describe_exit, kill_group, start_step_process, step_environment
from .base import Backend, BackendCheck, RunContext

__all__ = ["LocalBackend"]


class _ProcessHandle:
    def __init__(self, proc: subprocess.Popen[bytes]):
        self.proc = proc

    def poll(self) -> StepResult | None:
        code = self.proc.poll()
        if code is None:
            return None
        return StepResult(code, "" if code == 0 else describe_exit(code))

    def kill(self) -> None:
        kill_group(self.proc)


class LocalBackend(Backend):
    name: ClassVar[str] = "local"
    description: ClassVar[str] = "Steps as processes on the server's machine (images are not used)."

    def check(self) -> BackendCheck:
        return BackendCheck(self.name, True, f"up to {self.settings.concurrency} step(s) at a time")

    def run(self, ctx: RunContext) -> None:
        if ctx.spec.engine is not None:  # CWL, Snakemake, Yadage: their own engine runs the steps
            from ..engines import engine_for
            from ..engines.runner import run_engine

            run_engine(ctx, engine_for(ctx.spec.engine.type))
            return

        def launch(step: Step) -> _ProcessHandle:
            proc = start_step_process(
                step.script, ctx.workspace, step_environment(ctx.step_env(step)), ctx.step_log_path(step.name)
            )
            ctx.step_started(step.name, backend_id=f"pid:{proc.pid}")
            return _ProcessHandle(proc)

        run_dag(ctx, launch)
