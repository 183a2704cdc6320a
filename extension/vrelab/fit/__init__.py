"""Likelihood fitting as a service: pyhf workspaces, fits, CLs, upper limits and patchset scans.

:class:`FitService` stores workspaces (by content hash) and validates fit jobs; the job kinds of
:mod:`vrelab.fit.jobs` run the fits in worker processes (or on Dask) and cache every result.
Nothing here imports tornado; pyhf is imported only where a computation needs it.
"""

from __future__ import annotations

from .errors import FitFailed, InvalidWorkspace, PatchDoesNotApply
from .results import ChannelYields, FitResult, HypotestResult, LimitResult, ScanPoint, ScanResult
from .service import FitService

__all__ = [
    "ChannelYields",
    "FitFailed",
    "FitResult",
    "FitService",
    "HypotestResult",
    "InvalidWorkspace",
    "LimitResult",
    "PatchDoesNotApply",
    "ScanPoint",
    "ScanResult",
]
