"""Put the sample data into the lake (``vrelab lake seed``, run by ``up`` on the first start).

The ROOT files are made by ``vrelab.lakeserver.samples.generate_samples`` in vrelab's own
environment (it needs uproot); they are registered by ``serverside/populate.py samples`` run with
the server venv's python, i.e. with rucio-clients of exactly the server's version, which the user's
JupyterLab environment may not have at all. The hand-over is a JSON manifest.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import LakeServerError
from . import layout
from .passwords import write_private

Reporter = Callable[[str], None]

DATASET_DESCRIPTIONS = {
    ("GamGam", "data"): "2016 13 TeV collision data, diphoton selection (synthetic)",
    ("GamGam", "mc"): "simulated H->gamma gamma signal and backgrounds (synthetic)",
    ("4lep", "data"): "2016 13 TeV collision data, four-lepton selection (synthetic)",
    ("4lep", "mc"): "simulated H->ZZ*->4l signal and backgrounds (synthetic)",
}


def _plain(value: Any) -> str | int | float | bool:
    """JSON-safe scalars (numpy numbers become Python ones)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    for cast in (int, float):
        try:
            converted = cast(value)
        except (TypeError, ValueError):
            continue
        if converted == value:
            return converted
    return str(value)


def _metadata_key(key: str) -> str:
    # Rucio forbids '.' in metadata keys (it separates key and operator in filters)
    return str(key).replace(".", "_")


def build_manifest(samples: list[Any], upload_rse: str = layout.UPLOAD_RSE) -> dict[str, Any]:
    """The manifest ``populate.py samples`` reads, from the generator's SampleFile list."""
    files: list[dict[str, Any]] = []
    datasets: dict[tuple[str, str], list[str]] = {}
    for sample in samples:
        dataset = layout.dataset_name(sample.collection, sample.kind)
        datasets.setdefault((sample.collection, sample.kind), []).append(sample.name)
        meta = {_metadata_key(k): _plain(v) for k, v in dict(sample.metadata).items() if v is not None}
        meta.setdefault("collection", sample.collection)
        meta.setdefault("sample_kind", sample.kind)
        if sample.dsid is not None:
            meta["dsid"] = int(sample.dsid)
        files.append(
            {
                "path": str(Path(sample.path).resolve()),
                "name": sample.name,
                "dataset": dataset,
                "metadata": meta,
            }
        )
    dataset_entries = [
        {
            "name": layout.dataset_name(collection, kind),
            "metadata": {
                "collection": collection,
                "sample_kind": kind,
                "energy_tev": 13,
                "n_files": len(names),
                "description": DATASET_DESCRIPTIONS.get((collection, kind), f"{collection} {kind}"),
            },
        }
        for (collection, kind), names in sorted(datasets.items())
    ]
    containers: dict[str, list[str]] = {}
    for collection, kind in sorted(datasets):
        containers.setdefault(collection, []).append(layout.dataset_name(collection, kind))
    container_entries = [
        {
            "name": layout.container_name(collection),
            "datasets": names,
            "metadata": {
                "collection": collection,
                "energy_tev": 13,
                "lumi_ifb": 10.0,
                "release": "ATLAS Open Data for education, 13 TeV (synthetic stand-in)",
            },
        }
        for collection, names in containers.items()
    ]
    return {
        "scope": layout.OPEN_DATA_SCOPE,
        "rse": upload_rse,
        "replicate_to": [layout.REPLICA_RSE],
        "files": files,
        "datasets": dataset_entries,
        "containers": container_entries,
    }


def generate(outdir: Path, *, scale: float, seed: int = 2020) -> list[Any]:
    """Run the sample generator in this (vrelab's) environment."""
    try:
        from . import samples as sample_module
    except ImportError as exc:
        raise LakeServerError(
            f"the sample generator is not available ({exc}); "
            "install vrelab's lake extra: pip install 'vrelab[lake]'"
        ) from None
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    try:
        produced = list(sample_module.generate_samples(outdir, scale=scale, seed=seed))
    except ImportError as exc:
        raise LakeServerError(
            f"generating the sample ROOT files needs uproot ({exc}); pip install 'vrelab[lake]'"
        ) from None
    if not produced:
        raise LakeServerError("the sample generator produced no files")
    return produced


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    write_private(path, json.dumps(manifest, indent=1) + "\n")
