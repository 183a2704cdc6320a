"""The errors particular to fits (all :class:`vrelab.errors.VRELabError`, so the API maps them)."""

from __future__ import annotations

from ..errors import BadRequest, VRELabError

__all__ = ["FitFailed", "InvalidWorkspace", "PatchDoesNotApply"]


class InvalidWorkspace(BadRequest):
    """The JSON is not a pyhf workspace or patchset (schema violation, unreadable archive, ...)."""

    code = "invalid_workspace"


class PatchDoesNotApply(BadRequest):
    """A JSON patch's operations do not fit the workspace (missing path, wrong index, ...)."""

    code = "patch_does_not_apply"


class FitFailed(VRELabError):
    """The minimisation did not converge, or gave values no result can be read from."""

    status = 422
    code = "fit_failed"
