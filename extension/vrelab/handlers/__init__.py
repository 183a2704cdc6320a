"""The REST handlers, registered from one table."""

from __future__ import annotations

from . import jobs, status
from .route import API_PREFIX, Route

ROUTES: list[Route] = [*status.ROUTES, *jobs.ROUTES]

__all__ = ["API_PREFIX", "ROUTES", "Route"]
