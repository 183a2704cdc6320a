"""Recompute the fit-result fixtures the plot tests draw, from real fits on the shared likelihoods.

    python tests/data/fit_results/make_fixtures.py [--likelihoods DIR]

Starts a Jupyter server with vrelab (tests/servers.py), stores the likelihoods, runs the jobs
through ``Client().fit`` and writes each job's result here as JSON, floats rounded to 6
significant digits. Takes a few minutes (the 3L-eRJR scan has 64 patches). After a change
here, regenerate the plot baselines: ``VRELAB_UPDATE_PLOT_BASELINES=1 pytest tests/unit/test_fit_plots.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path[:0] = [str(REPO / "extension"), str(REPO / "tests")]

from servers import JupyterServerProcess  # noqa: E402
from vrelab.client import Client  # noqa: E402

SBOTTOM_PATCH = "sbottom_1400_330_200"
FIXTURES = ("sbottom_mle", "sbottom_hypotest", "sbottom_limit", "erjr_scan")


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def save(name: str, result: dict[str, Any]) -> None:
    keep = {k: v for k, v in result.items() if k not in ("wall_seconds", "cached", "workspace_id")}
    (HERE / name).write_text(json.dumps(rounded(keep), indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {name}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--likelihoods", type=Path, default=REPO.parent / "shared" / "likelihoods")
    parser.add_argument("--only", action="append", choices=FIXTURES, help="Make only this fixture (repeatable).")
    args = parser.parse_args()
    wanted = set(args.only or FIXTURES)
    with tempfile.TemporaryDirectory(prefix="vrelab-fixtures-") as tmp:
        server = JupyterServerProcess(Path(tmp), vrelab_config={"fit_workers": 2}).start()
        try:
            for name in ("sbottom-RegionA", "3L-eRJR"):
                shutil.copytree(args.likelihoods / name, server.root / name)
            with Client(server.url, server.token, timeout=120) as client:
                sbottom = client.fit.add(path="sbottom-RegionA")["id"]
                erjr = client.fit.add(path="3L-eRJR")["id"]
                jobs = {
                    "sbottom_mle": lambda: client.fit.mle(sbottom, patch=SBOTTOM_PATCH),
                    "sbottom_hypotest": lambda: client.fit.hypotest(sbottom, patch=SBOTTOM_PATCH),
                    "sbottom_limit": lambda: client.fit.limit(
                        sbottom, patch=SBOTTOM_PATCH, scan={"start": 0.0, "stop": 5.0, "steps": 21}
                    ),
                    "erjr_scan": lambda: client.fit.scan(erjr, fix_shapesys_tau_above=1e8, workers=2),
                }
                for name in FIXTURES:
                    if name in wanted:
                        save(f"{name}.json", jobs[name]())
        finally:
            server.stop()


if __name__ == "__main__":
    main()
