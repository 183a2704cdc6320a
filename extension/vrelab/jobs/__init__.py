"""The durable jobs system shared by data-lake transfers, fits and workflows."""

from .context import JobContext
from .executors import ProcessExecutor, ThreadExecutor, WorkerDied
from .manager import JobManager, Subscription
from .models import Job, JobCancelled, JobState, Progress
from .registry import JobKind, JobRegistry, parse_kind_spec
from .store import JobStore

__all__ = [
    "Job",
    "JobCancelled",
    "JobContext",
    "JobKind",
    "JobManager",
    "JobRegistry",
    "JobState",
    "JobStore",
    "ProcessExecutor",
    "Progress",
    "Subscription",
    "ThreadExecutor",
    "WorkerDied",
    "parse_kind_spec",
]
