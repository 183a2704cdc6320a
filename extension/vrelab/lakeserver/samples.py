"""Synthetic ATLAS Open Data samples: the 13 TeV 2020 release's ``GamGam`` and ``4lep`` ntuples.

The embedded data lake and the school notebooks need files that look like the real release
(``https://atlas-opendata.web.cern.ch/atlas-opendata/samples/2020/<collection>/``) without
downloading gigabytes. :func:`generate_samples` writes, for each collection, the four data
periods ``data_A`` … ``data_D`` and the Monte Carlo samples with their real DSIDs, cross-sections
and sums of weights, laid out as ``<outdir>/<collection>/{Data,MC}/<name>``.

What is faithful to the release
    The ``mini`` tree with every branch of the release, with its C++ type: ``Int_t``,
    ``UInt_t``, ``Float_t`` and ``Bool_t`` scalars and ``std::vector<float|int|unsigned
    int|bool>`` per-object branches (see :data:`BRANCHES`); energies and momenta in MeV;
    ``channelNumber`` = DSID for MC and the run number for data; ``XSection`` and
    ``SumWeights`` per-event copies of the DID metadata; objects sorted by decreasing pT.

What is synthetic
    The events. Each physics process has a small generator (Higgs → γγ and → ZZ* → 4ℓ,
    the γγ continuum with photon fakes, ZZ* with its Z → 4ℓ peak, Z+jets and tt̄ with
    non-prompt leptons) that builds four-vectors from decays and smears them, so that the
    notebooks' selections work and fail as they do on the real data: photons outside the
    calorimeter crack, tight and isolated; four leptons with charge sum 0, flavour sums
    44/48/52, pT thresholds and isolation. Data is a Poisson mixture of the same processes,
    in proportion to each period's luminosity, so a data/MC stack agrees.

Normalisation
    MC is weighted as in the notebooks' ``infofile.py``: ``lumi*1000*xsec/(sumw*red_eff)``
    times ``mcWeight`` and the scale factors. ``xsec`` and ``sumw`` are the real ones; the
    synthetic files are much smaller than the real ones, so ``mcWeight`` (not the real
    generator weight) carries the ratio: the summed MC weight of a sample equals its expected
    number of events in the synthetic data. The Higgs signal is enhanced with respect to the
    Standard Model so that the peaks are visible in small samples.

Run ``python -m vrelab.lakeserver.samples OUTDIR [--scale X]`` to write the samples.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import sys
import time
import uuid as _uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from vrelab.lakeserver.samples_rootio import BranchSpec, DType, Jagged, write_tree

__all__ = [
    "BRANCHES",
    "COLLECTIONS",
    "DATA_PERIODS",
    "MC_SAMPLES",
    "TREE_NAME",
    "MCSample",
    "SampleFile",
    "generate_samples",
    "main",
]

TREE_NAME = "mini"
COLLECTIONS = ("GamGam", "4lep")
#: Integrated luminosity (fb⁻¹) of each data period, as in the notebooks; 10 fb⁻¹ in all.
DATA_PERIODS: dict[str, float] = {"A": 0.5, "B": 1.9, "C": 2.9, "D": 4.7}
TOTAL_LUMI_FB = sum(DATA_PERIODS.values())
#: 2016 run ranges used to draw run numbers for each period.
_PERIOD_RUNS: dict[str, tuple[int, int]] = {
    "A": (297730, 298967),
    "B": (299055, 300287),
    "C": (300345, 300908),
    "D": (301912, 302956),
}
_MC_RUN_NUMBER = 284500  # the run number of the mc16a pile-up profile
_RELEASE_DATE = _dt.datetime(2020, 2, 14)
_COMPRESSION_LEVEL = 1  # zlib level: ROOT's setting 101

# ----------------------------------------------------------------------------------------
# the schema

_F: DType = "float32"
_I: DType = "int32"
_U: DType = "uint32"
_B: DType = "bool"


def _s(name: str, dtype: DType) -> BranchSpec:
    return BranchSpec(name, "scalar", dtype)


def _v(name: str, dtype: DType) -> BranchSpec:
    return BranchSpec(name, "vector", dtype)


_SCALE_FACTORS = (
    "PILEUP", "ELE", "MUON", "PHOTON", "TAU", "BTAG",
    "LepTRIGGER", "PhotonTRIGGER", "TauTRIGGER", "DiTauTRIGGER",
)  # fmt: skip

#: Every branch of the ``mini`` tree, in order, with its type.
BRANCHES: tuple[BranchSpec, ...] = (
    _s("runNumber", _I), _s("eventNumber", _I), _s("channelNumber", _I), _s("mcWeight", _F),
    *(_s(f"scaleFactor_{x}", _F) for x in _SCALE_FACTORS),
    _s("trigE", _B), _s("trigM", _B), _s("trigP", _B), _s("trigT", _B), _s("trigDT", _B),
    _s("lep_n", _U),
    _v("lep_truthMatched", _B), _v("lep_trigMatched", _B),
    _v("lep_pt", _F), _v("lep_eta", _F), _v("lep_phi", _F), _v("lep_E", _F), _v("lep_z0", _F),
    _v("lep_charge", _I), _v("lep_type", _U), _v("lep_isTightID", _B),
    _v("lep_ptcone30", _F), _v("lep_etcone20", _F),
    _v("lep_trackd0pvunbiased", _F), _v("lep_tracksigd0pvunbiased", _F),
    _s("met_et", _F), _s("met_phi", _F),
    _s("jet_n", _U),
    _v("jet_pt", _F), _v("jet_eta", _F), _v("jet_phi", _F), _v("jet_E", _F), _v("jet_jvt", _F),
    _v("jet_trueflav", _I), _v("jet_truthMatched", _B), _v("jet_MV2c10", _F),
    _s("photon_n", _U),
    _v("photon_truthMatched", _B), _v("photon_trigMatched", _B),
    _v("photon_pt", _F), _v("photon_eta", _F), _v("photon_phi", _F), _v("photon_E", _F),
    _v("photon_isTightID", _B), _v("photon_ptcone30", _F), _v("photon_etcone20", _F),
    _v("photon_convType", _I),
    _s("largeRjet_n", _U),
    _v("largeRjet_pt", _F), _v("largeRjet_eta", _F), _v("largeRjet_phi", _F), _v("largeRjet_E", _F),
    _v("largeRjet_m", _F), _v("largeRjet_D2", _F), _v("largeRjet_tau32", _F),
    _v("largeRjet_truthMatched", _I),
    _s("tau_n", _U),
    _v("tau_pt", _F), _v("tau_eta", _F), _v("tau_phi", _F), _v("tau_E", _F),
    _v("tau_isTightID", _B), _v("tau_truthMatched", _B), _v("tau_trigMatched", _B),
    _v("tau_nTracks", _I), _v("tau_BDTid", _F),
    _s("ditau_m", _F),
    _v("truth_pt", _F), _v("truth_eta", _F), _v("truth_phi", _F), _v("truth_E", _F),
    _v("truth_pdgid", _I),
    _v("lep_pt_syst", _F), _s("met_et_syst", _F), _v("jet_pt_syst", _F), _v("photon_pt_syst", _F),
    _v("largeRjet_pt_syst", _F), _v("tau_pt_syst", _F),
    _s("XSection", _F), _s("SumWeights", _F),
)  # fmt: skip

#: Object collections: branch prefix → fields (the ``<prefix>_<field>`` vector branches).
_OBJECTS: dict[str, tuple[str, ...]] = {
    "lep": (
        "truthMatched", "trigMatched", "pt", "eta", "phi", "E", "z0", "charge", "type",
        "isTightID", "ptcone30", "etcone20", "trackd0pvunbiased", "tracksigd0pvunbiased", "pt_syst",
    ),
    "jet": ("pt", "eta", "phi", "E", "jvt", "trueflav", "truthMatched", "MV2c10", "pt_syst"),
    "photon": (
        "truthMatched", "trigMatched", "pt", "eta", "phi", "E", "isTightID", "ptcone30", "etcone20",
        "convType", "pt_syst",
    ),
    "largeRjet": ("pt", "eta", "phi", "E", "m", "D2", "tau32", "truthMatched", "pt_syst"),
    "tau": (
        "pt", "eta", "phi", "E", "isTightID", "truthMatched", "trigMatched", "nTracks", "BDTid", "pt_syst",
    ),
    "truth": ("pt", "eta", "phi", "E", "pdgid"),
}  # fmt: skip
#: Fields stored in MeV (generated in GeV).
_MEV_FIELDS = frozenset({"pt", "E", "m", "ptcone30", "etcone20", "pt_syst"})

# ----------------------------------------------------------------------------------------
# the samples


@dataclass(frozen=True)
class MCSample:
    """A Monte Carlo sample of the release, with its DID metadata (``infofile.py``)."""

    collection: str
    process: str  # e.g. 'ggH125_gamgam'
    dsid: int
    xsec: float  # pb
    sumw: float
    nominal_events: int  # events of the real sample
    generator: str  # key of the event generator below
    events: int  # events of the synthetic file at scale 1
    data_yield: float  # expected events of this process in all synthetic data at scale 1
    red_eff: float = 1.0

    @property
    def name(self) -> str:
        return f"mc_{self.dsid}.{self.process}.{self.collection}.root"


def _higgs_yields(total: float, xsecs: dict[str, float]) -> dict[str, float]:
    """Share ``total`` Higgs events among production modes in proportion to cross-section."""
    norm = sum(xsecs.values())
    return {k: total * v / norm for k, v in xsecs.items()}


_GG_XSEC = {"ggH": 0.102, "VBF": 0.008518764, "ttH": 0.0000026433864}
_ZZ_XSEC = {"ggH": 0.0060239, "VBF": 0.0004633012, "WH": 0.0003769, "ZH": 0.0000021424784}
_GG_HIGGS = _higgs_yields(900.0, _GG_XSEC)
_ZZ_HIGGS = _higgs_yields(140.0, _ZZ_XSEC)

#: The MC samples, with the real DSIDs, cross-sections (pb), sums of weights and event counts.
MC_SAMPLES: tuple[MCSample, ...] = (
    MCSample("GamGam", "ggH125_gamgam", 343981, 0.102, 55922617.6297, 1976000,
             "yy_ggH", 8000, _GG_HIGGS["ggH"]),
    MCSample("GamGam", "VBFH125_gamgam", 345041, 0.008518764, 3441426.13711, 921000,
             "yy_VBF", 3000, _GG_HIGGS["VBF"]),
    MCSample("GamGam", "ttH125_gamgam", 341081, 0.0000026433864, 485440, 927400,
             "yy_ttH", 1000, _GG_HIGGS["ttH"]),
    MCSample("4lep", "ggH125_ZZ4lep", 345060, 0.0060239, 27881776.6536, 985000,
             "4l_ggH", 4000, _ZZ_HIGGS["ggH"]),
    MCSample("4lep", "VBFH125_ZZ4lep", 344235, 0.0004633012, 3680490.83243, 985000,
             "4l_VBF", 1500, _ZZ_HIGGS["VBF"]),
    MCSample("4lep", "WH125_ZZ4lep", 341964, 0.0003769, 149400, 149400,
             "4l_WH", 800, _ZZ_HIGGS["WH"]),
    MCSample("4lep", "ZH125_ZZ4lep", 341947, 0.0000021424784, 150000, 150000,
             "4l_ZH", 800, _ZZ_HIGGS["ZH"]),
    MCSample("4lep", "llll", 363490, 1.2578, 7538705.8077, 17825300,
             "4l_ZZ", 6000, 1800.0),
    MCSample("4lep", "Zee", 361106, 1950.5295, 150277594200, 79045597,
             "4l_Zee", 2000, 600.0),
    MCSample("4lep", "Zmumu", 361107, 1950.6321, 147334691090, 77497800,
             "4l_Zmumu", 2000, 600.0),
    MCSample("4lep", "ttbar_lep", 410000, 452.693559, 49386600, 49386600,
             "4l_ttbar", 2000, 400.0),
)  # fmt: skip

#: Processes in the data that have no MC sample of their own: the γγ continuum.
_DATA_ONLY_YIELDS: dict[str, dict[str, float]] = {"GamGam": {"yy_continuum": 60000.0}, "4lep": {}}


class SampleFile(NamedTuple):
    """One written file and the metadata to register it with in the data lake."""

    collection: str  # 'GamGam' or '4lep'
    kind: str  # 'data' or 'mc'
    name: str  # file name as in the 2020 release
    path: Path
    dsid: int | None
    metadata: dict[str, str | int | float]


# ----------------------------------------------------------------------------------------
# kinematics (GeV internally; four-vectors are (..., 4) arrays of E, px, py, pz)


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


# ----------------------------------------------------------------------------------------
# event batches: per-event scalars plus object collections as padded (n, k) arrays


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
    return _collection(
        shape[0], pt=pt, eta=eta, phi=phi, E=p[..., 0], isTightID=tight, ptcone30=ptcone,
        etcone20=etcone, convType=conv, truthMatched=prompt.copy(),
        trigMatched=np.zeros(shape, dtype=bool), pt_syst=pt * 0.005,
        valid=(pt > 10.0) & (np.abs(eta) < 2.37),
    )  # fmt: skip


_MUON_MASS, _ELECTRON_MASS = 0.10566, 0.000511


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


# ----------------------------------------------------------------------------------------
# physics processes


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
    pt_shape, pt_scale = {"ggH": (1.6, 18.0), "VBF": (2.0, 35.0), "ttH": (2.5, 45.0)}[production]

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
    """The γγ, γ+jet and dijet continuum: a falling mγγ spectrum, some photons fake."""
    mass = 75.0 + rng.exponential(38.0, n)
    parent = _production(rng, n, mass, 1.3, 15.0, 1.3)
    kind = rng.random(n)
    prompt = np.stack([kind < 0.92, kind < 0.78], axis=1)  # γγ 78 %, γj 14 %, jj 8 %
    g1, g2 = _decay(rng, parent, 0.0, 0.0)
    photons = _diphoton(rng, n, g1, g2, prompt, 0.08)
    return _finish(rng, n, photons=photons, jets=_jets(rng, n, 0.8), truth=_truth([], n), met_sigma=12.0)


def _photon_skim(batch: _Batch) -> np.ndarray:
    ph = batch.objects["photon"]
    good = ph["valid"] & (ph["pt"] > 25.0)
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


# ----------------------------------------------------------------------------------------
# from a batch to the branches of the mini tree


def _sorted_jagged(
    coll: dict[str, np.ndarray], fields: Sequence[str]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Present objects, sorted by decreasing pT within each event: (counts, flat fields)."""
    valid = coll["valid"]
    key = np.where(valid, coll["pt"], -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")
    valid_sorted = np.take_along_axis(valid, order, axis=1)
    counts = valid_sorted.sum(axis=1)
    flat = {f: np.take_along_axis(coll[f], order, axis=1)[valid_sorted] for f in fields}
    return counts, flat


def _product(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    return np.where(present, values, 1.0).prod(axis=1)


@dataclass(frozen=True)
class _Origin:
    """Where the events of a file come from: data (no sample) or an MC sample."""

    collection: str
    scale: float
    sample: MCSample | None = None


def _columns(rng: np.random.Generator, batch: _Batch, origin: _Origin, *,
             run_numbers: np.ndarray | None = None) -> dict[str, np.ndarray | Jagged]:  # fmt: skip
    n = batch.n
    is_data = origin.sample is None
    obj = batch.objects
    if is_data:
        for coll in ("lep", "jet", "photon", "tau"):
            obj[coll]["truthMatched"] = np.zeros_like(obj[coll]["truthMatched"])
        obj["largeRjet"]["truthMatched"] = np.zeros_like(obj["largeRjet"]["truthMatched"])
        obj["jet"]["trueflav"] = np.zeros_like(obj["jet"]["trueflav"])
        obj["truth"]["valid"] = np.zeros_like(obj["truth"]["valid"])
        for coll in ("lep", "jet", "photon", "largeRjet", "tau"):
            obj[coll]["pt_syst"] = np.zeros_like(obj[coll]["pt_syst"])

    # triggers and trigger matching
    lep, ph, tau = obj["lep"], obj["photon"], obj["tau"]
    e_trig = lep["valid"] & (lep["type"] == 11) & (lep["pt"] > 27.0)
    m_trig = lep["valid"] & (lep["type"] == 13) & (lep["pt"] > 27.0)
    trig_e = e_trig.any(axis=1) & (rng.random(n) < 0.96)
    trig_m = m_trig.any(axis=1) & (rng.random(n) < 0.92)
    lep["trigMatched"] = (e_trig & trig_e[:, None]) | (m_trig & trig_m[:, None])
    ph_pt = np.where(ph["valid"], ph["pt"], 0.0)
    two = np.sort(_pad(ph_pt, max(2, ph_pt.shape[1])), axis=1)[:, ::-1]
    trig_p = (two[:, 0] > 35.0) & (two[:, 1] > 25.0) & (rng.random(n) < 0.985)
    ph["trigMatched"] = ph["valid"] & (ph["pt"] > 25.0) & trig_p[:, None]
    trig_t = (tau["valid"] & (tau["pt"] > 80.0)).any(axis=1) & (rng.random(n) < 0.8)
    trig_dt = (tau["valid"] & (tau["pt"] > 35.0)).sum(axis=1) >= 2
    tau["trigMatched"] = tau["valid"] & (tau["pt"] > 35.0) & (trig_t | trig_dt)[:, None]

    cols: dict[str, np.ndarray | Jagged] = {}
    for prefix, fields in _OBJECTS.items():
        counts, flat = _sorted_jagged(obj[prefix], fields)
        if prefix != "truth":
            cols[f"{prefix}_n"] = counts
        for name in fields:
            values = flat[name] * 1000.0 if name in _MEV_FIELDS else flat[name]
            cols[f"{prefix}_{name}"] = Jagged.from_counts(counts, values)

    two_taus = tau["valid"].sum(axis=1) >= 2
    tau_p = _p4(tau["pt"], tau["eta"], tau["phi"], 1.777)
    ditau = np.where(two_taus, _mass(tau_p[:, 0] + tau_p[:, 1]), 0.0)

    # event information, scale factors, weights
    if is_data:
        assert run_numbers is not None
        run = run_numbers
        channel = run_numbers
        sf = {x: np.ones(n) for x in _SCALE_FACTORS}
        mc_weight = np.ones(n)
        xsection, sumw = 1.0, 1.0
        met_syst = np.zeros(n)
    else:
        sample = origin.sample
        assert sample is not None
        run = np.full(n, _MC_RUN_NUMBER)
        channel = np.full(n, sample.dsid)
        is_e = lep["valid"] & (lep["type"] == 11)
        is_m = lep["valid"] & (lep["type"] == 13)
        lead_ph = ph["valid"] & (np.argsort(np.argsort(-ph_pt, axis=1), axis=1) < 2)
        jets_c = obj["jet"]["valid"] & (np.abs(obj["jet"]["eta"]) < 2.5)
        sf = {
            "PILEUP": rng.lognormal(0.0, 0.18, n) / math.exp(0.18**2 / 2),
            "ELE": _product(rng.normal(0.985, 0.012, is_e.shape), is_e),
            "MUON": _product(rng.normal(0.99, 0.008, is_m.shape), is_m),
            "PHOTON": _product(rng.normal(0.975, 0.015, lead_ph.shape), lead_ph),
            "TAU": _product(rng.normal(0.95, 0.03, tau["valid"].shape), tau["valid"]),
            "BTAG": _product(rng.normal(1.0, 0.03, jets_c.shape), jets_c),
            "LepTRIGGER": np.where(trig_e | trig_m, rng.normal(0.99, 0.008, n), 1.0),
            "PhotonTRIGGER": np.where(trig_p, rng.normal(0.995, 0.004, n), 1.0),
            "TauTRIGGER": np.where(trig_t, rng.normal(0.97, 0.02, n), 1.0),
            "DiTauTRIGGER": np.where(trig_dt, rng.normal(0.95, 0.03, n), 1.0),
        }
        spread = {"4l_ZZ": 0.25, "4l_Zee": 0.35, "4l_Zmumu": 0.35}.get(sample.generator, 0.05)
        relative = rng.lognormal(0.0, spread, n)
        if origin.collection == "GamGam":
            other = sf["PHOTON"] * sf["PhotonTRIGGER"] * sf["PILEUP"]
        else:
            other = sf["PILEUP"] * sf["ELE"] * sf["MUON"] * sf["LepTRIGGER"]
        xsec_weight = TOTAL_LUMI_FB * 1000.0 * sample.xsec / (sample.sumw * sample.red_eff)
        # mcWeight carries the synthetic sample's normalisation (see the module docstring):
        # sum(totalWeight) over the file = the expected events of this process in the data.
        norm = sample.data_yield * origin.scale / (xsec_weight * float((relative * other).sum()))
        mc_weight = relative * norm
        xsection, sumw = sample.xsec, sample.sumw
        met_syst = batch.scalars["met_et"] * 0.01 * 1000.0

    cols["runNumber"] = run
    cols["eventNumber"] = _event_numbers(rng, n)
    cols["channelNumber"] = channel
    cols["mcWeight"] = mc_weight
    for x in _SCALE_FACTORS:
        cols[f"scaleFactor_{x}"] = sf[x]
    cols["trigE"], cols["trigM"], cols["trigP"] = trig_e, trig_m, trig_p
    cols["trigT"], cols["trigDT"] = trig_t, trig_dt
    cols["met_et"] = batch.scalars["met_et"] * 1000.0
    cols["met_phi"] = batch.scalars["met_phi"]
    cols["ditau_m"] = ditau * 1000.0
    cols["met_et_syst"] = met_syst
    cols["XSection"] = np.full(n, xsection)
    cols["SumWeights"] = np.full(n, sumw)
    return cols


def _typed(cols: dict[str, np.ndarray | Jagged]) -> dict[str, np.ndarray | Jagged]:
    out: dict[str, np.ndarray | Jagged] = {}
    for spec in BRANCHES:
        column = cols[spec.name]
        if isinstance(column, Jagged):
            out[spec.name] = Jagged(column.offsets, np.asarray(column.content).astype(spec.dtype))
        else:
            out[spec.name] = np.asarray(column).astype(spec.dtype)
    return out


def _file_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(name.encode())])))


def _event_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(2_000_000_000, size=n, replace=False) + 1 if n else np.zeros(0, dtype=np.int64)


def _data_batch(rng: np.random.Generator, collection: str, period: str,
                scale: float) -> tuple[_Batch, dict[str, int]]:  # fmt: skip
    share = DATA_PERIODS[period] / TOTAL_LUMI_FB
    yields = dict(_DATA_ONLY_YIELDS[collection])
    yields.update({s.generator: s.data_yield for s in MC_SAMPLES if s.collection == collection})
    batches = []
    composition = {}
    for generator, expected in yields.items():
        composition[generator] = int(rng.poisson(expected * scale * share))
    if not any(composition.values()):  # a tiny scale: keep one event of the largest process
        composition[max(yields, key=lambda k: yields[k])] = 1
    for generator, count in composition.items():
        if count:
            batches.append(_generate(rng, generator, count))
    return _Batch.concat(batches), composition


def _write(path: Path, cols: dict[str, np.ndarray | Jagged], seed: int, basket_entries: int) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    file_uuid = _uuid.uuid5(_uuid.NAMESPACE_URL, f"vrelab-atlas-opendata-synthetic:{seed}:{path.name}")
    return write_tree(
        path, TREE_NAME, BRANCHES, _typed(cols), title=TREE_NAME, compression_level=_COMPRESSION_LEVEL,
        basket_entries=basket_entries, timestamp=_RELEASE_DATE, file_uuid=file_uuid,
    )  # fmt: skip


def generate_samples(
    outdir: Path,
    *,
    scale: float = 1.0,
    seed: int = 2020,
    collections: Sequence[str] = COLLECTIONS,
) -> list[SampleFile]:
    """Write the synthetic ``GamGam`` and/or ``4lep`` samples under ``outdir``.

    Files go to ``outdir/<collection>/Data/data_<P>.<collection>.root`` and
    ``outdir/<collection>/MC/mc_<DSID>.<process>.<collection>.root``. ``scale`` multiplies
    every event count (1.0: about 100 000 events, ~26 MB, a few seconds). The same ``seed``
    and ``scale`` give the same arrays (and the same bytes). Each file has its own random
    stream, so a file does not depend on which collections are written with it.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale!r}")
    unknown = [c for c in collections if c not in COLLECTIONS]
    if unknown:
        raise ValueError(f"unknown collection(s) {unknown}; choose from {list(COLLECTIONS)}")
    outdir = Path(outdir)
    out: list[SampleFile] = []
    basket_entries = 10_000
    for collection in COLLECTIONS:
        if collection not in collections:
            continue
        for period, lumi in DATA_PERIODS.items():
            name = f"data_{period}.{collection}.root"
            rng = _file_rng(seed, name)
            batch, composition = _data_batch(rng, collection, period, scale)
            lo, hi = _PERIOD_RUNS[period]
            runs = np.sort(rng.choice(np.arange(lo, hi + 1), size=min(12, hi - lo + 1), replace=False))
            run_of_event = np.sort(rng.choice(runs, batch.n))
            order = rng.permutation(batch.n)  # interleave the processes
            batch = _reorder(batch, order)
            cols = _columns(rng, batch, _Origin(collection, scale), run_numbers=run_of_event)
            path = outdir / collection / "Data" / name
            size = _write(path, cols, seed, basket_entries)
            metadata: dict[str, str | int | float] = {
                "collection": collection, "kind": "data", "period": period,
                "luminosity_fb": lumi, "events": batch.n, "physics_process": "data",
                "run_min": int(runs[0]), "run_max": int(runs[-1]), "tree": TREE_NAME,
                "size_bytes": size, "seed": seed, "scale": scale, "release": "2020",
                "energy_TeV": 13, "synthetic": "yes",
            }  # fmt: skip
            metadata.update({f"composition_{k}": v for k, v in composition.items()})
            out.append(SampleFile(collection, "data", name, path, None, metadata))
        for sample in MC_SAMPLES:
            if sample.collection != collection:
                continue
            rng = _file_rng(seed, sample.name)
            n = max(10, round(sample.events * scale))
            batch = _generate(rng, sample.generator, n)
            cols = _columns(rng, batch, _Origin(collection, scale, sample=sample))
            path = outdir / collection / "MC" / sample.name
            size = _write(path, cols, seed, basket_entries)
            metadata = {
                "collection": collection, "kind": "mc", "dsid": sample.dsid,
                "physics_process": sample.process, "xsec": sample.xsec, "sumw": sample.sumw,
                "red_eff": sample.red_eff, "events": n, "nominal_events": sample.nominal_events,
                "expected_data_events": round(sample.data_yield * scale, 6), "tree": TREE_NAME,
                "size_bytes": size, "seed": seed, "scale": scale, "release": "2020",
                "energy_TeV": 13, "synthetic": "yes",
            }  # fmt: skip
            out.append(SampleFile(collection, "mc", sample.name, path, sample.dsid, metadata))
    return out


def _reorder(batch: _Batch, order: np.ndarray) -> _Batch:
    return _Batch(
        batch.n,
        {k: v[order] for k, v in batch.scalars.items()},
        {c: {k: v[order] for k, v in f.items()} for c, f in batch.objects.items()},
    )


# ----------------------------------------------------------------------------------------
# command line


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vrelab.lakeserver.samples OUTDIR [--scale X] [--seed N] [--collection C]``."""
    parser = argparse.ArgumentParser(
        prog="python -m vrelab.lakeserver.samples",
        description="Write synthetic ATLAS Open Data 13 TeV (2020 release) GamGam and 4lep samples.",
    )
    parser.add_argument("outdir", type=Path, help="directory to write <collection>/{Data,MC}/*.root into")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every event count (default 1.0)")
    parser.add_argument("--seed", type=int, default=2020, help="random seed (default 2020)")
    parser.add_argument(
        "--collection", action="append", choices=COLLECTIONS, dest="collections",
        help="collection to write (repeatable; default: all)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        files = generate_samples(
            args.outdir, scale=args.scale, seed=args.seed, collections=args.collections or COLLECTIONS
        )
    except ValueError as err:
        parser.error(str(err))
    elapsed = time.perf_counter() - start
    width = max(len(f.name) for f in files)
    print(f"{'file':<{width}}  {'kind':<4}  {'events':>8}  {'size':>9}")
    total_events = total_size = 0
    for f in files:
        size = f.path.stat().st_size
        events = int(f.metadata["events"])
        total_events += events
        total_size += size
        print(f"{f.name:<{width}}  {f.kind:<4}  {events:>8}  {_human(size):>9}")
    print(
        f"{len(files)} files, {total_events} events, {_human(total_size)} in {elapsed:.1f} s -> {args.outdir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
