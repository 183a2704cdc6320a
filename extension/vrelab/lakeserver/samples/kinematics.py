"""Four-vectors and decays (GeV; four-vectors are (..., 4) arrays of E, px, py, pz)."""

from __future__ import annotations

import numpy as np


def _p4(pt: np.ndarray, eta_or_y: np.ndarray, phi: np.ndarray, m: np.ndarray | float,
        rapidity: bool = False) -> np.ndarray:  # fmt: skip
    pt = np.asarray(pt, dtype=np.float64)
    m = np.broadcast_to(np.asarray(m, dtype=np.float64), pt.shape)
    px, py = pt * np.cos(phi), pt * np.sin(phi)
    if rapidity:
        mt = np.sqrt(pt**2 + m**2)
        e, pz = mt * np.cosh(eta_or_y), mt * np.sinh(eta_or_y)
    else:
        pz = pt * np.sinh(eta_or_y)
        e = np.sqrt(pt**2 + pz**2 + m**2)
    return np.stack([e, px, py, pz], axis=-1)


def _kinematics(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pt = np.hypot(p[..., 1], p[..., 2])
    eta = np.arcsinh(p[..., 3] / np.maximum(pt, 1e-9))
    phi = np.arctan2(p[..., 2], p[..., 1])
    return pt, eta, phi


def _mass(p: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(axis=-1), 0.0))


def _boost(p: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Boost four-vectors ``p`` by velocity ``beta`` (both (n, ...))."""
    b2 = np.clip((beta**2).sum(axis=-1), 0.0, 1.0 - 1e-15)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = (beta * p[..., 1:]).sum(axis=-1)
    safe_b2 = np.where(b2 > 0, b2, 1.0)
    gamma2 = np.where(b2 > 0, (gamma - 1.0) / safe_b2, 0.0)
    e = gamma * (p[..., 0] + bp)
    vec = p[..., 1:] + (gamma2 * bp + gamma * p[..., 0])[..., None] * beta
    return np.concatenate([e[..., None], vec], axis=-1)


def _decay(rng: np.random.Generator, parent: np.ndarray, m1: np.ndarray | float,
           m2: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Isotropic two-body decays of ``parent`` into masses ``m1`` and ``m2``, in the lab."""
    n = len(parent)
    big_m = _mass(parent)
    m1 = np.broadcast_to(np.asarray(m1, dtype=np.float64), (n,))
    m2 = np.broadcast_to(np.asarray(m2, dtype=np.float64), (n,))
    arg = (big_m**2 - (m1 + m2) ** 2) * (big_m**2 - (m1 - m2) ** 2)
    pstar = np.sqrt(np.maximum(arg, 0.0)) / (2.0 * big_m)
    cos_t = rng.uniform(-1.0, 1.0, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    phi = rng.uniform(-np.pi, np.pi, n)
    direction = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=-1)
    d1 = np.concatenate([np.sqrt(pstar**2 + m1**2)[:, None], pstar[:, None] * direction], axis=-1)
    d2 = np.concatenate([np.sqrt(pstar**2 + m2**2)[:, None], -pstar[:, None] * direction], axis=-1)
    beta = parent[:, 1:] / parent[:, :1]
    return _boost(d1, beta), _boost(d2, beta)


def _breit_wigner(rng: np.random.Generator, n: int, mass: float, width: float, lo: np.ndarray | float,
                  hi: np.ndarray | float) -> np.ndarray:  # fmt: skip
    """Relativistic-ish Breit-Wigner masses (a Cauchy in m) truncated to [lo, hi]."""
    lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), (n,))
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (n,))
    a = np.arctan((lo - mass) / (width / 2))
    b = np.arctan((hi - mass) / (width / 2))
    return mass + width / 2 * np.tan(a + (b - a) * rng.random(n))


def _production(rng: np.random.Generator, n: int, mass: np.ndarray | float, pt_shape: float,
                pt_scale: float, y_sigma: float) -> np.ndarray:  # fmt: skip
    pt = rng.gamma(pt_shape, pt_scale, n)
    y = np.clip(rng.normal(0.0, y_sigma, n), -4.0, 4.0)
    phi = rng.uniform(-np.pi, np.pi, n)
    return _p4(pt, y, phi, mass, rapidity=True)
