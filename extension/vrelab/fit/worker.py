"""What a fit worker process runs (also a Dask worker): one fit, test, limit or scan point.

Arguments are plain JSON-able values (paths of stored documents, a patch name, the options as
a dict), results are plain dicts. A worker keeps the workspaces and patchsets it has read, so the
points of a scan parse and validate their likelihood once per worker, not once per patch.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from .errors import InvalidWorkspace

__all__ = ["fit", "hypotest", "limit", "limit_threads", "point", "points", "remote_point"]


def limit_threads() -> None:
    """One BLAS thread in this process (workers share the cores with each other)."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # the environment variables set before numpy's import do it too
        pass


@functools.lru_cache(maxsize=4)
def _workspace(path: str) -> Any:
    import pyhf

    with open(path, encoding="utf-8") as fh:
        # stored workspaces were validated when they were stored
        return pyhf.Workspace(json.load(fh), validate=False)


@functools.lru_cache(maxsize=4)
def _patches(path: str) -> dict[str, list[dict[str, Any]]]:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    return {p["metadata"]["name"]: p["patch"] for p in doc["patches"]}


def _patch(patchset_path: str | None, patch: str | None) -> list[dict[str, Any]] | None:
    if patch is None:
        return None
    if patchset_path is None:
        raise InvalidWorkspace("This workspace has no patchset, so it has no patch to apply.")
    try:
        return _patches(patchset_path)[patch]
    except KeyError:
        raise InvalidWorkspace(f"The patchset has no patch named {patch!r}.") from None


def _prepared(
    workspace_path: str, patchset_path: str | None, patch: str | None, options: dict[str, Any]
) -> tuple[Any, Any]:
    from .inference import FitOptions, prepare, use_backend

    opts = FitOptions.from_params(options)
    use_backend(opts.backend, opts.optimizer)
    ws = _workspace(workspace_path)
    return prepare(ws, opts, _patch(patchset_path, patch), validate=False), opts


def fit(workspace_path: str, patchset_path: str | None, patch: str | None, options: dict[str, Any]) -> dict[str, Any]:
    from .inference import mle_fit

    prep, opts = _prepared(workspace_path, patchset_path, patch, options)
    return mle_fit(prep, opts).to_dict()


def hypotest(
    workspace_path: str, patchset_path: str | None, patch: str | None, options: dict[str, Any]
) -> dict[str, Any]:
    if options.get("engine") == "jax":
        from .engine.dispatch import hypotest as compiled

        return compiled(workspace_path, patchset_path, patch, options)
    from .inference import hypotest as run

    prep, opts = _prepared(workspace_path, patchset_path, patch, options)
    return run(prep, opts).to_dict()


def limit(
    workspace_path: str,
    patchset_path: str | None,
    patch: str | None,
    options: dict[str, Any],
    level: float,
    scan: list[float] | None,
    poi_range: list[float] | None,
) -> dict[str, Any]:
    from .inference import upper_limit

    prep, opts = _prepared(workspace_path, patchset_path, patch, options)
    bounds = (float(poi_range[0]), float(poi_range[1])) if poi_range else None
    return upper_limit(prep, opts, level=level, scan=scan, poi_range=bounds).to_dict()


def point(workspace_path: str, patchset_path: str | None, patch: str, options: dict[str, Any]) -> dict[str, Any]:
    """One scan point: CLs observed and expected for ``patch``."""
    result = hypotest(workspace_path, patchset_path, patch, options)
    out = {"CLs_obs": result["CLs_obs"], "CLs_exp": result["CLs_exp"], "fit_seconds": result["fit_seconds"]}
    return {**out, "engine": result.get("engine", "pyhf")}


def points(
    workspace_path: str,
    patchset_path: str | None,
    patches: list[str],
    options: dict[str, Any],
    dims: list[int] | None = None,
    batch: int | None = None,
) -> list[dict[str, Any]]:
    """Scan points of several patches fitted together by the compiled engine (pyhf for any it
    cannot take): one ``{"patch", "ok", "value"}`` per patch."""
    from .engine.dispatch import points as compiled

    return compiled(workspace_path, patchset_path, patches, options, dims, batch)


def remote_point(workspace: dict[str, Any], patch_ops: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
    """One scan point on a Dask worker: the documents travel with the task (no shared disk)."""
    import pyhf

    from .inference import FitOptions, prepare, use_backend
    from .inference import hypotest as run

    limit_threads()
    opts = FitOptions.from_params(options)
    use_backend(opts.backend, opts.optimizer)
    key = id(workspace)
    cached = _REMOTE.get(key)
    if cached is None or cached[0] is not workspace:
        _REMOTE.clear()
        cached = (workspace, pyhf.Workspace(workspace, validate=False))
        _REMOTE[key] = cached
    prep = prepare(cached[1], opts, patch_ops, validate=False)
    result = run(prep, opts).to_dict()
    return {"CLs_obs": result["CLs_obs"], "CLs_exp": result["CLs_exp"], "fit_seconds": result["fit_seconds"]}


_REMOTE: dict[int, tuple[dict[str, Any], Any]] = {}
