"""Hypothesis tests of many patches at once: the layouts of one structure stacked and fitted together.

A test at ``mu`` needs, per patch, four fits: the background-only fit to the data (mu = 0) that
defines the Asimov data set, the free fit and the fit at ``mu`` to the data, and the fit at
``mu`` to the Asimov data. (The free fit to the Asimov data is not needed: by construction its
minimum is the point the Asimov data were made from.) The first two run as one vectorised batch,
the last two as another, so a chunk of N patches is two calls of one compiled minimiser on 2N
problems. Chunks are padded to a power of two, so few sizes are ever compiled.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .asymptotics import cls_values
from .layout import Dims, Layout, dims_of, padded
from .model import Model, Yields, asimov_aux, expected, nll
from .optimize import minimize

__all__ = ["PointOutcome", "batch_size", "hypotests"]


class PointOutcome(NamedTuple):
    """One patch's test: the CLs values and the free fit, or why the engine gave no answer."""

    cls_obs: float | None
    cls_exp: list[float] | None
    clsb: float | None
    clb: float | None
    bestfit: dict[str, float] | None
    seconds: float
    problem: str | None  # set when the engine could not answer (then: pyhf)


@functools.cache
def _compiled() -> tuple[Any, Any]:
    import jax

    fit = jax.jit(jax.vmap(minimize))

    def asimov(model: Any, y: Yields, theta: Any, aux: Any) -> tuple[Any, Any, Any]:
        main = expected(model, y, theta)
        aux_a = asimov_aux(model, y, theta, aux)
        return main, aux_a, nll(model, y, theta, main, aux_a)

    return fit, jax.jit(jax.vmap(asimov))


def batch_size(n: int, chunk: int) -> int:
    """The padded size of a chunk of ``n`` patches: a power of two, at most ``chunk``."""
    size = 1
    while size < min(n, chunk):
        size *= 2
    return size


def _twice(tree: Any) -> Any:
    return type(tree)(*(np.concatenate([x, x]) for x in tree))


def _run_chunk(layouts: Sequence[Layout], mu: float, test_stat: str, size: int, dims: Dims) -> list[PointOutcome]:
    started = time.perf_counter()
    fit, asimov = _compiled()
    n = len(layouts)
    rows = [padded(lay, dims) for lay in layouts]
    rows += [rows[-1]] * (size - n)

    def stack(name: str) -> np.ndarray:
        return np.stack([r[name] for r in rows])

    model = Model(*(stack(name) for name in Model._fields))
    y = Yields(*(stack(name) for name in Yields._fields))
    obs, aux, init, lower, upper, fixed = (stack(k) for k in ("observed", "aux", "init", "lower", "upper", "fixed"))
    poi = np.array([lay.poi_index for lay in layouts] + [layouts[-1].poi_index] * (size - n))
    pick = np.arange(size)

    def at(values: np.ndarray, value: float) -> np.ndarray:
        out = np.array(values, dtype=float)
        out[pick, poi] = value
        return out

    fixed_poi = fixed.copy()
    fixed_poi[pick, poi] = True
    mm, yy = _twice(model), _twice(y)
    first = fit(
        mm,
        yy,
        np.concatenate([obs, obs]),
        np.concatenate([aux, aux]),
        np.concatenate([at(init, 0.0), init]),
        np.concatenate([lower, lower]),
        np.concatenate([upper, upper]),
        np.concatenate([fixed_poi, fixed]),
    )
    theta1 = np.asarray(first.theta)
    bkg, free = theta1[:size], theta1[size:]
    f_free = np.asarray(first.nll)[size:]
    main_a, aux_a, f_free_a = (np.asarray(v) for v in asimov(model, y, bkg, aux))
    second = fit(
        mm,
        yy,
        np.concatenate([obs, main_a]),
        np.concatenate([aux, aux_a]),
        np.concatenate([at(free, mu), at(bkg, mu)]),
        np.concatenate([lower, lower]),
        np.concatenate([upper, upper]),
        np.concatenate([fixed_poi, fixed_poi]),
    )
    f_mu = np.asarray(second.nll)
    ok: np.ndarray = np.asarray(
        np.asarray(first.converged).reshape(2, size).all(axis=0)
        & np.asarray(second.converged).reshape(2, size).all(axis=0)
    )
    seconds = (time.perf_counter() - started) / n
    out = []
    for i, lay in enumerate(layouts):
        if not ok[i]:
            out.append(PointOutcome(None, None, None, None, None, seconds, "a fit did not converge in the engine"))
            continue
        q = 0.0 if free[i, poi[i]] > mu else max(2.0 * (f_mu[i] - f_free[i]), 0.0)
        q_a = max(2.0 * (f_mu[size + i] - f_free_a[i]), 0.0)
        cls = cls_values(q, q_a, test_stat)
        if not math.isfinite(cls.cls_obs):
            out.append(PointOutcome(None, None, None, None, None, seconds, "CLs is not a number"))
            continue
        bestfit = {label: float(v) for label, v in zip(lay.labels, free[i], strict=False)}
        out.append(PointOutcome(cls.cls_obs, cls.cls_exp, cls.clsb, cls.clb, bestfit, seconds, None))
    return out


def hypotests(
    layouts: Sequence[Layout],
    mu: float,
    test_stat: str = "qtilde",
    *,
    chunk: int = 32,
    dims: Dims | None = None,
    size: int | None = None,
    on_chunk: Callable[[list[int], list[PointOutcome]], None] | None = None,
) -> list[PointOutcome]:
    """CLs at ``mu`` for every layout, in the given order, ``chunk`` patches per compiled batch.

    All chunks are padded to the same ``dims`` (by default: what holds every layout) and
    ``size`` (by default a power of two), so one compiled minimiser serves the whole request.
    ``on_chunk(indices, outcomes)`` hears of each chunk as it finishes."""
    from .runtime import setup

    setup()
    if not layouts:
        return []
    dims = dims or dims_of(layouts)
    size = size or batch_size(len(layouts), chunk)
    results: list[PointOutcome] = []
    for start in range(0, len(layouts), size):
        part = list(range(start, min(start + size, len(layouts))))
        outcomes = _run_chunk([layouts[i] for i in part], mu, test_stat, size, dims)
        if on_chunk is not None:
            on_chunk(part, outcomes)
        results.extend(outcomes)
    return results
