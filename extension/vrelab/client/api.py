"""``Client``: vrelab's REST API from Python (kernels, scripts, the CLI and the widgets).

Every method is one HTTP call; errors come back as the same :mod:`vrelab.errors` classes the
server raised (``NotFound``, ``BadRequest``, ...), with the server's message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx

from .. import errors
from .discovery import ServerInfo, candidates, no_server_error

if TYPE_CHECKING:
    from .fit import FitAPI
    from .lake import LakeAPI
    from .workflows import WorkflowsAPI

API_PATH = "vrelab/api/v1/"
FINISHED = {"succeeded", "failed", "cancelled", "interrupted"}


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        err = response.json()["error"]
        body = {"code": err["code"], "message": err["message"], "details": err.get("details") or {}}
    except (ValueError, KeyError, TypeError):
        body = {"message": f"HTTP {response.status_code}: {response.text[:200]}"}
    raise errors.from_body(body, status=response.status_code)


def job_error(job: dict[str, Any]) -> errors.VRELabError:
    """The error of a job that did not succeed, as the class its service raised (or the state's)."""
    state = job.get("state")
    err = dict(job.get("error") or {})
    exc = errors.from_body(err, fallback=f"The job {job.get('id')} ended {state}.")
    exc.details.setdefault("job_id", job.get("id"))
    return exc


class Client:
    """A connection to one vrelab server.

    ``Client()`` finds the server by itself (see :mod:`vrelab.client.discovery`);
    ``Client(url, token)`` talks to the one given.
    """

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 30.0):
        self.timeout = timeout
        self.server = self._connect(url, token)
        headers = {"Authorization": f"token {self.server.token}"} if self.server.token else {}
        self._http = httpx.Client(base_url=self.server.url + API_PATH, headers=headers, timeout=timeout)

    def _connect(self, url: str | None, token: str | None) -> ServerInfo:
        tried = candidates(url, token)
        if url:
            return tried[0]
        for info in tried:
            try:
                r = httpx.get(
                    info.url + API_PATH + "status",
                    headers={"Authorization": f"token {info.token}"} if info.token else {},
                    timeout=3.0,
                )
            except httpx.HTTPError:
                continue
            if r.status_code == 200:
                return info
        raise no_server_error()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never shows the token
        return f"<vrelab.Client {self.server.url} ({self.server.found_by})>"

    # ------------------------------------------------------------------ transport
    def request(self, method: str, path: str, *, json_body: Any = None, params: Any = None) -> Any:
        try:
            r = self._http.request(method, path.lstrip("/"), json=json_body, params=params)
        except httpx.TimeoutException:
            raise errors.Unavailable(f"The vrelab server at {self.server.url} did not answer in time.") from None
        except httpx.HTTPError as exc:
            raise errors.Unavailable(
                f"Cannot reach the vrelab server at {self.server.url}: {type(exc).__name__}."
            ) from None
        _raise_for(r)
        if r.status_code == 204 or not r.content:
            return None
        return r.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json_body=body if body is not None else {})

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    @property
    def lake(self) -> LakeAPI:
        """The data lake (Rucio): ``Client().lake.search("ATLAS_OD_EDU:*")`` — see :mod:`vrelab.client.lake`."""
        from .lake import LakeAPI

        return LakeAPI(self)

    @property
    def fit(self) -> FitAPI:
        """Likelihood fits (pyhf): ``Client().fit.scan(workspace_id)`` — see :mod:`vrelab.client.fit`."""
        from .fit import FitAPI

        return FitAPI(self)

    @property
    def workflows(self) -> WorkflowsAPI:
        """Workflow runs (REANA-like) and RECAST: ``Client().workflows.submit(path=...)`` — see
        :mod:`vrelab.client.workflows`."""
        from .workflows import WorkflowsAPI

        return WorkflowsAPI(self)

    # ------------------------------------------------------------------ server
    def status(self) -> dict[str, Any]:
        return self.get("status")

    def openapi(self) -> dict[str, Any]:
        return self.get("openapi.json")

    # ------------------------------------------------------------------ jobs
    def jobs(
        self, *, kind: str | None = None, state: str | None = None, limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        return self.get("jobs", kind=kind, state=state, limit=limit, offset=offset)

    def job_kinds(self) -> list[dict[str, Any]]:
        return self.get("jobs/kinds")["kinds"]

    def job(self, job_id: str) -> dict[str, Any]:
        return self.get(f"jobs/{job_id}")

    def submit(self, kind: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.post("jobs", {"kind": kind, "params": params or {}})

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self.post(f"jobs/{job_id}/cancel")

    def resubmit(self, job_id: str) -> dict[str, Any]:
        return self.post(f"jobs/{job_id}/resubmit")

    def delete_job(self, job_id: str) -> None:
        self.delete(f"jobs/{job_id}")

    def job_log(self, job_id: str) -> str:
        return self.get(f"jobs/{job_id}/log")["log"]

    def events(self, job_id: str | None = None, *, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Live job events (server-sent events); for one job, ends when the job finishes."""
        path = f"jobs/{job_id}/events" if job_id else "jobs/events"
        try:
            with self._http.stream("GET", path, timeout=httpx.Timeout(self.timeout, read=timeout)) as r:
                if r.status_code >= 400:
                    r.read()
                    _raise_for(r)
                data: list[str] = []
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif line == "" and data:
                        event = json.loads("\n".join(data))
                        data = []
                        yield event
        except httpx.TimeoutException:
            raise errors.Unavailable("The job event stream stopped answering.") from None
        except httpx.HTTPError as exc:
            raise errors.Unavailable(f"The job event stream broke: {type(exc).__name__}.") from None

    def wait(
        self,
        job_id: str,
        *,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        raise_on_failure: bool = False,
    ) -> dict[str, Any]:
        """Follow a job until it finishes; return its final record (with result)."""
        for event in self.events(job_id):
            job = event["job"]
            if on_progress is not None:
                on_progress(job)
            if job["state"] in FINISHED:
                break
        final = self.job(job_id)
        if raise_on_failure and final["state"] != "succeeded":
            raise job_error(final)
        return final

    def result(
        self, job: str | dict[str, Any], *, on_progress: Callable[[dict[str, Any]], None] | None = None
    ) -> dict[str, Any]:
        """A job's result, waiting for it to finish; a failed job raises the class its service raised.

        ``job`` is a job id or a job record. This is the one path by which every front end turns a
        job's outcome into a value or an exception (``except FitFailed:``, ``except Unavailable:``).
        """
        record = self.job(job) if isinstance(job, str) else job
        reused = bool(record.get("reused"))
        if record.get("state") not in FINISHED:
            record = self.wait(record["id"], on_progress=on_progress)
        if record.get("state") != "succeeded":
            raise job_error(record)
        if reused and isinstance(record.get("result"), dict):  # answered by an earlier, identical job
            return {**record["result"], "cached": True}
        return record.get("result") or {}
