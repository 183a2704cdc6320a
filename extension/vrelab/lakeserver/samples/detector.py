"""Event batches (per-event scalars, object collections as padded (n, k) arrays) and the
detector-level objects made from true four-vectors: photons, leptons, jets, taus, truth records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .catalogue import _OBJECTS
from .kinematics import _decay, _kinematics, _p4


@dataclass
class _Batch:
    n: int
    scalars: dict[str, np.ndarray] = field(default_factory=dict)
    objects: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def select(self, mask: np.ndarray) -> _Batch:
        return _Batch(
            int(mask.sum()),
            {k: v[mask] for k, v in self.scalars.items()},
            {c: {k: v[mask] for k, v in f.items()} for c, f in self.objects.items()},
        )

    @staticmethod
    def concat(batches: Sequence[_Batch]) -> _Batch:
        out = _Batch(sum(b.n for b in batches))
        for key in batches[0].scalars:
            out.scalars[key] = np.concatenate([b.scalars[key] for b in batches])
        for coll in batches[0].objects:
            width = max(b.objects[coll]["valid"].shape[1] for b in batches)
            out.objects[coll] = {
                key: np.concatenate([_pad(b.objects[coll][key], width) for b in batches])
                for key in batches[0].objects[coll]
            }
        return out


def _pad(a: np.ndarray, width: int) -> np.ndarray:
    if a.shape[1] == width:
        return a
    return np.concatenate([a, np.zeros((a.shape[0], width - a.shape[1]), dtype=a.dtype)], axis=1)


def _collection(n: int, **columns: np.ndarray) -> dict[str, np.ndarray]:
    """Build an object collection from (n, k) columns; ``valid`` marks the objects present."""
    out = {k: np.asarray(v) for k, v in columns.items()}
    if "valid" not in out:
        out["valid"] = np.ones_like(out["pt"], dtype=bool)
    for k, v in out.items():
        if v.ndim != 2 or v.shape[0] != n:
            raise ValueError(f"collection column {k!r} has shape {v.shape}")
    return out


def _merge(*colls: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Put the objects of several collections of one kind side by side."""
    keys = colls[0].keys()
    return {k: np.concatenate([c[k] for c in colls], axis=1) for k in keys}


# ----------------------------------------------------------------------------------------
# detector-level objects


def _photons(rng: np.random.Generator, p: np.ndarray, prompt: np.ndarray) -> dict[str, np.ndarray]:
    """Reconstructed photons from true four-vectors (n, k, 4); ``prompt`` (n, k) or fakes."""
    shape = p.shape[:-1]
    smear = 1.0 + rng.normal(0.0, 0.0192, shape)
    p = p * smear[..., None]
    pt, eta, phi = _kinematics(p)
    fake = ~prompt
    tight = np.where(fake, rng.random(shape) < 0.35, rng.random(shape) < 0.93)
    etcone = np.where(
        fake,
        2.0 + rng.exponential(6.0, shape),
        rng.normal(0.4, 1.1, shape) + (rng.random(shape) < 0.03) * rng.exponential(6.0, shape),
    )
    ptcone = np.where(
        fake,
        rng.exponential(4.0, shape),
        (rng.random(shape) < 0.15) * rng.exponential(1.5, shape),
    )
    conv = np.where(rng.random(shape) < 0.65, 0, rng.integers(1, 6, shape))
    # the skim and the trigger see the online (trigger-level) energy, measured ~10 % less well than
    # the offline one: their thresholds turn on smoothly in offline pT, as in the real files
    online = pt * (1.0 + rng.normal(0.0, PHOTON_ONLINE_RESOLUTION, shape))
    # reconstruction and identification reach their plateau over a few GeV above 10 GeV
    reconstructed = rng.random(shape) < _turn_on(pt, 12.0, 2.5)
    return _collection(
        shape[0], pt=pt, eta=eta, phi=phi, E=p[..., 0], isTightID=tight, ptcone30=ptcone,
        etcone20=etcone, convType=conv, truthMatched=prompt.copy(),
        trigMatched=np.zeros(shape, dtype=bool), pt_syst=pt * 0.005, pt_online=online,
        valid=(pt > 7.0) & reconstructed & (np.abs(eta) < 2.37),
    )  # fmt: skip


_MUON_MASS, _ELECTRON_MASS = 0.10566, 0.000511
PHOTON_ONLINE_RESOLUTION = 0.14  # relative; the online/offline pT spread of the photon triggers


def _turn_on(pt: np.ndarray, threshold: float, width: float) -> np.ndarray:
    """A smooth efficiency turn-on: 0 well below ``threshold``, 1/2 at it, 1 well above (logistic)."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(pt, dtype=np.float64) - threshold) / width))


def _leptons(rng: np.random.Generator, p: np.ndarray, flavour: np.ndarray, charge: np.ndarray,
             prompt: np.ndarray) -> dict[str, np.ndarray]:  # fmt: skip
    """Reconstructed leptons from true four-vectors (n, k, 4), flavour 11/13, charge ±1."""
    shape = p.shape[:-1]
    is_e = flavour == 11
    resolution = np.where(is_e, 0.025, 0.03)
    smear = 1.0 + rng.normal(0.0, 1.0, shape) * resolution
    radiated = prompt & (rng.random(shape) < 0.06)  # final-state radiation: a low tail
    smear = np.where(radiated, smear * rng.uniform(0.85, 1.0, shape), smear)
    p = p * smear[..., None]
    pt, eta, phi = _kinematics(p)
    fake = ~prompt
    tight = np.where(fake, rng.random(shape) < np.where(is_e, 0.4, 0.7), rng.random(shape) < 0.97)
    ptcone = np.where(
        fake,
        pt * rng.uniform(0.02, 0.6, shape),
        (rng.random(shape) < 0.25) * rng.exponential(0.8, shape),
    )
    etcone = np.where(fake, pt * rng.uniform(-0.05, 0.6, shape), rng.normal(0.2, 0.8, shape))
    sig_d0 = np.where(is_e, rng.uniform(0.012, 0.03, shape), rng.uniform(0.008, 0.02, shape))
    d0 = sig_d0 * rng.normal(0.0, np.where(fake, 4.0, 1.0), shape)
    z0 = rng.normal(0.0, np.where(fake, 0.4, 0.08), shape)
    flip = is_e & prompt & (rng.random(shape) < 0.004 * (1.0 + np.abs(eta)))  # charge mis-ID
    charge = np.where(flip, -charge, charge)
    eta_max = np.where(is_e, 2.47, 2.5)
    pt_min = np.where(is_e, 7.0, 5.0)
    return _collection(
        shape[0], pt=pt, eta=eta, phi=phi, E=p[..., 0], z0=z0, charge=charge,
        type=flavour, isTightID=tight, ptcone30=ptcone, etcone20=etcone,
        trackd0pvunbiased=d0, tracksigd0pvunbiased=sig_d0, truthMatched=prompt.copy(),
        trigMatched=np.zeros(shape, dtype=bool), pt_syst=pt * np.where(is_e, 0.004, 0.006),
        valid=(pt > pt_min) & (np.abs(eta) < eta_max),
    )  # fmt: skip


def _fake_leptons(rng: np.random.Generator, n: int, k: int, p_electron: float) -> dict[str, np.ndarray]:
    """Non-prompt leptons from jets and heavy-flavour decays: soft, non-isolated, any charge."""
    pt = 5.0 + rng.exponential(9.0, (n, k))
    eta = rng.uniform(-2.5, 2.5, (n, k))
    phi = rng.uniform(-np.pi, np.pi, (n, k))
    flavour = np.where(rng.random((n, k)) < p_electron, 11, 13)
    mass = np.where(flavour == 11, _ELECTRON_MASS, _MUON_MASS)
    charge = rng.choice(np.array([-1, 1]), (n, k))
    return _leptons(rng, _p4(pt, eta, phi, mass), flavour, charge, np.zeros((n, k), dtype=bool))


def _z_to_leptons(rng: np.random.Generator, z: np.ndarray,
                  flavour: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Decay Z bosons (n, 4) into a lepton pair of ``flavour`` (n,): (p (n,2,4), flav, charge)."""
    mass = np.where(flavour == 11, _ELECTRON_MASS, _MUON_MASS)
    l1, l2 = _decay(rng, z, mass, mass)
    p = np.stack([l1, l2], axis=1)
    flav = np.stack([flavour, flavour], axis=1)
    sign = rng.choice(np.array([-1, 1]), len(z))
    charge = np.stack([sign, -sign], axis=1)
    return p, flav, charge


def _jets(rng: np.random.Generator, n: int, mean: float, *, n_b: int = 0, vbf: bool = False,
          k: int = 6) -> dict[str, np.ndarray]:  # fmt: skip
    count = np.minimum(rng.poisson(mean, n) + n_b + (2 if vbf else 0), k)
    pt = 20.0 + rng.exponential(22.0, (n, k))
    eta = np.clip(rng.normal(0.0, 1.8, (n, k)), -4.4, 4.4)
    is_b = np.zeros((n, k), dtype=bool)
    if n_b:
        is_b[:, :n_b] = True
        pt[:, :n_b] = 25.0 + rng.gamma(2.0, 25.0, (n, n_b))
        eta[:, :n_b] = np.clip(rng.normal(0.0, 1.1, (n, n_b)), -2.5, 2.5)
    if vbf:
        lo = n_b
        pt[:, lo : lo + 2] = 30.0 + rng.gamma(2.0, 25.0, (n, 2))
        side = np.stack([np.ones(n), -np.ones(n)], axis=1)
        eta[:, lo : lo + 2] = np.clip(side * rng.normal(2.4, 0.9, (n, 2)), -4.4, 4.4)
    phi = rng.uniform(-np.pi, np.pi, (n, k))
    p = _p4(pt, eta, phi, pt * rng.uniform(0.05, 0.15, (n, k)))
    flav = np.where(is_b, 5, np.where(rng.random((n, k)) < 0.1, 4, 0))
    mv2 = np.where(is_b, rng.uniform(0.6, 1.0, (n, k)), rng.uniform(-1.0, 0.7, (n, k)))
    jvt = np.where((pt < 60) & (np.abs(eta) < 2.4), rng.uniform(0.5, 1.0, (n, k)), 1.0)
    valid = np.arange(k)[None, :] < count[:, None]
    return _collection(
        n, pt=pt, eta=eta, phi=phi, E=p[..., 0], jvt=jvt, trueflav=flav,
        truthMatched=rng.random((n, k)) < 0.95, MV2c10=mv2, pt_syst=pt * 0.02, valid=valid,
    )  # fmt: skip


def _large_r_jets(rng: np.random.Generator, n: int, fraction: float) -> dict[str, np.ndarray]:
    shape = (n, 1)
    pt = 250.0 + rng.exponential(80.0, shape)
    eta = rng.uniform(-2.0, 2.0, shape)
    phi = rng.uniform(-np.pi, np.pi, shape)
    m = rng.uniform(30.0, 180.0, shape)
    p = _p4(pt, eta, phi, m)
    return _collection(
        n, pt=pt, eta=eta, phi=phi, E=p[..., 0], m=m, D2=rng.uniform(0.5, 3.0, shape),
        tau32=rng.uniform(0.3, 0.9, shape), truthMatched=(rng.random(shape) < 0.8).astype(np.int32),
        pt_syst=pt * 0.02, valid=rng.random(shape) < fraction,
    )  # fmt: skip


def _taus(rng: np.random.Generator, n: int, fraction: float) -> dict[str, np.ndarray]:
    shape = (n, 2)
    pt = 25.0 + rng.exponential(15.0, shape)
    eta = rng.uniform(-2.5, 2.5, shape)
    phi = rng.uniform(-np.pi, np.pi, shape)
    p = _p4(pt, eta, phi, 1.777)
    count = np.where(rng.random(n) < fraction, np.where(rng.random(n) < 0.15, 2, 1), 0)
    return _collection(
        n, pt=pt, eta=eta, phi=phi, E=p[..., 0], isTightID=rng.random(shape) < 0.6,
        truthMatched=rng.random(shape) < 0.5, trigMatched=np.zeros(shape, dtype=bool),
        nTracks=np.where(rng.random(shape) < 0.7, 1, 3), BDTid=rng.uniform(0.4, 1.0, shape),
        pt_syst=pt * 0.03, valid=np.arange(2)[None, :] < count[:, None],
    )  # fmt: skip


_Truth = list[tuple[np.ndarray, np.ndarray | int]]  # (four-vectors (n, 4), PDG id)


def _no_objects(n: int, prefix: str) -> dict[str, np.ndarray]:
    """A collection with room for one object per event and no object in it."""
    out = {name: np.zeros((n, 1)) for name in _OBJECTS[prefix]}
    out["valid"] = np.zeros((n, 1), dtype=bool)
    return out


def _truth(particles: _Truth, n: int) -> dict[str, np.ndarray]:
    """Truth records from (four-vectors (n, 4), pdg id) pairs."""
    if not particles:
        return _no_objects(n, "truth")
    p = np.stack([q for q, _ in particles], axis=1)
    pdg = np.stack([np.broadcast_to(np.asarray(i), (n,)) for _, i in particles], axis=1)
    pt, eta, phi = _kinematics(p)
    return _collection(n, pt=pt, eta=eta, phi=phi, E=p[..., 0], pdgid=pdg)


def _finish(rng: np.random.Generator, n: int, *, photons: dict[str, np.ndarray] | None = None,
            leptons: dict[str, np.ndarray] | None = None, jets: dict[str, np.ndarray],
            truth: dict[str, np.ndarray], met_sigma: float, large_r: float = 0.02,
            taus: float = 0.03) -> _Batch:  # fmt: skip
    batch = _Batch(n)
    batch.objects = {
        "photon": photons if photons is not None else _no_objects(n, "photon"),
        "lep": leptons if leptons is not None else _no_objects(n, "lep"),
        "jet": jets,
        "largeRjet": _large_r_jets(rng, n, large_r),
        "tau": _taus(rng, n, taus),
        "truth": truth,
    }
    batch.scalars["met_et"] = rng.rayleigh(met_sigma, n)
    batch.scalars["met_phi"] = rng.uniform(-np.pi, np.pi, n)
    return batch
