"""Job functions the tests register as kinds (through VRELab.extra_job_kinds), to drive the
jobs system itself: steps with progress, failures, a worker that dies, CPU burn."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from vrelab.errors import BadRequest
from vrelab.jobs import JobContext


def steps(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    n = int(params.get("steps", 5))
    delay = float(params.get("delay", 0.05))
    for i in range(n):
        ctx.check_cancelled()
        time.sleep(delay)
        ctx.progress(i + 1, n, f"step {i + 1} of {n}")
    ctx.log(f"done {n} steps")
    return {"steps": n, "pid": os.getpid()}


def fail(params: dict[str, Any], ctx: JobContext) -> None:
    ctx.progress(1, 2, "about to fail")
    raise BadRequest(params.get("message", "the input was wrong"))


def crash(params: dict[str, Any], ctx: JobContext) -> None:
    ctx.progress(0, 1, "about to crash")
    raise ZeroDivisionError("division by zero")


def die(params: dict[str, Any], ctx: JobContext) -> None:
    ctx.progress(1, 10, "dying")
    time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGKILL)


def burn(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """CPU-heavy: pure-Python loops for ``seconds``."""
    end = time.monotonic() + float(params.get("seconds", 1.0))
    n = 0
    while time.monotonic() < end:
        for _ in range(10000):
            n += 1
        ctx.check_cancelled()
    return {"iterations": n}
