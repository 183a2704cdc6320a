"""What the synthetic release holds: its tree schema, data periods, MC samples and file records."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from vrelab.lakeserver.samples_rootio import BranchSpec, DType

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
_DATA_ONLY_YIELDS: dict[str, dict[str, float]] = {"GamGam": {"yy_continuum": 64000.0}, "4lep": {}}


class SampleFile(NamedTuple):
    """One written file and the metadata to register it with in the data lake."""

    collection: str  # 'GamGam' or '4lep'
    kind: str  # 'data' or 'mc'
    name: str  # file name as in the 2020 release
    path: Path
    dsid: int | None
    metadata: dict[str, str | int | float]
