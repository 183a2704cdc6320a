"""The workflow service: validate, submit, follow, stop, delete workflow runs (no tornado here).

A run is a durable job of the jobs system (kind ``workflow.run``, or ``workflow.recast`` for the
RECAST loop); the run's id is its job's id. The job's driver thread prepares the run's folder
(:mod:`.runs`) inside the server root and hands it to the chosen backend. The record, the logs and
the outputs live in that folder, so a server restart loses none of them: at start-up a run that
was running when the server died is marked failed (its job ``interrupted``), and step processes
it left behind are stopped.
"""

from __future__ import annotations

import builtins
import functools
import logging
import os
import signal
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import BadRequest, Conflict, NotFound, Unavailable, VRELabError, WorkflowFailed
from ..jobs import JobCancelled, JobContext, JobKind, JobManager
from ..jobs.models import Job, JobState
from ..metrics import Metrics
from ..paths import relative_to_root, resolve_inside
from ..times import iso_utc
from .backends import BackendRegistry, BackendSettings, RunStatus, StepRecord
from .backends.base import list_outputs
from .engines import prepare as prepare_engine_spec
from .runs import RunFolder, RunRecorder, new_record, progress_of, tail
from .spec import SpecError, WorkflowSpec, parse_spec, spec_from_text

__all__ = ["JOB_RECAST", "JOB_RUN", "WorkflowFailed", "WorkflowService"]

log = logging.getLogger("vrelab.workflows")

JOB_RUN = "workflow.run"
JOB_RECAST = "workflow.recast"
KINDS = (JOB_RUN, JOB_RECAST)
MAX_SPEC_BYTES = 1024 * 1024
# Backends that run CWL, Snakemake and Yadage workflows (with the engine here, or on REANA).
ENGINE_BACKENDS = {
    "cwl": ("local", "container", "reana"),  # container: cwltool --podman
    "snakemake": ("local", "reana"),
    "yadage": ("local", "reana"),
}
_RUN_FIELDS = {"spec", "path", "backend", "parameters", "base_dir", "name"}
_JOB_TO_STATUS = {
    JobState.QUEUED: RunStatus.QUEUED,
    JobState.RUNNING: RunStatus.RUNNING,
    JobState.SUCCEEDED: RunStatus.FINISHED,
    JobState.FAILED: RunStatus.FAILED,
    JobState.CANCELLED: RunStatus.STOPPED,
    JobState.INTERRUPTED: RunStatus.FAILED,
}
_STATUS_TO_JOB = {
    "queued": ["queued"],
    "running": ["running"],
    "finished": ["succeeded"],
    "failed": ["failed", "interrupted"],
    "stopped": ["cancelled"],
}
INTERRUPTED = "The server stopped while this run was running; its record and logs are kept. Submit it again to rerun."

# The services of this process, by runs folder: a workflow job (run in a thread of this server)
# finds its service here.


def _stored_spec(data: dict[str, Any]) -> WorkflowSpec:
    """A spec from its normalised form (job parameters, run records)."""
    spec = parse_spec({k: v for k, v in data.items() if k != "form"})
    return replace(spec, form=data.get("form", spec.form))


class WorkflowService:
    def __init__(
        self,
        root_dir: Path,
        *,
        workflow_dir: str = "workflows",
        concurrency: int = 2,
        dask_scheduler: str = "",
        backend_options: dict[str, dict[str, Any]] | None = None,
        config: Any = None,
        fit: Any = None,
        metrics: Metrics | None = None,
    ):
        self.root_dir = Path(root_dir).resolve()
        self.metrics = metrics or Metrics()
        self.runs_dir = resolve_inside(self.root_dir, workflow_dir or "workflows")
        self.concurrency = max(1, int(concurrency))
        self.fit = fit
        self.jobs: JobManager | None = None
        settings = BackendSettings(
            root_dir=self.root_dir,
            runs_dir=self.runs_dir,
            concurrency=self.concurrency,
            dask_scheduler=dask_scheduler,
            config=config,
        )
        self.backends = BackendRegistry(settings, backend_options)

    # ------------------------------------------------------------------ wiring
    def run_job(self, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        """Job kind ``workflow.run``."""
        return self.execute(params, ctx)

    def recast_job(self, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        """Job kind ``workflow.recast``: the workflow, then the patch and the hypothesis test."""
        from .recast import conclude_recast

        result = self.execute(params, ctx, extra_units=1)
        return conclude_recast(self, params, result, ctx)

    def job_kinds(self) -> list[JobKind]:
        return [
            JobKind(
                name=JOB_RUN,
                run=self.run_job,
                description="A workflow run: its steps on the chosen backend (local, container, reana, dask).",
                validate=functools.partial(self.validate_job, JOB_RUN),
                title=self.job_title,
            ),
            JobKind(
                name=JOB_RECAST,
                run=self.recast_job,
                description="RECAST: a workflow producing a new signal's yields, patched into a likelihood, then CLs.",
                validate=functools.partial(self.validate_job, JOB_RECAST),
                title=self.job_title,
            ),
        ]

    def attach(self, jobs: JobManager) -> None:
        """Use this jobs manager and settle runs a previous server left unfinished."""
        self.jobs = jobs
        self.recover()

    def capability(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "backends": self.backends.names(),
            "default_backend": "local" if "local" in self.backends.names() else None,
            "concurrency": self.concurrency,
            "workflow_dir": relative_to_root(self.root_dir, self.runs_dir),
        }

    def _manager(self) -> JobManager:
        if self.jobs is None:
            raise Unavailable("The workflow service is not attached to a jobs manager.")
        return self.jobs

    # ------------------------------------------------------------------ specs
    def load_spec(self, body: dict[str, Any]) -> tuple[WorkflowSpec, str]:
        """The spec of a request (``spec``: YAML text or an object; or ``path`` inside the root), with
        its parameters applied, and the folder (relative to the root) its input files are taken from."""
        if not isinstance(body, dict):
            raise BadRequest("The request must be a JSON object.")
        given = [k for k in ("spec", "path") if body.get(k) is not None]
        if len(given) != 1:
            raise BadRequest(
                "Give exactly one of 'spec' (the workflow as YAML text or a JSON object) or 'path' "
                "(a reana.yaml inside your home folder).",
                details={"given": given},
            )
        base_default = ""
        if "path" in given:
            path_text = body["path"]
            path = resolve_inside(self.root_dir, path_text, must_exist=True)
            if not path.is_file():
                raise BadRequest(f"{path_text!r} is not a file.", details={"path": path_text})
            if path.stat().st_size > MAX_SPEC_BYTES:
                raise BadRequest(f"{path_text!r} is larger than {MAX_SPEC_BYTES} bytes; is it a workflow spec?")
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise SpecError(f"{path_text!r} is not a text file.") from None
            spec = spec_from_text(text, f"The workflow {path_text!r}", filename=path.name)
            base_default = relative_to_root(self.root_dir, path.parent)
        else:
            raw = body["spec"]
            if isinstance(raw, str):
                if len(raw.encode("utf-8", errors="replace")) > MAX_SPEC_BYTES:
                    raise BadRequest(f"The workflow spec is larger than {MAX_SPEC_BYTES} bytes.")
                spec = spec_from_text(raw)
            elif isinstance(raw, dict):
                spec = _stored_spec(raw) if "form" in raw else parse_spec(raw)
            else:
                raise BadRequest("'spec' must be YAML text or a JSON object.")
        name = body.get("name")
        if name is not None:
            if not isinstance(name, str) or not name.strip() or len(name) > 200:
                raise BadRequest("'name' must be a non-empty text of at most 200 characters.")
            spec = replace(spec, name=name.strip())
        spec = spec.with_parameters(body.get("parameters"))
        base = body.get("base_dir")
        if base is None:
            base = base_default
        if not isinstance(base, str):
            raise BadRequest("'base_dir' must be a folder inside your home folder.")
        base_path = resolve_inside(self.root_dir, base)
        if spec.input_files or spec.input_directories:
            for rel in [*spec.input_files, *spec.input_directories]:
                src = resolve_inside(base_path, rel)
                if not src.exists():
                    where = base or "your home folder"
                    raise NotFound(
                        f"Input {rel!r} of the workflow was not found in {where!r} (inputs are taken relative to "
                        "'base_dir', by default the spec file's folder).",
                        details={"input": rel, "base_dir": base},
                    )
        if spec.engine is not None:
            spec = prepare_engine_spec(spec, base_path)
        return spec, relative_to_root(self.root_dir, base_path) if base_path != self.root_dir else ""

    def validate(self, body: dict[str, Any]) -> dict[str, Any]:
        """Check a spec (and the backend, when one is named) without running anything."""
        spec, base = self.load_spec(body)
        out: dict[str, Any] = {"valid": True, "workflow": spec.to_dict(), "base_dir": base}
        if body.get("backend") is not None:
            out["backend"] = self.backends.get(body["backend"]).check().to_dict()
            _check_engine_backend(spec, body["backend"])
        return out

    def validate_job(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        allowed = _RUN_FIELDS | ({"recast"} if kind == JOB_RECAST else set())
        unknown = sorted(set(params) - allowed - {"_wf"})
        if unknown:
            raise BadRequest(
                f"Unknown field(s) for a workflow run: {', '.join(unknown)}. Known: {', '.join(sorted(allowed))}.",
                details={"unknown": unknown},
            )
        spec, base = self.load_spec({k: v for k, v in params.items() if k not in ("_wf", "recast")})
        backend_name = params.get("backend", "local")
        backend = self.backends.get(backend_name)
        _check_engine_backend(spec, backend_name)
        check = backend.check()
        if not check.available:
            raise Unavailable(
                f"The {backend_name!r} workflow backend is not available: {check.message}",
                details={"backend": backend_name},
            )
        out: dict[str, Any] = {
            "spec": spec.to_dict(),
            "backend": backend_name,
            "base_dir": base,
        }
        if kind == JOB_RECAST:
            from .recast import validate_recast

            out["recast"] = validate_recast(self.fit, params.get("recast"), spec)
        return out

    @staticmethod
    def job_title(params: dict[str, Any]) -> str:
        spec = params.get("spec") or {}
        return f"workflow: {spec.get('name', '')} on {params.get('backend', 'local')}"

    # ------------------------------------------------------------------ commands
    def submit(self, body: dict[str, Any], owner: str, *, kind: str = JOB_RUN) -> dict[str, Any]:
        job = self._manager().submit(kind, body, owner)
        return self._describe(job)

    def recast(self, body: dict[str, Any], owner: str) -> dict[str, Any]:
        """Submit a RECAST run: the workflow fields plus ``workspace_id``, ``yields``, ``sample``, ... ."""
        if not isinstance(body, dict):
            raise BadRequest("The request must be a JSON object.")
        run = {k: v for k, v in body.items() if k in _RUN_FIELDS}
        recast = {k: v for k, v in body.items() if k not in _RUN_FIELDS}
        return self.submit({**run, "recast": recast}, owner, kind=JOB_RECAST)

    def stop(self, run_id: str, owner: str) -> dict[str, Any]:
        job = self._job(run_id, owner)
        if job.state.finished:
            raise Conflict(
                f"Workflow run {run_id} has already ended ({self._describe(job)['status']}); only queued or "
                "running runs can be stopped.",
                details={"status": self._describe(job)["status"]},
            )
        self._manager().cancel(run_id, owner)
        return self.get(run_id, owner)

    def delete(self, run_id: str, owner: str) -> None:
        job = self._job(run_id, owner)
        if not job.state.finished:
            raise Conflict(f"Workflow run {run_id} is still {job.state}; stop it before deleting it.")
        folder = self._folder(run_id)
        backend_name = job.params.get("backend", "local")
        if backend_name in self.backends.names():
            try:
                self.backends.get(backend_name).delete(run_id, folder.workspace)
            except VRELabError as exc:
                raise Conflict(f"The run's remote copy could not be deleted: {exc.message}") from None
        folder.remove()
        self._manager().delete(run_id, owner)

    # ------------------------------------------------------------------ queries
    def _job(self, run_id: str, owner: str) -> Job:
        try:
            job = self._manager().get(run_id, owner)
        except NotFound:
            job = None
        if job is None or job.kind not in KINDS:
            raise NotFound(f"No workflow run with id {run_id!r}.", details={"workflow_id": run_id})
        return job

    def _folder(self, run_id: str) -> RunFolder:
        return RunFolder(self.runs_dir, run_id)

    def get(self, run_id: str, owner: str) -> dict[str, Any]:
        return self._describe(self._job(run_id, owner))

    def list(self, owner: str, *, status: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        states: list[str] = []
        if status is not None:
            if status not in _STATUS_TO_JOB:
                raise BadRequest(
                    f"Unknown run status {status!r}. Statuses: {', '.join(_STATUS_TO_JOB)}.", details={"status": status}
                )
            states = _STATUS_TO_JOB[status]
        jobs, total = self._manager().list(owner, kinds=KINDS, states=states, limit=limit, offset=offset)
        runs = [self._describe(j, steps=False) for j in jobs]
        return {"workflows": runs, "total": total, "limit": limit, "offset": offset}

    def _describe(self, job: Job, *, steps: bool = True) -> dict[str, Any]:
        folder = self._folder(job.id)
        record: dict[str, Any] | None = None
        if folder.exists:
            record = folder.read()
            if job.state.finished and RunStatus(record["status"]).active:
                record = self._settle(folder, job)
        if record is None:  # not started yet (queued), or stopped before it started
            spec = job.params.get("spec") or {}
            record = {
                "name": spec.get("name", ""),
                "backend": job.params.get("backend", "local"),
                "status": str(_JOB_TO_STATUS[job.state]),
                "message": (job.error or {}).get("message", ""),
                "created": None,
                "started_at": None,
                "finished_at": None,
                "parameters": (spec.get("inputs") or {}).get("parameters", {}),
                "steps": [
                    StepRecord(s["name"], image=s.get("image"), command="\n".join(s.get("commands", [])),
                               needs=list(s.get("needs", []))).to_dict()
                    for s in spec.get("steps", [])
                ],
            }  # fmt: skip
        step_records = [StepRecord.from_dict(s) for s in record["steps"]]
        if job.state in (JobState.FAILED, JobState.INTERRUPTED) and record["status"] == "finished":
            record = {**record, "status": "failed", "message": (job.error or {}).get("message", "")}
        out = {
            "id": job.id,
            "kind": job.kind,
            "name": record.get("name", ""),
            "backend": record.get("backend"),
            "status": record["status"],
            "message": record.get("message", ""),
            "created": job.created,
            "started_at": record.get("started_at"),
            "finished_at": record.get("finished_at"),
            "progress": progress_of(step_records).to_dict(),
            "parameters": record.get("parameters", {}),
            "job": {"id": job.id, "state": str(job.state)},
            "workspace": relative_to_root(self.root_dir, folder.workspace),
        }
        if steps:
            out["steps"] = [s.to_dict() for s in step_records]
        if record.get("recast") is not None:
            out["recast"] = record["recast"]
        return out

    def logs(self, run_id: str, owner: str, *, step: str | None = None) -> dict[str, Any]:
        described = self.get(run_id, owner)
        folder = self._folder(run_id)
        names = [s["name"] for s in described["steps"]]
        if step is not None and step not in names:
            raise NotFound(
                f"Workflow run {run_id} has no step {step!r}. Steps: {', '.join(names)}.", details={"step": step}
            )
        workflow_log, cut = tail(folder.workflow_log)
        steps = []
        for s in described["steps"]:
            if step is not None and s["name"] != step:
                continue
            text, truncated = tail(folder.step_log_path(s["name"]))
            steps.append({**s, "logs": text, "truncated": truncated})
        return {
            "id": run_id,
            "status": described["status"],
            "workflow_logs": workflow_log,
            "workflow_logs_truncated": cut,
            "steps": steps,
        }

    def outputs(self, run_id: str, owner: str) -> dict[str, Any]:
        job = self._job(run_id, owner)
        described = self._describe(job, steps=False)
        folder = self._folder(run_id)
        spec = _stored_spec(job.params["spec"])
        declared = spec.declared_outputs
        backend_name = job.params.get("backend", "local")
        backend = self.backends.get(backend_name) if backend_name in self.backends.names() else None
        files = backend.outputs(folder.workspace, declared) if backend else list_outputs(folder.workspace, declared)
        present = {f.path for f in files}
        missing = sorted(p for p in spec.output_files if p not in present)
        return {
            "id": run_id,
            "status": described["status"],
            "files": [f.to_dict() for f in files],
            "missing": missing,
        }

    def output_path(self, run_id: str, owner: str, path: str) -> Path:
        self._job(run_id, owner)
        folder = self._folder(run_id)
        if not folder.workspace.is_dir():
            raise NotFound(f"Workflow run {run_id} has no files yet.", details={"path": path})
        target = resolve_inside(folder.workspace, path, must_exist=True)
        if not target.is_file():
            raise BadRequest(f"{path!r} is a folder; list the outputs and fetch its files one by one.")
        return target

    # ------------------------------------------------------------------ recovery
    def _remove_leftover_containers(self, run_id: str) -> None:
        """Remove the step containers a dead server left on the engine (only this run's, by label)."""
        if "container" not in self.backends.names():
            return
        try:
            engine = self.backends.get("container").engine()  # type: ignore[attr-defined]
            try:
                removed = engine.remove_run(run_id)
            finally:
                engine.close()
        except VRELabError as exc:
            log.warning("run %s: its step containers could not be removed: %s", run_id, exc.message)
            return
        if removed:
            log.warning("run %s: removed %d step container(s) left by a server stop", run_id, removed)

    def _settle(self, folder: RunFolder, job: Job | None) -> dict[str, Any]:
        """A record left active by a server that died (or a lost job): mark it ended, stop leftovers."""

        def change(record: dict[str, Any]) -> None:
            if not RunStatus(record["status"]).active:
                return
            stopped = job is not None and job.state is JobState.CANCELLED
            record["status"] = str(RunStatus.STOPPED if stopped else RunStatus.FAILED)
            record["message"] = "stopped on request" if stopped else INTERRUPTED
            finished = iso_utc(job.finished) if job and job.finished else None
            record["finished_at"] = record.get("finished_at") or finished
            if any(
                str(step.get("backend_id") or "").startswith("container:")
                for step in record["steps"]
                if step["status"] == "running"
            ):
                self._remove_leftover_containers(folder.run_id)
            for step in record["steps"]:
                if step["status"] == "running":
                    _kill_leftover(folder.run_id, step.get("backend_id"))
                    step["status"] = str(RunStatus.FAILED if not stopped else RunStatus.STOPPED)
                    step["message"] = "the server stopped while this step ran"

        record = folder.update(change)
        folder.append_workflow_log(record["message"])
        return record

    def recover(self) -> builtins.list[str]:
        """Runs left active by a previous server become failed (their jobs are ``interrupted``)."""
        settled: builtins.list[str] = []
        if not self.runs_dir.is_dir() or self.jobs is None:
            return settled
        for path in sorted(self.runs_dir.iterdir()):
            folder = RunFolder(self.runs_dir, path.name)
            if not folder.exists:
                continue
            try:
                record = folder.read()
            except (ValueError, OSError):
                continue
            if not RunStatus(record.get("status", "failed")).active:
                continue
            job = self.jobs.store.get(folder.run_id)
            if job is None or job.state.finished:
                self._settle(folder, job)
                settled.append(folder.run_id)
        if settled:
            log.warning("workflow runs left unfinished by a server stop marked failed: %s", ", ".join(settled))
        return settled

    # ------------------------------------------------------------------ running (in a job's thread)
    def execute(self, params: dict[str, Any], ctx: JobContext, *, extra_units: int = 0) -> dict[str, Any]:
        """Run a workflow job; returns its result or raises (failed, cancelled)."""
        spec = _stored_spec(params["spec"])
        backend_name = params.get("backend", "local")
        folder = self._folder(ctx.job_id)
        record = new_record(
            ctx.job_id, spec, backend=backend_name, kind=JOB_RECAST if "recast" in params else JOB_RUN,
            base_dir=params.get("base_dir", ""),
        )  # fmt: skip
        folder.create(record)
        total = len(spec.steps) + extra_units

        def report(rec: dict[str, Any]) -> None:
            p = progress_of([StepRecord.from_dict(s) for s in rec["steps"]])
            text = f"{p.finished}/{p.total} steps finished" + (f", {p.running} running" if p.running else "")
            ctx.progress(p.finished, total, text + (f", {p.failed} failed" if p.failed else ""))

        def set_status(status: RunStatus, message: str = "") -> dict[str, Any]:
            def change(rec: dict[str, Any]) -> None:
                rec["status"] = str(status)
                rec["message"] = message
                if status is RunStatus.RUNNING:
                    rec["started_at"] = rec.get("started_at") or iso_utc()
                elif not status.active:
                    rec["finished_at"] = iso_utc()

            return folder.update(change)

        set_status(RunStatus.RUNNING)
        folder.append_workflow_log(f"run {ctx.job_id} of {spec.name!r} on backend {backend_name}")
        ctx.log(f"workflow {spec.name!r}: {len(spec.steps)} step(s) on {backend_name}; folder {folder.path}")
        stop_event = threading.Event()
        try:
            backend = self.backends.get(backend_name)
            base = resolve_inside(self.root_dir, params.get("base_dir") or "")
            copied = folder.copy_inputs(spec, base)
            if copied:
                folder.append_workflow_log(f"inputs copied: {', '.join(copied)}")
        except VRELabError as exc:
            set_status(RunStatus.FAILED, exc.message)
            self.metrics.workflow_run(backend_name, str(RunStatus.FAILED))
            raise
        recorder = RunRecorder(folder, spec, concurrency=self.concurrency, stop_event=stop_event, on_change=report)
        report(folder.read())
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.1):
                if ctx.cancelled:
                    stop_event.set()
                    folder.append_workflow_log("stop requested")
                    try:
                        backend.stop(recorder)
                    except Exception:  # the run loop still honours stop_event
                        log.exception("workflow backend %s: stop failed", backend_name)
                    return

        watcher = threading.Thread(target=watch, name=f"vrelab-wf-stop-{ctx.job_id}", daemon=True)
        watcher.start()
        error: str | None = None
        try:
            backend.run(recorder)
        except VRELabError as exc:
            error = exc.message
        except Exception as exc:
            log.exception("workflow backend %s failed on run %s", backend_name, ctx.job_id)
            error = f"the {backend_name} backend failed: {type(exc).__name__}: {exc}"
        finally:
            done.set()
            watcher.join(2)
        return self._conclude(folder, stop_event.is_set(), error, spec, ctx)

    def _conclude(
        self, folder: RunFolder, stopped: bool, error: str | None, spec: WorkflowSpec, ctx: JobContext
    ) -> dict[str, Any]:
        record = folder.read()
        steps = record["steps"]
        failed = [s for s in steps if s["status"] == "failed"]
        if stopped:
            status, message = RunStatus.STOPPED, "stopped on request"
        elif error is not None:
            status, message = RunStatus.FAILED, error
        elif failed:
            first = failed[0]
            status = RunStatus.FAILED
            message = (
                f"step {first['name']!r} failed: {first.get('message') or 'exit code ' + str(first.get('exit_code'))}"
            )
        elif all(s["status"] == "finished" for s in steps):
            status, message = RunStatus.FINISHED, ""
        else:
            status, message = RunStatus.FAILED, "the backend returned before every step ended"

        def change(rec: dict[str, Any]) -> None:
            rec["status"] = str(status)
            rec["message"] = message
            rec["finished_at"] = iso_utc()
            for s in rec["steps"]:
                if s["status"] == "created":
                    s["message"] = "not run: the run was stopped" if stopped else f"not run: {message}"
                elif s["status"] == "running":
                    s["status"] = str(RunStatus.STOPPED if stopped else RunStatus.FAILED)
                    s["message"] = s.get("message") or "still running when the run ended"

        folder.update(change)
        self.metrics.workflow_run(str(record.get("backend") or ""), str(status))
        folder.append_workflow_log(f"run {status}" + (f": {message}" if message else ""))
        if stopped:
            raise JobCancelled()
        if status is RunStatus.FAILED:
            raise WorkflowFailed(f"The workflow failed: {message}.", details={"workflow_id": folder.run_id})
        files = list_outputs(folder.workspace, spec.declared_outputs)
        return {
            "workflow_id": folder.run_id,
            "status": str(status),
            "outputs": [f.path for f in files if f.declared],
            "workspace": relative_to_root(self.root_dir, folder.workspace),
        }


def _check_engine_backend(spec: WorkflowSpec, backend_name: str) -> None:
    """A CWL, Snakemake or Yadage workflow only goes to a backend that can run its engine."""
    if spec.engine is not None and backend_name not in ENGINE_BACKENDS.get(spec.engine.type, ()):
        able = ENGINE_BACKENDS.get(spec.engine.type, ())
        raise BadRequest(
            f"A {spec.engine.type} workflow runs on the {' or '.join(able)} backend, not on {backend_name!r}.",
            details={"backend": backend_name, "type": spec.engine.type},
        )


def _kill_leftover(run_id: str, backend_id: str | None) -> None:
    """Stop a step process a dead server left running (only if it carries this run's marker)."""
    if not backend_id or not backend_id.startswith("pid:"):
        return
    try:
        pid = int(backend_id[4:])
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\x00")
    except (ValueError, OSError):
        return
    if f"VRELAB_RUN_ID={run_id}".encode() not in environ:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
