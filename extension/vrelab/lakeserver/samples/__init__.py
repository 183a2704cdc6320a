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

The package, by concern: ``catalogue`` (schema, periods, samples), ``kinematics`` (four-vectors,
decays), ``detector`` (event batches, reconstructed objects), ``processes`` (the generators and
skims), ``writing`` (branches, files, :func:`generate_samples`), ``cli`` (the command line).
"""

from __future__ import annotations

from .catalogue import BRANCHES, COLLECTIONS, DATA_PERIODS, MC_SAMPLES, TREE_NAME, MCSample, SampleFile
from .cli import main
from .writing import generate_samples

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
