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

__all__ = [
    "Model",
    "Yields",
    "asimov_aux",
    "code4_coefficients",
    "expected",
    "expected_and_jacobian",
    "nll",
    "nll_constant",
]


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


def _normsys(alpha: Any, hi: Any, lo: Any, kind: Any) -> tuple[Any, Any]:
    """Factor of each normsys application (code1 or code4 by ``kind``) and its derivative."""
    import jax.numpy as jnp

    log_hi = jnp.log(jnp.where(hi > 0, hi, 1.0))
    log_lo = jnp.log(jnp.where(lo > 0, lo, 1.0))
    up = alpha >= 0
    outside = jnp.where(up, jnp.exp(alpha * log_hi), jnp.exp(-alpha * log_lo))
    d_outside = outside * jnp.where(up, log_hi, -log_lo)
    b = jnp.stack([hi - 1.0, lo - 1.0, hi * log_hi, -lo * log_lo, hi * log_hi**2, lo * log_lo**2], axis=-1)
    c = b @ jnp.asarray(_CODE4).T  # [A, 6]: a_1 .. a_6
    a = jnp.clip(alpha, -1.0, 1.0)
    inside = 1.0 + a * (c[:, 0] + a * (c[:, 1] + a * (c[:, 2] + a * (c[:, 3] + a * (c[:, 4] + a * c[:, 5])))))
    d_inside = c[:, 0] + a * (2 * c[:, 1] + a * (3 * c[:, 2] + a * (4 * c[:, 3] + a * (5 * c[:, 4] + a * 6 * c[:, 5]))))
    poly = (kind == 2) & (jnp.abs(alpha) < 1.0)
    return jnp.where(poly, inside, outside), jnp.where(poly, d_inside, d_outside)


def _histosys(alpha: Any, up: Any, dn: Any, kind: Any) -> tuple[Any, Any]:
    """Additive shift of each histosys application (code0 or code4p by ``kind``), [H, B], and its
    derivative."""
    import jax.numpy as jnp

    a = alpha[:, None]
    pos = a > 0
    linear = jnp.where(pos, a * up, a * dn)
    d_linear = jnp.where(pos, up, dn)
    s = 0.5 * (up + dn)
    t = 0.0625 * (up - dn)
    a2 = a * a
    smooth = a * s + t * a2 * (a2 * (3.0 * a2 - 10.0) + 15.0)
    d_smooth = s + t * a * (30.0 + a2 * (18.0 * a2 - 40.0))
    poly = (kind[:, None] == 1) & (jnp.abs(a) <= 1.0)
    return jnp.where(poly, smooth, linear), jnp.where(poly, d_smooth, d_linear)


def _exclusive_products(table: Any) -> Any:
    """For each entry along the last axis, the product of the other entries (no division)."""
    import jax.numpy as jnp

    ones = jnp.ones((*table.shape[:-1], 1), table.dtype)
    before = jnp.cumprod(jnp.concatenate([ones, table[..., :-1]], axis=-1), axis=-1)
    after = jnp.flip(jnp.cumprod(jnp.flip(jnp.concatenate([table[..., 1:], ones], axis=-1), -1), axis=-1), -1)
    return before * after


def _pieces(model: Model, y: Yields, theta: Any) -> tuple[Any, ...]:
    import jax
    import jax.numpy as jnp

    one = jnp.ones(1, theta.dtype)
    ext = jnp.concatenate([theta, one])
    values = ext[model.app_param]
    ns, d_ns = _normsys(values, y.app_hi, y.app_lo, model.app_kind)
    direct = model.app_kind == 0
    factors = jnp.concatenate([jnp.where(direct, values, ns), one])
    d_factors = jnp.where(direct, 1.0, d_ns)
    table = factors[model.row_apps]  # [R, K]
    row_factor = jnp.prod(table, axis=-1)
    bin_table = ext[model.bin_params]  # [R, B, K2]
    bin_factor = jnp.prod(bin_table, axis=-1)
    rates = y.nominal
    d_shifts = None
    if model.hs_param.shape[0]:
        shifts, d_shifts = _histosys(ext[model.hs_param], y.hs_up, y.hs_dn, model.hs_kind)
        rates = rates + jax.ops.segment_sum(shifts, model.hs_row, num_segments=y.nominal.shape[0])
    return table, row_factor, bin_table, bin_factor, rates, d_factors, d_shifts


def expected(model: Model, y: Yields, theta: Any) -> Any:
    """Expected events per bin [B] at parameters ``theta`` [P]."""
    import jax.numpy as jnp

    _t, row_factor, _bt, bin_factor, rates, _df, _ds = _pieces(model, y, theta)
    return jnp.sum(rates * row_factor[:, None] * bin_factor, axis=0)


def expected_and_jacobian(model: Model, y: Yields, theta: Any) -> tuple[Any, Any]:
    """Expected events [B] and their exact Jacobian [B, P], assembled term by term.

    Every rate is a sum over samples of products, so a parameter's derivative is its factor's
    derivative times the product of the sample's other factors (computed without division, so a
    normfactor at 0 is fine). This forward assembly is several times cheaper than reverse-mode
    autodiff through the gathers (which the tests check it against)."""
    import jax.numpy as jnp

    npar = theta.shape[0]
    table, row_factor, bin_table, bin_factor, rates, d_factors, d_shifts = _pieces(model, y, theta)
    lam = jnp.sum(rates * row_factor[:, None] * bin_factor, axis=0)
    jac_t = jnp.zeros((npar + 1, lam.shape[0]), theta.dtype)  # [P + 1, B]; row P takes the padding
    n_apps = model.app_param.shape[0]
    weight = rates * bin_factor  # [R, B]
    if n_apps:
        others = _exclusive_products(table)  # [R, K]
        # each application sits in exactly one row: its slot's "others" product, and its row
        per_app = jnp.zeros(n_apps + 1, theta.dtype).at[model.row_apps].add(others)[:n_apps]
        rows = jnp.broadcast_to(jnp.arange(table.shape[0], dtype=jnp.int32)[:, None], table.shape)
        app_row = jnp.zeros(n_apps + 1, jnp.int32).at[model.row_apps].max(rows)[:n_apps]
        jac_t = jac_t.at[model.app_param].add((d_factors * per_app)[:, None] * weight[app_row])
    bin_others = _exclusive_products(bin_table)  # [R, B, K2]
    scale = rates * row_factor[:, None]  # [R, B]
    nb = lam.shape[0]
    contrib = scale[:, :, None] * bin_others  # [R, B, K2]
    bins = jnp.broadcast_to(jnp.arange(nb)[None, :, None], bin_table.shape)
    jac_t = jac_t.at[model.bin_params, bins].add(contrib)
    if d_shifts is not None:
        jac_t = jac_t.at[model.hs_param].add(d_shifts * (row_factor[:, None] * bin_factor)[model.hs_row])
    return lam, jac_t[:npar].T


def _poisson_nll(n: Any, lam: Any) -> Any:
    import jax.numpy as jnp

    return jnp.sum(_centred_poisson(n, lam))


def _centred_poisson(n: Any, lam: Any) -> Any:
    """-log Poisson(n | lam) minus its value at lam = n: zero at the saturated point, so sums of
    many terms (a shapesys with tau ~ 1e10 contributes ~1e11 otherwise) keep their precision."""
    import jax.numpy as jnp

    safe = jnp.where(lam > 0, lam, 1e-300)
    pos = n > 0
    safe_n = jnp.where(pos, n, 1.0)
    return lam - n + jnp.where(pos, n * (jnp.log(safe_n) - jnp.log(safe)), 0.0)


def constraint_nll(model: Model, y: Yields, theta: Any, aux: Any) -> Any:
    """The constraint terms' negative log-density, without the terms that do not depend on theta."""
    import jax.numpy as jnp

    gauss = model.ctype == 1
    pois = model.ctype == 2
    z = (theta - aux) / y.sigma
    g = jnp.where(gauss, 0.5 * z * z, 0.0)
    lam = jnp.where(pois, theta * y.tau, 1.0)
    p = jnp.where(pois, _centred_poisson(aux, lam), 0.0)
    return jnp.sum(g) + jnp.sum(p)


def nll(model: Model, y: Yields, theta: Any, observed: Any, aux: Any) -> Any:
    """Negative log-likelihood up to :func:`nll_constant` (which depends on the data only):
    differences between fits to the same data are exact."""
    return _poisson_nll(observed, expected(model, y, theta)) + constraint_nll(model, y, theta, aux)


def nll_constant(ctype: np.ndarray, sigma: np.ndarray, observed: np.ndarray, aux: np.ndarray) -> float:
    """What :func:`nll` leaves out (log n! - n log n + n of every Poisson term, the Gaussians'
    normalisations): the full NLL, half pyhf's twice_nll, is ``nll + nll_constant``."""
    from scipy.special import gammaln

    gauss = ctype == 1
    pois = ctype == 2

    def poisson(n: np.ndarray) -> float:
        n = np.asarray(n, dtype=float)
        n_log_n = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0)), 0.0)
        return float(np.sum(gammaln(n + 1.0) - n_log_n + n))

    value = poisson(observed) + poisson(np.asarray(aux)[pois])
    return value + float(np.sum(np.log(sigma[gauss]) + 0.5 * np.log(2 * np.pi)))


def asimov_aux(model: Model, y: Yields, theta: Any, aux: Any) -> Any:
    """Auxiliary data an Asimov data set takes at ``theta``: the constraints' expected values."""
    import jax.numpy as jnp

    return jnp.where(model.ctype == 1, theta, jnp.where(model.ctype == 2, theta * y.tau, aux))
