"""A toy "ntupling" step: diphoton events of a signal sample histogrammed into a signal region.

Reads the ``mini`` tree of an ATLAS-Open-Data-like ``GamGam`` file (as written by
:mod:`vrelab.lakeserver.samples`), keeps events with two tight, isolated photons (leading pT >
40 GeV, subleading > 30 GeV, |eta| < 2.37 outside the crack), computes m_yy, weights MC events to
the luminosity (``lumi * 1000 * XSection / SumWeights * mcWeight * scale factors``) and writes
the yields per bin, with their statistical uncertainties, as ``{channel: {"data": [...],
"errors": [...]}}`` — the input of the RECAST patch.

Run: ``python -m vrelab.workflows.examples.ntuple signal.root --channel SR_yy --out yields.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_EDGES = (110.0, 117.5, 122.5, 127.5, 132.5, 140.0)
LUMI_FB = 10.0
_CRACK = (1.37, 1.52)


def _pairs(pt: Any, eta: Any, phi: Any, energy: Any, tight: Any, iso: Any) -> tuple[np.ndarray, np.ndarray]:
    import awkward as ak

    ok = tight & iso & (pt > 25_000) & (abs(eta) < 2.37) & ~((abs(eta) > _CRACK[0]) & (abs(eta) < _CRACK[1]))
    pt, eta, phi, energy = pt[ok], eta[ok], phi[ok], energy[ok]
    two = ak.num(pt) >= 2
    lead = ak.to_numpy(ak.fill_none(ak.pad_none(pt, 2)[:, 0], 0))
    sub = ak.to_numpy(ak.fill_none(ak.pad_none(pt, 2)[:, 1], 0))
    keep = ak.to_numpy(two) & (lead > 40_000) & (sub > 30_000)

    def first2(a: object) -> np.ndarray:
        return ak.to_numpy(ak.fill_none(ak.pad_none(a, 2)[:, :2], 0.0)).astype(float)

    p, e, f, en = first2(pt), first2(eta), first2(phi), first2(energy)
    px, py, pz = p * np.cos(f), p * np.sin(f), p * np.sinh(e)
    m2 = en.sum(1) ** 2 - px.sum(1) ** 2 - py.sum(1) ** 2 - pz.sum(1) ** 2
    return np.sqrt(np.clip(m2, 0, None)) / 1000.0, keep


def histogram(
    path: Path, edges: Sequence[float] = DEFAULT_EDGES, lumi_fb: float = LUMI_FB
) -> tuple[list[float], list[float], int]:
    """Weighted m_yy yields per bin, their uncertainties, and the number of selected events."""
    import uproot

    with uproot.open(path) as f:
        t = f["mini"]
        a = t.arrays(
            ["photon_pt", "photon_eta", "photon_phi", "photon_E", "photon_isTightID", "photon_ptcone30",
             "photon_etcone20", "mcWeight", "scaleFactor_PHOTON", "scaleFactor_PILEUP",
             "scaleFactor_PhotonTRIGGER", "XSection", "SumWeights", "trigP"],
        )  # fmt: skip
    iso = (a["photon_ptcone30"] < 0.065 * a["photon_pt"]) & (a["photon_etcone20"] < 0.065 * a["photon_pt"])
    myy, keep = _pairs(a["photon_pt"], a["photon_eta"], a["photon_phi"], a["photon_E"], a["photon_isTightID"], iso)
    keep &= np.asarray(a["trigP"], dtype=bool)
    w = (
        lumi_fb * 1000 * np.asarray(a["XSection"], float) / np.asarray(a["SumWeights"], float)
        * np.asarray(a["mcWeight"], float) * np.asarray(a["scaleFactor_PHOTON"], float)
        * np.asarray(a["scaleFactor_PILEUP"], float) * np.asarray(a["scaleFactor_PhotonTRIGGER"], float)
    )  # fmt: skip
    values, _ = np.histogram(myy[keep], bins=np.asarray(edges), weights=w[keep])
    sumw2, _ = np.histogram(myy[keep], bins=np.asarray(edges), weights=w[keep] ** 2)
    return [float(v) for v in values], [float(v) for v in np.sqrt(sumw2)], int(keep.sum())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", type=Path, help="a GamGam signal ROOT file (mini tree)")
    parser.add_argument("--channel", default="SR_yy", help="name of the channel the yields are for")
    parser.add_argument("--edges", default=",".join(str(e) for e in DEFAULT_EDGES), help="m_yy bin edges in GeV")
    parser.add_argument("--lumi", type=float, default=LUMI_FB, help="integrated luminosity in fb^-1")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the signal yields (a new model)")
    parser.add_argument("--out", type=Path, default=Path("yields.json"))
    args = parser.parse_args(argv)
    try:
        edges = [float(e) for e in args.edges.split(",")]
    except ValueError:
        parser.error(f"--edges must be numbers separated by commas, not {args.edges!r}")
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        parser.error("--edges must increase")
    values, errors, n = histogram(args.input, edges, args.lumi)
    values = [v * args.scale for v in values]
    errors = [e * args.scale for e in errors]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({args.channel: {"data": values, "errors": errors, "edges": edges}}, indent=1))
    print(f"{n} events selected; {args.channel}: {sum(values):.2f} signal events in {len(values)} bins -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
