"""The job manager: submit, run, follow, cancel, delete and resubmit jobs.

Jobs are queued in a bounded pool of driver threads; each driver runs its job through the
kind's executor (thread or process). Every change is saved to the :class:`JobStore` first and
then announced to subscribers (the progress stream), who live on the server's asyncio loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import BadRequest, Conflict, NotFound, TooManyRequests, VRELabError
from ..metrics import Metrics
from .context import JobContext
from .executors import Executor, ProcessExecutor, ThreadExecutor
from .models import ACTIVE_STATES, Job, JobCancelled, JobState, Progress
from .registry import JobKind, JobRegistry
from .store import JobStore

REUSABLE_STATES = (*ACTIVE_STATES, JobState.SUCCEEDED)

log = logging.getLogger("vrelab.jobs")

# Progress is announced at most this often per job, and written to disk at most this often.
PUBLISH_INTERVAL = 0.1
SAVE_INTERVAL = 1.0


class Subscription:
    """A stream of job events for one asyncio consumer (one SSE connection)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, job_id: str | None, owner: str):
        self.loop = loop
        self.job_id = job_id
        self.owner = owner
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=10000)

    def wants(self, job: Job) -> bool:
        return job.owner == self.owner and (self.job_id is None or self.job_id == job.id)

    def push(self, event: dict[str, Any]) -> None:
        def put() -> None:
            if self.queue.full():  # a stalled consumer loses old progress, never the final state
                self.queue.get_nowait()
            self.queue.put_nowait(event)

        try:
            self.loop.call_soon_threadsafe(put)
        except RuntimeError:  # loop closed
            pass


class _Running:
    """In-memory companion of an active job: its cancel flag and throttling clocks."""

    def __init__(self, job: Job):
        self.job = job
        self.cancel = threading.Event()
        self.last_publish = 0.0
        self.last_save = 0.0


def _snapshot(job: Job) -> Job:
    """A copy safe to hand out while a driver thread keeps updating the original."""
    return dataclasses.replace(job, progress=dataclasses.replace(job.progress))


class JobManager:
    def __init__(
        self,
        store: JobStore,
        registry: JobRegistry,
        *,
        workers: int = 2,
        max_active_per_user: int = 50,
        log_dir: Path | None = None,
        executors: dict[str, Executor] | None = None,
        metrics: Metrics | None = None,
    ):
        self.store = store
        self.metrics = metrics or Metrics()
        self.registry = registry
        self.max_active_per_user = max_active_per_user
        self.log_dir = log_dir
        self.executors: dict[str, Executor] = {"thread": ThreadExecutor(), "process": ProcessExecutor()}
        self.executors.update(executors or {})
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vrelab-job")
        self._active: dict[str, _Running] = {}
        self._lock = threading.RLock()
        self._submit_lock = threading.Lock()
        self._subscriptions: list[Subscription] = []
        self._closed = False
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ lifecycle
    def recover(self, retention_days: float = 0) -> list[str]:
        """At start-up: jobs that were queued or running when the server died become interrupted."""
        ids = self.store.mark_interrupted(
            "The server stopped while this job was queued or running. Resubmit it to run it again."
        )
        if ids:
            log.warning("marked %d job(s) interrupted after a server stop: %s", len(ids), ", ".join(ids))
        if retention_days > 0:
            self.store.purge_finished_before(time.time() - retention_days * 86400)
        return ids

    def shutdown(self) -> None:
        """Stop: running jobs are cancelled and recorded as interrupted."""
        with self._lock:
            self._closed = True
            running = list(self._active.values())
        for entry in running:
            entry.cancel.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.store.mark_interrupted(
            "The server was stopped while this job was queued or running. Resubmit it to run it again."
        )

    # ------------------------------------------------------------------ queries
    def get(self, job_id: str, owner: str) -> Job:
        with self._lock:
            entry = self._active.get(job_id)
            job = _snapshot(entry.job) if entry else None
        if job is None:
            job = self.store.get(job_id)
        if job is None or job.owner != owner:
            raise NotFound(f"No job with id {job_id!r}.", details={"job_id": job_id})
        return job

    def list(
        self,
        owner: str,
        *,
        kinds: Iterable[str] = (),
        states: Iterable[str] = (),
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Job], int]:
        states = list(states)
        for s in states:
            if s not in JobState.__members__.values():
                raise BadRequest(
                    f"Unknown job state {s!r}. States: {', '.join(JobState)}.", details={"state": s}
                )
        jobs, total = self.store.list(owner=owner, kinds=kinds, states=states, limit=limit, offset=offset)
        with self._lock:  # live progress of running jobs is fresher in memory than on disk
            jobs = [_snapshot(self._active[j.id].job) if j.id in self._active else j for j in jobs]
        return jobs, total

    def log_path(self, job_id: str) -> Path | None:
        return self.log_dir / f"{job_id}.log" if self.log_dir else None

    def read_log(self, job_id: str, owner: str) -> str:
        self.get(job_id, owner)
        path = self.log_path(job_id)
        if path is None or not path.exists():
            return ""
        return path.read_text(errors="replace")

    # ------------------------------------------------------------------ commands
    def submit(
        self,
        kind_name: str,
        params: dict[str, Any],
        owner: str,
        *,
        resubmitted_from: str | None = None,
    ) -> Job:
        if self._closed:
            raise Conflict("The server is shutting down; no new jobs are accepted.")
        if not isinstance(params, dict):
            raise BadRequest("'params' must be a JSON object.")
        kind = self.registry.get(kind_name)
        if kind.validate is not None:
            params = kind.validate(params)
        with self._submit_lock:  # the count and the save are one step, or concurrent submits pass the limit
            if kind.reuse and resubmitted_from is None:
                same = self.store.find_same(owner, kind.name, params, REUSABLE_STATES)
                if same is not None:
                    return dataclasses.replace(self.get(same.id, owner), reused=True)
            if self.store.count_active(owner) >= self.max_active_per_user:
                raise TooManyRequests(
                    f"You already have {self.max_active_per_user} queued or running jobs; wait for some to "
                    "finish or cancel them (limit: VRELab.max_active_jobs_per_user).",
                    details={"limit": self.max_active_per_user},
                )
            job = Job(
                id=uuid.uuid4().hex[:16],
                kind=kind.name,
                owner=owner,
                params=params,
                resubmitted_from=resubmitted_from,
                title=kind.title(params) if kind.title else "",
            )
            self.store.save(job)
            with self._lock:
                self._active[job.id] = _Running(job)
        snapshot = _snapshot(job)
        self._publish(job)
        self.metrics.job_submitted(job.kind)
        self._pool.submit(self._drive, job.id)
        return snapshot

    def cancel(self, job_id: str, owner: str) -> Job:
        job = self.get(job_id, owner)
        with self._lock:
            entry = self._active.get(job_id)
            if entry is None or job.state.finished:
                raise Conflict(
                    f"Job {job_id} has already {job.state}; only queued or running jobs can be cancelled.",
                    details={"state": str(job.state)},
                )
            entry.cancel.set()
            if entry.job.state is JobState.QUEUED:
                self._finish(entry, JobState.CANCELLED)
        return self.get(job_id, owner)

    def delete(self, job_id: str, owner: str) -> None:
        job = self.get(job_id, owner)
        if not job.state.finished:
            raise Conflict(
                f"Job {job_id} is {job.state}; cancel it before deleting it.",
                details={"state": str(job.state)},
            )
        self.store.delete(job_id)
        path = self.log_path(job_id)
        if path is not None:
            path.unlink(missing_ok=True)

    def resubmit(self, job_id: str, owner: str) -> Job:
        job = self.get(job_id, owner)
        if not job.state.finished:
            raise Conflict(f"Job {job_id} is still {job.state}.", details={"state": str(job.state)})
        return self.submit(job.kind, job.params, owner, resubmitted_from=job.id)

    # ------------------------------------------------------------------ streaming
    def subscribe(self, owner: str, job_id: str | None = None) -> Subscription:
        sub = Subscription(asyncio.get_running_loop(), job_id, owner)
        with self._lock:
            self._subscriptions.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscriptions:
                self._subscriptions.remove(sub)

    def _publish(self, job: Job) -> None:
        event = {"type": "job", "job": job.to_dict(with_result=job.state.finished)}
        with self._lock:
            subs = [s for s in self._subscriptions if s.wants(job)]
        for sub in subs:
            sub.push(event)

    # ------------------------------------------------------------------ running
    def _append_log(self, job_id: str, text: str) -> None:
        path = self.log_path(job_id)
        if path is None:
            return
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text.rstrip("\n") + "\n")

    def _report(self, entry: _Running, what: str, payload: Any) -> None:
        if what == "log":
            self._append_log(entry.job.id, str(payload))
            return
        if what != "progress":
            return
        job = entry.job
        job.progress = Progress(payload["done"], payload["total"], payload["message"] or job.progress.message)
        now = time.monotonic()
        complete = job.progress.total is not None and job.progress.done >= job.progress.total
        if now - entry.last_save >= SAVE_INTERVAL or complete:
            entry.last_save = now
            self.store.save_progress(job)
        if now - entry.last_publish >= PUBLISH_INTERVAL or complete:
            entry.last_publish = now
            self._publish(job)

    def _finish(
        self, entry: _Running, state: JobState, *, result: Any = None, error: dict | None = None
    ) -> None:
        job = entry.job
        with self._lock:
            if job.state.finished:
                return
            job.state = state
            job.result = result
            job.error = error
            job.finished = time.time()
            self.store.save(job)
            self._active.pop(job.id, None)
        self._publish(job)
        self.metrics.job_finished(job.kind, str(state), job.finished - job.started if job.started else None)

    def _drive(self, job_id: str) -> None:
        with self._lock:
            entry = self._active.get(job_id)
            if entry is None or entry.job.state is not JobState.QUEUED or self._closed:
                return
            job = entry.job
            job.state = JobState.RUNNING
            job.started = time.time()
            self.store.save(job)
        self._publish(job)
        self.metrics.job_started(job.kind, job.started - job.created)
        kind: JobKind = self.registry.get(job.kind)
        ctx = JobContext(
            job_id=job.id,
            owner=job.owner,
            params=job.params,
            report=lambda what, payload: self._report(entry, what, payload),
            is_cancelled=entry.cancel.is_set,
        )
        executor = self.executors["process" if kind.process else "thread"]
        try:
            result = executor.run(kind, job.params, ctx)
        except JobCancelled:
            self._finish(entry, JobState.CANCELLED)
        except VRELabError as exc:
            self._append_log(job.id, f"failed: {exc.message}")
            self._finish(entry, JobState.FAILED, error=exc.to_dict()["error"])
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            message = f"{type(exc).__name__}: {exc}".rstrip(": ")
            self._append_log(job.id, f"failed: {message}")
            self._finish(
                entry, JobState.FAILED, error={"code": "job_failed", "message": message, "details": {}}
            )
        else:
            if entry.cancel.is_set():
                self._finish(entry, JobState.CANCELLED)
                return
            try:
                json.dumps(result)
            except (TypeError, ValueError) as exc:
                log.error("job %s (%s) returned a result that is not JSON: %s", job.id, job.kind, exc)
                error = {
                    "code": "job_failed",
                    "message": "The job's result could not be stored.",
                    "details": {},
                }
                self._finish(entry, JobState.FAILED, error=error)
                return
            self._finish(entry, JobState.SUCCEEDED, result=result)

    def active_count(self) -> dict[str, int]:
        with self._lock:
            jobs = [e.job for e in self._active.values()]
        return {str(s): sum(1 for j in jobs if j.state is s) for s in ACTIVE_STATES}
