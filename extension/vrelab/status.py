"""What ``GET status`` reports: version, capabilities, and whether upstream services answer.

Probes of upstream services are cached and refreshed in the background, so a status request
never waits on a slow or dead upstream for longer than a short first-time timeout.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

ProbeFn = Callable[[], Awaitable[dict[str, Any]]]

FIRST_PROBE_TIMEOUT = 2.0


class CachedProbe:
    """An async probe whose answer is reused for ``ttl`` seconds and refreshed in the background."""

    def __init__(self, fn: ProbeFn, ttl: float):
        self.fn = fn
        self.ttl = ttl
        self._value: dict[str, Any] | None = None
        self._stamp = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _refresh(self) -> None:
        try:
            self._value = await self.fn()
        except Exception as exc:
            self._value = {"reachable": False, "message": f"probe failed: {type(exc).__name__}"}
        self._stamp = time.monotonic()

    async def get(self) -> dict[str, Any]:
        fresh = self._value is not None and time.monotonic() - self._stamp < self.ttl
        if not fresh and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self._refresh())
        if self._value is None and self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), FIRST_PROBE_TIMEOUT)
            except TimeoutError:
                return {"reachable": None, "message": "still probing"}
        return dict(self._value or {})


def module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def rucio_ping_probe(instances: list[dict[str, Any]], timeout: float = 1.5) -> ProbeFn:
    """A probe that asks every configured Rucio instance's ``/ping``."""

    async def probe() -> dict[str, Any]:
        if not instances:
            return {"reachable": None, "message": "no Rucio instance configured"}
        results: dict[str, Any] = {}

        async def one(inst: dict[str, Any]) -> None:
            name = str(inst.get("name", "?"))
            url = str(inst.get("rucio_host", "")).rstrip("/") + "/ping"
            try:
                async with httpx.AsyncClient(timeout=timeout, verify=inst.get("ca_cert") or True) as client:
                    r = await client.get(url)
                results[name] = {
                    "reachable": r.status_code == 200,
                    "version": r.json().get("version") if r.status_code == 200 else None,
                }
            except (httpx.HTTPError, ValueError, OSError) as exc:
                results[name] = {"reachable": False, "message": f"cannot reach {url}: {type(exc).__name__}"}

        await asyncio.gather(*(one(i) for i in instances))
        reachable = all(r["reachable"] for r in results.values())
        return {"reachable": reachable, "instance_status": results}

    return probe


class StatusService:
    def __init__(self, version: str, ttl: float):
        self.version = version
        self.ttl = ttl
        self._capabilities: dict[str, Callable[[], dict[str, Any]]] = {}
        self._probes: dict[str, CachedProbe] = {}
        self.started = time.time()

    def add_capability(
        self, name: str, describe: Callable[[], dict[str, Any]], probe: ProbeFn | None = None
    ) -> None:
        """``describe()`` must be cheap (no I/O); ``probe`` may do I/O and is cached."""
        self._capabilities[name] = describe
        if probe is not None:
            self._probes[name] = CachedProbe(probe, self.ttl)

    async def status(self) -> dict[str, Any]:
        capabilities: dict[str, Any] = {}
        names = list(self._capabilities)
        probed = await asyncio.gather(*(self._probes[n].get() for n in names if n in self._probes))
        probe_results = dict(zip([n for n in names if n in self._probes], probed, strict=True))
        for name in names:
            entry = {"enabled": True, "reachable": None, "message": ""}
            entry.update(self._capabilities[name]())
            entry.update(probe_results.get(name, {}))
            capabilities[name] = entry
        return {
            "version": self.version,
            "api_version": "v1",
            "server_time": time.time(),
            "uptime_seconds": round(time.time() - self.started, 3),
            "capabilities": capabilities,
        }
