"""From event batches to the branches of the ``mini`` tree and to files: :func:`generate_samples`."""

from __future__ import annotations

import math
import uuid as _uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vrelab.lakeserver.samples_rootio import Jagged, write_tree

from .catalogue import (
    _COMPRESSION_LEVEL,
    _DATA_ONLY_YIELDS,
    _MC_RUN_NUMBER,
    _MEV_FIELDS,
    _OBJECTS,
    _PERIOD_RUNS,
    _RELEASE_DATE,
    _SCALE_FACTORS,
    BRANCHES,
    COLLECTIONS,
    DATA_PERIODS,
    MC_SAMPLES,
    TOTAL_LUMI_FB,
    TREE_NAME,
    MCSample,
    SampleFile,
)
from .detector import _Batch, _pad
from .kinematics import _mass, _p4
from .processes import _generate


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
    online = ph.get("pt_online", ph["pt"])
    ph_pt = np.where(ph["valid"], online, 0.0)
    two = np.sort(_pad(ph_pt, max(2, ph_pt.shape[1])), axis=1)[:, ::-1]
    trig_p = (two[:, 0] > 35.0) & (two[:, 1] > 25.0) & (rng.random(n) < 0.985)
    ph["trigMatched"] = ph["valid"] & (online > 25.0) & trig_p[:, None]
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
