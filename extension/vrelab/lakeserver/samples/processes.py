"""The physics processes: one small generator per process, and the skims the release applies."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .detector import (
    _ELECTRON_MASS,
    _MUON_MASS,
    _Batch,
    _fake_leptons,
    _finish,
    _jets,
    _leptons,
    _merge,
    _photons,
    _Truth,
    _truth,
    _z_to_leptons,
)
from .kinematics import _breit_wigner, _decay, _p4, _production


def _extra_photon(rng: np.random.Generator, n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    pt = 10.0 + rng.exponential(8.0, n)
    eta = rng.uniform(-2.37, 2.37, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    p = _p4(pt, eta, phi, 0.0)[:, None, :]
    present = rng.random(n) < rate
    return p, present


def _diphoton(rng: np.random.Generator, n: int, g1: np.ndarray, g2: np.ndarray, prompt: np.ndarray,
              extra_rate: float) -> dict[str, np.ndarray]:  # fmt: skip
    """Two photons from true four-vectors ``g1``, ``g2`` (n, 4), sometimes a soft third one."""
    extra, present = _extra_photon(rng, n, extra_rate)
    p = np.concatenate([np.stack([g1, g2], axis=1), extra], axis=1)
    prompt_all = np.concatenate([prompt, present[:, None] & (rng.random((n, 1)) < 0.5)], axis=1)
    photons = _photons(rng, p, prompt_all)
    photons["valid"][:, 2] &= present
    return photons


def _yy_higgs(production: str) -> Callable[[np.random.Generator, int], _Batch]:
    # the Higgs pT: ggH peaks near 10 GeV with a tail to ~150 GeV (ISR recoil), which smears the
    # photons' Jacobian peak at m/2 as in the real simulation
    pt_shape, pt_scale = {"ggH": (1.3, 30.0), "VBF": (2.0, 35.0), "ttH": (2.5, 45.0)}[production]

    def generate(rng: np.random.Generator, n: int) -> _Batch:
        higgs = _production(rng, n, 125.0, pt_shape, pt_scale, 1.5)
        g1, g2 = _decay(rng, higgs, 0.0, 0.0)
        photons = _diphoton(rng, n, g1, g2, np.ones((n, 2), dtype=bool), 0.05)
        if production == "VBF":
            jets = _jets(rng, n, 0.5, vbf=True)
        elif production == "ttH":
            jets = _jets(rng, n, 2.0, n_b=2)
        else:
            jets = _jets(rng, n, 0.6)
        truth = _truth([(higgs, 25), (g1, 22), (g2, 22)], n)
        leptons = None
        if production == "ttH":
            leptons = _fake_leptons(rng, n, 1, 0.5)
            leptons["valid"][:, 0] &= rng.random(n) < 0.4
        met = 40.0 if production == "ttH" else 12.0
        return _finish(rng, n, photons=photons, leptons=leptons, jets=jets, truth=truth, met_sigma=met)

    return generate


def _yy_continuum(rng: np.random.Generator, n: int) -> _Batch:
    """The γγ, γ+jet and dijet continuum: a falling mγγ spectrum, some photons fake.

    The mass falls as exp(-m/38 GeV) above ~100 GeV and turns on smoothly below (the sum of two
    exponentials, peaking near 75 GeV): no edge in mγγ, none in the photons' pT."""
    mass = 55.0 + rng.exponential(38.0, n) + rng.exponential(12.0, n)
    parent = _production(rng, n, mass, 1.3, 15.0, 1.3)
    kind = rng.random(n)
    prompt = np.stack([kind < 0.92, kind < 0.78], axis=1)  # γγ 78 %, γj 14 %, jj 8 %
    g1, g2 = _decay(rng, parent, 0.0, 0.0)
    photons = _diphoton(rng, n, g1, g2, prompt, 0.08)
    return _finish(rng, n, photons=photons, jets=_jets(rng, n, 0.8), truth=_truth([], n), met_sigma=12.0)


def _photon_skim(batch: _Batch) -> np.ndarray:
    """Two photons above 25 GeV, in online pT: a smooth turn-on in the offline pT written out."""
    ph = batch.objects["photon"]
    good = ph["valid"] & (ph["pt_online"] > 25.0)
    return good.sum(axis=1) >= 2


def _zz_decay(
    rng: np.random.Generator, parent: np.ndarray, m1: np.ndarray, m2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Truth]:
    """Parent → Z(m1) Z(m2) → 4ℓ; returns lepton four-vectors, flavours, charges and truth."""
    n = len(parent)
    z1, z2 = _decay(rng, parent, m1, m2)
    f1 = np.where(rng.random(n) < 0.5, 11, 13)
    f2 = np.where(rng.random(n) < 0.5, 11, 13)
    p1, fl1, q1 = _z_to_leptons(rng, z1, f1)
    p2, fl2, q2 = _z_to_leptons(rng, z2, f2)
    p = np.concatenate([p1, p2], axis=1)
    flav = np.concatenate([fl1, fl2], axis=1)
    charge = np.concatenate([q1, q2], axis=1)
    truth: _Truth = [(z1, 23), (z2, 23)]
    return p, flav, charge, truth


def _four_leptons(rng: np.random.Generator, n: int, p: np.ndarray, flav: np.ndarray,
                  charge: np.ndarray, extra_rate: float) -> dict[str, np.ndarray]:  # fmt: skip
    prompt = _leptons(rng, p, flav, charge, np.ones(flav.shape, dtype=bool))
    extra = _fake_leptons(rng, n, 1, 0.5)
    extra["valid"][:, 0] &= rng.random(n) < extra_rate
    return _merge(prompt, extra)


def _leptons_truth(p: np.ndarray, flav: np.ndarray, charge: np.ndarray) -> _Truth:
    return [(p[:, i], -flav[:, i] * charge[:, i]) for i in range(p.shape[1])]


def _h4l(production: str) -> Callable[[np.random.Generator, int], _Batch]:
    pt_shape, pt_scale = {"ggH": (1.6, 18.0), "VBF": (2.0, 35.0), "WH": (2.0, 40.0),
                          "ZH": (2.0, 40.0)}[production]  # fmt: skip

    def generate(rng: np.random.Generator, n: int) -> _Batch:
        higgs = _production(rng, n, 125.0, pt_shape, pt_scale, 1.5)
        m12 = _breit_wigner(rng, n, 91.1876, 2.4952, 50.0, 106.0)
        m34 = 12.0 + (125.0 - 0.5 - m12 - 12.0) * rng.beta(2.5, 1.2, n)
        p, flav, charge, truth = _zz_decay(rng, higgs, m12, m34)
        leptons = _four_leptons(rng, n, p, flav, charge, 0.03)
        if production == "VBF":
            jets = _jets(rng, n, 0.5, vbf=True)
        else:
            jets = _jets(rng, n, 0.6 if production == "ggH" else 1.2)
        truth_list: _Truth = [(higgs, 25), *truth, *_leptons_truth(p, flav, charge)]
        met = 25.0 if production == "WH" else 12.0
        return _finish(rng, n, leptons=leptons, jets=jets, truth=_truth(truth_list, n), met_sigma=met)

    return generate


def _zz_continuum(rng: np.random.Generator, n: int) -> _Batch:
    """qq → ZZ(*) → 4ℓ: the on-shell continuum above 180 GeV, an off-shell part, and Z → 4ℓ."""
    kind = rng.random(n)
    z4l, offshell = kind < 0.18, (kind >= 0.18) & (kind < 0.28)
    mass = np.where(z4l, _breit_wigner(rng, n, 91.1876, 2.4952, 80.0, 100.0), 182.0 + rng.gamma(1.6, 40.0, n))
    mass = np.where(offshell, rng.uniform(110.0, 182.0, n), mass)
    m1 = _breit_wigner(rng, n, 91.1876, 2.4952, 66.0, 116.0)
    m2 = _breit_wigner(rng, n, 91.1876, 2.4952, 66.0, 116.0)
    # Z → 4ℓ: one pair near 50-85 GeV, the other soft; off-shell: one Z on shell, one not.
    m1 = np.where(z4l, rng.uniform(50.0, 75.0, n), m1)
    m2 = np.where(z4l, 4.0 + (mass - m1 - 4.5) * rng.beta(1.2, 2.0, n), m2)
    m1 = np.where(offshell, np.minimum(m1, mass - 13.0), m1)
    m2 = np.where(offshell, 12.0 + (mass - m1 - 12.5) * rng.beta(2.0, 1.5, n), m2)
    over = m1 + m2 > mass - 0.5
    m2 = np.where(over & ~z4l & ~offshell, np.maximum(mass - m1 - 0.5, 12.0), m2)
    m1 = np.where(m1 + m2 > mass - 0.5, mass - m2 - 0.5, m1)
    parent = _production(rng, n, mass, 1.5, 14.0, 1.8)
    p, flav, charge, truth = _zz_decay(rng, parent, m1, m2)
    leptons = _four_leptons(rng, n, p, flav, charge, 0.03)
    truth_list: _Truth = [*truth, *_leptons_truth(p, flav, charge)]
    return _finish(
        rng, n, leptons=leptons, jets=_jets(rng, n, 0.5), truth=_truth(truth_list, n), met_sigma=12.0
    )


def _z_plus_fakes(flavour: int) -> Callable[[np.random.Generator, int], _Batch]:
    def generate(rng: np.random.Generator, n: int) -> _Batch:
        mass = _breit_wigner(rng, n, 91.1876, 2.4952, 66.0, 116.0)
        z = _production(rng, n, mass, 1.5, 12.0, 1.8)
        p, flav, charge = _z_to_leptons(rng, z, np.full(n, flavour))
        real = _leptons(rng, p, flav, charge, np.ones((n, 2), dtype=bool))
        leptons = _merge(real, _fake_leptons(rng, n, 3, 0.6 if flavour == 11 else 0.4))
        leptons["valid"][:, 4] &= rng.random(n) < 0.2
        truth = _truth([(z, 23), *_leptons_truth(p, flav, charge)], n)
        return _finish(rng, n, leptons=leptons, jets=_jets(rng, n, 1.5), truth=truth, met_sigma=15.0)

    return generate


def _ttbar(rng: np.random.Generator, n: int) -> _Batch:
    """tt̄ → WbWb with both W → ℓν: two prompt leptons, two b-jets, leptons from b decays."""
    pt = 25.0 + rng.gamma(2.0, 18.0, (n, 2))
    eta = np.clip(rng.normal(0.0, 1.2, (n, 2)), -2.5, 2.5)
    phi = rng.uniform(-np.pi, np.pi, (n, 2))
    flav = np.where(rng.random((n, 2)) < 0.5, 11, 13)
    mass = np.where(flav == 11, _ELECTRON_MASS, _MUON_MASS)
    sign = rng.choice(np.array([-1, 1]), n)
    charge = np.stack([sign, -sign], axis=1)
    p = _p4(pt, eta, phi, mass)
    real = _leptons(rng, p, flav, charge, np.ones((n, 2), dtype=bool))
    leptons = _merge(real, _fake_leptons(rng, n, 3, 0.5))
    leptons["valid"][:, 4] &= rng.random(n) < 0.3
    top = _production(rng, n, 172.5, 2.0, 40.0, 1.2)
    anti = _production(rng, n, 172.5, 2.0, 40.0, 1.2)
    truth = _truth([(top, 6), (anti, -6)], n)
    return _finish(rng, n, leptons=leptons, jets=_jets(rng, n, 1.0, n_b=2), truth=truth,
                   met_sigma=45.0, large_r=0.08)  # fmt: skip


def _lepton_skim(batch: _Batch) -> np.ndarray:
    return batch.objects["lep"]["valid"].sum(axis=1) >= 4


_GENERATORS: dict[
    str, tuple[Callable[[np.random.Generator, int], _Batch], Callable[[_Batch], np.ndarray]]
] = {
    "yy_ggH": (_yy_higgs("ggH"), _photon_skim),
    "yy_VBF": (_yy_higgs("VBF"), _photon_skim),
    "yy_ttH": (_yy_higgs("ttH"), _photon_skim),
    "yy_continuum": (_yy_continuum, _photon_skim),
    "4l_ggH": (_h4l("ggH"), _lepton_skim),
    "4l_VBF": (_h4l("VBF"), _lepton_skim),
    "4l_WH": (_h4l("WH"), _lepton_skim),
    "4l_ZH": (_h4l("ZH"), _lepton_skim),
    "4l_ZZ": (_zz_continuum, _lepton_skim),
    "4l_Zee": (_z_plus_fakes(11), _lepton_skim),
    "4l_Zmumu": (_z_plus_fakes(13), _lepton_skim),
    "4l_ttbar": (_ttbar, _lepton_skim),
}


def _generate(rng: np.random.Generator, generator: str, n: int) -> _Batch:
    """``n`` events of a process that pass the collection's skim (as the release's files do)."""
    make, skim = _GENERATORS[generator]
    kept: list[_Batch] = []
    have = 0
    efficiency = 0.5
    while have < n:
        trial = max(16, math.ceil((n - have) / efficiency * 1.1))
        batch = make(rng, trial)
        mask = skim(batch)
        efficiency = max(0.02, float(mask.mean()))
        passed = batch.select(mask)
        kept.append(passed)
        have += passed.n
    out = _Batch.concat(kept) if len(kept) > 1 else kept[0]
    return out.select(np.arange(out.n) < n)
