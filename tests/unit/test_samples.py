"""The synthetic ATLAS Open Data samples: schema, determinism, normalisation and physics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

uproot = pytest.importorskip("uproot")
ak = pytest.importorskip("awkward")

from vrelab.lakeserver.samples import (  # noqa: E402
    DATA_PERIODS,
    SampleFile,
    generate_samples,
    main,
)
from vrelab.lakeserver.samples_rootio import BranchSpec, Jagged, write_tree  # noqa: E402

# The `mini` tree of the 13 TeV 2020 release (HyyAnalysis.h of the C++ framework plus the
# XSection/SumWeights normalisation floats), as Uproot names the C++ types.
F, I, U, B = "float", "int32_t", "uint32_t", "bool"  # noqa: E741
VF, VI, VU, VB = "std::vector<float>", "std::vector<int32_t>", "std::vector<uint32_t>", "std::vector<bool>"
EXPECTED_BRANCHES: dict[str, str] = {
    # event
    "runNumber": I, "eventNumber": I, "channelNumber": I, "mcWeight": F,
    # scale factors
    "scaleFactor_PILEUP": F, "scaleFactor_ELE": F, "scaleFactor_MUON": F, "scaleFactor_PHOTON": F,
    "scaleFactor_TAU": F, "scaleFactor_BTAG": F, "scaleFactor_LepTRIGGER": F,
    "scaleFactor_PhotonTRIGGER": F, "scaleFactor_TauTRIGGER": F, "scaleFactor_DiTauTRIGGER": F,
    # triggers
    "trigE": B, "trigM": B, "trigP": B, "trigT": B, "trigDT": B,
    # leptons
    "lep_n": U, "lep_truthMatched": VB, "lep_trigMatched": VB, "lep_pt": VF, "lep_eta": VF,
    "lep_phi": VF, "lep_E": VF, "lep_z0": VF, "lep_charge": VI, "lep_type": VU,
    "lep_isTightID": VB, "lep_ptcone30": VF, "lep_etcone20": VF, "lep_trackd0pvunbiased": VF,
    "lep_tracksigd0pvunbiased": VF,
    # missing transverse momentum
    "met_et": F, "met_phi": F,
    # jets
    "jet_n": U, "jet_pt": VF, "jet_eta": VF, "jet_phi": VF, "jet_E": VF, "jet_jvt": VF,
    "jet_trueflav": VI, "jet_truthMatched": VB, "jet_MV2c10": VF,
    # photons
    "photon_n": U, "photon_truthMatched": VB, "photon_trigMatched": VB, "photon_pt": VF,
    "photon_eta": VF, "photon_phi": VF, "photon_E": VF, "photon_isTightID": VB,
    "photon_ptcone30": VF, "photon_etcone20": VF, "photon_convType": VI,
    # large-R jets
    "largeRjet_n": U, "largeRjet_pt": VF, "largeRjet_eta": VF, "largeRjet_phi": VF,
    "largeRjet_E": VF, "largeRjet_m": VF, "largeRjet_D2": VF, "largeRjet_tau32": VF,
    "largeRjet_truthMatched": VI,
    # taus
    "tau_n": U, "tau_pt": VF, "tau_eta": VF, "tau_phi": VF, "tau_E": VF, "tau_isTightID": VB,
    "tau_truthMatched": VB, "tau_trigMatched": VB, "tau_nTracks": VI, "tau_BDTid": VF, "ditau_m": F,
    # truth
    "truth_pt": VF, "truth_eta": VF, "truth_phi": VF, "truth_E": VF, "truth_pdgid": VI,
    # systematics
    "lep_pt_syst": VF, "met_et_syst": F, "jet_pt_syst": VF, "photon_pt_syst": VF,
    "largeRjet_pt_syst": VF, "tau_pt_syst": VF,
    # normalisation
    "XSection": F, "SumWeights": F,
}  # fmt: skip
NUMPY_DTYPE = {F: np.float32, I: np.int32, U: np.uint32, B: np.bool_}
VECTOR_DTYPE = {VF: np.float32, VI: np.int32, VU: np.uint32, VB: np.bool_}

# DSID -> (process, xsec [pb], sum of weights), from infofile.py of the 2020 notebooks.
MC_TABLE: dict[int, tuple[str, float, float]] = {
    343981: ("ggH125_gamgam", 0.102, 55922617.6297),
    345041: ("VBFH125_gamgam", 0.008518764, 3441426.13711),
    341081: ("ttH125_gamgam", 0.0000026433864, 485440),
    345060: ("ggH125_ZZ4lep", 0.0060239, 27881776.6536),
    344235: ("VBFH125_ZZ4lep", 0.0004633012, 3680490.83243),
    341964: ("WH125_ZZ4lep", 0.0003769, 149400),
    341947: ("ZH125_ZZ4lep", 0.0000021424784, 150000),
    363490: ("llll", 1.2578, 7538705.8077),
    361106: ("Zee", 1950.5295, 150277594200),
    361107: ("Zmumu", 1950.6321, 147334691090),
    410000: ("ttbar_lep", 452.693559, 49386600),
}
LUMI_FB = 10.0
SCALE = 0.1


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[SampleFile]:
    return generate_samples(tmp_path_factory.mktemp("opendata"), scale=SCALE)


def by_name(samples: list[SampleFile], name: str) -> SampleFile:
    return next(s for s in samples if s.name == name)


def read(sample: SampleFile, branches: list[str] | None = None) -> ak.Array:
    with uproot.open(sample.path) as f:
        return f["mini"].arrays(branches)


# ----------------------------------------------------------------------------------------
# the notebooks' selections (HyyAnalysis.ipynb, HZZAnalysis.ipynb and the uproot framework)


def diphoton_mass(a: ak.Array) -> np.ndarray:
    """mγγ [GeV] of the events that pass the standard H→γγ selection."""
    a = a[a.photon_n >= 2]
    pt, eta = a.photon_pt, a.photon_eta
    outside_crack = (abs(eta) < 1.37) | (abs(eta) > 1.52)
    keep = (
        a.photon_isTightID[:, 0]
        & a.photon_isTightID[:, 1]
        & (pt[:, 0] > 40_000)
        & (pt[:, 1] > 30_000)
        & (a.photon_etcone20[:, 0] < 4_000)
        & (a.photon_etcone20[:, 1] < 4_000)
        & outside_crack[:, 0]
        & outside_crack[:, 1]
        & (a.photon_ptcone30[:, 0] / pt[:, 0] < 0.065)
        & (a.photon_ptcone30[:, 1] / pt[:, 1] < 0.065)
    )
    a = a[keep]
    return invariant_mass(a.photon_pt[:, :2], a.photon_eta[:, :2], a.photon_phi[:, :2], a.photon_E[:, :2])


def four_lepton_selection(a: ak.Array) -> ak.Array:
    a = a[a.lep_n == 4]
    type_sum = ak.sum(a.lep_type, axis=1)
    keep = (
        (ak.sum(a.lep_charge, axis=1) == 0)
        & ((type_sum == 44) | (type_sum == 48) | (type_sum == 52))
        & (a.lep_pt[:, 1] > 15_000)
        & (a.lep_pt[:, 2] > 10_000)
        & ak.all(a.lep_ptcone30 / a.lep_pt < 0.3, axis=1)
        & ak.all(a.lep_etcone20 / a.lep_pt < 0.3, axis=1)
    )
    return a[keep]


def four_lepton_mass(a: ak.Array) -> np.ndarray:
    return invariant_mass(a.lep_pt, a.lep_eta, a.lep_phi, a.lep_E)


def invariant_mass(pt: ak.Array, eta: ak.Array, phi: ak.Array, energy: ak.Array) -> np.ndarray:
    px = ak.sum(pt * np.cos(phi), axis=1)
    py = ak.sum(pt * np.sin(phi), axis=1)
    pz = ak.sum(pt * np.sinh(eta), axis=1)
    e = ak.sum(energy, axis=1)
    m2 = ak.to_numpy(e**2 - px**2 - py**2 - pz**2).astype(np.float64)
    return np.sqrt(np.maximum(m2, 0.0)) / 1000.0


def four_lepton_weight(a: ak.Array) -> np.ndarray:
    xsec_weight = LUMI_FB * 1000 * a.XSection / a.SumWeights
    w = a.mcWeight * a.scaleFactor_PILEUP * a.scaleFactor_ELE * a.scaleFactor_MUON * a.scaleFactor_LepTRIGGER
    return ak.to_numpy(xsec_weight * w).astype(np.float64)


# ----------------------------------------------------------------------------------------
# the files


def test_the_release_file_names_and_layout(samples: list[SampleFile]) -> None:
    names = [s.name for s in samples]
    for collection in ("GamGam", "4lep"):
        for period in "ABCD":
            assert f"data_{period}.{collection}.root" in names
    assert "mc_343981.ggH125_gamgam.GamGam.root" in names
    assert "mc_345060.ggH125_ZZ4lep.4lep.root" in names
    assert "mc_363490.llll.4lep.root" in names
    assert len(names) == 8 + len(MC_TABLE) == len(set(names))
    for s in samples:
        assert s.path.is_file()
        assert s.path.parent.name == ("Data" if s.kind == "data" else "MC")
        assert s.path.parent.parent.name == s.collection
        assert s.metadata["collection"] == s.collection and s.metadata["kind"] == s.kind
        assert s.metadata["size_bytes"] == s.path.stat().st_size
        assert all(isinstance(v, str | int | float) for v in s.metadata.values())


def test_every_file_has_the_mini_tree_with_the_release_schema(samples: list[SampleFile]) -> None:
    for s in samples:
        with uproot.open(s.path) as f:
            assert f.keys(cycle=False) == ["mini"]
            tree = f["mini"]
            assert tree.num_entries == s.metadata["events"]
            assert tree.keys() == list(EXPECTED_BRANCHES), s.name
            assert {name: tree[name].typename for name in tree.keys()} == EXPECTED_BRANCHES, s.name


def test_arrays_have_the_release_dtypes(samples: list[SampleFile]) -> None:
    a = read(by_name(samples, "data_D.4lep.root"))
    for name, typename in EXPECTED_BRANCHES.items():
        column = a[name]
        if typename in VECTOR_DTYPE:
            assert column.ndim == 2, name
            assert ak.flatten(column).to_numpy().dtype == VECTOR_DTYPE[typename], name
        else:
            assert column.ndim == 1, name
            assert column.to_numpy().dtype == NUMPY_DTYPE[typename], name
    for prefix in ("lep", "jet", "photon", "largeRjet", "tau"):
        assert ak.all(ak.num(a[f"{prefix}_pt"]) == a[f"{prefix}_n"]), prefix
        assert ak.all(a[f"{prefix}_pt"][:, :-1] >= a[f"{prefix}_pt"][:, 1:]), f"{prefix} sorted by pT"


def test_energies_are_in_mev_and_angles_unitless(samples: list[SampleFile]) -> None:
    a = read(by_name(samples, "mc_345060.ggH125_ZZ4lep.4lep.root"))
    lep_pt = ak.flatten(a.lep_pt).to_numpy()
    assert 5_000 < np.median(lep_pt) < 100_000
    assert np.all(np.abs(ak.flatten(a.lep_eta).to_numpy()) < 2.5)
    assert np.all(np.abs(ak.flatten(a.lep_phi).to_numpy()) <= np.pi + 1e-6)
    assert np.all(ak.flatten(a.lep_E).to_numpy() >= lep_pt)
    assert 1_000 < np.median(a.met_et.to_numpy()) < 100_000
    assert set(np.unique(ak.flatten(a.lep_type).to_numpy())) == {11, 13}
    assert set(np.unique(ak.flatten(a.lep_charge).to_numpy())) == {-1, 1}


# ----------------------------------------------------------------------------------------
# metadata and normalisation


def test_mc_carries_the_real_dsid_cross_section_and_sum_of_weights(samples: list[SampleFile]) -> None:
    mc = [s for s in samples if s.kind == "mc"]
    assert {s.dsid for s in mc} == set(MC_TABLE)
    for s in mc:
        assert s.dsid is not None
        process, xsec, sumw = MC_TABLE[s.dsid]
        assert s.name == f"mc_{s.dsid}.{process}.{s.collection}.root"
        assert s.metadata["dsid"] == s.dsid and s.metadata["physics_process"] == process
        assert s.metadata["xsec"] == xsec and s.metadata["sumw"] == sumw and s.metadata["red_eff"] == 1
        a = read(s, ["channelNumber", "runNumber", "XSection", "SumWeights", "mcWeight"])
        assert np.all(a.channelNumber.to_numpy() == s.dsid)
        assert np.all(a.XSection.to_numpy() == np.float32(xsec))
        assert np.all(a.SumWeights.to_numpy() == np.float32(sumw))
        assert np.all(a.mcWeight.to_numpy() > 0)


def test_data_periods_carry_run_numbers_and_luminosity(samples: list[SampleFile]) -> None:
    data = [s for s in samples if s.kind == "data"]
    assert {(s.collection, s.metadata["period"]) for s in data} == {
        (c, p) for c in ("GamGam", "4lep") for p in "ABCD"
    }
    runs_seen = []
    for s in data:
        assert s.dsid is None
        assert s.metadata["luminosity_fb"] == DATA_PERIODS[str(s.metadata["period"])]
        a = read(s, ["runNumber", "channelNumber", "mcWeight", "scaleFactor_PILEUP", "truth_pt"])
        run = a.runNumber.to_numpy()
        assert np.all(run == a.channelNumber.to_numpy())
        assert np.all((run >= s.metadata["run_min"]) & (run <= s.metadata["run_max"]))
        assert np.all(np.diff(run) >= 0)
        assert np.all(a.mcWeight.to_numpy() == 1) and np.all(a.scaleFactor_PILEUP.to_numpy() == 1)
        assert ak.sum(ak.num(a.truth_pt)) == 0
        runs_seen.append((s.collection, run.min(), run.max()))
    assert sum(DATA_PERIODS.values()) == LUMI_FB


def test_data_scale_with_luminosity(samples: list[SampleFile]) -> None:
    events = {p: by_name(samples, f"data_{p}.GamGam.root").metadata["events"] for p in "ABCD"}
    total = sum(int(v) for v in events.values())
    for period, lumi in DATA_PERIODS.items():
        assert int(events[period]) / total == pytest.approx(lumi / LUMI_FB, abs=0.03)


# ----------------------------------------------------------------------------------------
# physics


def test_diphoton_data_show_a_local_excess_at_125_gev(samples: list[SampleFile]) -> None:
    myy = np.concatenate([diphoton_mass(read(by_name(samples, f"data_{p}.GamGam.root"))) for p in "ABCD"])
    counts, edges = np.histogram(myy, bins=np.arange(100, 162, 2))
    centres = (edges[:-1] + edges[1:]) / 2
    sideband = (centres < 119) | (centres > 131)
    assert counts[0] > 2 * counts[-1], "a falling background"
    # Fit the sidebands with a cubic polynomial and compare the signal window with it.
    coefficients = np.polyfit(centres[sideband], counts[sideband], 3, w=1 / np.sqrt(counts[sideband] + 1))
    background = np.polyval(coefficients, centres)
    window = (centres > 121) & (centres < 129)
    excess = counts[window].sum() - background[window].sum()
    significance = excess / np.sqrt(background[window].sum())
    assert significance > 3, f"excess of {excess:.0f} events ({significance:.1f} sigma)"
    assert np.abs(counts[~window] - background[~window]).max() < 5 * np.sqrt(background[~window]).max()


def test_higgs_diphoton_mc_peaks_at_125_gev(samples: list[SampleFile]) -> None:
    for name in ("mc_343981.ggH125_gamgam.GamGam.root", "mc_345041.VBFH125_gamgam.GamGam.root"):
        myy = diphoton_mass(read(by_name(samples, name)))
        counts, edges = np.histogram(myy, bins=np.arange(100, 162, 2))
        assert 120 <= edges[np.argmax(counts)] < 130
        assert np.mean((myy > 120) & (myy < 130)) > 0.9
        core = myy[(myy > 115) & (myy < 135)]
        assert 124 < np.median(core) < 126 and 1.2 < core.std() < 2.3


def test_the_photon_pt_spectra_are_smooth(tmp_path: Path) -> None:
    """Falling spectra with a smooth turn-on, no edges: the skim's and the trigger's 25 GeV act
    on the online pT, so the offline pT written out rises over a few GeV (a hard cut made the
    sub-leading photon's spectrum jump from nothing to half its maximum in one 1 GeV bin)."""
    produced = generate_samples(tmp_path, scale=0.5, collections=["GamGam"])  # enough events per 1 GeV bin
    pt = ak.concatenate([read(s, ["photon_pt"]).photon_pt for s in produced if s.kind == "data"]) / 1000.0
    for index, which in ((0, "leading"), (1, "sub-leading")):
        counts, edges = np.histogram(ak.to_numpy(pt[:, index]), bins=np.arange(0.0, 201.0, 1.0))
        jumps = np.abs(np.diff(counts)) / counts.max()
        worst = int(np.argmax(jumps))
        where = f"at {edges[worst + 1]:g} GeV"
        assert jumps.max() < 0.2, f"the {which} photon's pT jumps by {jumps.max():.0%} of its peak {where}"
        peak = edges[np.argmax(counts)]
        assert 25.0 < peak < 60.0, f"the {which} photon's pT peaks at {peak:g} GeV"
        assert counts[edges[:-1] >= 150].sum() < 0.01 * counts.sum(), "a falling spectrum"
        assert counts[edges[:-1] < 18].sum() < 0.005 * counts.sum(), "below the turn-on: (almost) nothing"


def test_truth_records_match_the_reconstructed_objects(samples: list[SampleFile]) -> None:
    a = read(
        by_name(samples, "mc_343981.ggH125_gamgam.GamGam.root"), ["truth_pt", "truth_pdgid", "photon_pt"]
    )
    assert ak.all(ak.sum(a.truth_pdgid == 25, axis=1) == 1) and ak.all(
        ak.sum(a.truth_pdgid == 22, axis=1) == 2
    )
    leading_truth = ak.max(a.truth_pt[a.truth_pdgid == 22], axis=1, mask_identity=False)
    ratio = ak.to_numpy(a.photon_pt[:, 0] / leading_truth)
    assert abs(np.median(ratio) - 1) < 0.01 and np.percentile(ratio, 84) - np.percentile(ratio, 16) < 0.06


def test_four_lepton_signal_mc_peaks_at_125_gev(samples: list[SampleFile]) -> None:
    selected = four_lepton_selection(read(by_name(samples, "mc_345060.ggH125_ZZ4lep.4lep.root")))
    m4l = four_lepton_mass(selected)
    assert len(m4l) > 100
    counts, edges = np.histogram(m4l, bins=np.arange(80, 255, 5))
    assert 120 <= edges[np.argmax(counts)] <= 125
    assert abs(np.median(m4l) - 125) < 5


def test_zz_background_has_the_z_peak_and_the_continuum(samples: list[SampleFile]) -> None:
    m4l = four_lepton_mass(four_lepton_selection(read(by_name(samples, "mc_363490.llll.4lep.root"))))
    z_peak = np.sum((m4l > 85) & (m4l < 97))
    beside = np.sum((m4l > 100) & (m4l < 112))
    assert z_peak > 3 * beside and 0.03 < z_peak / len(m4l) < 0.3
    assert np.mean(m4l > 180) > 0.5
    assert np.mean((m4l > 120) & (m4l < 130)) < 0.05


def test_four_lepton_data_agree_with_the_mc_stack(samples: list[SampleFile]) -> None:
    data = np.concatenate(
        [four_lepton_mass(four_lepton_selection(read(by_name(samples, f"data_{p}.4lep.root"))))
         for p in "ABCD"]
    )  # fmt: skip
    masses, weights = [], []
    for s in samples:
        if s.kind == "mc" and s.collection == "4lep":
            selected = four_lepton_selection(read(s))
            masses.append(four_lepton_mass(selected))
            weights.append(four_lepton_weight(selected))
    mc_mass, mc_weight = np.concatenate(masses), np.concatenate(weights)
    expected = mc_weight.sum()
    assert abs(len(data) - expected) < 4 * np.sqrt(expected) + 0.1 * expected
    for lo, hi in ((85, 97), (118, 132), (180, 250)):  # Z → 4ℓ, H → 4ℓ, ZZ continuum
        n_data = np.sum((data > lo) & (data < hi))
        n_mc = mc_weight[(mc_mass > lo) & (mc_mass < hi)].sum()
        assert n_mc > 3
        assert abs(n_data - n_mc) < 4 * np.sqrt(n_mc) + 0.15 * n_mc, (lo, hi, n_data, n_mc)


def test_the_selections_matter(samples: list[SampleFile]) -> None:
    yy = read(by_name(samples, "data_D.GamGam.root"))
    assert 0.2 < len(diphoton_mass(yy)) / len(yy) < 0.8
    leading = yy[yy.photon_n >= 2]
    assert ak.any(~leading.photon_isTightID[:, :2])
    assert ak.any((abs(leading.photon_eta) > 1.37) & (abs(leading.photon_eta) < 1.52))
    assert ak.any(leading.photon_etcone20[:, :2] > 4_000)
    assert ak.any(leading.photon_pt[:, 1] < 30_000)
    ll = read(by_name(samples, "data_D.4lep.root"))
    assert 0.2 < len(four_lepton_selection(ll)) / len(ll) < 0.9
    assert ak.any(ll.lep_n != 4)
    four = ll[ll.lep_n == 4]
    assert ak.any(ak.sum(four.lep_charge, axis=1) != 0)
    assert ak.any(ak.sum(four.lep_type, axis=1) == 46)
    assert ak.any(ak.any(four.lep_ptcone30 / four.lep_pt > 0.3, axis=1))


# ----------------------------------------------------------------------------------------
# determinism, size, command line


def test_same_seed_same_arrays_and_bytes(tmp_path: Path) -> None:
    first = generate_samples(tmp_path / "one", scale=0.02, collections=["4lep"])
    second = generate_samples(tmp_path / "two", scale=0.02, collections=["4lep"])
    assert [s.name for s in first] == [s.name for s in second]
    assert all(s.collection == "4lep" for s in first)
    for name in ("data_B.4lep.root", "mc_345060.ggH125_ZZ4lep.4lep.root"):
        arrays_a, arrays_b = read(by_name(first, name)), read(by_name(second, name))
        assert arrays_a.fields == list(EXPECTED_BRANCHES)
        form_a, length_a, buffers_a = ak.to_buffers(arrays_a)
        form_b, length_b, buffers_b = ak.to_buffers(arrays_b)
        assert form_a == form_b and length_a == length_b and buffers_a.keys() == buffers_b.keys()
        for key, buffer in buffers_a.items():
            assert np.array_equal(buffer, buffers_b[key]), (name, key)
    for a, b in zip(first, second, strict=True):  # timestamps and UUIDs are fixed too
        assert a.path.read_bytes() == b.path.read_bytes(), a.name


def test_another_seed_other_events(tmp_path: Path) -> None:
    one = generate_samples(tmp_path / "one", scale=0.02, collections=["4lep"])
    other = generate_samples(tmp_path / "other", scale=0.02, seed=7, collections=["4lep"])
    name = "mc_363490.llll.4lep.root"
    events_one = read(by_name(one, name), ["eventNumber"]).eventNumber.to_numpy()
    events_other = read(by_name(other, name), ["eventNumber"]).eventNumber.to_numpy()
    assert len(events_one) == len(events_other) and not np.array_equal(events_one, events_other)


def test_a_file_does_not_depend_on_the_other_collections(tmp_path: Path, samples: list[SampleFile]) -> None:
    alone = generate_samples(tmp_path, scale=SCALE, collections=["4lep"])
    ref = by_name(samples, "mc_341964.WH125_ZZ4lep.4lep.root")
    assert by_name(alone, ref.name).path.read_bytes() == ref.path.read_bytes()


def test_the_samples_are_small(samples: list[SampleFile]) -> None:
    total = sum(s.path.stat().st_size for s in samples)
    assert total < 6_000_000  # scale 1 is ten times this: a few tens of MB at most
    assert sum(int(s.metadata["events"]) for s in samples) > 5_000


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_samples(tmp_path, scale=0)
    with pytest.raises(ValueError, match="collection"):
        generate_samples(tmp_path, collections=["Wmunu"])


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--scale", "0.01", "--collection", "GamGam"]) == 0
    out = capsys.readouterr().out
    assert "data_A.GamGam.root" in out and "mc_343981.ggH125_gamgam.GamGam.root" in out
    assert "4lep" not in out
    assert (tmp_path / "GamGam" / "Data" / "data_C.GamGam.root").is_file()


# ----------------------------------------------------------------------------------------
# the writer


def test_writer_round_trips_vectors_across_baskets(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 25
    counts = rng.integers(0, 4, n)
    counts[:3] = 0  # empty vectors first
    total = int(counts.sum())
    branches = [
        BranchSpec("x", "scalar", "float32"),
        BranchSpec("k", "scalar", "uint32"),
        BranchSpec("flag", "scalar", "bool"),
        BranchSpec("v", "vector", "float32"),
        BranchSpec("q", "vector", "int32"),
        BranchSpec("t", "vector", "uint32"),
        BranchSpec("ok", "vector", "bool"),
    ]
    columns: dict[str, np.ndarray | Jagged] = {
        "x": rng.normal(size=n).astype(np.float32),
        "k": np.arange(n, dtype=np.uint32),
        "flag": rng.random(n) < 0.5,
        "v": Jagged.from_counts(counts, rng.normal(size=total).astype(np.float32)),
        "q": Jagged.from_counts(counts, rng.integers(-5, 5, total).astype(np.int32)),
        "t": Jagged.from_counts(counts, rng.integers(0, 2**32 - 1, total, dtype=np.uint32)),
        "ok": Jagged.from_counts(counts, rng.random(total) < 0.5),
    }
    path = tmp_path / "t.root"
    for compression in (0, 1):
        write_tree(path, "t", branches, columns, basket_entries=7, compression_level=compression)
        with uproot.open(path) as f:
            tree = f["t"]
            assert tree["v"].num_baskets == 4
            arrays = tree.arrays()
            for spec in branches:
                column = columns[spec.name]
                if isinstance(column, Jagged):
                    assert ak.num(arrays[spec.name]).to_list() == counts.tolist()
                    assert np.array_equal(ak.flatten(arrays[spec.name]).to_numpy(), column.content)
                else:
                    assert np.array_equal(arrays[spec.name].to_numpy(), column)
            assert ak.num(tree["v"].array(entry_start=5, entry_stop=9)).to_list() == counts[5:9].tolist()


def test_writer_refuses_inconsistent_columns(tmp_path: Path) -> None:
    spec = [BranchSpec("v", "vector", "float32"), BranchSpec("x", "scalar", "float32")]
    good = Jagged.from_counts(np.array([1, 2]), np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="entries"):
        write_tree(tmp_path / "a.root", "t", spec, {"v": good, "x": np.zeros(3, dtype=np.float32)})
    with pytest.raises(TypeError, match="vector"):
        write_tree(tmp_path / "a.root", "t", spec, {"v": np.zeros(2), "x": np.zeros(2, dtype=np.float32)})
    with pytest.raises(ValueError, match="no data"):
        write_tree(tmp_path / "a.root", "t", spec, {"v": good})
