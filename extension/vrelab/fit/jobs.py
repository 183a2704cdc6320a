"""The fit job kinds: ``fit.mle``, ``fit.hypotest``, ``fit.limit``, ``fit.scan``.

All four are *thread* kinds: the job's driver thread first looks the answer up in the result
cache (a repeated request costs a file read), and otherwise hands the computation to worker
processes of its own (:class:`~vrelab.fit.pool.WorkerPool`) or to a Dask cluster. A scan caches
every point the moment it completes, so a scan resubmitted after a crash computes only the rest;
a point whose fit fails, or whose worker is killed, is reported as failed and the others kept.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import BY_CODE, NotFound, VRELabError, WorkerDied
from ..jobs import JobContext, JobKind
from .cache import result_key
from .inference import FitOptions
from .pool import Task, TaskOutcome, WorkerPool
from .results import ScanPoint, ScanResult

if TYPE_CHECKING:
    from .service import FitService

__all__ = ["hypotest", "job_kinds", "limit", "mle", "scan"]

OPTION_FIELDS = FitOptions._fields  # the one list of fit options: the parameters a point's fit depends on


def job_kinds(service: Any) -> list[JobKind]:
    """The fit kinds, validated against ``service`` (a :class:`~vrelab.fit.service.FitService`)."""
    described = {
        "fit.mle": "Maximum-likelihood fit: best fit, uncertainties, correlations, pulls, pre/post-fit yields.",
        "fit.hypotest": "Hypothesis test: CLs observed and expected (+-1, +-2 sigma) at one POI value.",
        "fit.limit": "Upper limit on the POI (toms748 or a grid) with its Brazil band.",
        "fit.scan": "CLs for every patch of a patchset, as a table and exclusion contours.",
    }
    run = {
        "fit.mle": service.mle,
        "fit.hypotest": service.hypotest,
        "fit.limit": service.limit,
        "fit.scan": service.scan,
    }
    return [
        JobKind(
            name=name,
            run=run[name],
            process=False,
            description=text,
            validate=functools.partial(service.validate_job, name),
            title=functools.partial(service.job_title, name),
            reuse=True,
        )
        for name, text in described.items()
    ]


def _options(params: dict[str, Any]) -> dict[str, Any]:
    return {k: params.get(k) for k in OPTION_FIELDS if params.get(k) is not None}


def _raise(outcome: TaskOutcome, ctx: JobContext) -> None:
    error = outcome.value if isinstance(outcome.value, dict) else {}
    if error.get("traceback"):
        ctx.log(error["traceback"])
    code = error.get("code", "job_failed")
    cls = BY_CODE.get(code, VRELabError)
    exc = cls(error.get("message") or "The computation failed.")
    exc.code = code
    raise exc


def _single(
    rt: FitService, kind: str, function: str, params: dict[str, Any], ctx: JobContext, extra: dict[str, Any]
) -> dict[str, Any]:
    started = time.perf_counter()
    wid = params["workspace_id"]
    meta = rt.store.meta(wid)
    patch = params.get("patch")
    digest = None
    if patch is not None:
        digest = next((p["digest"] for p in meta.get("patches", []) if p["name"] == patch), None)
        if digest is None:
            raise NotFound(f"The workspace has no patch named {patch!r}.")
    options = _options(params)
    key = result_key(kind, workspace=meta["workspace_digest"], patch=digest, options=options, extra=extra)
    head = {"workspace_id": wid, "patch": patch, "options": options}
    cached = rt.cache.get(key)
    if cached is not None:
        rt.metrics.fit_points(kind, "cached")
        ctx.progress(1, 1, "from the cache")
        return {**head, **cached, "cached": True, "wall_seconds": round(time.perf_counter() - started, 4)}
    ctx.progress(0, 1, "fitting")
    ps_path = rt.store.patchset_path(wid)
    args = {
        "workspace_path": str(rt.store.workspace_path(wid)),
        "patchset_path": str(ps_path) if ps_path else None,
        "patch": patch,
        "options": options,
        **extra,
    }
    pool = WorkerPool(1, nice=rt.worker_nice, on_start=lambda pids: ctx.log(f"fit worker pid {pids}"))
    for outcome in pool.run([Task(key, function, args)], is_cancelled=lambda: ctx.cancelled):
        if not outcome.ok:
            rt.metrics.fit_points(kind, "failed", seconds=outcome.seconds)
            _raise(outcome, ctx)
        rt.metrics.fit_points(kind, "computed", seconds=outcome.seconds)
        value = {"engine": "pyhf", **outcome.value}
        rt.cache.put(key, value)
        ctx.progress(1, 1, "done")
        return {**head, **value, "cached": False, "wall_seconds": round(time.perf_counter() - started, 4)}
    raise WorkerDied("The fit worker gave no answer.")


def mle(service: FitService, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    return _single(service, "fit.mle", "fit", params, ctx, {})


def hypotest(service: FitService, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    return _single(service, "fit.hypotest", "hypotest", params, ctx, {})


def limit(service: FitService, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    extra = {"level": params.get("level", 0.05), "scan": params.get("scan"), "poi_range": params.get("poi_range")}
    return _single(service, "fit.limit", "limit", params, ctx, extra)


def _poi_name(summary: dict[str, Any], measurement: str | None) -> str | None:
    """The POI of the measurement a job uses (the workspace's default one when none is named)."""
    for m in summary.get("measurements", []):
        if measurement and m["name"] == measurement:
            return m["poi"]
    return summary.get("poi")


CHUNK_MAX = 16
# Patches per engine worker: each worker pays jax's import and the compile (or the load of the
# compiled code from disk) once, which on 2 cores costs more than fitting 100 patches
PATCHES_PER_ENGINE_WORKER = 100


def engine_workers(n: int, workers: int) -> int:
    """How many workers an engine scan of ``n`` points uses: one unless the scan is large."""
    return max(1, min(workers, n // PATCHES_PER_ENGINE_WORKER))


def chunk_size(n: int, workers: int) -> int:
    """Patches per engine batch: about four chunks per worker (progress, and a killed worker loses
    little), a power of two (few compiled sizes), at most CHUNK_MAX."""
    want = max(1, -(-n // (4 * max(1, workers))))
    size = 1
    while size < want and size < CHUNK_MAX:
        size *= 2
    return size


def _engine_outcomes(
    rt: FitService,
    wid: str,
    todo: list[dict[str, Any]],
    keys: dict[str, str],
    options: dict[str, Any],
    common: dict[str, Any],
    workers: int,
    pool: WorkerPool,
    ctx: JobContext,
) -> Iterator[TaskOutcome]:
    """The scan's points from the compiled engine: chunks of patches, one batch each, on the pool.

    Every chunk is padded to the same array sizes (planned here, over all the points to compute)
    and the same batch size, so each worker compiles the minimiser once. A chunk's outcome is
    split into its points' outcomes, which the scan caches one by one; a chunk whose worker dies
    fails its points only."""
    from .engine.dispatch import plan

    spec, patchset = rt.store.load(wid)
    ops = {p["metadata"]["name"]: p["patch"] for p in (patchset or {}).get("patches", [])}
    names = [p["name"] for p in todo]
    dims = plan(spec, ops, names, FitOptions.from_params(options))
    size = chunk_size(len(names), workers)
    chunks = {f"chunk-{i}": names[i : i + size] for i in range(0, len(names), size)}
    ctx.log(f"jax engine: {len(names)} point(s) in {len(chunks)} chunk(s) of up to {size}; arrays {dims}")
    tasks = [
        Task(key, "points", {**common, "patches": part, "dims": list(dims) if dims else None, "batch": size})
        for key, part in chunks.items()
    ]
    for outcome in pool.run(tasks, is_cancelled=lambda: ctx.cancelled):
        part = chunks[outcome.key]
        if not outcome.ok:
            for name in part:
                yield TaskOutcome(keys[name], False, outcome.value, outcome.seconds / len(part))
            continue
        for item in outcome.value:
            value = item["value"]
            seconds = float(value.get("fit_seconds", 0.0)) if item["ok"] else float(item.get("seconds", 0.0))
            yield TaskOutcome(keys[item["patch"]], bool(item["ok"]), value, seconds)


def scan(rt: FitService, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """CLs for the chosen patches (all by default); every point cached as it completes."""
    from .contour import contours

    started = time.perf_counter()
    wid = params["workspace_id"]
    meta = rt.store.meta(wid)
    labels = (meta["summary"].get("patchset") or {}).get("labels", [])
    wanted = params.get("patches")
    entries = [p for p in meta.get("patches", []) if not wanted or p["name"] in set(wanted)]
    options = _options(params)
    if rt.dask_scheduler and options.get("engine") == "jax":
        options = {**options, "engine": "pyhf"}  # Dask workers compute points with pyhf
    level = float(params.get("level") or 0.05)
    head = {
        "workspace_id": wid,
        "options": options,
        "poi": _poi_name(meta["summary"], options.get("measurement")),
        "poi_value": FitOptions.from_params(options).poi_value,
    }
    scan_key = result_key(
        "fit.scan",
        workspace=meta["workspace_digest"],
        patches=[p["digest"] for p in entries],
        options=options,
        axes=params.get("contour_axes"),
        level=level,
    )
    cached = rt.cache.get(scan_key)
    if cached is not None:
        rt.metrics.fit_points("fit.scan", "cached", len(entries))
        ctx.progress(len(entries), len(entries), "from the cache")
        return {**head, **cached, "cached": True, "wall_seconds": round(time.perf_counter() - started, 4)}

    keys = {
        p["name"]: result_key("fit.point", workspace=meta["workspace_digest"], patch=p["digest"], options=options)
        for p in entries
    }
    points: dict[str, ScanPoint] = {}
    for p in entries:
        hit = rt.cache.get(keys[p["name"]])
        if hit is not None:
            points[p["name"]] = ScanPoint(
                p["name"], p["values"], hit["CLs_obs"], hit["CLs_exp"], None, True, 0.0, hit.get("engine")
            )
    todo = [p for p in entries if p["name"] not in points]
    rt.metrics.fit_points("fit.scan", "cached", len(points))
    total = len(entries)
    failed = 0

    def report() -> None:
        ctx.progress(len(points), total, f"{len(points)}/{total} points" + (f", {failed} failed" if failed else ""))

    report()
    if points:
        ctx.log(f"{len(points)} point(s) found in the cache; computing {len(todo)}")
    by_key = {keys[p["name"]]: p for p in todo}
    executor = "cache"
    workers = 0
    if todo:
        if rt.dask_scheduler:
            from .dask import run_on_dask

            executor = f"dask {rt.dask_scheduler}"
            spec, patchset = rt.store.load(wid)
            ops = {p["metadata"]["name"]: p["patch"] for p in (patchset or {}).get("patches", [])}
            tasks = [(keys[p["name"]], ops[p["name"]]) for p in todo]
            outcomes = run_on_dask(
                rt.dask_scheduler, spec, tasks, options, is_cancelled=lambda: ctx.cancelled, log=ctx.log
            )
            workers = -1
        else:
            workers = min(int(params.get("workers") or rt.workers), rt.workers, len(todo))
            executor = "local processes"
            ps_path = rt.store.patchset_path(wid)
            common = {
                "workspace_path": str(rt.store.workspace_path(wid)),
                "patchset_path": str(ps_path) if ps_path else None,
                "options": options,
            }
            if options.get("engine") == "jax":
                workers = engine_workers(len(todo), workers)
            pool = WorkerPool(workers, nice=rt.worker_nice, on_start=lambda pids: ctx.log(f"fit worker pid(s) {pids}"))
            if options.get("engine") == "jax":
                executor = "local processes, jax engine"
                outcomes = _engine_outcomes(rt, wid, todo, keys, options, common, workers, pool, ctx)
            else:
                tasks_local = [Task(keys[p["name"]], "point", {**common, "patch": p["name"]}) for p in todo]
                outcomes = pool.run(tasks_local, is_cancelled=lambda: ctx.cancelled)
        for outcome in outcomes:
            entry = by_key[outcome.key]
            rt.metrics.fit_points("fit.scan", "computed" if outcome.ok else "failed", seconds=outcome.seconds)
            if outcome.ok:
                value = outcome.value
                rt.cache.put(outcome.key, value)
                points[entry["name"]] = ScanPoint(
                    entry["name"],
                    entry["values"],
                    value["CLs_obs"],
                    value["CLs_exp"],
                    None,
                    False,
                    outcome.seconds,
                    value.get("engine", "pyhf"),
                )
            else:
                failed += 1
                message = (outcome.value or {}).get("message", "failed")
                ctx.log(f"point {entry['name']} failed: {message}")
                if (outcome.value or {}).get("traceback"):
                    ctx.log(outcome.value["traceback"])
                points[entry["name"]] = ScanPoint(
                    entry["name"], entry["values"], None, None, message, False, outcome.seconds
                )
            report()
    ordered = [points[p["name"]] for p in entries]
    table = [p.to_dict() for p in ordered]
    result = ScanResult(
        labels=labels,
        points=ordered,
        contours=contours(labels, table, params.get("contour_axes"), level),
        wall_seconds=time.perf_counter() - started,
        workers=workers,
        executor=executor,
    ).to_dict()
    if not result["n_failed"]:
        rt.cache.put(scan_key, result)
    return {**head, **result, "cached": False}
