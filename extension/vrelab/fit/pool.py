"""A pool of fit worker processes that survives the death of any of them.

``concurrent.futures.ProcessPoolExecutor`` declares the whole pool broken when one worker dies;
here each worker has its own pipe and is handed one task at a time, so a worker killed (by the
OOM killer, an operator, a crash in native code) fails only the task it held: a replacement is
started and the other tasks go on. Workers are ``spawn``ed, run at a lower priority with one
BLAS thread each, and exit by themselves when the process that started them dies.

The pool runs in a job's driver thread (the server process), never in a daemon process.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from ..jobs.models import JobCancelled

__all__ = ["Task", "TaskOutcome", "WorkerPool"]

WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}


class Task(NamedTuple):
    key: str
    function: str  # the name of a function in vrelab.fit.worker
    args: dict[str, Any]


class TaskOutcome(NamedTuple):
    key: str
    ok: bool
    value: Any  # the result, or {"code", "message"} when not ok
    seconds: float


def _describe_death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the fit worker process was killed by {name}"
    return f"the fit worker process exited unexpectedly (exit code {exitcode})"


def _keep_freed_memory() -> None:
    """Let glibc's malloc reuse freed blocks instead of mapping fresh pages for every large array.

    A batched model allocates and frees arrays of a few MB per call. Above glibc's mmap threshold
    each becomes an mmap/munmap pair whose pages fault in again on every call; the threshold
    adapts to such frees, but in workers spawned by the Jupyter server it was measured not to:
    their fits ran 1.7x slower than the same worker spawned elsewhere (3L-eRJR, 8 patches). Fixed
    thresholds (32 MB, glibc's maximum; trim above 256 MB) make every worker fast. No-op off glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 256 * 1024 * 1024)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


def _worker_main(conn: multiprocessing.connection.Connection, parent_pid: int, nice: int) -> None:
    """A worker: run the tasks it is sent, one at a time, until told to stop."""
    os.environ.update(WORKER_ENV)
    _keep_freed_memory()

    def watch() -> None:  # the server died: stop rather than burn CPU as an orphan
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    try:
        os.nice(nice)
    except OSError:
        pass
    from . import worker

    worker.limit_threads()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        key, function, args = message
        started = time.perf_counter()
        try:
            result = getattr(worker, function)(**args)
            conn.send((key, True, result, time.perf_counter() - started))
        except BaseException as exc:  # reported, never raised: the worker serves the next task
            code = getattr(exc, "code", "job_failed")
            text = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}".rstrip(": ")
            error = {"code": code, "message": text}
            if not hasattr(exc, "code"):
                error["traceback"] = "".join(traceback.format_exception(exc))[-4000:]
            conn.send((key, False, error, time.perf_counter() - started))


class _Worker:
    def __init__(self, ctx: Any, nice: int):
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(
            target=_worker_main, args=(child, os.getpid(), nice), name="vrelab-fit-worker", daemon=False
        )
        self.proc.start()
        child.close()
        self.task: Task | None = None
        self.since = 0.0

    def give(self, task: Task) -> None:
        self.task = task
        self.since = time.perf_counter()
        self.conn.send((task.key, task.function, task.args))

    def stop(self, *, now: bool = False) -> None:
        if not now and self.proc.is_alive():
            try:
                self.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
            self.proc.join(2)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(1)
        self.conn.close()


class WorkerPool:
    """``size`` worker processes; :meth:`run` yields each task's outcome as it finishes."""

    def __init__(self, size: int, *, nice: int = 10, on_start: Callable[[list[int]], None] | None = None):
        self.size = max(1, int(size))
        self.nice = nice
        self._ctx = multiprocessing.get_context("spawn")
        self._on_start = on_start

    def run(self, tasks: Iterable[Task], *, is_cancelled: Callable[[], bool] = lambda: False) -> Iterator[TaskOutcome]:
        pending = list(tasks)
        pending.reverse()  # pop() from the end keeps the given order
        if not pending:
            return
        workers = [_Worker(self._ctx, self.nice) for _ in range(min(self.size, len(pending)))]
        if self._on_start is not None:
            self._on_start([w.proc.pid for w in workers if w.proc.pid is not None])
        try:
            for w in workers:
                w.give(pending.pop())
            while any(w.task is not None for w in workers):
                if is_cancelled():
                    raise JobCancelled()
                busy = [w for w in workers if w.task is not None]
                waitables: list[Any] = [w.conn for w in busy] + [w.proc.sentinel for w in busy]
                ready = multiprocessing.connection.wait(waitables, timeout=0.25)
                for w in busy:
                    task = w.task
                    assert task is not None
                    outcome: TaskOutcome | None = None
                    replace = False
                    if w.conn in ready:
                        try:
                            key, ok, value, seconds = w.conn.recv()
                            outcome = TaskOutcome(key, ok, value, seconds)
                        except (EOFError, OSError):
                            replace = True
                    elif w.proc.sentinel in ready and not w.conn.poll():
                        replace = True
                    if replace:
                        w.proc.join(2)
                        message = _describe_death(w.proc.exitcode)
                        outcome = TaskOutcome(
                            task.key,
                            False,
                            {"code": "worker_died", "message": f"{message} while computing this point."},
                            time.perf_counter() - w.since,
                        )
                        w.stop(now=True)
                        index = workers.index(w)
                        w = workers[index] = _Worker(self._ctx, self.nice)
                        if self._on_start is not None and w.proc.pid is not None:
                            self._on_start([w.proc.pid])
                    if outcome is None:
                        continue
                    w.task = None
                    if pending:
                        w.give(pending.pop())
                    yield outcome
        finally:
            for w in workers:
                w.stop(now=w.task is not None)
