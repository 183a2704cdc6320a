"""The fit API: store, list, inspect and transform pyhf workspaces.

Fits, hypothesis tests, limits and scans are jobs (kinds ``fit.mle``, ``fit.hypotest``,
``fit.limit``, ``fit.scan``) submitted through ``POST jobs`` with a ``workspace_id``.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import VRELabHandler
from .route import Route


class _FitHandler(VRELabHandler):
    auth_resource = "vrelab:fit"


class WorkspacesHandler(_FitHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit, offset = self.page_args()
        self.write_json(await self.blocking(self.services.fit.list_workspaces, limit=limit, offset=offset))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        workspace = await self.blocking(self.services.fit.add_workspace, body)
        self.set_header("Location", self.request.path.rstrip("/") + "/" + workspace["id"])
        self.write_json(workspace, status=201)


class WorkspaceHandler(_FitHandler):
    @web.authenticated
    @authorized
    async def get(self, workspace_id: str) -> None:
        self.write_json(await self.blocking(self.services.fit.inspect, workspace_id))

    @web.authenticated
    @authorized
    async def delete(self, workspace_id: str) -> None:
        await self.blocking(self.services.fit.delete_workspace, workspace_id)
        self.set_status(204)
        self.finish()


class WorkspaceDocumentHandler(_FitHandler):
    @web.authenticated
    @authorized
    async def get(self, workspace_id: str) -> None:
        self.write_json(await self.blocking(self.services.fit.workspace_document, workspace_id))


class PatchesHandler(_FitHandler):
    @web.authenticated
    @authorized
    async def get(self, workspace_id: str) -> None:
        limit, offset = self.page_args()
        self.write_json(await self.blocking(self.services.fit.patches, workspace_id, limit=limit, offset=offset))


def _operation(method: str) -> type[_FitHandler]:
    class OperationHandler(_FitHandler):
        @web.authenticated
        @authorized
        async def post(self, workspace_id: str) -> None:
            body = self.json_body()
            result = await self.blocking(getattr(self.services.fit, method), workspace_id, body)
            self.write_json(result, status=201)

    OperationHandler.__name__ = f"Workspace{method.title().replace('_', '')}Handler"
    return OperationHandler


ROUTES = [
    Route("/fit/workspaces", WorkspacesHandler),
    Route("/fit/workspaces/{workspace_id}", WorkspaceHandler),
    Route("/fit/workspaces/{workspace_id}/document", WorkspaceDocumentHandler),
    Route("/fit/workspaces/{workspace_id}/patches", PatchesHandler),
    Route("/fit/workspaces/{workspace_id}/prune", _operation("prune")),
    Route("/fit/workspaces/{workspace_id}/rename", _operation("rename")),
    Route("/fit/workspaces/{workspace_id}/combine", _operation("combine")),
    Route("/fit/workspaces/{workspace_id}/apply-patch", _operation("apply_patch")),
]
