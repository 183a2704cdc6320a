"""GET metrics: this server's Prometheus metrics, in the text exposition format."""

from __future__ import annotations

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from tornado import web

from ..metrics import CONTENT_TYPE_LATEST
from .base import VRELabHandler
from .route import Route


class MetricsHandler(VRELabHandler):
    """Authenticated like every vrelab route, unless ``VRELab.metrics_allow_unauthenticated`` is set."""

    auth_resource = "vrelab:metrics"
    # a scrape is no user activity: counting it would keep an idle server from ever being culled
    _track_activity = False

    @allow_unauthenticated  # jupyter-server's own gate is replaced by the check below, chosen by the option
    async def get(self) -> None:
        if self.services.config.metrics_allow_unauthenticated:
            await self._write_metrics()
        else:
            pending = self._authenticated_get()  # tornado types the decorated method as maybe-awaitable
            if pending is not None:
                await pending

    @web.authenticated
    @authorized
    async def _authenticated_get(self) -> None:
        await self._write_metrics()

    async def _write_metrics(self) -> None:
        text = await self.blocking(self.services.metrics.exposition)  # the gauges read the jobs database
        self.set_header("Cache-Control", "no-store")
        self.finish(text, set_content_type=CONTENT_TYPE_LATEST)


ROUTES = [Route("/metrics", MetricsHandler)]
