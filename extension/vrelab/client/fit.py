"""Likelihood fits from Python: ``Client().fit`` (one HTTP call per method, plus job waiting).

    >>> fit = Client().fit
    >>> ws = fit.add(path="likelihoods/sbottom-RegionA")             # folder, .json or HEPData .tar.gz
    >>> fit.inspect(ws["id"])["summary"]["channels"][0]["name"]
    >>> cls = fit.hypotest(ws["id"], patch="sbottom_1300_205_60")      # waits; returns the result
    >>> scan = fit.scan(ws["id"], on_progress=lambda job: print(job["progress"]["message"]))
    >>> scan["points"][0]["CLs_obs"], scan["contours"][0]["observed"]

The fit, test, limit and scan methods submit a job (kinds ``fit.mle``, ``fit.hypotest``,
``fit.limit``, ``fit.scan``) and, with ``wait=True`` (the default), follow it and return its
result, raising the job's error (``FitFailed``-like ``VRELabError`` with code ``fit_failed``,
``BadRequest`` ...) when it failed. With ``wait=False`` they return the job record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors
from .paths import server_path

if TYPE_CHECKING:
    from .api import Client

Progress = Callable[[dict[str, Any]], None]


class FitAPI:
    """The ``fit/`` part of vrelab's REST API and the fit job kinds."""

    def __init__(self, client: Client):
        self._c = client

    # ------------------------------------------------------------------ workspaces
    def add(
        self,
        workspace: dict[str, Any] | None = None,
        *,
        patchset: dict[str, Any] | None = None,
        path: str | None = None,
        did: str | None = None,
        instance: str | None = None,
        region: str | None = None,
        labels: list[str] | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Store a workspace: the JSON itself, a ``path`` inside the server's root, or a data-lake ``did``."""
        body = {
            "workspace": workspace,
            "patchset": patchset,
            "path": server_path(path) if path is not None else None,
            "did": did,
            "instance": instance,
            "region": region,
            "labels": labels,
            "name": name,
        }
        return self._c.post("fit/workspaces", {k: v for k, v in body.items() if v is not None})

    def upload(
        self, workspace_file: str | Path, patchset_file: str | Path | None = None, *, name: str | None = None
    ) -> dict[str, Any]:
        """Store a workspace (and patchset) read from files on THIS machine."""

        def read(p: str | Path) -> Any:
            path = Path(p).expanduser()
            try:
                text = path.read_text()
            except FileNotFoundError:
                raise errors.NotFound(f"No such file on this machine: {str(p)!r}.", details={"path": str(p)}) from None
            except (OSError, UnicodeDecodeError) as exc:
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a readable text file"
                raise errors.BadRequest(f"Cannot read {str(p)!r}: {why}.", details={"path": str(p)}) from None
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise errors.BadRequest(f"{p} is not valid JSON: {exc.msg} at line {exc.lineno}.") from None

        return self.add(
            read(workspace_file),
            patchset=read(patchset_file) if patchset_file else None,
            name=name or Path(workspace_file).parent.name or Path(workspace_file).stem,
        )

    def workspaces(self, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        return self._c.get("fit/workspaces", limit=limit, offset=offset)

    def inspect(self, workspace_id: str) -> dict[str, Any]:
        return self._c.get(f"fit/workspaces/{workspace_id}")

    def document(self, workspace_id: str) -> dict[str, Any]:
        return self._c.get(f"fit/workspaces/{workspace_id}/document")

    def patches(self, workspace_id: str, *, limit: int = 1000, offset: int = 0) -> dict[str, Any]:
        return self._c.get(f"fit/workspaces/{workspace_id}/patches", limit=limit, offset=offset)

    def delete(self, workspace_id: str) -> None:
        self._c.delete(f"fit/workspaces/{workspace_id}")

    def prune(self, workspace_id: str, **what: list[str]) -> dict[str, Any]:
        """``prune(id, channels=[...], samples=[...], modifiers=[...], modifier_types=[...], measurements=[...])``"""
        return self._c.post(f"fit/workspaces/{workspace_id}/prune", what)

    def rename(self, workspace_id: str, **what: dict[str, str]) -> dict[str, Any]:
        """``rename(id, channels={old: new}, samples=..., modifiers=..., measurements=...)``"""
        return self._c.post(f"fit/workspaces/{workspace_id}/rename", what)

    def combine(
        self, workspace_id: str, other: str, *, join: str = "none", merge_channels: bool = False
    ) -> dict[str, Any]:
        body = {"other": other, "join": join, "merge_channels": merge_channels}
        return self._c.post(f"fit/workspaces/{workspace_id}/combine", body)

    def apply_patch(
        self, workspace_id: str, patch: str | None = None, *, operations: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        body = {"patch": patch} if patch is not None else {"operations": operations}
        return self._c.post(f"fit/workspaces/{workspace_id}/apply-patch", body)

    # ------------------------------------------------------------------ jobs
    def submit(self, kind: str, workspace_id: str, **params: Any) -> dict[str, Any]:
        body = {"workspace_id": workspace_id, **{k: v for k, v in params.items() if v is not None}}
        return self._c.submit(kind, body)

    def _run(
        self, kind: str, workspace_id: str, wait: bool, on_progress: Progress | None, params: dict[str, Any]
    ) -> dict[str, Any]:
        job = self.submit(kind, workspace_id, **params)
        if not wait:
            return job
        return self._c.result(job, on_progress=on_progress)

    def mle(
        self,
        workspace_id: str,
        patch: str | None = None,
        *,
        wait: bool = True,
        on_progress: Progress | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Maximum-likelihood fit: best fit, uncertainties, correlations, pulls, yields."""
        return self._run("fit.mle", workspace_id, wait, on_progress, {"patch": patch, **options})

    def hypotest(
        self,
        workspace_id: str,
        patch: str | None = None,
        *,
        wait: bool = True,
        on_progress: Progress | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """CLs observed and expected at ``poi_value`` (default 1)."""
        return self._run("fit.hypotest", workspace_id, wait, on_progress, {"patch": patch, **options})

    def limit(
        self,
        workspace_id: str,
        patch: str | None = None,
        *,
        wait: bool = True,
        on_progress: Progress | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Upper limit (``scan={start, stop, steps}`` for a grid, toms748 otherwise) and Brazil band."""
        return self._run("fit.limit", workspace_id, wait, on_progress, {"patch": patch, **options})

    def scan(
        self,
        workspace_id: str,
        patches: list[str] | None = None,
        *,
        wait: bool = True,
        on_progress: Progress | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """CLs for every patch (or those named): a table keyed by metadata values, and contours."""
        return self._run("fit.scan", workspace_id, wait, on_progress, {"patches": patches, **options})
