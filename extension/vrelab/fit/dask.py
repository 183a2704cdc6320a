"""Scan points on a Dask cluster (``c.VRELab.dask_scheduler``).

The background workspace is scattered to every worker once; each task carries its patch's
operations and the options, and returns the point's CLs. Workers need ``vrelab[fit]`` (pyhf,
scipy) installed. A task that fails — or whose worker dies more often than the scheduler's
``allowed-failures`` — fails its point only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import Unavailable
from ..jobs.models import JobCancelled
from .pool import TaskOutcome

__all__ = ["run_on_dask"]


def run_on_dask(
    address: str,
    workspace: dict[str, Any],
    tasks: list[tuple[str, list[dict[str, Any]]]],
    options: dict[str, Any],
    *,
    is_cancelled: Callable[[], bool],
    log: Callable[[str], None],
) -> Iterator[TaskOutcome]:
    try:
        from distributed import Client
    except ImportError:
        raise Unavailable("VRELab.dask_scheduler is set but the 'distributed' package is not installed.") from None
    from .worker import remote_point

    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise Unavailable(f"Cannot reach the Dask scheduler at {address}: {exc}.") from None
    try:
        n = len(client.scheduler_info().get("workers", {}))
        log(f"Dask scheduler {address}: {n} worker(s)")
        ws_future = client.scatter(workspace, broadcast=True, hash=False)
        futures = {}
        submitted = {}
        for key, ops in tasks:
            fut = client.submit(
                remote_point, ws_future, ops, options, pure=False, key=f"vrelab-point-{key[:16]}-{time.time_ns()}"
            )
            futures[fut] = key
            submitted[key] = time.perf_counter()
        remaining = set(futures)
        while remaining:
            if is_cancelled():
                client.cancel(list(remaining))
                raise JobCancelled()
            done = [f for f in remaining if f.done()]
            if not done:
                time.sleep(0.2)
                continue
            for fut in done:
                remaining.discard(fut)
                key = futures[fut]
                elapsed = time.perf_counter() - submitted[key]
                try:
                    value = fut.result()
                except Exception as exc:  # the task's own error, or KilledWorker
                    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                    error = {"code": getattr(exc, "code", "job_failed"), "message": message}
                    yield TaskOutcome(key, False, error, elapsed)
                else:
                    yield TaskOutcome(key, True, value, float(value.get("fit_seconds", elapsed)))
    finally:
        client.close()
