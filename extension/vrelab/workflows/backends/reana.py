"""The ``reana`` backend: a run becomes a REANA workflow, through vrelab's own REST client.

The run's workflow is sent as a ``reana.yaml`` of type ``serial`` (a DAG's steps in a topological
order, one after the other, as REANA's serial engine runs them) — a ``cwl``, ``snakemake`` or
``yadage`` workflow is sent as it is, with its type, its main file among the uploads and its
parameters as REANA's ``inputs.parameters``, and each job REANA reports is the step (CWL step,
rule, stage) of its name —, its workspace files (the copied
inputs) are uploaded, the workflow is started, and its status and job logs are followed until it
ends; each REANA job is reported as the step of the same name (status, image, command, times, log).
At the end the workspace's files are downloaded into the run's folder, so outputs are read, listed
and uploaded to the lake like those of any other backend. A stop stops the REANA workflow; deleting
the run deletes the REANA workflow and its workspace (it is named ``vrelab-<run id>``).

Parameters are never pasted into commands: REANA's serial engine expands ``$name`` in command text,
so every ``$`` of a step's script is escaped (``$$``) and the parameters are set as shell variables
(``export name='value'``, quoted) at the top of the step's script — the same ``"${name}"`` then
reads them as on every other backend.

Settings (``c.VRELab.workflow_backends = {"reana": {...}}``): ``server_url`` (else the environment
variable ``REANA_SERVER_URL``; without one the backend is not offered), the access token from
``access_token_file`` (a 0600 file) or the environment variable named by ``token_env`` (default
``REANA_ACCESS_TOKEN``), ``verify`` (true, false or a CA bundle path), ``timeout`` (seconds per
request, default 30), ``poll_seconds`` (default 2).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ...errors import BadRequest, NotFound, Unauthorized, UpstreamError, VRELabError
from ..reana_api import ReanaClient
from ..spec import WorkflowSpec
from .base import Backend, BackendCheck, BackendSettings, RunContext, RunStatus

__all__ = ["ReanaBackend", "reana_document"]

T = TypeVar("T")

_JOB_STATUS = {
    "finished": RunStatus.FINISHED,
    "failed": RunStatus.FAILED,
    "stopped": RunStatus.STOPPED,
}
_ENDED = {"finished", "failed", "stopped", "deleted"}


def _escape(text: str) -> str:
    """Text that REANA's ``$name`` expansion gives back unchanged."""
    return text.replace("$", "$$")


def reana_document(
    spec: WorkflowSpec, environments: dict[str, dict[str, str]], input_files: list[str]
) -> dict[str, Any]:
    """The ``reana.yaml`` of a run: serial steps whose scripts first set the step's variables
    (``environments[step]``: parameters, run id, step name), all of it escaped from REANA's expansion."""
    steps = []
    for step in spec.steps:
        variables = sorted(environments.get(step.name, {}).items())
        header = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in variables)
        steps.append({"name": step.name, "environment": step.image, "commands": [_escape(header + step.script)]})
    return {
        "version": spec.version or "0.9.0",
        "inputs": {"files": sorted(input_files)},
        "workflow": {"type": "serial", "specification": {"steps": steps}},
        "outputs": {"files": list(spec.output_files), "directories": list(spec.output_directories)},
    }


def _run_coroutine(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to its end from synchronous code, also when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="vrelab-reana", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class ReanaBackend(Backend):
    name: ClassVar[str] = "reana"
    description: ClassVar[str] = "Steps on a REANA cluster; the workspace's files are copied back when it ends."

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> ReanaBackend | None:
        if not (settings.options.get("server_url") or os.environ.get("REANA_SERVER_URL")):
            return None
        return cls(settings)

    # -- settings ----------------------------------------------------------------------------------

    @property
    def server_url(self) -> str:
        return str(self.settings.options.get("server_url") or os.environ.get("REANA_SERVER_URL") or "")

    @property
    def poll_seconds(self) -> float:
        return float(self.settings.options.get("poll_seconds", 2.0))

    def _token(self) -> str:
        path = self.settings.options.get("access_token_file")
        if path:
            try:
                token = Path(str(path)).expanduser().read_text().strip()
            except OSError as exc:
                raise Unauthorized(f"The REANA access token file {path} cannot be read ({exc.strerror}).") from None
        else:
            env = str(self.settings.options.get("token_env") or "REANA_ACCESS_TOKEN")
            token = os.environ.get(env, "").strip()
            if not token:
                raise Unauthorized(
                    f"No REANA access token: set the environment variable {env} (or the reana backend's "
                    "'access_token_file') to the token from your REANA profile page."
                )
        return token

    def client(self) -> ReanaClient:
        verify = self.settings.options.get("verify", True)
        timeout = float(self.settings.options.get("timeout", 30.0))
        return ReanaClient(self.server_url, self._token(), timeout=timeout, verify=verify)

    def _call(self, use: Callable[[ReanaClient], Awaitable[T]]) -> T:
        async def go() -> T:
            async with self.client() as reana:
                return await use(reana)

        return _run_coroutine(go)

    # -- the interface -----------------------------------------------------------------------------

    def check(self) -> BackendCheck:
        try:
            answer = self._call(lambda reana: reana.ping())
        except VRELabError as exc:
            return BackendCheck(self.name, False, exc.message, {"server": self.server_url})
        who = answer["user"].get("email") or answer["user"].get("username") or "your token"
        return BackendCheck(self.name, True, f"REANA at {self.server_url}, as {who}", {"server": self.server_url})

    def run(self, ctx: RunContext) -> None:
        _run_coroutine(lambda: _Follower(self, ctx).run())

    def delete(self, run_id: str, workspace: Path) -> None:
        async def remove(reana: ReanaClient) -> None:
            try:
                await reana.delete(_workflow_name(run_id) + ".1")
            except NotFound:
                pass  # never created there, or already deleted

        self._call(remove)


def _workflow_name(run_id: str) -> str:
    return f"vrelab-{run_id}"


class _Follower:
    """One run on REANA: create, upload, start, follow, fetch the outputs."""

    def __init__(self, backend: ReanaBackend, ctx: RunContext):
        self.backend = backend
        self.ctx = ctx
        self.started: set[str] = set()
        self.ended: set[str] = set()
        self.log_sent: dict[str, int] = {}
        self.engine_sent = 0
        self.failed_steps: list[str] = []
        self.last_engine_line = ""

    async def run(self) -> None:
        ctx = self.ctx
        if ctx.spec.engine is not None:
            from ..engines.runner import write_main_file

            write_main_file(ctx)
        inputs = sorted(
            p.relative_to(ctx.workspace).as_posix()
            for p in ctx.workspace.rglob("*")
            if p.is_file() and not p.is_symlink()
        )
        if ctx.spec.engine is not None:  # cwl, snakemake, yadage: the spec as it is, REANA's engine runs it
            document = ctx.spec.to_reana()
            document["inputs"]["files"] = inputs
        else:
            environments = {s.name: ctx.step_env(s) for s in ctx.spec.steps}
            document = reana_document(ctx.spec, environments, inputs)
        async with self.backend.client() as reana:
            created = await reana.create_workflow(_workflow_name(ctx.run_id), document)
            wid = created["workflow_id"]
            ctx.log(f"REANA workflow {created['workflow_name']} ({wid}) at {reana.server_url}")
            for rel in inputs:
                await reana.upload_path(wid, ctx.workspace / rel, rel)
            if inputs:
                ctx.log(f"uploaded {len(inputs)} input file(s) to the REANA workspace")
            await reana.start(wid)
            status = await self._follow(reana, wid)
            await self._fetch_outputs(reana, wid, set(inputs))
        if status == "failed" and not any(s in self.ended for s in self.failed_steps):
            raise UpstreamError(f"The REANA workflow failed before its steps ran: {self.last_engine_line}")

    async def _follow(self, reana: ReanaClient, wid: str) -> str:
        stop_sent = False
        while True:
            if self.ctx.stopping and not stop_sent:
                try:
                    await reana.stop(wid)
                except VRELabError as exc:
                    self.ctx.log(f"REANA could not stop the workflow: {exc.message}")
                stop_sent = True
            status = await reana.status(wid)
            await self._sync_steps(reana, wid)
            if status.status in _ENDED:
                return status.status
            await asyncio.sleep(0.1 if stop_sent else self.backend.poll_seconds)

    async def _sync_steps(self, reana: ReanaClient, wid: str) -> None:
        ctx = self.ctx
        logs = await reana.logs(wid)
        engine = str(logs.get("workflow_logs") or "")
        if len(engine) > self.engine_sent:
            for line in engine[self.engine_sent :].splitlines():
                if line.strip():
                    ctx.log(f"REANA: {line}")
                    self.last_engine_line = line.strip()
            self.engine_sent = len(engine)
        known = {s.name for s in ctx.spec.steps}
        for job_id, job in (logs.get("job_logs") or {}).items():
            if not isinstance(job, dict):
                continue
            name = str(job.get("job_name") or "")
            if name not in known:
                continue
            status = str(job.get("status") or "")
            if name not in self.started and status in ("running", *_JOB_STATUS):
                ctx.step_started(name, image=str(job.get("docker_img") or "") or None, backend_id=f"reana:{job_id}")
                self.started.add(name)
            text = str(job.get("logs") or "")
            sent = self.log_sent.get(name, 0)
            if len(text) > sent:
                ctx.step_output(name, text[sent:])
                self.log_sent[name] = len(text)
            if name in self.started and name not in self.ended and status in _JOB_STATUS:
                state = _JOB_STATUS[status]
                message = "" if state is RunStatus.FINISHED else f"the REANA job {status}"
                if state is RunStatus.FAILED:
                    self.failed_steps.append(name)
                ctx.step_finished(name, status=state, exit_code=0 if state is RunStatus.FINISHED else None,
                                  message=message)  # fmt: skip
                self.ended.add(name)

    async def _fetch_outputs(self, reana: ReanaClient, wid: str, uploaded: set[str]) -> None:
        from ...paths import resolve_inside

        files = await reana.list_files(wid)
        fetched = 0
        for item in files:
            name = item["name"].lstrip("/")
            local = self.ctx.workspace / name
            if name in uploaded and local.is_file() and local.stat().st_size == item["size"]:
                continue  # an input, unchanged
            try:
                target = resolve_inside(self.ctx.workspace, name)
            except VRELabError:
                self.ctx.log(f"REANA workspace file {name!r} skipped: it would land outside the run's folder")
                continue
            await reana.download(wid, name, target)
            fetched += 1
        self.ctx.log(f"downloaded {fetched} file(s) from the REANA workspace")
        missing = [p for s in self.ctx.spec.steps if s.name in self.ended for p in s.outputs
                   if not (self.ctx.workspace / p).exists()]  # fmt: skip
        if missing and not self.failed_steps and not self.ctx.stopping:
            raise BadRequest(f"The REANA workflow did not write its declared output(s): {', '.join(missing)}.")
