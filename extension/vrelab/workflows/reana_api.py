"""vrelab's own small asynchronous client for the REST API of a REANA server.

The operations follow REANA's OpenAPI document (``reana_server.json`` of ``reana-commons``):
ping (``GET /api/ping``, then ``GET /api/you`` to check the token), create a workflow from a
``reana.yaml`` document, upload files into its workspace, start it with parameters, read its
status and progress, its logs (the engine's and each job's), list and download workspace files,
stop it and delete it. ``reana-client`` itself cannot live in JupyterLab's environment (its pins
conflict), hence this client, built on httpx.

The access token travels as REANA 0.9 expects it, the ``access_token`` query parameter, and also
as an ``Authorization: Bearer`` header (REANA 0.95). It is never put into a message, a log line or
a return value: every text that could hold a URL is passed through :meth:`ReanaClient.redact`, and
the ``httpx``/``httpcore`` loggers get a filter that masks ``access_token=...``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ..errors import BadRequest, Conflict, NotFound, Unauthorized, Unavailable, UpstreamError, VRELabError

__all__ = ["ReanaClient", "ReanaStatus", "redact_token_params"]

log = logging.getLogger(__name__)

_TOKEN_PARAM = re.compile(r"(access_token=)[^&\s'\"]+", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")
_CHUNK = 1024 * 1024
_PAGE = 500


def redact_token_params(text: str) -> str:
    """``text`` with every ``access_token=...`` value and bearer token masked."""
    return _BEARER.sub(r"\1***", _TOKEN_PARAM.sub(r"\1***", text))


class _RedactTokens(logging.Filter):
    """Masks tokens in the request lines httpx logs at INFO level."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact_token_params(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _install_log_filter() -> None:
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactTokens) for f in logger.filters):
            logger.addFilter(_RedactTokens())


_install_log_filter()


@dataclass
class ReanaStatus:
    """A workflow's status as REANA reports it (REANA's words: created, queued, pending, running,
    finished, failed, stopped, deleted) with its progress counted in jobs."""

    workflow_id: str
    name: str
    status: str
    created: str | None = None
    run_started_at: str | None = None
    run_finished_at: str | None = None
    run_stopped_at: str | None = None
    total: int = 0
    finished: int = 0
    running: int = 0
    failed: int = 0
    current_step: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> ReanaStatus:
        progress = data.get("progress") or {}

        def count(key: str) -> int:
            value = (progress.get(key) or {}).get("total", 0)
            return int(value) if isinstance(value, int) else 0

        def text(key: str) -> str | None:
            value = progress.get(key)
            return str(value) if value not in (None, "", "None") else None

        return cls(
            workflow_id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            status=str(data.get("status", "")),
            created=data.get("created"),
            run_started_at=text("run_started_at"),
            run_finished_at=text("run_finished_at"),
            run_stopped_at=text("run_stopped_at"),
            total=count("total"),
            finished=count("finished"),
            running=count("running"),
            failed=count("failed"),
            current_step=text("current_step_name"),
            raw=dict(data),
        )


class ReanaClient:
    """One REANA server, one user's token. Use as ``async with ReanaClient(url, token) as reana:``."""

    def __init__(
        self,
        server_url: str,
        access_token: str,
        *,
        timeout: float = 30.0,
        verify: bool | str = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parts = urlsplit(server_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadRequest(f"The REANA server URL {self._strip(server_url)!r} is not an http(s) URL.")
        if not access_token or not isinstance(access_token, str):
            raise Unauthorized("No REANA access token is set: get one from your REANA profile page.")
        self.server_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._token = access_token
        self._http = httpx.AsyncClient(
            base_url=self.server_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            verify=verify,
            transport=transport,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            follow_redirects=False,
        )

    @staticmethod
    def _strip(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else redact_token_params(url)

    async def __aenter__(self) -> ReanaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing ----------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` without the token (as a query parameter, a bearer header or on its own)."""
        text = redact_token_params(str(text))
        return text.replace(self._token, "***") if self._token else text

    def _params(self, extra: Mapping[str, Any] | None = None, *, token: bool = True) -> dict[str, Any]:
        params = {k: v for k, v in (extra or {}).items() if v is not None}
        if token:
            params["access_token"] = self._token
        return params

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        token: bool = True,
        json_body: Any = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        what: str = "",
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method,
                path,
                params=self._params(params, token=token),
                json=json_body,
                content=content,
                headers=headers,
            )
        except httpx.TimeoutException:
            raise Unavailable(
                f"The REANA server at {self.server_url} did not answer in time{_for(what)}; it may be overloaded "
                f"or down — try again later.",
                code="reana_unavailable",
            ) from None
        except httpx.TransportError as exc:
            raise Unavailable(
                f"The REANA server at {self.server_url} cannot be reached ({self.redact(_why(exc))}). "
                f"Check the server URL (c.VRELab.workflow_backends['reana'] or REANA_SERVER_URL) and that it is up.",
                code="reana_unavailable",
            ) from None
        if response.status_code not in expect:
            await response.aread()
            raise self._error(response, what)
        return response

    def _error(self, response: httpx.Response, what: str) -> VRELabError:
        code = response.status_code
        try:
            body = response.json()
            said = body.get("message") if isinstance(body, dict) else None
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            said = None
        said = self.redact(str(said)) if said else f"HTTP {code}"
        details = {"reana_status": code}
        where = f"The REANA server at {self.server_url}"
        if code in (401, 403) and ("token" in said.lower() or code == 401 or what == "checking your token"):
            return Unauthorized(
                f"{where} did not accept your access token{_for(what)}: {said}. Get a valid token from your "
                f"REANA profile page.",
                details=details,
                code="reana_token_refused",
            )
        if code == 403:
            return Unauthorized(f"{where} refused{_for(what)}: {said}.", details=details, code="reana_forbidden")
        if code == 404:
            return NotFound(f"{where} does not know it{_for(what)}: {said}.", details=details)
        if code == 409:
            return Conflict(f"{where} refused{_for(what)}: {said}.", details=details)
        if code in (400, 422):
            return BadRequest(f"{where} refused{_for(what)}: {said}.", details=details, code="reana_bad_request")
        if code in (502, 503, 504):
            return Unavailable(f"{where} is unavailable (HTTP {code}){_for(what)}; try again later.", details=details)
        return UpstreamError(f"{where} answered with an error{_for(what)}: {said}.", details=details)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            raise UpstreamError(
                f"The REANA server answered {response.request.method} {response.request.url.path} with something "
                f"that is not JSON."
            ) from None

    # -- server ------------------------------------------------------------------------------------

    async def ping(self) -> dict[str, Any]:
        """The server answers and accepts the token: ``{"status": "ok", "user": {...}}``."""
        await self._request("GET", "/api/ping", token=False, what="a ping")
        you = self._json(await self._request("GET", "/api/you", what="checking your token"))
        user = {k: you.get(k) for k in ("email", "full_name", "username") if isinstance(you, dict) and you.get(k)}
        return {"status": "ok", "server": self.server_url, "user": user}

    async def info(self) -> dict[str, Any]:
        """The cluster's general information (compute backends, workspaces, limits)."""
        return dict(self._json(await self._request("GET", "/api/info", what="reading the cluster information")))

    # -- workflows ---------------------------------------------------------------------------------

    async def create_workflow(self, name: str, specification: Mapping[str, Any]) -> dict[str, str]:
        """Create a workflow from a ``reana.yaml`` document: ``{"workflow_id", "workflow_name"}``."""
        response = await self._request(
            "POST",
            "/api/workflows",
            params={"workflow_name": name},
            json_body=dict(specification),
            expect=(200, 201),
            what=f"creating workflow {name!r}",
        )
        data = self._json(response)
        return {"workflow_id": str(data.get("workflow_id", "")), "workflow_name": str(data.get("workflow_name", ""))}

    async def upload_file(self, workflow: str, name: str, content: bytes) -> None:
        """Put ``content`` into the workspace as ``name`` (a relative path)."""
        await self._request(
            "POST",
            f"/api/workflows/{_seg(workflow)}/workspace",
            params={"file_name": name},
            content=content,
            headers={"Content-Type": "application/octet-stream"},
            what=f"uploading {name!r}",
        )

    async def upload_path(self, workflow: str, local: Path, name: str) -> int:
        """Stream the local file into the workspace as ``name``; the number of bytes sent."""
        size = local.stat().st_size

        async def chunks() -> AsyncIterator[bytes]:
            with open(local, "rb") as handle:
                while block := handle.read(_CHUNK):
                    yield block

        await self._request(
            "POST",
            f"/api/workflows/{_seg(workflow)}/workspace",
            params={"file_name": name},
            content=chunks(),
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            what=f"uploading {name!r}",
        )
        return size

    async def start(
        self,
        workflow: str,
        parameters: Mapping[str, Any] | None = None,
        operational_options: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Start the workflow with these input parameters (overriding the spec's)."""
        body: dict[str, Any] = {}
        if parameters:
            body["input_parameters"] = dict(parameters)
        if operational_options:
            body["operational_options"] = dict(operational_options)
        response = await self._request(
            "POST", f"/api/workflows/{_seg(workflow)}/start", json_body=body, what="starting the workflow"
        )
        return dict(self._json(response))

    async def status(self, workflow: str) -> ReanaStatus:
        response = await self._request(
            "GET", f"/api/workflows/{_seg(workflow)}/status", what="reading the workflow's status"
        )
        return ReanaStatus.from_response(self._json(response))

    async def logs(self, workflow: str) -> dict[str, Any]:
        """``{"workflow_logs": str, "job_logs": {job_id: {job_name, status, docker_img, cmd, started_at,
        finished_at, logs, ...}}, "engine_specific": ...}`` (REANA sends it as a JSON text)."""
        response = await self._request(
            "GET", f"/api/workflows/{_seg(workflow)}/logs", what="reading the workflow's logs"
        )
        raw = self._json(response).get("logs") or "{}"
        try:
            logs = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except json.JSONDecodeError:
            logs = {"workflow_logs": str(raw)}
        if not isinstance(logs, dict):
            logs = {"workflow_logs": str(logs)}
        logs.setdefault("workflow_logs", "")
        if not isinstance(logs.get("job_logs"), dict):
            logs["job_logs"] = {}
        return logs

    async def list_files(self, workflow: str, pattern: str | None = None) -> list[dict[str, Any]]:
        """Every file of the workspace: ``[{"name", "size", "last_modified"}]`` (all pages)."""
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            response = await self._request(
                "GET",
                f"/api/workflows/{_seg(workflow)}/workspace",
                params={"file_name": pattern, "page": page, "size": _PAGE},
                what="listing the workspace",
            )
            data = self._json(response)
            items = data.get("items") or []
            for item in items:
                size = item.get("size") or {}
                out.append(
                    {
                        "name": str(item.get("name", "")),
                        "size": int(size.get("raw", 0)) if isinstance(size, dict) else int(size or 0),
                        "last_modified": item.get("last-modified"),
                    }
                )
            total = data.get("total")
            if not items or len(items) < _PAGE or (isinstance(total, int) and len(out) >= total):
                return out
            page += 1

    async def download(self, workflow: str, name: str, dest: Path) -> int:
        """Stream workspace file ``name`` into ``dest`` (written whole or not at all); bytes written."""
        url = f"/api/workflows/{_seg(workflow)}/workspace/{quote(name, safe='/')}"
        partial = dest.with_name(dest.name + ".part")
        dest.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        try:
            async with self._http.stream(
                "GET", url, params=self._params(), headers={"Accept": "application/octet-stream"}
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise self._error(response, f"downloading {name!r}")
                with open(partial, "wb") as handle:
                    async for block in response.aiter_bytes(_CHUNK):
                        handle.write(block)
                        written += len(block)
            partial.replace(dest)
        except httpx.TransportError as exc:
            raise Unavailable(
                f"The REANA server at {self.server_url} cannot be reached for downloading {name!r} "
                f"({self.redact(_why(exc))}).",
                code="reana_unavailable",
            ) from None
        finally:
            partial.unlink(missing_ok=True)
        return written

    async def stop(self, workflow: str, *, force: bool = False) -> dict[str, Any]:
        response = await self._request(
            "PUT",
            f"/api/workflows/{_seg(workflow)}/status",
            params={"status": "stop"},
            json_body={"force_stop": force} if force else {},
            what="stopping the workflow",
        )
        return dict(self._json(response))

    async def delete(self, workflow: str, *, all_runs: bool = False) -> dict[str, Any]:
        """Delete the workflow and its workspace."""
        response = await self._request(
            "PUT",
            f"/api/workflows/{_seg(workflow)}/status",
            params={"status": "deleted"},
            json_body={"workspace": True, "all_runs": all_runs},
            what="deleting the workflow",
        )
        return dict(self._json(response))


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def _for(what: str) -> str:
    return f" ({what})" if what else ""


def _why(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    for known, said in (
        ("Connection refused", "connection refused"),
        ("All connection attempts failed", "connection refused"),
        ("Name or service not known", "unknown host name"),
        ("nodename nor servname", "unknown host name"),
        ("CERTIFICATE_VERIFY_FAILED", "its certificate could not be verified"),
    ):
        if known in text:
            return said
    return text.splitlines()[0][:200]
