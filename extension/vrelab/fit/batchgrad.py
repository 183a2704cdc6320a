"""Batched finite-difference gradients for pyhf's scipy optimizer on the numpy backend.

On numpy, pyhf minimises with SLSQP and lets scipy estimate the gradient by forward
differences: one ``logpdf`` call per parameter per step, ~95% of a hypothesis test's time
(measured: 12,000 calls for one test of a 69-parameter model). A pyhf model built with
``batch_size=npars + 1`` evaluates all those shifted points in ONE vectorised call: the same
forward-difference gradient — same step as SLSQP's (an absolute 1.49e-8, turned backwards at an
upper bound, divided by the step as represented) and bitwise the same values. The objective's
value (all a line search needs) still comes from the single model: the batch is evaluated only
when SLSQP asks for a gradient.

:func:`register` attaches a batched twin to a model; :func:`optimizer` is a ``scipy_optimizer``
that uses the twin whenever the model being fitted has one (and otherwise behaves exactly as
pyhf's own). Results agree with the unbatched fits to ~1e-6 in CLs (the tests check 1e-4).
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

__all__ = ["optimizer", "register"]

# SLSQP's default absolute finite-difference step (scipy.optimize._slsqp_py: sqrt(machine eps))
STEP = 1.4901161193847656e-08

_TWINS: dict[int, tuple[weakref.ref[Any], Any]] = {}


def register(model: Any, batched: Any) -> None:
    """Use ``batched`` (the same model, ``batch_size = npars + 1``) for ``model``'s gradients."""
    key = id(model)
    _TWINS[key] = (weakref.ref(model, lambda _ref: _TWINS.pop(key, None)), batched)


def _twin(model: Any) -> Any:
    entry = _TWINS.get(id(model))
    if entry is None or entry[0]() is not model:
        return None
    return entry[1]


def _gradient(batched: Any, data: Any, bounds: Any) -> Any:
    """The forward-difference gradient of -2 ln L as SLSQP computes it, from one batched call."""
    import numpy as np

    n = batched.config.npars
    upper = np.array([b[1] for b in bounds], dtype=float) if bounds is not None else np.full(n, np.inf)
    lower = np.array([b[0] for b in bounds], dtype=float) if bounds is not None else np.full(n, -np.inf)
    rows = np.arange(n)

    def gradient(x: Any) -> Any:
        x = np.asarray(x, dtype=float)
        h = np.full(n, STEP)
        backwards = (x + h > upper) & (x - h >= lower)
        h[backwards] = -STEP
        points = np.tile(x, (n + 1, 1))
        points[rows + 1, rows] += h
        dx = points[rows + 1, rows] - x  # the step as represented, as scipy divides by it
        values = -2.0 * np.asarray(batched.logpdf(points, data), dtype=float)
        return (values[1:] - values[0]) / dx

    return gradient


@functools.cache
def optimizer() -> Any:
    """A pyhf scipy optimizer (SLSQP) whose gradients come from registered batched twins."""
    import pyhf
    from pyhf.optimize.opt_scipy import scipy_optimizer

    class BatchedGradientScipyOptimizer(scipy_optimizer):  # type: ignore[misc]
        name = "scipy"

        def minimize(self, objective: Any, data: Any, pdf: Any, *args: Any, **kwargs: Any) -> Any:
            twin = _twin(pdf) if objective is pyhf.infer.mle.twice_nll else None
            self._vrelab_twin = (twin, data) if twin is not None else None
            try:
                return super().minimize(objective, data, pdf, *args, **kwargs)
            finally:
                self._vrelab_twin = None

        def _minimize(
            self,
            minimizer: Any,
            func: Any,
            x0: Any,
            do_grad: bool = False,
            bounds: Any = None,
            fixed_vals: Any = None,
            options: Any = None,
        ) -> Any:
            context = getattr(self, "_vrelab_twin", None)
            if context is not None and not do_grad:
                # the objective's value as pyhf computes it (line searches need only that); its
                # gradient from the batched twin, only when SLSQP asks for one
                gradient = _gradient(context[0], context[1], bounds)
                scipy_minimize = minimizer

                def with_gradient(fun: Any, x: Any, **kwargs: Any) -> Any:
                    kwargs["jac"] = gradient
                    return scipy_minimize(fun, x, **kwargs)

                minimizer = with_gradient
            return super()._minimize(
                minimizer, func, x0, do_grad=do_grad, bounds=bounds, fixed_vals=fixed_vals, options=options or {}
            )

    return BatchedGradientScipyOptimizer()
