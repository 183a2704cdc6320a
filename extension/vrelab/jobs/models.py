"""What a job is: its states, its progress and its record."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


@dataclass
class Progress:
    """How far a job is: ``done`` of ``total`` units (``total`` None while unknown)."""

    done: float = 0
    total: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))

    def to_dict(self) -> dict[str, Any]:
        return {"done": self.done, "total": self.total, "message": self.message, "fraction": self.fraction}


@dataclass
class Job:
    """The record of one job, as stored and as returned by the API."""

    id: str
    kind: str
    owner: str
    params: dict[str, Any]
    state: JobState = JobState.QUEUED
    progress: Progress = field(default_factory=Progress)
    result: Any = None
    error: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    updated: float = field(default_factory=time.time)
    resubmitted_from: str | None = None
    title: str = ""
    reused: bool = False  # in a submit's answer only: an earlier job with the same parameters answers

    def to_dict(self, *, with_result: bool = True) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = str(self.state)
        data["progress"] = self.progress.to_dict()
        if not with_result:
            data.pop("result")
        return data


class JobCancelled(Exception):
    """Raised inside a job function when the job was cancelled (by ``ctx.check_cancelled()``)."""
