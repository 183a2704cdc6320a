"""The jobs API: list, submit, get, cancel, delete, resubmit, log, and the live event stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from ..errors import BadRequest
from ..jobs import JobState
from .base import VRELabHandler
from .route import Route

# An SSE comment is sent this often so that proxies keep an idle stream open.
KEEPALIVE_SECONDS = 15.0


def _csv(handler: VRELabHandler, name: str) -> list[str]:
    values: list[str] = []
    for raw in handler.get_query_arguments(name):
        values.extend(v for v in raw.split(",") if v)
    return values


class JobsHandler(VRELabHandler):
    auth_resource = "vrelab:jobs"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit, offset = self.page_args()
        jobs, total = await self.blocking(
            self.services.jobs.list,
            self.owner,
            kinds=_csv(self, "kind"),
            states=_csv(self, "state"),
            limit=limit,
            offset=offset,
        )
        self.write_json(
            {
                "jobs": [j.to_dict(with_result=False) for j in jobs],
                "total": total,
                "limit": limit,
                "offset": offset,
            }
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        kind = body.get("kind")
        if not isinstance(kind, str) or not kind:
            raise BadRequest('Give the job\'s \'kind\' (a string), e.g. {"kind": "...", "params": {...}}.')
        params = body.get("params", {})
        job = await self.blocking(self.services.jobs.submit, kind, params, self.owner)
        self.set_header("Location", self.request.path.rstrip("/") + "/" + job.id)
        self.write_json(job.to_dict(), status=202)


class JobKindsHandler(VRELabHandler):
    auth_resource = "vrelab:jobs"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json({"kinds": self.services.registry.describe()})


class JobHandler(VRELabHandler):
    auth_resource = "vrelab:jobs"

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        job = await self.blocking(self.services.jobs.get, job_id, self.owner)
        self.write_json(job.to_dict())

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        await self.blocking(self.services.jobs.delete, job_id, self.owner)
        self.set_status(204)
        self.finish()


class JobCancelHandler(VRELabHandler):
    auth_resource = "vrelab:jobs"

    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        job = await self.blocking(self.services.jobs.cancel, job_id, self.owner)
        self.write_json(job.to_dict(), status=202)


class JobResubmitHandler(VRELabHandler):
    auth_resource = "vrelab:jobs"

    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        job = await self.blocking(self.services.jobs.resubmit, job_id, self.owner)
        self.write_json(job.to_dict(), status=202)


class JobLogHandler(VRELabHandler):
    auth_resource = "vrelab:jobs"

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        text = await self.blocking(self.services.jobs.read_log, job_id, self.owner)
        self.write_json({"job_id": job_id, "log": text})


class _EventStream(VRELabHandler):
    """Server-sent events: one ``event: job`` per change, JSON in ``data:``."""

    auth_resource = "vrelab:jobs"
    _closed = False

    def on_connection_close(self) -> None:
        self._closed = True

    async def _send(self, event: dict[str, Any]) -> None:
        self.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n")
        await self.flush()

    async def stream(self, job_id: str | None) -> None:
        manager = self.services.jobs
        snapshot = None
        if job_id is not None:
            snapshot = await self.blocking(manager.get, job_id, self.owner)
        sub = manager.subscribe(self.owner, job_id)
        try:
            self.set_header("Content-Type", "text/event-stream")
            self.set_header("Cache-Control", "no-cache")
            self.set_header("X-Accel-Buffering", "no")
            if snapshot is not None:
                # the current state first (fresh from the manager: it may have moved meanwhile)
                current = await self.blocking(manager.get, job_id, self.owner)
                await self._send({"type": "job", "job": current.to_dict(with_result=current.state.finished)})
                if current.state.finished:
                    return
            else:
                self.write(": stream of job events\n\n")
                await self.flush()
            while not self._closed:
                try:
                    event = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    self.write(": keep-alive\n\n")
                    await self.flush()
                    continue
                await self._send(event)
                if job_id is not None and JobState(event["job"]["state"]).finished:
                    return
        except StreamClosedError:
            return
        finally:
            manager.unsubscribe(sub)


class JobEventsHandler(_EventStream):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        await self.stream(job_id)


class AllJobEventsHandler(_EventStream):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.stream(None)


ROUTES = [
    Route("/jobs", JobsHandler),
    Route("/jobs/kinds", JobKindsHandler),
    Route("/jobs/events", AllJobEventsHandler),
    Route("/jobs/{job_id}", JobHandler),
    Route("/jobs/{job_id}/cancel", JobCancelHandler),
    Route("/jobs/{job_id}/resubmit", JobResubmitHandler),
    Route("/jobs/{job_id}/log", JobLogHandler),
    Route("/jobs/{job_id}/events", JobEventsHandler),
]
