"""What a job function is handed: its parameters, a progress reporter, a cancel flag, a log."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .models import JobCancelled

Reporter = Callable[[str, Any], None]


class JobContext:
    """Passed to every job function as ``ctx``.

    ``ctx.progress(done, total, message)`` reports progress (cheap: call it as often as you like);
    ``ctx.check_cancelled()`` raises :class:`JobCancelled` once the user cancelled the job (call it
    between units of work); ``ctx.log(text)`` appends a line to the job's log.
    """

    def __init__(
        self,
        *,
        job_id: str,
        owner: str,
        params: dict[str, Any],
        report: Reporter,
        is_cancelled: Callable[[], bool],
        workdir: Path | None = None,
    ):
        self.job_id = job_id
        self.owner = owner
        self.params = params
        self.workdir = workdir
        self._report = report
        self._is_cancelled = is_cancelled

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        self._report("progress", {"done": done, "total": total, "message": message})

    def log(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        self._report("log", f"{stamp} {text}")

    @property
    def cancelled(self) -> bool:
        return self._is_cancelled()

    def check_cancelled(self) -> None:
        if self._is_cancelled():
            raise JobCancelled()
