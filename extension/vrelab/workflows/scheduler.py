"""Running a workflow's DAG: start steps when what they need has finished, at most N at a time.

Backends that start one step at a time somewhere (a process, a Dask future, a container) only
write a *launcher* — ``launch(step) -> StepHandle`` — and call :func:`run_dag`, which does the
rest the same way for all of them: concurrency limit (``resources.cpus`` slots per step), the
step's wall-time limit, declared outputs checked, no new step after a failure, stop on request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..errors import VRELabError
from .backends.base import RunContext, RunStatus
from .spec import Step

__all__ = ["StepHandle", "StepResult", "run_dag"]


@dataclass
class StepResult:
    """How a step ended, as its runner saw it."""

    exit_code: int | None
    message: str = ""


class StepHandle(Protocol):
    """A started step."""

    def poll(self) -> StepResult | None:
        """None while the step runs; its result once it ended."""

    def kill(self) -> None:
        """End the step now (used for stop and timeouts); may block a few seconds."""


Launcher = Callable[[Step], StepHandle]


def _missing_outputs(ctx: RunContext, step: Step) -> list[str]:
    return [p for p in step.outputs if not (ctx.workspace / p).exists()]


def run_dag(ctx: RunContext, launch: Launcher, *, poll_interval: float = 0.05) -> None:
    """Run ``ctx.spec`` through ``launch``; returns when all ended, after a failure, or on stop."""
    spec = ctx.spec
    slots = max(1, int(ctx.concurrency))
    pending: list[Step] = list(spec.steps)
    running: dict[str, tuple[StepHandle, Step, float]] = {}
    finished: set[str] = set()
    failed = False

    def end(step: Step, status: RunStatus, code: int | None, message: str = "") -> None:
        nonlocal failed
        running.pop(step.name, None)
        ctx.step_finished(step.name, status=status, exit_code=code, message=message)
        if status is RunStatus.FINISHED:
            finished.add(step.name)
        else:
            failed = True

    while pending or running:
        if ctx.stopping:
            for handle, step, _ in list(running.values()):
                handle.kill()
                end(step, RunStatus.STOPPED, None, "stopped on request")
            return
        for handle, step, started in list(running.values()):
            result = handle.poll()
            timeout = step.resources.timeout
            if result is None and timeout and time.monotonic() - started > timeout:
                handle.kill()
                end(step, RunStatus.FAILED, None, f"stopped after its time limit of {timeout:g} s")
                continue
            if result is None:
                continue
            if result.exit_code == 0:
                missing = _missing_outputs(ctx, step)
                if missing:
                    end(step, RunStatus.FAILED, 0, f"did not write its declared output(s): {', '.join(missing)}")
                else:
                    end(step, RunStatus.FINISHED, 0, result.message)
            else:
                why = result.message or f"exited with code {result.exit_code}"
                end(step, RunStatus.FAILED, result.exit_code, why)
        if failed:
            if not running:
                return
            ctx.wait_stop(poll_interval)
            continue
        used = sum(min(s.resources.cpus, slots) for _, s, _ in running.values())
        for step in list(pending):
            if not set(step.needs) <= finished:
                continue
            need = min(step.resources.cpus, slots)
            if used + need > slots:
                break  # keep the topological order: a big step is not overtaken forever
            pending.remove(step)
            ctx.step_started(step.name)
            try:
                handle = launch(step)
            except VRELabError as exc:
                end(step, RunStatus.FAILED, None, exc.message)
                break
            except OSError as exc:
                end(step, RunStatus.FAILED, None, f"could not be started: {exc.strerror or exc}")
                break
            running[step.name] = (handle, step, time.monotonic())
            used += need
        if not running and pending and not failed:
            blocked = ", ".join(s.name for s in pending)
            ctx.log(f"steps {blocked} cannot start: what they need did not finish")
            return
        ctx.wait_stop(poll_interval)
