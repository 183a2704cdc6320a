"""A REANA server test double that keeps REANA's REST contract, and its fixtures.

A REANA cluster needs Kubernetes and registry images, so it cannot run here. This double serves
REANA's own OpenAPI document, ``reana_server.json`` from the ``reana-commons`` package (version
:data:`REANA_COMMONS_VERSION`, fetched with ``pip download`` once and cached under
``~/.cache/vrelab/``), through connexion with ``strict_validation`` (unknown query parameters are
refused) and ``validate_responses``. Every request that breaks the document, every response of the
double that breaks it, and every status code the document does not list for the operation is
recorded in :attr:`ReanaDouble.violations`; the ``reana_server`` fixture fails the test that caused
one (tests that send bad requests on purpose take them with :meth:`ReanaDouble.take_violations`).

Workflows really run: ``start`` executes each serial step's commands with ``bash -c`` in the
workflow's workspace folder (the image is recorded, not used), after expanding ``$name`` /
``${name}`` with the workflow's parameters the way REANA's serial engine does (``string.Template``,
an unknown name fails the run). Status, progress, job logs and workspace listings are the
payloads REANA sends, with REANA's time format.

Known differences between the document and the real client/server (the document is patched for
these only, see :func:`contract_spec`):

* ``reana-client download`` sends ``?file_name=`` to the download route, which the document does not
  declare;
* file names in paths contain ``/`` (the real server routes them with a path converter);
* ``GET .../logs`` may come without its optional ``steps`` body (``x-nullable``).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import fcntl
import fnmatch
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from string import Template
from typing import Any

import pytest

from vrelab.workflows.engines import engine_for
from vrelab.workflows.spec import ENGINE_TYPES, parse_spec

REANA_COMMONS_VERSION = "0.9.11"
SPEC_MEMBER = "reana_commons/openapi_specifications/reana_server.json"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vrelab"
REANA_TIME = "%Y-%m-%dT%H:%M:%S"


# ------------------------------------------------------------------------------------ the contract
@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def reana_server_spec_path() -> Path:
    """``reana_server.json`` of reana-commons :data:`REANA_COMMONS_VERSION`, downloaded once."""
    target = CACHE / f"reana-commons-{REANA_COMMONS_VERSION}" / "reana_server.json"
    if target.is_file():
        return target
    with _locked(target.with_name(".lock")):
        if target.is_file():
            return target
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
                 "-d", tmp, f"reana-commons=={REANA_COMMONS_VERSION}"],
                check=True, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            archive = next(Path(tmp).iterdir())
            if archive.suffix == ".whl":
                with zipfile.ZipFile(archive) as whl:
                    data = whl.read(SPEC_MEMBER)
            else:
                with tarfile.open(archive) as sdist:
                    member = next(m for m in sdist.getmembers() if m.name.endswith(SPEC_MEMBER))
                    extracted = sdist.extractfile(member)
                    assert extracted is not None
                    data = extracted.read()
        json.loads(data)  # a broken download must not be cached
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
    return target


def _param(op: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in op.get("parameters", []) if p.get("name") == name)


def contract_spec(raw: dict[str, Any]) -> dict[str, Any]:
    """REANA's document with the known differences of the real client and server (module docstring)."""
    spec = copy.deepcopy(raw)
    paths = spec["paths"]
    file_route = paths["/api/workflows/{workflow_id_or_name}/workspace/{file_name}"]
    download = file_route["get"]
    download["parameters"].append(
        {"name": "file_name", "in": "query", "required": False, "type": "string",
         "description": "sent by reana-client next to the path parameter"}
    )  # fmt: skip
    # the query parameter above shares the name: connexion tells them apart by 'in'
    for method in ("get", "delete"):
        for p in file_route[method]["parameters"]:
            if p["name"] == "file_name" and p["in"] == "path":
                p["format"] = "path"
    _param(paths["/api/workflows/{workflow_id_or_name}/logs"]["get"], "steps")["x-nullable"] = True
    return spec


# ------------------------------------------------------------------------------------- the double
def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime(REANA_TIME)


@dataclass
class Job:
    id: str
    step: str
    image: str
    command: str
    status: str = "created"
    started_at: str | None = None
    finished_at: str | None = None
    logs: str = ""


@dataclass
class Workflow:
    id: str
    name: str  # "<name>.<run number>", as REANA names runs
    spec: dict[str, Any]
    workspace: Path
    created: str = field(default_factory=_now)
    status: str = "created"
    parameters: dict[str, Any] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)
    engine_log: str = ""
    run_started_at: str | None = None
    run_finished_at: str | None = None
    run_stopped_at: str | None = None
    task: asyncio.Task[None] | None = None
    process: asyncio.subprocess.Process | None = None
    stop_requested: bool = False

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(((self.spec.get("workflow") or {}).get("specification") or {}).get("steps") or [])


class ReanaDouble:
    """The double's state and its operation handlers (named after the document's operationIds)."""

    def __init__(self, spec: dict[str, Any], home: Path, token: str, user_email: str = "physicist@example.org"):
        self.spec = spec
        self.home = home
        self.token = token
        self.user_id = str(uuid.uuid4())
        self.user_email = user_email
        self.workflows: dict[str, Workflow] = {}
        self.violations: list[str] = []
        self.requests: list[str] = []  # "METHOD path" of every request, without the query
        self.tokens_seen: list[str] = []  # every access_token value received
        self._runs: dict[str, int] = {}
        self._documented = self._documented_statuses(spec)

    # -- contract bookkeeping --------------------------------------------------------------------

    @staticmethod
    def _documented_statuses(spec: dict[str, Any]) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        for route in spec["paths"].values():
            for method, op in route.items():
                if method != "parameters":
                    out[op["operationId"]] = {int(code) for code in op.get("responses", {}) if code.isdigit()}
        return out

    def take_violations(self) -> list[str]:
        taken, self.violations = self.violations, []
        return taken

    def _reply(self, op: str, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
        if status not in self._documented.get(op, set()):
            self.violations.append(f"{op}: the double answered HTTP {status}, which the document does not list")
        from connexion.lifecycle import ConnexionResponse

        # an explicit JSON content type: some operations may answer with several
        return ConnexionResponse(
            status_code=status, body=json.dumps(body), content_type="application/json", headers=headers or {}
        )

    def _authorised(self, op: str, access_token: str | None) -> Any | None:
        """None when the token is right, else REANA's refusal."""
        self.tokens_seen.append(access_token or "")
        if access_token == self.token:
            return None
        return self._reply(op, {"message": "Token is not valid."}, 403)

    def _workflow(self, op: str, ident: str) -> Workflow | Any:
        for wf in self.workflows.values():
            if ident in (wf.id, wf.name) and wf.status != "deleted":
                return wf
        return self._reply(op, {"message": f"REANA_WORKON is set to {ident}, but that workflow does not exist."}, 404)

    def _progress(self, wf: Workflow) -> dict[str, Any]:
        def bucket(status: str) -> dict[str, Any]:
            ids = [j.id for j in wf.jobs if j.status == status]
            return {"total": len(ids), "job_ids": ids}

        running = next((j for j in wf.jobs if j.status == "running"), None)
        progress: dict[str, Any] = {
            "total": {"total": len(wf.steps), "job_ids": []},
            "finished": bucket("finished"),
            "running": bucket("running"),
            "failed": bucket("failed"),
            "current_step_name": running.step if running else None,
            "current_command": running.command if running else None,
        }
        for key in ("run_started_at", "run_finished_at", "run_stopped_at"):
            if getattr(wf, key):
                progress[key] = getattr(wf, key)
        return progress

    # -- operations --------------------------------------------------------------------------------

    async def ping(self, **_: Any) -> Any:
        return self._reply("ping", {"message": "OK", "status": "200"})

    async def get_you(self, access_token: str | None = None, **_: Any) -> Any:
        if (refused := self._authorised("get_you", access_token)) is not None:
            return refused
        return self._reply(
            "get_you",
            {
                "email": self.user_email,
                "reana_server_version": "0.9.4",
                "reana_token": {"status": "active", "value": self.token, "requested_at": _now()},
            },
        )

    async def info(self, access_token: str | None = None, **_: Any) -> Any:
        if (refused := self._authorised("info", access_token)) is not None:
            return refused
        return self._reply(
            "info",
            {
                "compute_backends": {"title": "List of supported compute backends", "value": ["kubernetes"]},
                "default_workspace": {"title": "Default workspace", "value": str(self.home)},
                "workspaces_available": {"title": "List of available workspaces", "value": [str(self.home)]},
                "default_kubernetes_jobs_timeout": {"title": "Default timeout for Kubernetes jobs", "value": "604800"},
                "maximum_kubernetes_jobs_timeout": {"title": "Maximum timeout for Kubernetes jobs", "value": "1209600"},
            },
        )

    async def get_workflows(self, access_token: str | None = None, **params: Any) -> Any:
        if (refused := self._authorised("get_workflows", access_token)) is not None:
            return refused
        items = [
            {"id": wf.id, "name": wf.name, "status": wf.status, "user": self.user_id, "created": wf.created,
             "progress": self._progress(wf), "size": {"raw": _du(wf.workspace), "human_readable": ""}}
            for wf in self.workflows.values() if wf.status != "deleted"
        ]  # fmt: skip
        return self._reply("get_workflows", {"items": items, "total": len(items)})

    async def create_workflow(
        self, workflow_name: str, access_token: str | None = None, reana_specification: Any = None, **_: Any
    ) -> Any:
        if (refused := self._authorised("create_workflow", access_token)) is not None:
            return refused
        spec = reana_specification or {}
        workflow = spec.get("workflow") or {}
        kind = workflow.get("type")
        serial = kind == "serial" and isinstance((workflow.get("specification") or {}).get("steps"), list)
        engine = kind in ENGINE_TYPES and isinstance(workflow.get("file"), str)
        if not (serial or engine):
            return self._reply(
                "create_workflow",
                {"message": "This test server runs serial workflows and cwl, snakemake or yadage ones with a file."},
                400,
            )
        base = workflow_name.split(".")[0] or "workflow"
        self._runs[base] = self._runs.get(base, 0) + 1
        wf_id = str(uuid.uuid4())
        workspace = self.home / wf_id
        workspace.mkdir(parents=True)
        wf = Workflow(wf_id, f"{base}.{self._runs[base]}", spec, workspace)
        wf.parameters = dict((spec.get("inputs") or {}).get("parameters") or {})
        self.workflows[wf_id] = wf
        body = {"message": "The workflow has been successfully created.", "workflow_id": wf_id,
                "workflow_name": wf.name}  # fmt: skip
        return self._reply("create_workflow", body, 201)

    async def upload_file(
        self, workflow_id_or_name: str, file_name: str, access_token: str | None = None, **kwargs: Any
    ) -> Any:
        if (refused := self._authorised("upload_file", access_token)) is not None:
            return refused
        wf = self._workflow("upload_file", workflow_id_or_name)
        if not isinstance(wf, Workflow):
            return wf
        body = kwargs.get("file", kwargs.get("body", b""))
        data = body if isinstance(body, bytes) else str(body or "").encode()
        target = _inside(wf.workspace, file_name)
        if target is None:
            return self._reply("upload_file", {"message": f"{file_name} is not a valid path."}, 400)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return self._reply("upload_file", {"message": f"{file_name} has been successfully uploaded."})

    async def start_workflow(
        self, workflow_id_or_name: str, access_token: str | None = None, parameters: Any = None, **_: Any
    ) -> Any:
        if (refused := self._authorised("start_workflow", access_token)) is not None:
            return refused
        wf = self._workflow("start_workflow", workflow_id_or_name)
        if not isinstance(wf, Workflow):
            return wf
        if wf.status != "created":
            return self._reply("start_workflow", {"message": f"Workflow {wf.name} is already {wf.status}."}, 409)
        options = parameters or {}
        wf.parameters.update(options.get("input_parameters") or {})
        wf.status = "queued"
        wf.task = asyncio.get_running_loop().create_task(self._execute(wf))
        body = {"message": "Workflow submitted.", "workflow_id": wf.id, "workflow_name": wf.name,
                "status": wf.status, "user": self.user_id}  # fmt: skip
        return self._reply("start_workflow", body)

    async def get_workflow_status(self, workflow_id_or_name: str, access_token: str | None = None, **_: Any) -> Any:
        if (refused := self._authorised("get_workflow_status", access_token)) is not None:
            return refused
        wf = self._workflow("get_workflow_status", workflow_id_or_name)
        if not isinstance(wf, Workflow):
            return wf
        body = {"id": wf.id, "name": wf.name, "created": wf.created, "status": wf.status, "user": self.user_id,
                "logs": "", "progress": self._progress(wf)}  # fmt: skip
        return self._reply("get_workflow_status", body)

    async def set_workflow_status(
        self, workflow_id_or_name: str, status: str, access_token: str | None = None, parameters: Any = None, **_: Any
    ) -> Any:
        op = "set_workflow_status"
        if (refused := self._authorised(op, access_token)) is not None:
            return refused
        wf = self._workflow(op, workflow_id_or_name)
        if not isinstance(wf, Workflow):
            return wf
        if status == "stop":
            if wf.status not in ("queued", "pending", "running"):
                return self._reply(op, {"message": f"{wf.name} is not running, it is {wf.status}."}, 409)
            await self._stop(wf)
        elif status == "deleted":
            if wf.status in ("queued", "pending", "running"):
                return self._reply(op, {"message": f"{wf.name} cannot be deleted while it is {wf.status}."}, 409)
            wf.status = "deleted"
            shutil.rmtree(wf.workspace, ignore_errors=True)
        else:
            return self._reply(op, {"message": f"Status {status} is not supported here."}, 400)
        body = {"message": f"Workflow successfully {status}", "workflow_id": wf.id, "workflow_name": wf.name,
                "status": wf.status, "user": self.user_id}  # fmt: skip
        return self._reply(op, body)

    async def get_workflow_logs(self, workflow_id_or_name: str, access_token: str | None = None, **kwargs: Any) -> Any:
        if (refused := self._authorised("get_workflow_logs", access_token)) is not None:
            return refused
        wf = self._workflow("get_workflow_logs", workflow_id_or_name)
        if not isinstance(wf, Workflow):
            return wf
        wanted = kwargs.get("steps") or None
        job_logs = {
            j.id: {"workflow_uuid": wf.id, "job_name": j.step, "compute_backend": "Kubernetes",
                   "backend_job_id": f"reana-run-job-{j.id[:8]}", "docker_img": j.image, "cmd": j.command,
                   "status": j.status, "logs": j.logs, "started_at": j.started_at, "finished_at": j.finished_at}
            for j in wf.jobs if not wanted or j.step in wanted
        }  # fmt: skip
        logs = json.dumps({"workflow_logs": wf.engine_log, "job_logs": job_logs, "engine_specific": None})
        body = {"workflow_id": wf.id, "workflow_name": wf.name, "logs": logs, "user": self.user_id}
        return self._reply("get_workflow_logs", body)

    async def get_files(self, workflow_id_or_name: str, access_token: str | None = None, **params: Any) -> Any:
        if (refused := self._authorised("get_files", access_token)) is not None:
            return refused
        wf = self._workflow("get_files", workflow_id_or_name)
        if not isinstance(wf, Workflow):
            return wf
        items = []
        for path in sorted(p for p in wf.workspace.rglob("*") if p.is_file()):
            name = path.relative_to(wf.workspace).as_posix()
            if params.get("file_name") and not fnmatch.fnmatch(name, params["file_name"]):
                continue
            stat = path.stat()
            modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).strftime(REANA_TIME)
            items.append({"name": name, "last-modified": modified,
                          "size": {"raw": stat.st_size, "human_readable": f"{stat.st_size} Bytes"}})  # fmt: skip
        total = len(items)
        page, size = params.get("page"), params.get("size")
        if page and size:
            items = items[(page - 1) * size : page * size]
        return self._reply("get_files", {"items": items, "total": total})

    async def download_file(
        self, workflow_id_or_name: str, file_name: str, access_token: str | None = None, **_: Any
    ) -> Any:
        from connexion.lifecycle import ConnexionResponse

        if (refused := self._authorised("download_file", access_token)) is not None:
            return refused
        wf = self._workflow("download_file", workflow_id_or_name)
        if not isinstance(wf, Workflow):
            return wf
        path = _inside(wf.workspace, file_name)
        if path is None or not path.is_file():
            return self._reply("download_file", {"message": f"{file_name} does not exist."}, 404)
        self._reply("download_file", None, 200)  # the status check; the body is a file
        return ConnexionResponse(
            status_code=200,
            body=path.read_bytes(),
            content_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename={path.name}"},
        )

    async def get_workflow_specification(
        self, workflow_id_or_name: str, access_token: str | None = None, **_: Any
    ) -> Any:
        if (refused := self._authorised("get_workflow_specification", access_token)) is not None:
            return refused
        wf = self._workflow("get_workflow_specification", workflow_id_or_name)
        if not isinstance(wf, Workflow):
            return wf
        return self._reply("get_workflow_specification", {"specification": wf.spec, "parameters": wf.parameters})

    # -- execution -------------------------------------------------------------------------------

    async def _execute(self, wf: Workflow) -> None:
        await asyncio.sleep(0.05)
        wf.status = "running"
        wf.run_started_at = _now()
        wf.engine_log += f"{_now()} workflow {wf.name} started\n"
        if (wf.spec.get("workflow") or {}).get("type") in ENGINE_TYPES:
            await self._execute_engine(wf)
            return
        shell = shutil.which("bash") or "/bin/sh"
        for i, step in enumerate(wf.steps, start=1):
            if wf.stop_requested:
                return
            for command in step.get("commands") or []:
                job = Job(str(uuid.uuid4()), str(step.get("name") or f"step{i}"), str(step.get("environment", "")), "")
                try:
                    job.command = Template(command).substitute(wf.parameters)
                except (KeyError, ValueError) as exc:
                    wf.engine_log += f"Workflow parameter(s) could not be expanded: {exc}\n"
                    wf.status, wf.run_finished_at = "failed", _now()
                    return
                wf.jobs.append(job)
                job.status, job.started_at = "running", _now()
                wf.process = await asyncio.create_subprocess_exec(
                    shell, "-c", job.command, cwd=wf.workspace, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                    env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(wf.workspace), "LANG": "C.UTF-8"},
                )  # fmt: skip
                assert wf.process.stdout is not None
                async for line in wf.process.stdout:
                    job.logs += line.decode("utf-8", "replace")
                code = await wf.process.wait()
                job.finished_at = _now()
                if wf.stop_requested:
                    job.status = "stopped"
                    return
                if code != 0:
                    job.status = "failed"
                    wf.engine_log += f"{_now()} step {job.step} failed with exit code {code}\n"
                    wf.status, wf.run_finished_at = "failed", _now()
                    return
                job.status = "finished"
        wf.engine_log += f"{_now()} workflow {wf.name} finished\n"
        wf.status, wf.run_finished_at = "finished", _now()

    async def _execute_engine(self, wf: Workflow) -> None:
        """A cwl, snakemake or yadage workflow: its real engine (vrelab's engine venvs) in the workspace,
        each step it reports a job, as REANA's engine workflows report theirs."""
        spec = parse_spec(copy.deepcopy(wf.spec))
        assert spec.engine is not None
        main = wf.workspace / spec.engine.file
        if not main.is_file():
            wf.engine_log += f"{_now()} the workflow file {spec.engine.file} was not uploaded\n"
            wf.status, wf.run_finished_at = "failed", _now()
            return
        spec = replace(spec, engine=replace(spec.engine, text=main.read_text()),
                       parameters={k: str(v) for k, v in wf.parameters.items() if k != "input"})  # fmt: skip
        engine = engine_for(spec.engine.type)
        steps = [s.name for s in await asyncio.to_thread(engine.validate, wf.workspace, spec)]
        scratch = wf.workspace.parent / f"{wf.id}-engine"
        argv = engine.command(spec, wf.workspace, scratch, 1)
        wf.process = await asyncio.create_subprocess_exec(
            *argv, cwd=wf.workspace, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, env={"PATH": f"{engine.venv.path}/bin:/usr/bin:/bin", "HOME": str(wf.workspace),
                                         "LANG": "C.UTF-8"},
        )  # fmt: skip
        jobs: dict[str, Job] = {}
        parser = engine.parser(steps)
        assert wf.process.stdout is not None
        async for raw in wf.process.stdout:
            for event in parser.feed(raw.decode("utf-8", "replace").rstrip("\n")):
                if event.kind == "engine":
                    wf.engine_log += event.text + "\n"
                    continue
                name = event.step or next((n for n, j in jobs.items() if j.status == "running"), None)
                if name is None:
                    continue
                job = jobs.get(name)
                if job is None:
                    job = jobs[name] = Job(str(uuid.uuid4()), name, "", engine.program, "running", _now())
                    wf.jobs.append(job)
                if event.kind == "output":
                    job.logs += event.text
                elif event.kind == "end":
                    job.status, job.finished_at = ("finished" if event.ok else "failed"), _now()
        code = await wf.process.wait()
        if wf.stop_requested:
            return
        for job in jobs.values():
            if job.status == "running":
                job.status, job.finished_at = ("finished" if code == 0 else "failed"), _now()
        wf.engine_log += f"{_now()} workflow {wf.name} {'finished' if code == 0 else 'failed'}\n"
        wf.status, wf.run_finished_at = ("finished" if code == 0 else "failed"), _now()

    async def _stop(self, wf: Workflow) -> None:
        wf.stop_requested = True
        if wf.process is not None and wf.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(wf.process.pid, signal.SIGKILL)
        if wf.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(wf.task), 5)
        for job in wf.jobs:
            if job.status == "running":
                job.status, job.finished_at = "stopped", _now()
        wf.status, wf.run_stopped_at = "stopped", _now()
        wf.engine_log += f"{_now()} workflow {wf.name} stopped\n"


def _inside(root: Path, name: str) -> Path | None:
    # reana-client sends workspace paths with a leading '/' (as the real server accepts)
    target = (root / name.lstrip("/")).resolve()
    return target if target.is_relative_to(root.resolve()) and target != root.resolve() else None


def _du(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


# ------------------------------------------------------------------------------- the ASGI app
def build_app(double: ReanaDouble) -> Any:
    """connexion's AsyncApp serving the contract, validating requests and responses."""
    from connexion import AsyncApp
    from connexion.exceptions import NonConformingResponse, ProblemException
    from connexion.lifecycle import ConnexionResponse
    from connexion.options import SwaggerUIOptions
    from connexion.resolver import Resolver

    def resolve(operation_id: str) -> Any:
        handler = getattr(double, operation_id, None)
        if handler is not None:
            return handler

        async def missing(**_: Any) -> Any:
            double.violations.append(f"{operation_id}: called, but the double does not implement it")
            message = f"{operation_id} is not implemented by the test double"
            return double._reply(operation_id, {"message": message}, 500)

        return missing

    app = AsyncApp(__name__)
    app.add_api(
        contract_spec(double.spec),
        resolver=Resolver(function_resolver=resolve),
        strict_validation=True,
        validate_responses=True,
        pythonic_params=False,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=False),
    )

    async def problem(request: Any, exc: Exception) -> ConnexionResponse:
        kind = "response" if isinstance(exc, NonConformingResponse) else "request"
        detail = getattr(exc, "detail", None) or str(exc)
        double.violations.append(f"{request.method} {request.url.path}: {kind} breaks the contract: {detail}")
        status = getattr(exc, "status_code", None) or getattr(exc, "status", 500)
        body = json.dumps({"message": str(detail)})
        return ConnexionResponse(status_code=int(status), body=body, content_type="application/json")

    app.add_error_handler(ProblemException, problem)
    app.add_error_handler(NonConformingResponse, problem)

    async def record(scope: Any, receive: Any, send: Any, inner: Any = app) -> None:
        if scope.get("type") == "http":
            double.requests.append(f"{scope['method']} {scope['path']}")
        await inner(scope, receive, send)

    return record


class ReanaServer:
    """The double under uvicorn, in a thread of its own, on a free port of 127.0.0.1."""

    def __init__(self, double: ReanaDouble) -> None:
        import uvicorn

        self.double = double
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            build_app(double), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="reana-double", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return self.double.token

    def start(self) -> ReanaServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the REANA test double did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)


@pytest.fixture(scope="session")
def reana_spec() -> dict[str, Any]:
    """REANA's OpenAPI document (reana-commons), as shipped."""
    return json.loads(reana_server_spec_path().read_text())


@pytest.fixture(scope="session")
def reana_server_session(reana_spec, tmp_path_factory) -> Iterator[ReanaServer]:
    token = "reana-test-" + uuid.uuid4().hex
    server = ReanaServer(ReanaDouble(reana_spec, tmp_path_factory.mktemp("reana-workspaces"), token)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def reana_server(reana_server_session) -> Iterator[ReanaServer]:
    """The REANA double; the test fails if anything it saw broke REANA's contract."""
    double = reana_server_session.double
    double.take_violations()
    double.requests.clear()
    double.tokens_seen.clear()
    yield reana_server_session
    found = double.take_violations()
    assert not found, "REANA contract violations:\n" + "\n".join(found)


# ------------------------------------------------------------------- the real reana-client
REANA_CLIENT_VERSION = "0.9.6"


def reana_client_venv() -> Path:
    """A venv holding only ``reana-client`` (its pins cannot live next to JupyterLab), built once
    (a few minutes) under ``~/.cache/vrelab/`` and reused while its marker file is there."""
    venv = CACHE / f"reana-client-{REANA_CLIENT_VERSION}-py{sys.version_info.major}.{sys.version_info.minor}"
    marker = venv / ".vrelab-ready"
    if marker.is_file():
        return venv
    with _locked(venv.with_name(venv.name + ".lock")):
        if marker.is_file():
            return venv
        python = venv / "bin" / "python"
        check = [str(python), "-c", "import reana_client.cli, bravado; print('ok')"]
        usable = python.exists() and subprocess.run(check, capture_output=True, text=True).stdout.strip() == "ok"
        if not usable:
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
            installed = subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                 f"reana-client=={REANA_CLIENT_VERSION}"],
                capture_output=True, text=True, timeout=1200,
            )  # fmt: skip
            if installed.returncode != 0:
                why = installed.stderr[-3000:]
                raise RuntimeError(f"pip install reana-client=={REANA_CLIENT_VERSION} failed:\n{why}")
            subprocess.run(check, check=True, capture_output=True)
        marker.write_text(f"reana-client=={REANA_CLIENT_VERSION}\n")
    return venv


# Runs several reana-client commands in one process of the client's venv (its start-up, loading and
# checking REANA's OpenAPI document, takes seconds): each through the click CLI itself, as typed.
_DRIVER = """
import json, sys
from click.testing import CliRunner
from reana_client.cli import cli
results = []
for args in json.loads(sys.argv[1]):
    res = CliRunner().invoke(cli, args, catch_exceptions=True)
    out = res.output
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        out += "\\n" + repr(res.exception)
    results.append({"args": args, "exit_code": res.exit_code, "output": out})
print(json.dumps(results))
"""


@pytest.fixture(scope="session")
def reana_cli():
    """``reana_cli(commands, url, token, cwd)``: run reana-client commands, get their exit codes and output."""
    venv = reana_client_venv()

    def run(commands: list[list[str]], url: str, token: str, cwd: Path) -> list[dict[str, Any]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REANA_", "PYTHON", "VIRTUAL_ENV"))}
        env.update({"REANA_SERVER_URL": url, "REANA_ACCESS_TOKEN": token, "PYTHONWARNINGS": "ignore"})
        proc = subprocess.run(
            [str(venv / "bin" / "python"), "-c", _DRIVER, json.dumps(commands)],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    return run
