"""The workflows API: validate, submit, follow, stop and delete workflow runs; fetch logs and outputs.

A run is a job (kind ``workflow.run`` or ``workflow.recast``): its id is the job's id, so
``GET jobs/{id}/events`` streams its progress too.
"""

from __future__ import annotations

import mimetypes

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import VRELabHandler
from .route import Route

CHUNK = 1024 * 1024


class _WorkflowHandler(VRELabHandler):
    auth_resource = "vrelab:workflows"


class WorkflowsHandler(_WorkflowHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit, offset = self.page_args()
        status = self.query_text("status")
        self.write_json(
            await self.blocking(self.services.workflows.list, self.owner, status=status, limit=limit, offset=offset)
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        run = await self.blocking(self.services.workflows.submit, body, self.owner)
        self.set_header("Location", self.request.path.rstrip("/") + "/" + run["id"])
        self.write_json(run, status=202)


class ValidateHandler(_WorkflowHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        self.write_json(await self.blocking(self.services.workflows.validate, body))


class RecastHandler(_WorkflowHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        run = await self.blocking(self.services.workflows.recast, body, self.owner)
        self.set_header("Location", self.request.path.rsplit("/", 1)[0] + "/" + run["id"])
        self.write_json(run, status=202)


class WorkflowHandler(_WorkflowHandler):
    @web.authenticated
    @authorized
    async def get(self, workflow_id: str) -> None:
        self.write_json(await self.blocking(self.services.workflows.get, workflow_id, self.owner))

    @web.authenticated
    @authorized
    async def delete(self, workflow_id: str) -> None:
        await self.blocking(self.services.workflows.delete, workflow_id, self.owner)
        self.set_status(204)
        self.finish()


class LogsHandler(_WorkflowHandler):
    @web.authenticated
    @authorized
    async def get(self, workflow_id: str) -> None:
        step = self.query_text("step")
        self.write_json(await self.blocking(self.services.workflows.logs, workflow_id, self.owner, step=step))


class OutputsHandler(_WorkflowHandler):
    @web.authenticated
    @authorized
    async def get(self, workflow_id: str) -> None:
        self.write_json(await self.blocking(self.services.workflows.outputs, workflow_id, self.owner))


class OutputFileHandler(_WorkflowHandler):
    @web.authenticated
    @authorized
    async def get(self, workflow_id: str, path: str) -> None:
        target = await self.blocking(self.services.workflows.output_path, workflow_id, self.owner, path)
        kind, _ = mimetypes.guess_type(target.name)
        self.set_header("Content-Type", kind or "application/octet-stream")
        self.set_header("Content-Disposition", f'attachment; filename="{target.name}"')
        self.set_header("Content-Length", str(target.stat().st_size))
        with open(target, "rb") as fh:
            while chunk := fh.read(CHUNK):
                self.write(chunk)
                await self.flush()
        self.finish()


class StopHandler(_WorkflowHandler):
    @web.authenticated
    @authorized
    async def post(self, workflow_id: str) -> None:
        self.write_json(await self.blocking(self.services.workflows.stop, workflow_id, self.owner), status=202)


ROUTES = [
    Route("/workflows", WorkflowsHandler),
    Route("/workflows/validate", ValidateHandler),
    Route("/workflows/recast", RecastHandler),
    Route("/workflows/{workflow_id}", WorkflowHandler),
    Route("/workflows/{workflow_id}/logs", LogsHandler),
    Route("/workflows/{workflow_id}/outputs", OutputsHandler),
    Route("/workflows/{workflow_id}/outputs/{path}", OutputFileHandler, {"path": ".+"}),
    Route("/workflows/{workflow_id}/stop", StopHandler),
]
