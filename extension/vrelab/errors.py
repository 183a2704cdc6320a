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
