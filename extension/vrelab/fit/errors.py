"""The errors particular to fits (defined in :mod:`vrelab.errors`, so the client raises them too)."""

from __future__ import annotations

from ..errors import FitFailed, InvalidWorkspace, PatchDoesNotApply

__all__ = ["FitFailed", "InvalidWorkspace", "PatchDoesNotApply"]
