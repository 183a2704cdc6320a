"""A bounded minimiser of the HistFactory NLL, written for ``vmap``: projected Gauss-Newton.

Each iteration linearises the expected rates (their exact Jacobian ``J``, from
:func:`~.model.expected_and_jacobian`) and uses the Gauss-Newton curvature of the Poisson
terms, ``J^T diag(n / lam^2) J``, plus the constraint terms' exact (diagonal) curvature. The
bins are few and the parameters many, so the Newton system ``(D + J_w^T J_w) d = -g`` is
solved through the Woodbury identity with one bins x bins factorisation. Bounds are handled as
in projected Newton methods: a parameter on a bound whose gradient points outward is held for
the step, the step is projected onto the box, and a line search tries a short ladder of step
lengths at once (one vectorised evaluation); the longest that satisfies Armijo's condition
wins. A Levenberg-Marquardt damping grows when no step is accepted and shrinks after full
steps. Fixed parameters never move.

The loop stops when the predicted decrease ``-g.d`` falls below ``tol``; under ``vmap`` the
patches that have converged keep their values while the others go on.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .model import Model, Yields, expected_and_jacobian, nll

__all__ = ["FitOut", "minimize"]

TOL = 1e-10
MAX_ITER = 300
_LADDER = (1.0, 0.5, 0.2, 0.05)  # step lengths tried at once


class FitOut(NamedTuple):
    theta: Any
    nll: Any
    converged: Any
    iterations: Any


def minimize(
    model: Model,
    y: Yields,
    observed: Any,
    aux: Any,
    init: Any,
    lower: Any,
    upper: Any,
    fixed: Any,
    *,
    tol: float = TOL,
    max_iter: int = MAX_ITER,
) -> FitOut:
    """Minimise the NLL of one model over the box [lower, upper] with ``fixed`` parameters held."""
    import jax
    import jax.numpy as jnp

    nbins = observed.shape[0]
    eye = jnp.eye(nbins)
    ladder = jnp.asarray(_LADDER, dtype=init.dtype)
    gauss = model.ctype == 1
    pois = model.ctype == 2
    span = upper - lower

    def f(theta: Any) -> Any:
        return nll(model, y, theta, observed, aux)

    def body(state: tuple[Any, ...]) -> tuple[Any, ...]:
        theta, fval, damping, it, _dec = state
        lam, jac = expected_and_jacobian(model, y, theta)  # [B], [B, P]
        safe = jnp.where(lam > 0, lam, 1e-300)
        g = jac.T @ (1.0 - observed / safe)
        g_c = jnp.where(gauss, (theta - aux) / y.sigma**2, 0.0)
        g_c = g_c + jnp.where(pois, y.tau - aux / jnp.where(pois, theta, 1.0), 0.0)
        h_c = jnp.where(gauss, 1.0 / y.sigma**2, 0.0)
        h_c = h_c + jnp.where(pois, aux / jnp.where(pois, theta, 1.0) ** 2, 0.0)
        g = g + g_c
        edge = 1e-12 * (1.0 + span)
        held = fixed | ((theta <= lower + edge) & (g > 0)) | ((theta >= upper - edge) & (g < 0))
        free = ~held
        weight = jnp.where(lam > 0, observed / safe / safe, 0.0)  # empty (padding) bins: 0
        jw = jnp.sqrt(weight)[:, None] * jac * free[None, :]
        gf = jnp.where(free, g, 0.0)
        diag = jnp.sum(jw * jw, axis=0)
        d_diag = h_c + damping * (diag + h_c) + 1e-10 * (1.0 + diag)
        d_inv = jnp.where(free, 1.0 / d_diag, 0.0)
        u = d_inv * gf
        small = eye + (jw * d_inv[None, :]) @ jw.T
        v = jnp.linalg.solve(small, jw @ u)
        step = -(u - d_inv * (jw.T @ v))
        dec = -jnp.dot(g, step)
        cand = jnp.clip(theta[None, :] + ladder[:, None] * step[None, :], lower, upper)
        cand = jnp.where(fixed[None, :], theta[None, :], cand)
        values = jax.vmap(f)(cand)
        moved = cand - theta[None, :]
        ok = (values <= fval + 1e-4 * (moved @ g)) & jnp.isfinite(values)
        any_ok = jnp.any(ok)
        first = jnp.argmax(ok)
        new_theta = jnp.where(any_ok, cand[first], theta)
        new_f = jnp.where(any_ok, values[first], fval)
        damping = jnp.where(any_ok, jnp.where(first == 0, damping * 0.3, damping), damping * 10.0)
        damping = jnp.clip(damping, 1e-9, 1e9)
        # a step nothing accepts while the damping is at its ceiling: give up (not converged)
        dec = jnp.where(any_ok | (damping < 1e9), dec, -1.0)
        return new_theta, new_f, damping, it + 1, dec

    def cond(state: tuple[Any, ...]) -> Any:
        _theta, _f, _damping, it, dec = state
        return (it < max_iter) & (dec >= tol)

    theta0 = jnp.where(fixed, init, jnp.clip(init, lower, upper))
    state = (theta0, f(theta0), jnp.asarray(1e-3, init.dtype), jnp.asarray(0), jnp.asarray(jnp.inf, init.dtype))
    theta, fval, _damping, it, dec = jax.lax.while_loop(cond, body, state)
    return FitOut(theta, fval, (dec < tol) & (dec > -0.5) & jnp.isfinite(fval), it)
