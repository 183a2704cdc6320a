"""The fitting service: workspaces in, fits/tests/limits/scans out as jobs (no tornado here).

Handlers call :class:`FitService` methods; the long work runs as job kinds
(:mod:`vrelab.fit.jobs`) whose parameters :meth:`FitService.validate_job` checks and completes
with where this server keeps its workspaces, its cache and its workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import BadRequest, NotFound, Unavailable
from ..jobs import JobContext
from ..machine import usable_cpus
from ..metrics import Metrics
from ..paths import resolve_inside
from .cache import ResultCache
from .inference import FitOptions
from .workspaces import WorkspaceStore, load_bytes, load_source, validate_workspace

__all__ = ["DEFAULT_LEVEL", "FitService", "JOB_KINDS"]

# kind -> (title word, the extra parameters it accepts)
JOB_KINDS: dict[str, tuple[str, set[str]]] = {
    "fit.mle": ("fit", set()),
    "fit.hypotest": ("CLs", set()),
    "fit.limit": ("limit", {"level", "scan", "poi_range"}),
    "fit.scan": ("scan", {"patches", "workers", "contour_axes", "level"}),
}
_COMMON = {
    "workspace_id",
    "patch",
    "measurement",
    "poi_value",
    "test_stat",
    "calctype",
    "ntoys",
    "backend",
    "optimizer",
    "fixed_params",
    "fix_shapesys_tau_above",
    "engine",
}
DidReader = Callable[[str | None, str], bytes]
# The fit defaults of every front end (widget, CLI, client, sidebar): FitOptions' field defaults, and
# these. Front ends send only what the user chose; validate_job fills in the rest, so the same
# request from any of them is one job's parameters and one cache key.
DEFAULT_LEVEL = 0.05  # CLs level of limits and contours (95% CL)
# a limit without 'scan' or 'poi_range' looks for the root between the POI's own bounds (toms748)


def _names(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"'{field}' must be a list of names.", details={"field": field})
    return value


def _renames(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
    ):
        raise BadRequest(f"'{field}' must be an object {{old name: new name}}.", details={"field": field})
    return value


class FitService:
    """Workspaces stored under ``fit_dir``; fit jobs run on ``workers`` local processes or Dask."""

    def __init__(
        self,
        fit_dir: Path,
        root_dir: Path,
        *,
        workers: int = 0,
        cache_bytes: int = 2 << 30,
        dask_scheduler: str = "",
        worker_nice: int = 10,
        did_reader: DidReader | None = None,
        metrics: Metrics | None = None,
    ):
        self.fit_dir = Path(fit_dir)
        self.fit_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.fit_dir, 0o700)
        self.root_dir = Path(root_dir)
        self.store = WorkspaceStore(self.fit_dir / "workspaces")
        self.cache = ResultCache(self.fit_dir / "cache", cache_bytes)
        self.workers = workers or usable_cpus()
        self.cache_bytes = cache_bytes
        self.dask_scheduler = dask_scheduler
        self.worker_nice = max(0, min(19, int(worker_nice)))
        self.did_reader = did_reader
        self.metrics = metrics or Metrics()

    # ------------------------------------------------------------------ workspaces
    def add_workspace(self, body: dict[str, Any]) -> dict[str, Any]:
        """Store a workspace from an upload, a path inside the root, an archive or a data-lake DID."""
        sources = [k for k in ("workspace", "path", "did") if body.get(k) is not None]
        if len(sources) != 1:
            raise BadRequest(
                "Give exactly one of 'workspace' (the JSON itself), 'path' (a .json file, a folder or a "
                ".tar.gz archive inside your home folder) or 'did' (scope:name in the data lake).",
                details={"given": sources},
            )
        region = body.get("region")
        if region is not None and not isinstance(region, str):
            raise BadRequest("'region' must be a string (a folder inside the archive).")
        labels = body.get("labels")
        if labels is not None and (not isinstance(labels, list) or not all(isinstance(v, str) for v in labels)):
            raise BadRequest("'labels' must be a list of strings.")
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 200):
            raise BadRequest("'name' must be a string of at most 200 characters.")
        patchset = body.get("patchset")
        if "workspace" in sources:
            spec, found_name, source = body["workspace"], "upload", {"type": "upload"}
            if isinstance(spec, str):  # JSON sent as text: parse it here to report its errors well
                from .workspaces import parse_json

                spec = parse_json(spec, "The workspace")
        elif "path" in sources:
            path_text = body["path"]
            path = resolve_inside(self.root_dir, path_text, must_exist=True)
            shown = path_text.strip() or "your home folder"
            spec, archive_patchset, found_name = load_source(path, shown, region=region, labels=labels)
            patchset = patchset if patchset is not None else archive_patchset
            source = {"type": "path", "path": path_text, **({"region": region} if region else {})}
        else:
            did = body["did"]
            if not isinstance(did, str) or ":" not in did:
                raise BadRequest("'did' must be 'scope:name'.")
            if self.did_reader is None:
                raise Unavailable(
                    "Reading workspaces from the data lake is not available on this server; "
                    "download the file into your home folder and give its 'path'."
                )
            instance = body.get("instance")
            data = self.did_reader(instance if isinstance(instance, str) else None, did)
            spec, archive_patchset, found_name = load_bytes(data, did.split(":", 1)[1], region=region, labels=labels)
            patchset = patchset if patchset is not None else archive_patchset
            source = {"type": "did", "did": did, **({"instance": instance} if instance else {})}
        meta = self.store.add(spec, patchset, name=name or found_name, source=source)
        return self.describe(meta)

    @staticmethod
    def describe(meta: dict[str, Any], *, full: bool = False) -> dict[str, Any]:
        summary = meta["summary"]
        out = {
            "id": meta["id"],
            "name": meta["name"],
            "source": meta["source"],
            "created": meta["created"],
            "poi": summary["poi"],
            "n_channels": len(summary["channels"]),
            "n_bins": summary["n_bins"],
            "n_parameters": summary["n_parameters"],
            "n_patches": len(meta.get("patches", [])),
            "labels": (summary.get("patchset") or {}).get("labels", []),
        }
        if full:
            out["summary"] = summary
        return out

    def list_workspaces(self, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        metas = self.store.list()
        return {
            "workspaces": [self.describe(m) for m in metas[offset : offset + limit]],
            "total": len(metas),
            "limit": limit,
            "offset": offset,
        }

    def inspect(self, workspace_id: str) -> dict[str, Any]:
        return self.describe(self.store.meta(workspace_id), full=True)

    def patches(self, workspace_id: str, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        meta = self.store.meta(workspace_id)
        labels = (meta["summary"].get("patchset") or {}).get("labels", [])
        rows = [
            {"name": p["name"], "values": p["values"], "by_label": dict(zip(labels, p["values"], strict=False))}
            for p in meta.get("patches", [])
        ]
        return {
            "labels": labels,
            "patches": rows[offset : offset + limit],
            "total": len(rows),
            "limit": limit,
            "offset": offset,
        }

    def workspace_document(self, workspace_id: str) -> dict[str, Any]:
        spec, _ = self.store.load(workspace_id)
        return spec

    def delete_workspace(self, workspace_id: str) -> None:
        self.store.delete(workspace_id)

    def _derived(self, spec: dict[str, Any], name: str, source: dict[str, Any]) -> dict[str, Any]:
        return self.describe(self.store.add(spec, None, name=name, source=source))

    def _operate(self, fn: Callable[[], Any]) -> dict[str, Any]:
        import pyhf

        try:
            return dict(fn())
        except (pyhf.exceptions.InvalidWorkspaceOperation, pyhf.exceptions.InvalidMeasurement) as exc:
            raise BadRequest(str(exc)) from None
        except pyhf.exceptions.InvalidSpecification as exc:
            from .workspaces import describe_schema_error

            raise BadRequest(f"The result would not be a valid workspace {describe_schema_error(exc)}") from None

    def prune(self, workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
        meta = self.store.meta(workspace_id)
        ws = validate_workspace(self.workspace_document(workspace_id))
        args = {
            k: _names(body.get(k), k) for k in ("channels", "samples", "modifiers", "modifier_types", "measurements")
        }
        if not any(args.values()):
            raise BadRequest("Name what to prune: channels, samples, modifiers, modifier_types or measurements.")
        spec = self._operate(lambda: ws.prune(**args))
        return self._derived(spec, f"{meta['name']} (pruned)", {"type": "prune", "from": workspace_id, **args})

    def rename(self, workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
        meta = self.store.meta(workspace_id)
        ws = validate_workspace(self.workspace_document(workspace_id))
        args = {k: _renames(body.get(k), k) for k in ("channels", "samples", "modifiers", "measurements")}
        if not any(args.values()):
            raise BadRequest("Name what to rename: channels, samples, modifiers or measurements ({old: new}).")
        spec = self._operate(lambda: ws.rename(**args))
        return self._derived(spec, f"{meta['name']} (renamed)", {"type": "rename", "from": workspace_id, **args})

    def combine(self, workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
        import pyhf

        other_id = body.get("other")
        if not isinstance(other_id, str):
            raise BadRequest("Give 'other': the id of the workspace to combine with.")
        join = body.get("join", "none")
        joins = ("none", "outer", "left outer", "right outer")
        if join not in joins:
            raise BadRequest(f"'join' must be one of {', '.join(repr(j) for j in joins)}.")
        merge = body.get("merge_channels", False)
        if not isinstance(merge, bool):
            raise BadRequest("'merge_channels' must be true or false.")
        left, right = self.store.meta(workspace_id), self.store.meta(other_id)
        a = validate_workspace(self.workspace_document(workspace_id))
        b = validate_workspace(self.workspace_document(other_id))
        spec = self._operate(lambda: pyhf.Workspace.combine(a, b, join=join, merge_channels=merge))
        source = {"type": "combine", "from": [workspace_id, other_id], "join": join, "merge_channels": merge}
        return self._derived(spec, f"{left['name']} + {right['name']}", source)

    def apply_patch(self, workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
        from .inference import apply_patch

        meta = self.store.meta(workspace_id)
        spec, patchset = self.store.load(workspace_id)
        name = body.get("patch")
        ops = body.get("operations")
        if (name is None) == (ops is None):
            raise BadRequest("Give either 'patch' (a name in the workspace's patchset) or 'operations' (a JSON patch).")
        if name is not None:
            if not isinstance(name, str) or patchset is None:
                raise BadRequest("This workspace has no patchset; give the patch's 'operations' instead.")
            found = next((p for p in patchset["patches"] if p["metadata"]["name"] == name), None)
            if found is None:
                raise NotFound(f"The patchset has no patch named {name!r}.", details={"patch": name})
            ops = found["patch"]
        elif not isinstance(ops, list) or not all(isinstance(o, dict) for o in ops):
            raise BadRequest("'operations' must be a JSON patch: a list of {op, path, value} objects.")
        patched = apply_patch(spec, ops)
        label = name or "patched"
        return self._derived(
            patched, f"{meta['name']} + {label}", {"type": "apply-patch", "from": workspace_id, "patch": label}
        )

    # ------------------------------------------------------------------ jobs
    def job_kinds(self) -> list[Any]:
        """The fit job kinds, validated against this service."""
        from .jobs import job_kinds

        return job_kinds(self)

    # The fit jobs: one public method per kind, used by the job kinds and by RECAST alike. Each
    # takes the parameters ``validate_job`` returned and a job context; it reads this service's
    # store, answers from its cache (one size limit for all jobs) and runs points on its pool.
    def mle(self, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        """``fit.mle``: best fit, uncertainties, correlations, pulls, yields."""
        from . import jobs

        return jobs.mle(self, params, ctx)

    def hypotest(self, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        """``fit.hypotest``: CLs observed and expected at one POI value."""
        from . import jobs

        return jobs.hypotest(self, params, ctx)

    def limit(self, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        """``fit.limit``: the upper limit on the POI and its Brazil band."""
        from . import jobs

        return jobs.limit(self, params, ctx)

    def scan(self, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        """``fit.scan``: CLs of every chosen patch, and the exclusion contours."""
        from . import jobs

        return jobs.scan(self, params, ctx)

    def validate_job(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        """Check a fit job's parameters (400/404 naming the problem) and complete them."""
        allowed = _COMMON | JOB_KINDS[kind][1]
        params = {k: v for k, v in params.items() if k != "_fit"}  # jobs of older servers carried paths here
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise BadRequest(
                f"Unknown parameter(s) for {kind}: {', '.join(unknown)}. Known: {', '.join(sorted(allowed))}.",
                details={"unknown": unknown},
            )
        wid = params.get("workspace_id")
        if not isinstance(wid, str):
            raise BadRequest("Give 'workspace_id': the id of a stored workspace (POST fit/workspaces).")
        meta = self.store.meta(wid)
        names = {p["name"] for p in meta.get("patches", [])}
        patch = params.get("patch")
        if patch is not None:
            if not isinstance(patch, str):
                raise BadRequest("'patch' must be the name of a patch of the workspace's patchset.")
            if patch not in names:
                raise NotFound(f"The workspace has no patch named {patch!r}.", details={"patch": patch})
        options = FitOptions.from_params(params)
        out: dict[str, Any] = {"workspace_id": wid, "patch": patch, **options.to_dict()}
        if kind in ("fit.mle", "fit.limit"):
            out["engine"] = "pyhf"  # the compiled engine answers hypothesis tests and scans (so far)
        if kind == "fit.limit":
            out.update(self._limit_params(params))
        if kind == "fit.scan":
            if patch is not None:
                raise BadRequest("A scan runs over patches: give 'patches' (a list), not 'patch'.")
            if not names:
                raise BadRequest("This workspace has no patchset to scan.")
            wanted = _names(params.get("patches"), "patches")
            missing = sorted(set(wanted) - names)
            if missing:
                raise NotFound(
                    f"The workspace has no patch(es) named {', '.join(missing[:5])}.", details={"missing": missing[:50]}
                )
            out["patches"] = wanted or None
            workers = params.get("workers")
            if workers is not None and (
                isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256
            ):
                raise BadRequest("'workers' must be an integer from 1 to 256.")
            out["workers"] = workers
            labels = (meta["summary"].get("patchset") or {}).get("labels", [])
            axes = params.get("contour_axes")
            if axes is not None and (
                not isinstance(axes, list) or len(axes) != 2 or len(set(axes)) != 2 or not set(axes) <= set(labels)
            ):
                raise BadRequest(f"'contour_axes' must name two different labels of: {', '.join(labels)}.")
            out["contour_axes"] = axes
            out["level"] = self._level(params)
        return out

    @staticmethod
    def _level(params: dict[str, Any]) -> float:
        level = params.get("level")
        if level is None:
            level = DEFAULT_LEVEL
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
            raise BadRequest("'level' must be a number between 0 and 1 (e.g. 0.05 for 95% CL).")
        return float(level)

    def _limit_params(self, params: dict[str, Any]) -> dict[str, Any]:
        scan = params.get("scan")
        grid: list[float] | None = None
        if scan is not None:
            if isinstance(scan, dict):
                try:
                    start, stop, steps = float(scan["start"]), float(scan["stop"]), int(scan["steps"])
                except (KeyError, TypeError, ValueError):
                    raise BadRequest("'scan' must be {start, stop, steps} or a list of POI values.") from None
                if not 2 <= steps <= 1000 or not stop > start:
                    raise BadRequest("'scan' needs stop > start and 2 to 1000 steps.")
                grid = [start + (stop - start) * i / (steps - 1) for i in range(steps)]
            elif (
                isinstance(scan, list)
                and 2 <= len(scan) <= 1000
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in scan)
            ):
                grid = sorted(float(v) for v in scan)
            else:
                raise BadRequest("'scan' must be {start, stop, steps} or a list of 2 to 1000 POI values.")
        poi_range = params.get("poi_range")
        if poi_range is not None and (
            not isinstance(poi_range, list)
            or len(poi_range) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in poi_range)
            or not poi_range[0] < poi_range[1]
        ):
            raise BadRequest("'poi_range' must be [low, high] with low < high.")
        return {"level": self._level(params), "scan": grid, "poi_range": poi_range}

    def job_title(self, kind: str, params: dict[str, Any]) -> str:
        try:
            name = self.store.meta(params["workspace_id"])["name"]
        except (NotFound, KeyError):
            name = str(params.get("workspace_id", ""))[:12]
        what = JOB_KINDS[kind][0]
        patch = params.get("patch")
        return f"{what}: {name}" + (f" / {patch}" if patch else "")
