"""The base of every vrelab REST handler: auth, JSON in and out, errors as JSON.

Handlers stay thin: parse the request, call a service, write the answer. Services raise
:mod:`vrelab.errors`; this base turns them into ``{"error": {"code", "message", "details"}}``
with the right HTTP status. Anything unexpected becomes a 500 with a reference the operator
can find in the server log; a stack trace never reaches the client.
"""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import Callable
from http.client import responses
from typing import Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..errors import BadRequest, PayloadTooLarge, VRELabError
from ..services import Services

T = TypeVar("T")

MAX_OFFSET = 1_000_000_000

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "too_many_requests",
}



def _call(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    # A StopIteration cannot cross run_in_executor's future (asyncio turns it into a confusing
    # RuntimeError): report it as the bug it is, with the function's name in the log.
    try:
        return fn(*args, **kwargs)
    except StopIteration as exc:
        raise RuntimeError(f"{getattr(fn, '__qualname__', fn)!s} raised StopIteration") from exc

class VRELabHandler(APIHandler):
    """Base handler. Subclasses set ``auth_resource`` (the RBAC resource name)."""

    auth_resource = "vrelab"

    @property
    def services(self) -> Services:
        return self.settings["vrelab"]

    @property
    def owner(self) -> str:
        """Whose jobs and credentials these are: a Jupyter server serves one user (see Services)."""
        return self.services.owner

    def get_login_url(self) -> str:
        # An API has nowhere to redirect to: an unauthenticated request is a 401.
        if not self.current_user:
            raise web.HTTPError(401, "Authentication required: send a token or log in to Jupyter.")
        return super().get_login_url()

    # ------------------------------------------------------------------ input
    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, or a 400/413 saying what is wrong with it."""
        body = self.request.body or b""
        limit = self.services.config.max_body_bytes
        if len(body) > limit:
            raise PayloadTooLarge(
                f"The request body is {len(body)} bytes; the limit is {limit} bytes (VRELab.max_body_bytes).",
                details={"limit": limit},
            )
        if not body.strip():
            return {}
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise BadRequest(f"The request body is not valid JSON{where}: {exc.args[0].split(':')[0]}.") from None
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.")
        return data

    def query_text(self, name: str) -> str | None:
        """A query parameter exactly as sent (tornado's ``get_argument`` would strip spaces and drop
        control characters, so that a value the contract refuses could pass); None when absent or empty."""
        values = self.request.query_arguments.get(name)
        if not values or values[-1] == b"":
            return None
        try:
            return values[-1].decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"Query parameter {name!r} is not valid UTF-8.", details={"parameter": name}) from None

    def query_int(self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"Query parameter {name!r} must be an integer, got {raw!r}.") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and {maximum}" if maximum is not None else ""
            raise BadRequest(
                f"Query parameter {name!r} must be between {minimum}{upper}, got {value}.",
                details={"parameter": name, "minimum": minimum, "maximum": maximum},
            )
        return value

    def page_args(self, default_limit: int = 50) -> tuple[int, int]:
        limit = self.query_int("limit", default_limit, minimum=1, maximum=self.services.config.max_page_size)
        offset = self.query_int("offset", 0, minimum=0, maximum=MAX_OFFSET)
        return limit, offset

    async def blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking service code in a thread, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(_call, fn, args, kwargs))

    # ------------------------------------------------------------------ output
    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, VRELabError):
            status_code = exc.status
        super().send_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, VRELabError):
            self.log.info("vrelab %s %s -> %s: %s", self.request.method, self.request.path, value.status, value.message)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, VRELabError):
            body = exc.to_dict()
        elif isinstance(exc, web.HTTPError):
            message = exc.log_message % exc.args if exc.log_message and exc.args else exc.log_message
            body = {
                "error": {
                    "code": _HTTP_CODES.get(status_code, "http_error"),
                    "message": message or exc.reason or responses.get(status_code, "Error"),
                    "details": {},
                }
            }
        elif status_code < 500:
            body = {
                "error": {
                    "code": _HTTP_CODES.get(status_code, "http_error"),
                    "message": responses.get(status_code, "Error"),
                    "details": {},
                }
            }
        else:
            reference = uuid.uuid4().hex[:12]
            self.log.error("vrelab internal error, reference %s (traceback above)", reference)
            body = {
                "error": {
                    "code": "internal_error",
                    "message": (
                        f"vrelab hit an internal error; the server log has the details (reference {reference})."
                    ),
                    "details": {"reference": reference},
                }
            }
        self.finish(json.dumps(body))
