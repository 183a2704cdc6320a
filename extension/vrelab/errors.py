"""The errors of vrelab's services.

Every service raises one of these; the REST handlers turn them into a JSON body
``{"error": {"code", "message", "details"}}`` with the HTTP status named here, and the
CLI prints the message alone. A message is written for a physicist: what went wrong and,
where it helps, what to do about it. It never holds a credential.
"""

from __future__ import annotations

from typing import Any


class VRELabError(Exception):
    """Base of every error vrelab reports to a user."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(VRELabError):
    status = 400
    code = "bad_request"


class Unauthorized(VRELabError):
    status = 401
    code = "unauthorized"


class Forbidden(VRELabError):
    status = 403
    code = "forbidden"


class NotFound(VRELabError):
    status = 404
    code = "not_found"


class Conflict(VRELabError):
    status = 409
    code = "conflict"


class PayloadTooLarge(VRELabError):
    status = 413
    code = "payload_too_large"


class TooManyRequests(VRELabError):
    status = 429
    code = "too_many_requests"


class UpstreamError(VRELabError):
    """An upstream service (Rucio, REANA, a container engine) answered with an error."""

    status = 502
    code = "upstream_error"


class Unavailable(VRELabError):
    """An upstream service could not be reached at all."""

    status = 503
    code = "unavailable"


class LakeServerError(VRELabError):
    """The embedded data lake could not be started, stopped or seeded."""

    status = 500
    code = "lake_server_error"


# ---------------------------------------------------------------- errors of the capabilities
# They live here, beside the HTTP ones, so that the client (which imports no service) raises the
# same class a service raised: ``except FitFailed:`` works in a notebook as on the server.


class JobFailed(VRELabError):
    """A job function raised something that is not a VRELabError."""

    status = 500
    code = "job_failed"


class WorkerDied(VRELabError):
    """A worker process vanished (killed, out of memory) before it answered."""

    status = 500
    code = "worker_died"


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


class DownloadFailed(VRELabError):
    """Files of a download could not be fetched or did not match their checksums."""

    status = 502
    code = "download_failed"


class SpecError(BadRequest):
    """The workflow specification is not valid; the message says where (line, step, field)."""

    code = "invalid_workflow"


class WorkflowFailed(VRELabError):
    """A run ended in failure (a step failed); the message names the step and why."""

    status = 500
    code = "workflow_failed"


class RecastError(VRELabError):
    """A RECAST request could not be carried out (no yields, a patch that does not fit, ...)."""

    status = 400
    code = "recast_failed"


def _all_subclasses(cls: type[VRELabError]) -> list[type[VRELabError]]:
    out: list[type[VRELabError]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


#: Every error class of vrelab by its ``code``, for turning an error body back into its class.
BY_CODE: dict[str, type[VRELabError]] = {cls.code: cls for cls in _all_subclasses(VRELabError)}
#: The generic class of each HTTP status, for bodies whose code is unknown.
BY_STATUS: dict[int, type[VRELabError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        TooManyRequests,
        UpstreamError,
        Unavailable,
    )
}


def from_body(
    error: dict[str, Any] | None, *, status: int | None = None, fallback: str = "The request failed."
) -> VRELabError:
    """The vrelab error an ``{"code", "message", "details"}`` body describes (e.g. a job's ``error``)."""
    error = error or {}
    code = str(error.get("code") or "")
    cls = BY_CODE.get(code) or (BY_STATUS.get(status, VRELabError) if status is not None else VRELabError)
    exc = cls(str(error.get("message") or fallback), details=dict(error.get("details") or {}))
    if code:
        exc.code = code
    if status is not None:
        exc.status = status
    return exc
