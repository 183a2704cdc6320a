"""GET status, GET openapi.json."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..openapi import load_spec
from .base import VRELabHandler
from .route import Route


class StatusHandler(VRELabHandler):
    auth_resource = "vrelab:status"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.services.status.status())


class OpenAPIHandler(VRELabHandler):
    auth_resource = "vrelab:status"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(self.services.openapi(load_spec()))


ROUTES = [
    Route("/status", StatusHandler),
    Route("/openapi.json", OpenAPIHandler),
]
