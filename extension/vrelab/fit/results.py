"""The results of fits, hypothesis tests, limits and scans: NamedTuples with a JSON form.

Every result carries what its plot needs (pulls and correlations, yields per channel and bin,
the Brazil band's arrays, the contour's points), so that a widget or a notebook can draw it
from the job's result alone. ``to_dict()`` gives the JSON form stored in the job record.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

__all__ = [
    "ChannelYields",
    "FitResult",
    "HypotestResult",
    "LimitResult",
    "ScanPoint",
    "ScanResult",
    "finite",
]


def finite(value: float | None) -> float | None:
    """A float JSON can hold: NaN and infinities become None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _floats(values: Any) -> list[float | None]:
    return [finite(v) for v in values]


class ChannelYields(NamedTuple):
    """Expected events per bin of one channel, before and after the fit, with the observed data."""

    channel: str
    observed: list[float]
    samples: list[str]
    prefit: list[list[float]]  # [sample][bin]
    prefit_total: list[float]
    prefit_uncertainty: list[float]
    postfit: list[list[float]]
    postfit_total: list[float]
    postfit_uncertainty: list[float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "observed": _floats(self.observed),
            "samples": list(self.samples),
            "prefit": [_floats(s) for s in self.prefit],
            "prefit_total": _floats(self.prefit_total),
            "prefit_uncertainty": _floats(self.prefit_uncertainty),
            "postfit": [_floats(s) for s in self.postfit],
            "postfit_total": _floats(self.postfit_total),
            "postfit_uncertainty": _floats(self.postfit_uncertainty),
        }


class FitResult(NamedTuple):
    """A maximum-likelihood fit: best-fit values, uncertainties, correlations, pulls and yields.

    ``labels`` names every parameter element (``name`` or ``name[i]``); ``pulls`` lists the
    constrained ones as (best fit - nominal) / prior width, with the post-fit width relative to
    the prior one as its error bar.
    """

    poi: str | None
    labels: list[str]
    bestfit: list[float]
    uncertainty: list[float]
    fixed: list[bool]
    correlations: list[list[float]]
    twice_nll: float
    pulls: list[dict[str, Any]]
    yields: list[ChannelYields]
    fit_seconds: float

    def to_dict(self) -> dict[str, Any]:
        poi_index = self.labels.index(self.poi) if self.poi in self.labels else None
        return {
            "poi": self.poi,
            "poi_bestfit": finite(self.bestfit[poi_index]) if poi_index is not None else None,
            "poi_uncertainty": finite(self.uncertainty[poi_index]) if poi_index is not None else None,
            "labels": list(self.labels),
            "bestfit": _floats(self.bestfit),
            "uncertainty": _floats(self.uncertainty),
            "fixed": list(self.fixed),
            "correlations": [_floats(row) for row in self.correlations],
            "twice_nll": finite(self.twice_nll),
            "pulls": self.pulls,
            "yields": [y.to_dict() for y in self.yields],
            "fit_seconds": round(self.fit_seconds, 4),
        }


class HypotestResult(NamedTuple):
    """CLs at one POI value: observed, and expected at -2, -1, 0, +1, +2 sigma."""

    poi: str
    poi_value: float
    cls_obs: float
    cls_exp: list[float]
    clsb: float
    clb: float
    test_stat: str
    calctype: str
    fit_seconds: float
    bestfit: dict[str, float]
    engine: str = "pyhf"  # which engine computed it: "jax" or "pyhf"

    def to_dict(self) -> dict[str, Any]:
        return {
            "poi": self.poi,
            "poi_value": self.poi_value,
            "CLs_obs": finite(self.cls_obs),
            "CLs_exp": _floats(self.cls_exp),
            "CLsb": finite(self.clsb),
            "CLb": finite(self.clb),
            "test_stat": self.test_stat,
            "calctype": self.calctype,
            "fit_seconds": round(self.fit_seconds, 4),
            "engine": self.engine,
        }


class LimitResult(NamedTuple):
    """An upper limit on the POI at ``level`` and the CLs curves it was read from (a Brazil band)."""

    poi: str
    level: float
    obs_limit: float
    exp_limits: list[float]
    poi_values: list[float]
    cls_obs: list[float]
    cls_exp: list[list[float]]  # [sigma index -2..+2][poi point]
    method: str
    fit_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "poi": self.poi,
            "level": self.level,
            "obs_limit": finite(self.obs_limit),
            "exp_limits": _floats(self.exp_limits),
            "poi_values": _floats(self.poi_values),
            "CLs_obs": _floats(self.cls_obs),
            "CLs_exp": [_floats(band) for band in self.cls_exp],
            "method": self.method,
            "fit_seconds": round(self.fit_seconds, 4),
        }


class ScanPoint(NamedTuple):
    """One patch of a scan: its name and metadata values, and its CLs (or why it failed)."""

    patch: str
    values: list[float]
    cls_obs: float | None
    cls_exp: list[float | None] | None
    error: str | None
    cached: bool
    seconds: float
    engine: str | None = None  # which engine computed it (None: not computed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "patch": self.patch,
            "values": list(self.values),
            "CLs_obs": finite(self.cls_obs),
            "CLs_exp": _floats(self.cls_exp) if self.cls_exp is not None else None,
            "error": self.error,
            "cached": self.cached,
            "seconds": round(self.seconds, 4),
            "engine": self.engine,
        }


class ScanResult(NamedTuple):
    """CLs for every patch, keyed by the patches' metadata values, and exclusion contours."""

    labels: list[str]
    points: list[ScanPoint]
    contours: list[dict[str, Any]]
    wall_seconds: float
    workers: int
    executor: str

    def to_dict(self) -> dict[str, Any]:
        failed = [p.patch for p in self.points if p.error]
        busy = sum(p.seconds for p in self.points if not p.cached)
        return {
            "labels": list(self.labels),
            "columns": ["patch", *self.labels, "CLs_obs", "CLs_exp", "error"],
            "points": [p.to_dict() for p in self.points],
            "n_points": len(self.points),
            "n_failed": len(failed),
            "n_cached": sum(1 for p in self.points if p.cached),
            "failed": failed,
            "contours": self.contours,
            "wall_seconds": round(self.wall_seconds, 3),
            "point_seconds": round(busy, 3),
            "workers": self.workers,
            "executor": self.executor,
        }
