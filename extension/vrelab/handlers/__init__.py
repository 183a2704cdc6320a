"""The REST handlers, registered from one table."""

from __future__ import annotations

from . import fit, jobs, lake, metrics, status, workflows
from .route import API_PREFIX, Route

ROUTES: list[Route] = [*status.ROUTES, *jobs.ROUTES, *lake.ROUTES, *fit.ROUTES, *workflows.ROUTES, *metrics.ROUTES]

__all__ = ["API_PREFIX", "ROUTES", "Route"]
