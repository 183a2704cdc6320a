"""Where a job's function runs: in a worker thread, or in a worker process of its own.

Both are driven from a thread of the job manager's pool, never from the server's event loop.
An executor takes the kind, the job's parameters and a :class:`JobContext` and returns the
result, or raises: :class:`JobCancelled`, a :class:`VRELabError` (the user's message), or
:class:`WorkerDied` when a worker process vanished (killed, out of memory).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import traceback
from typing import Any, Protocol

from ..errors import JobFailed, VRELabError, WorkerDied
from .context import JobContext
from .models import JobCancelled
from .registry import JobKind

# Seconds a cancelled worker process gets to stop by itself before it is terminated.
CANCEL_GRACE_SECONDS = 3.0


class Executor(Protocol):
    def run(self, kind: JobKind, params: dict[str, Any], ctx: JobContext) -> Any: ...


class ThreadExecutor:
    """Runs the function in the calling worker thread."""

    def run(self, kind: JobKind, params: dict[str, Any], ctx: JobContext) -> Any:
        return kind.load()(params, ctx)


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "did not report an exit status"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory, or killed by an operator)" if -exitcode == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with code {exitcode}"


def _died(exitcode: int | None) -> WorkerDied:
    return WorkerDied(
        f"The worker process of this job {_describe_exit(exitcode)} before it finished.",
        details={"exitcode": exitcode},
    )


def _child_main(
    target: str,
    name: str,
    params: dict[str, Any],
    job_id: str,
    owner: str,
    conn: multiprocessing.connection.Connection,
    cancel_event: Any,
    env: dict[str, str],
    parent_pid: int,
) -> None:
    """Entry point of a job's worker process."""
    _exit_with_parent(parent_pid)
    os.environ.update(env)
    try:  # workers yield the CPU to the server, so the API stays responsive under heavy jobs
        os.nice(int(env.get("VRELAB_WORKER_NICE", "10")))
    except (OSError, ValueError):
        pass

    def report(kind: str, payload: Any) -> None:
        conn.send((kind, payload))

    ctx = JobContext(
        job_id=job_id, owner=owner, params=params, report=report, is_cancelled=cancel_event.is_set
    )
    try:
        result = JobKind(name=name, target=target).load()(params, ctx)
    except JobCancelled:
        conn.send(("cancelled", None))
    except VRELabError as exc:
        conn.send(("error", {"class": type(exc).__name__, **exc.to_dict()["error"]}))
    except BaseException as exc:
        conn.send(("log", "".join(traceback.format_exception(exc))))
        conn.send(
            ("error", {"class": "JobFailed", "code": "job_failed", "message": _plain(exc), "details": {}})
        )
    else:
        conn.send(("result", result))
    finally:
        conn.close()


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose server died (kill -9) stops too, instead of burning CPU as an orphan."""
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="vrelab-parent-watch", daemon=True).start()


def _plain(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ProcessExecutor:
    """Runs the function in a fresh worker process (``spawn``: no state leaks from the server).

    Progress and log lines come back through a pipe. Cancelling sets a flag the function can
    poll, then terminates the process after a grace period. A process that dies without
    answering (``kill -9``, out of memory) makes the job fail with that said plainly.
    """

    def __init__(self, env: dict[str, str] | None = None):
        self._mp = multiprocessing.get_context("spawn")
        # One BLAS thread per worker by default: several workers share the cores.
        self.env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.env.update(env or {})

    def run(self, kind: JobKind, params: dict[str, Any], ctx: JobContext) -> Any:
        parent, child = self._mp.Pipe(duplex=False)
        cancel_event = self._mp.Event()
        proc = self._mp.Process(
            target=_child_main,
            args=(
                kind.target,
                kind.name,
                params,
                ctx.job_id,
                ctx.owner,
                child,
                cancel_event,
                self.env,
                os.getpid(),
            ),
            name=f"vrelab-job-{ctx.job_id}",
            daemon=True,
        )
        proc.start()
        child.close()
        cancel_since: float | None = None
        outcome: tuple[str, Any] | None = None
        try:
            while outcome is None:
                ready = multiprocessing.connection.wait([parent, proc.sentinel], timeout=0.25)
                if parent in ready:
                    try:
                        kind_, payload = parent.recv()
                    except (EOFError, OSError):
                        proc.join(5)
                        raise _died(proc.exitcode) from None
                    if kind_ == "progress":
                        ctx.progress(payload["done"], payload["total"], payload["message"])
                    elif kind_ == "log":
                        ctx.log(payload)
                    else:
                        outcome = (kind_, payload)
                elif proc.sentinel in ready and not parent.poll():
                    proc.join(5)
                    raise _died(proc.exitcode)
                if ctx.cancelled:
                    if cancel_since is None:
                        cancel_since = time.monotonic()
                        cancel_event.set()
                    elif time.monotonic() - cancel_since > CANCEL_GRACE_SECONDS:
                        proc.terminate()
                        raise JobCancelled()
        finally:
            parent.close()
            if proc.is_alive():
                proc.join(2)
            if proc.is_alive():
                proc.terminate()
                proc.join(2)
            if proc.is_alive():
                proc.kill()
        kind_, payload = outcome
        if kind_ == "cancelled":
            raise JobCancelled()
        if kind_ == "error":
            cls = WorkerDied if payload.get("class") == "WorkerDied" else JobFailed
            exc = cls(payload.get("message", "The job failed."), details=payload.get("details") or {})
            exc.code = payload.get("code", exc.code)
            raise exc
        return payload
