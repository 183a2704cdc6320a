"""Workflows from Python: ``Client().workflows`` (one HTTP call per method, plus waiting).

    >>> wf = Client().workflows
    >>> run = wf.submit(path="analysis/reana.yaml", parameters={"nevents": 1000})   # returns at once
    >>> run = wf.wait(run["id"], on_progress=lambda r: print(r["progress"]))      # the final status
    >>> [s["status"] for s in run["steps"]], wf.logs(run["id"])["steps"][0]["logs"]
    >>> wf.download(run["id"], "results/hist.json", "hist.json")
    >>> out = wf.recast(path="recast/reana.yaml", workspace_id=ws["id"])         # waits: CLs, excluded
    >>> out["recast"]["conclusion"]

Statuses and progress use REANA's words (created, queued, running, finished, failed, stopped;
progress {total, finished, running, failed}) whatever the backend.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from .. import errors
from .paths import server_path

if TYPE_CHECKING:
    from .api import Client

ENDED = {"finished", "failed", "stopped", "deleted"}
OnProgress = Callable[[dict[str, Any]], None]


def _body(spec: str | dict[str, Any] | None, path: str | None, **fields: Any) -> dict[str, Any]:
    if isinstance(spec, Path):
        spec = spec.read_text()
    if path is not None:
        path = server_path(path)
    if fields.get("base_dir") is not None:
        fields["base_dir"] = server_path(fields["base_dir"])
    body = {"spec": spec, "path": path, **fields}
    return {k: v for k, v in body.items() if v is not None}


class WorkflowsAPI:
    """The ``workflows/`` part of vrelab's REST API."""

    def __init__(self, client: Client):
        self._c = client

    def backends(self) -> list[str]:
        """The backends this server offers (the first is the default)."""
        return list(self._c.status()["capabilities"]["workflows"].get("backends", []))

    def validate(
        self, spec: str | dict[str, Any] | None = None, *, path: str | None = None, backend: str | None = None,
        parameters: dict[str, Any] | None = None, base_dir: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Check a workflow without running it; raises ``BadRequest`` saying what is wrong."""
        return self._c.post(
            "workflows/validate",
            _body(spec, path, backend=backend, parameters=parameters, base_dir=base_dir),
        )

    def submit(
        self,
        spec: str | dict[str, Any] | None = None,
        *,
        path: str | None = None,
        backend: str | None = None,
        parameters: dict[str, Any] | None = None,
        base_dir: str | None = None,
        name: str | None = None,
        wait: bool = False,
        on_progress: OnProgress | None = None,
    ) -> dict[str, Any]:
        """Run a workflow (YAML text, a dict, or a ``path`` inside the server's root); ``wait=True``
        follows it to its end and returns the final status."""
        run = self._c.post(
            "workflows",
            _body(spec, path, backend=backend, parameters=parameters, base_dir=base_dir, name=name),
        )
        return self.wait(run["id"], on_progress=on_progress) if wait else run

    def recast(
        self,
        spec: str | dict[str, Any] | None = None,
        *,
        workspace_id: str,
        path: str | None = None,
        yields: str | None = None,
        sample: str | None = None,
        channels: list[str] | dict[str, str] | None = None,
        poi_value: float | None = None,
        level: float | None = None,
        backend: str | None = None,
        parameters: dict[str, Any] | None = None,
        base_dir: str | None = None,
        wait: bool = True,
        on_progress: OnProgress | None = None,
        **test_options: Any,
    ) -> dict[str, Any]:
        """RECAST in one call: the workflow's signal yields patched into a stored background-only
        workspace, then CLs. Returns the run with ``recast`` (``conclusion``, ``excluded``, ``CLs_obs``,
        ``CLs_exp``); with ``wait=False`` the queued run."""
        body = _body(
            spec, path, workspace_id=workspace_id, yields=yields, sample=sample, channels=channels,
            poi_value=poi_value, level=level, backend=backend, parameters=parameters, base_dir=base_dir,
            **test_options,
        )  # fmt: skip
        run = self._c.post("workflows/recast", body)
        return self.wait(run["id"], on_progress=on_progress) if wait else run

    def list(self, *, status: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        return self._c.get("workflows", status=status, limit=limit, offset=offset)

    def status(self, workflow_id: str) -> dict[str, Any]:
        return self._c.get(f"workflows/{workflow_id}")

    def logs(self, workflow_id: str, *, step: str | None = None) -> dict[str, Any]:
        return self._c.get(f"workflows/{workflow_id}/logs", step=step)

    def outputs(self, workflow_id: str) -> dict[str, Any]:
        return self._c.get(f"workflows/{workflow_id}/outputs")

    def read(self, workflow_id: str, path: str) -> bytes:
        """One output file's content."""
        url = f"workflows/{workflow_id}/outputs/{quote(path)}"
        try:
            r = self._c._http.get(url)
        except httpx.HTTPError as exc:
            raise errors.Unavailable(f"Cannot reach the vrelab server: {type(exc).__name__}.") from None
        if r.status_code >= 400:
            from .api import _raise_for

            _raise_for(r)
        return r.content

    def download(self, workflow_id: str, path: str, dest: str | Path | None = None) -> Path:
        """Save one output file locally (``dest`` defaults to its name in the current folder)."""
        target = Path(dest) if dest is not None else Path(Path(path).name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.read(workflow_id, path))
        return target

    def stop(self, workflow_id: str) -> dict[str, Any]:
        return self._c.post(f"workflows/{workflow_id}/stop")

    def delete(self, workflow_id: str) -> None:
        self._c.delete(f"workflows/{workflow_id}")

    def wait(self, workflow_id: str, *, on_progress: OnProgress | None = None) -> dict[str, Any]:
        """Follow a run (its job's event stream) until it ends; return its final status."""
        last = None
        for event in self._c.events(workflow_id):
            job = event["job"]
            if on_progress is not None and job["progress"] != last:
                last = job["progress"]
                on_progress(self.status(workflow_id))
            if job["state"] in {"succeeded", "failed", "cancelled", "interrupted"}:
                break
        return self.status(workflow_id)
