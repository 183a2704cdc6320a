"""Expected rates and the negative log-likelihood of a :class:`~.layout.Layout`, in JAX.

Every function takes the structure and the yields as *arguments* (not constants baked into the
compiled code), so one compiled function serves every model of the same array shapes; ``jit``
compiles it once per shape and the persistent cache keeps it across processes.

Conventions (HistFactory as pyhf defines it): a sample's rate is its nominal yield plus the sum
of its histosys shifts, times the product of its normfactor, lumi and normsys factors and of its
per-bin shapesys, staterror and shapefactor parameters. The likelihood is the product of Poisson
terms for the bins and of the constraint terms (Gaussian for normsys/histosys/lumi/staterror,
Poisson with factor tau for shapesys), normalised as continuous densities.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

__all__ = ["Model", "Yields", "asimov_aux", "code4_coefficients", "expected", "nll"]


class Model(NamedTuple):
    """The structure of a layout (integer arrays): shared by every patch of a batch."""

    row_apps: Any
    app_param: Any
    app_kind: Any
    bin_params: Any
    hs_param: Any
    hs_row: Any
    hs_kind: Any
    ctype: Any


class Yields(NamedTuple):
    """The yields of a layout (float arrays): one row per patch when batched."""

    nominal: Any
    app_hi: Any
    app_lo: Any
    hs_up: Any
    hs_dn: Any
    sigma: Any
    tau: Any


def code4_coefficients() -> np.ndarray:
    """The inverse of the 6x6 system that fixes the polynomial of normsys code4 on [-1, 1].

    The polynomial 1 + sum_k a_k alpha^k (k = 1..6) matches the exponential extrapolation's value,
    first and second derivative at alpha = +1 and -1; ``a = M @ b`` with
    b = (hi - 1, lo - 1, hi ln hi, -lo ln lo, hi ln^2 hi, lo ln^2 lo).
    """
    rows = []
    for x in (1.0, -1.0):
        rows.append([x**k for k in range(1, 7)])
    for x in (1.0, -1.0):
        rows.append([k * x ** (k - 1) for k in range(1, 7)])
    for x in (1.0, -1.0):
        rows.append([k * (k - 1) * x ** (k - 2) for k in range(1, 7)])
    return np.linalg.inv(np.array(rows))


_CODE4 = code4_coefficients()


def _normsys(alpha: Any, hi: Any, lo: Any, kind: Any) -> Any:
    """Multiplicative factor of each normsys application (code1 or code4 by ``kind``)."""
    import jax.numpy as jnp

    safe_hi = jnp.where(hi > 0, hi, 1.0)
    safe_lo = jnp.where(lo > 0, lo, 1.0)
    log_hi, log_lo = jnp.log(safe_hi), jnp.log(safe_lo)
    outside = jnp.where(alpha >= 0, jnp.exp(alpha * log_hi), jnp.exp(-alpha * log_lo))
    b = jnp.stack(
        [hi - 1.0, lo - 1.0, hi * log_hi, -lo * log_lo, hi * log_hi**2, lo * log_lo**2], axis=-1
    )  # [A, 6]
    coef = b @ jnp.asarray(_CODE4).T  # [A, 6]
    a_in = jnp.clip(alpha, -1.0, 1.0)
    powers = jnp.stack([a_in**k for k in range(1, 7)], axis=-1)
    inside = 1.0 + jnp.sum(coef * powers, axis=-1)
    code4 = jnp.where(jnp.abs(alpha) >= 1.0, outside, inside)
    return jnp.where(kind == 2, code4, outside)


def _histosys(alpha: Any, up: Any, dn: Any, kind: Any) -> Any:
    """Additive shift of each histosys application (code0 or code4p by ``kind``), [H, B]."""
    import jax.numpy as jnp

    a = alpha[:, None]
    linear = jnp.where(a > 0, a * up, a * dn)
    s = 0.5 * (up + dn)
    t = 0.0625 * (up - dn)
    a2 = a * a
    smooth = a * s + t * a2 * (a2 * (3.0 * a2 - 10.0) + 15.0)
    code4p = jnp.where(jnp.abs(a) > 1.0, linear, smooth)
    return jnp.where(kind[:, None] == 1, code4p, linear)


def expected(model: Model, y: Yields, theta: Any) -> Any:
    """Expected events per bin [B] at parameters ``theta`` [P]."""
    import jax
    import jax.numpy as jnp

    ext = jnp.concatenate([theta, jnp.ones(1, theta.dtype)])
    values = ext[model.app_param]
    factors = jnp.where(model.app_kind == 0, values, _normsys(values, y.app_hi, y.app_lo, model.app_kind))
    factors = jnp.concatenate([factors, jnp.ones(1, theta.dtype)])
    row_factor = jnp.prod(factors[model.row_apps], axis=-1)  # [R]
    bin_factor = jnp.prod(ext[model.bin_params], axis=-1)  # [R, B]
    rates = y.nominal
    if model.hs_param.shape[0]:
        shifts = _histosys(ext[model.hs_param], y.hs_up, y.hs_dn, model.hs_kind)
        rates = rates + jax.ops.segment_sum(shifts, model.hs_row, num_segments=y.nominal.shape[0])
    return jnp.sum(rates * row_factor[:, None] * bin_factor, axis=0)


def _poisson_nll(n: Any, lam: Any) -> Any:
    import jax.numpy as jnp
    from jax.scipy.special import gammaln

    safe = jnp.where(lam > 0, lam, 1e-300)
    return jnp.sum(lam - jnp.where(n > 0, n * jnp.log(safe), 0.0) + gammaln(n + 1.0))


def constraint_nll(model: Model, y: Yields, theta: Any, aux: Any) -> Any:
    """The constraint terms' negative log-density."""
    import jax.numpy as jnp
    from jax.scipy.special import gammaln

    gauss = model.ctype == 1
    pois = model.ctype == 2
    z = (theta - aux) / y.sigma
    g = jnp.where(gauss, 0.5 * z * z + jnp.log(y.sigma) + 0.5 * jnp.log(2 * jnp.pi), 0.0)
    lam = jnp.where(pois, theta * y.tau, 1.0)
    p = jnp.where(pois, lam - aux * jnp.log(jnp.where(lam > 0, lam, 1e-300)) + gammaln(aux + 1.0), 0.0)
    return jnp.sum(g) + jnp.sum(p)


def nll(model: Model, y: Yields, theta: Any, observed: Any, aux: Any) -> Any:
    """Negative log-likelihood (half of pyhf's twice_nll)."""
    return _poisson_nll(observed, expected(model, y, theta)) + constraint_nll(model, y, theta, aux)


def asimov_aux(model: Model, y: Yields, theta: Any, aux: Any) -> Any:
    """Auxiliary data an Asimov data set takes at ``theta``: the constraints' expected values."""
    import jax.numpy as jnp

    return jnp.where(model.ctype == 1, theta, jnp.where(model.ctype == 2, theta * y.tau, aux))
