"""A run's folder, the durable record of a workflow run, and the context a backend reports to.

Layout of ``<root>/<VRELab.workflow_dir>/<run id>/``::

    run.json          the record: spec, backend, parameters, status, steps (written atomically)
    workflow.log      the run's own log (engine messages)
    logs/<step>.log   each step's output
    workspace/        the steps' working folder: inputs copied in, outputs left here
    stop-flags/       flag files telling remote step runners to stop

Every change is written before it is announced, so a server that dies mid-run leaves a record
that says how far the run got, with every log line that was written.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import NotFound
from ..paths import resolve_inside
from .backends.base import RunContext, RunProgress, RunStatus, StepRecord, utc_now
from .spec import Step, WorkflowSpec, parse_spec

__all__ = ["RunFolder", "RunRecorder", "progress_of"]

MAX_LOG_BYTES = 1024 * 1024  # returned per log (the end of it); the file keeps everything
_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


def _lock(path: Path) -> threading.RLock:
    with _locks_guard:
        return _locks.setdefault(str(path), threading.RLock())


def progress_of(steps: list[StepRecord]) -> RunProgress:
    return RunProgress(
        total=len(steps),
        finished=sum(1 for s in steps if s.status is RunStatus.FINISHED),
        running=sum(1 for s in steps if s.status is RunStatus.RUNNING),
        failed=sum(1 for s in steps if s.status is RunStatus.FAILED),
    )


def tail(path: Path, limit: int = MAX_LOG_BYTES) -> tuple[str, bool]:
    """The end of a text file (at most ``limit`` bytes) and whether it was cut."""
    if not path.exists():
        return "", False
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if size > limit:
            fh.seek(size - limit)
        data = fh.read()
    return data.decode("utf-8", errors="replace"), size > limit


class RunFolder:
    """The folder of one run."""

    def __init__(self, runs_dir: Path, run_id: str):
        self.run_id = run_id
        self.path = Path(runs_dir) / run_id
        self.record_path = self.path / "run.json"
        self.workspace = self.path / "workspace"
        self.log_dir = self.path / "logs"
        self.workflow_log = self.path / "workflow.log"
        self._lock = _lock(self.record_path)

    @property
    def exists(self) -> bool:
        return self.record_path.exists()

    def create(self, record: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.workspace.mkdir(exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        self.write(record)

    def read(self) -> dict[str, Any]:
        with self._lock:
            try:
                return json.loads(self.record_path.read_text())
            except FileNotFoundError:
                raise NotFound(f"No workflow run {self.run_id!r}.", details={"workflow_id": self.run_id}) from None

    def write(self, record: dict[str, Any]) -> None:
        with self._lock:
            tmp = self.record_path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(record, indent=1))
            os.replace(tmp, self.record_path)

    def update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        with self._lock:
            record = self.read()
            change(record)
            self.write(record)
            return record

    def step_log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def append_workflow_log(self, text: str) -> None:
        with self._lock, open(self.workflow_log, "a", encoding="utf-8") as fh:
            fh.write(f"{utc_now()} {text.rstrip()}\n")

    def copy_inputs(self, spec: WorkflowSpec, base: Path) -> list[str]:
        """Copy the declared input files and folders (relative to ``base``) into the workspace."""
        copied = []
        for rel in [*spec.input_files, *spec.input_directories]:
            src = resolve_inside(base, rel, must_exist=True)
            dst = resolve_inside(self.workspace, rel)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, symlinks=False, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)
            copied.append(rel)
        return copied

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def new_record(
    run_id: str, spec: WorkflowSpec, *, backend: str, kind: str, base_dir: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": run_id,
        "kind": kind,
        "name": spec.name,
        "backend": backend,
        "status": str(RunStatus.CREATED),
        "message": "",
        "created": utc_now(),
        "started_at": None,
        "finished_at": None,
        "base_dir": base_dir,
        "spec": spec.to_dict(),
        "parameters": dict(spec.parameters),
        "steps": [
            StepRecord(s.name, image=s.image, command=s.command, needs=list(s.needs)).to_dict() for s in spec.steps
        ],
        **(extra or {}),
    }


def spec_of(record: dict[str, Any]) -> WorkflowSpec:
    """The spec stored in a record (already validated when the run was submitted)."""
    stored = record["spec"]
    data = {
        "name": stored["name"],
        "version": stored.get("version", ""),
        "inputs": stored["inputs"],
        "outputs": stored["outputs"],
        "steps": stored["steps"],
    }
    return parse_spec(data)


class RunRecorder(RunContext):
    """The :class:`RunContext` of a run being executed: reports go to its folder, then to ``on_change``."""

    def __init__(
        self,
        folder: RunFolder,
        spec: WorkflowSpec,
        *,
        concurrency: int,
        stop_event: threading.Event,
        on_change: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.folder = folder
        self.run_id = folder.run_id
        self.spec = spec
        self.workspace = folder.workspace
        self.parameters = dict(spec.parameters)
        self.concurrency = concurrency
        self._stop = stop_event
        self._on_change = on_change

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait_stop(self, timeout: float) -> bool:
        return self._stop.wait(timeout)

    def step_env(self, step: Step) -> dict[str, str]:
        return {**self.parameters, "VRELAB_RUN_ID": self.run_id, "VRELAB_STEP": step.name}

    def step_log_path(self, name: str) -> Path:
        return self.folder.step_log_path(name)

    def _change_step(self, name: str, change: Callable[[dict[str, Any]], None]) -> None:
        def apply(record: dict[str, Any]) -> None:
            for step in record["steps"]:
                if step["name"] == name:
                    change(step)
                    return
            raise KeyError(f"no step {name!r} in run {self.run_id}")

        record = self.folder.update(apply)
        if self._on_change is not None:
            self._on_change(record)

    def step_started(
        self, name: str, *, image: str | None = None, command: str | None = None, backend_id: str | None = None
    ) -> None:
        def change(step: dict[str, Any]) -> None:
            step["status"] = str(RunStatus.RUNNING)
            step["started_at"] = step.get("started_at") or utc_now()
            if image is not None:
                step["image"] = image
            if command is not None:
                step["command"] = command
            if backend_id is not None:
                step["backend_id"] = backend_id

        self._change_step(name, change)

    def step_output(self, name: str, text: str) -> None:
        with open(self.step_log_path(name), "a", encoding="utf-8") as fh:
            fh.write(text)

    def step_finished(self, name: str, *, status: RunStatus, exit_code: int | None = None, message: str = "") -> None:
        def change(step: dict[str, Any]) -> None:
            step["status"] = str(RunStatus(status))
            step["finished_at"] = utc_now()
            step["exit_code"] = exit_code
            step["message"] = message

        self._change_step(name, change)
        self.log(f"step {name} {RunStatus(status)}" + (f": {message}" if message else ""))

    def log(self, text: str) -> None:
        self.folder.append_workflow_log(text)
