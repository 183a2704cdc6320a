"""The ``dask`` backend: each step a task on a Dask cluster (``c.VRELab.dask_scheduler``).

A step's task runs its commands as a shell process on the worker that picks it up, in the run's
workspace: workers must see the server root at the same path (one machine, or a shared file
system) and have the step's software. Stopping a run makes a flag file appear in the run's folder;
the task sees it, kills its process group and returns.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from ...errors import Unavailable
from ..scheduler import StepResult, run_dag
from ..spec import Step
from ..stepproc import run_step_blocking
from .base import Backend, BackendCheck, BackendSettings, RunContext

__all__ = ["DaskBackend"]

CONNECT_TIMEOUT = "5s"


class _FutureHandle:
    def __init__(self, future: Any, stop_file: Any):
        self.future = future
        self.stop_file = stop_file

    def poll(self) -> StepResult | None:
        if not self.future.done():
            return None
        try:
            code, message = self.future.result()
        except Exception as exc:  # the task itself failed on the worker
            return StepResult(None, f"the Dask task failed: {type(exc).__name__}: {exc}")
        return StepResult(code, message)

    def kill(self) -> None:
        self.stop_file.touch()
        deadline = time.monotonic() + 10
        while not self.future.done() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.future.cancel()


class DaskBackend(Backend):
    name: ClassVar[str] = "dask"
    description: ClassVar[str] = "Steps as tasks on a Dask cluster (workers share the server's file system)."

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> DaskBackend | None:
        address = settings.options.get("scheduler") or settings.dask_scheduler
        if not address:
            return None
        import distributed  # noqa: F401 - offered only where distributed is installed

        return cls(settings)

    @property
    def address(self) -> str:
        return str(self.settings.options.get("scheduler") or self.settings.dask_scheduler)

    def _client(self) -> Any:
        from distributed import Client

        try:
            return Client(self.address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise Unavailable(
                f"Cannot reach the Dask scheduler at {self.address} (VRELab.dask_scheduler): {exc}."
            ) from None

    def check(self) -> BackendCheck:
        try:
            client = self._client()
        except Unavailable as exc:
            return BackendCheck(self.name, False, exc.message)
        try:
            workers = len(client.scheduler_info().get("workers", {}))
        finally:
            client.close()
        if not workers:
            return BackendCheck(self.name, False, f"The Dask scheduler at {self.address} has no workers.")
        return BackendCheck(self.name, True, f"{workers} worker(s)", {"workers": workers})

    def run(self, ctx: RunContext) -> None:
        client = self._client()
        stop_dir = ctx.workspace.parent / "stop-flags"
        stop_dir.mkdir(exist_ok=True)
        try:
            ctx.log(f"Dask scheduler {self.address}: {len(client.scheduler_info().get('workers', {}))} worker(s)")

            def launch(step: Step) -> _FutureHandle:
                stop_file = stop_dir / step.name
                future = client.submit(
                    run_step_blocking,
                    step.script,
                    str(ctx.workspace),
                    ctx.step_env(step),
                    str(ctx.step_log_path(step.name)),
                    str(stop_file),
                    step.resources.timeout,
                    key=f"vrelab-{ctx.run_id}-{step.name}-{time.time_ns()}",
                    pure=False,
                )
                ctx.step_started(step.name, backend_id=future.key)
                return _FutureHandle(future, stop_file)

            run_dag(ctx, launch)
        finally:
            client.close()
