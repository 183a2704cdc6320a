"""Which engine answers, and the engine's entry points for the fit workers.

The compiled engine answers asymptotic hypothesis tests (``fit.hypotest``, the points of
``fit.scan``) when the request asks for ``engine: "jax"`` (the default when jax is installed).
A model it cannot express (:class:`~.layout.Unsupported`: an unknown modifier type, a per-bin
modifier shared across channels, a patch it cannot apply, ...) or a fit that does not converge in
it is answered by pyhf instead, point by point; every result says which engine ran
(``engine``) and, after a fallback, why (``engine_note``).
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import BadRequest
from ..inference import FitOptions
from .layout import Background, Dims, Layout, Unsupported, dims_of

__all__ = ["hypotest", "plan", "points"]


def _background_options(opts: FitOptions) -> dict[str, Any]:
    return {"fixed_params": opts.fixed_params, "fix_shapesys_tau_above": opts.fix_shapesys_tau_above}


def plan(
    spec: Mapping[str, Any], patches: Mapping[str, Sequence[Mapping[str, Any]]], names: Sequence[str], opts: FitOptions
) -> Dims | None:
    """The array sizes that hold every named patch's model (None: the engine takes none of them).

    Runs where the scan is organised (numpy only), so that every chunk of the scan, in whichever
    worker, is padded alike and one compiled minimiser serves them all."""
    try:
        background = Background(spec, opts.measurement, **_background_options(opts))
    except Unsupported:
        return None
    layouts = []
    for name in names:
        try:
            layouts.append(background.layout(patches[name]))
        except (Unsupported, KeyError):
            continue
    return dims_of(layouts) if layouts else None


@functools.lru_cache(maxsize=4)
def _background(workspace_path: str, measurement: str | None, fixed: tuple[Any, ...], tau: float | None) -> Any:
    with open(workspace_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    try:
        return Background(spec, measurement, fixed_params=fixed, fix_shapesys_tau_above=tau)
    except Unsupported as exc:
        return exc


def _layout(workspace_path: str, patch: Sequence[Mapping[str, Any]] | None, opts: FitOptions) -> Layout:
    background = _background(workspace_path, opts.measurement, opts.fixed_params, opts.fix_shapesys_tau_above)
    if isinstance(background, Unsupported):
        raise background
    return background.layout(patch)


def _check_poi(layout: Layout, mu: float) -> None:
    lo, hi = float(layout.lower[layout.poi_index]), float(layout.upper[layout.poi_index])
    if not lo <= mu <= hi:
        raise BadRequest(
            f"The tested POI value {mu} is outside the POI's bounds [{lo}, {hi}].", details={"bounds": [lo, hi]}
        )


def points(
    workspace_path: str,
    patchset_path: str | None,
    patches: list[str],
    options: dict[str, Any],
    dims: list[int] | None = None,
    batch: int | None = None,
) -> list[dict[str, Any]]:
    """Scan points for ``patches``, fitted together: one ``{"patch", "ok", "value"}`` per patch,
    ``value`` the point's result or, when not ok, ``{"code", "message"}``."""
    from .. import worker
    from .batch import hypotests
    from .runtime import setup

    setup(single_thread=True)
    opts = FitOptions.from_params(options)
    layouts: dict[str, Layout] = {}
    notes: dict[str, str] = {}
    for name in patches:
        try:
            layouts[name] = _layout(workspace_path, worker._patch(patchset_path, name), opts)
            _check_poi(layouts[name], opts.poi_value)
        except Unsupported as exc:
            notes[name] = f"the engine cannot express this model ({exc})"
            layouts.pop(name, None)
        except Exception as exc:
            notes[name] = f"{type(exc).__name__}"
            layouts.pop(name, None)
    out: dict[str, dict[str, Any]] = {}
    names = [n for n in patches if n in layouts]
    if names:
        chosen = [layouts[n] for n in names]
        size = Dims(*dims) if dims else dims_of(chosen)
        found = hypotests(chosen, opts.poi_value, opts.test_stat, dims=_cover(size, chosen), size=batch)
        for name, outcome in zip(names, found, strict=True):
            if outcome.problem:
                notes[name] = outcome.problem
                continue
            value = {
                "CLs_obs": outcome.cls_obs,
                "CLs_exp": outcome.cls_exp,
                "fit_seconds": outcome.seconds,
                "engine": "jax",
            }
            out[name] = {"patch": name, "ok": True, "value": value}
    for name, note in notes.items():  # pyhf answers what the engine could not, one by one
        started = time.perf_counter()
        try:
            value = worker.point(workspace_path, patchset_path, name, {**options, "engine": "pyhf"})
            out[name] = {"patch": name, "ok": True, "value": {**value, "engine": "pyhf", "engine_note": note}}
        except Exception as exc:
            code = getattr(exc, "code", "job_failed")
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            out[name] = {
                "patch": name,
                "ok": False,
                "value": {"code": code, "message": message},
                "seconds": time.perf_counter() - started,
            }
    return [out[name] for name in patches]


def _cover(dims: Dims, layouts: Sequence[Layout]) -> Dims:
    """``dims``, grown where a layout does not fit (a patch the plan could not see)."""
    mine = dims_of(layouts)
    return Dims(*(max(a, b) for a, b in zip(dims, mine, strict=True)))


def hypotest(
    workspace_path: str, patchset_path: str | None, patch: str | None, options: dict[str, Any]
) -> dict[str, Any]:
    """One hypothesis test by the engine (the full result record), or by pyhf when it cannot."""
    from .. import worker
    from ..errors import FitFailed
    from ..results import HypotestResult
    from .batch import hypotests
    from .runtime import setup

    setup(single_thread=True)
    started = time.perf_counter()
    opts = FitOptions.from_params(options)
    note = None
    try:
        layout = _layout(workspace_path, worker._patch(patchset_path, patch), opts)
    except Unsupported as exc:
        note = f"the engine cannot express this model ({exc})"
    else:
        _check_poi(layout, opts.poi_value)
        (outcome,) = hypotests([layout], opts.poi_value, opts.test_stat)
        if outcome.problem is None:
            assert outcome.cls_obs is not None and outcome.cls_exp is not None
            if not math.isfinite(outcome.cls_obs):
                raise FitFailed("The hypothesis test gave a CLs that is not a number (the fits did not converge).")
            return HypotestResult(
                poi=layout.poi_name,
                poi_value=opts.poi_value,
                cls_obs=outcome.cls_obs,
                cls_exp=outcome.cls_exp,
                clsb=float(outcome.clsb or 0.0),
                clb=float(outcome.clb or 0.0),
                test_stat=opts.test_stat,
                calctype=opts.calctype,
                fit_seconds=time.perf_counter() - started,
                bestfit=outcome.bestfit or {},
                engine="jax",
            ).to_dict()
        note = outcome.problem
    result = worker.hypotest(workspace_path, patchset_path, patch, {**options, "engine": "pyhf"})
    return {**result, "engine": "pyhf", "engine_note": note}
