"""A patchset scan: vrelab's (through the REST API) against the naive loop a user writes.

    python benchmarks/fit_scan.py [--likelihood 3L-eRJR] [--patches N] [--workers 2] [--engine both]

In one run, on the same likelihood and the same patches:

(a) the naive baseline: in this process, sequentially, for every patch a fresh (validated) model
    and one ``pyhf.infer.hypotest`` (CLs at mu = 1, qtilde, asymptotics, numpy + scipy, the
    measurement's fixed parameters — and for 3L-eRJR its ultra-stiff gammas fixed, as its
    reference.json says). It runs in two halves, before and after (b), so that a change of the
    machine's load during the run weighs on both alike;
(b) vrelab's scan: a real Jupyter server with vrelab (``VRELab.fit_workers = --workers``),
    ``POST fit/workspaces`` then ``POST jobs {"kind": "fit.scan"}``, timed from submission to
    the job's end (worker start-up included), with an empty result cache;
(c) the same scan request again (answered from the cache);
(d) with ``--engine both`` (the default) or ``jax``: the scan on the compiled jax engine, through the
    same server (an empty result cache and an *empty JAX compilation cache*: compile included),
    then once more at another POI value (new results, compiled code from the persistent cache:
    compile excluded); ``--engine pyhf`` runs (b) and (c) only, ``--engine jax`` skips (b);
(e) the engine in this process: every patch of the patchset in one call (compile included),
    then again (compile excluded), and its largest CLs difference to the references over *all*
    patches.

It prints the speed-up (a) / (b), the parallel efficiency of (b) — the workers' busy time over
workers x wall time —, (c) / (b), and the largest CLs difference between (a), (b) and the
reference values computed with pyhf 0.7.6 (``reference.json``), for every patch scanned.

Goals (issue "Likelihood fitting"): (b) at least 3x faster than (a) on 2 cores; (c) at most 1%
of (b); CLs within 1e-4 of the reference. The machine's other work changes every figure: only
the ratios of one run mean something.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from servers import JupyterServerProcess

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "likelihoods"
STIFF_TAU = 1e8


def naive_point(pyhf: Any, ws: Any, patch: list[dict[str, Any]], fix_stiff: bool) -> tuple[float, list[float]]:
    """What a user's loop does: a fresh model for the patch and one hypotest."""
    model = ws.model(patches=[patch])
    data = ws.data(model)
    init = model.config.suggested_init()
    fixed = model.config.suggested_fixed()
    if fix_stiff:
        for name, kind in model.config.modifiers:
            if kind != "shapesys":
                continue
            sl = model.config.par_slice(name)
            for i, tau in enumerate(model.config.param_set(name).factors):
                if tau > STIFF_TAU:
                    fixed[sl.start + i] = True
                    init[sl.start + i] = 1.0
    cls_obs, cls_exp = pyhf.infer.hypotest(
        1.0, data, model, init_pars=init, fixed_params=fixed, test_stat="qtilde", return_expected_set=True
    )
    return float(cls_obs), [float(v) for v in cls_exp]


def spread(patches: list[dict[str, Any]], n: int | None) -> list[dict[str, Any]]:
    ordered = sorted(patches, key=lambda p: p["metadata"]["values"])
    if not n or n >= len(ordered):
        return ordered
    step = (len(ordered) - 1) / max(1, n - 1)
    picked = {round(i * step) for i in range(n)}
    return [ordered[i] for i in sorted(picked)]


def run_job(server: JupyterServerProcess, params: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """Submit the scan and follow it over the server-sent event stream, as the client library and
    the widgets do (polling GET jobs/{id} at a high rate would itself take CPU from the workers)."""
    from vrelab.client import Client

    with Client(server.url, server.token, timeout=600) as client:
        started = time.perf_counter()
        job = client.wait(client.submit("fit.scan", params)["id"])
        elapsed = time.perf_counter() - started
    if job["state"] != "succeeded":
        sys.exit(f"the scan {job['state']}: {job.get('error')}")
    return job["result"], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--likelihood", default="3L-eRJR", help="a folder of the likelihoods directory")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the likelihoods directory")
    parser.add_argument("--patches", type=int, default=None, help="only N patches spread over the grid")
    parser.add_argument("--workers", type=int, default=2, help="VRELab.fit_workers")
    parser.add_argument("--nice", type=int, default=None, help="VRELab.fit_worker_nice (server default: 10)")
    parser.add_argument(
        "--engine", choices=("both", "jax", "pyhf"), default="both", help="which vrelab scan paths to measure"
    )
    args = parser.parse_args()

    import pyhf

    folder = args.dir / args.likelihood
    background = json.loads((folder / "BkgOnly.json").read_text())
    patchset = json.loads((folder / "patchset.json").read_text())
    patches = spread(patchset["patches"], args.patches)
    names = [p["metadata"]["name"] for p in patches]
    fix_stiff = args.likelihood == "3L-eRJR"
    ref_path = folder / "reference.json"
    reference = json.loads(ref_path.read_text())["results"] if ref_path.is_file() else {}
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    except ImportError:
        blas = "threadpoolctl not installed"
    print(f"{args.likelihood}: {len(patches)} patches; {os.cpu_count()} cores; pyhf {pyhf.__version__}; {blas}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; load average {os.getloadavg()}")

    pyhf.set_backend("numpy")
    ws = pyhf.Workspace(background)
    naive: dict[str, tuple[float, list[float]]] = {}
    half = len(patches) // 2

    def baseline(part: list[dict[str, Any]]) -> float:
        started = time.perf_counter()
        for p in part:
            naive[p["metadata"]["name"]] = naive_point(pyhf, ws, p["patch"], fix_stiff)
        return time.perf_counter() - started

    t_naive = baseline(patches[:half])
    print(f"(a) naive loop, first half: {half} patches in {t_naive:.1f} s", flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="vrelab-fit-bench-"))
    config: dict[str, Any] = {"fit_workers": args.workers}
    if args.nice is not None:
        config["fit_worker_nice"] = args.nice
    jax_cache = workdir / "cache"
    server = JupyterServerProcess(workdir, vrelab_config=config, env={"VRELAB_CACHE_DIR": str(jax_cache)})
    engine_runs: dict[str, tuple[dict[str, Any], float]] = {}
    first = second = None
    t_first = t_second = 0.0
    try:
        server.start()
        shutil.copytree(folder, server.root / args.likelihood)
        t0 = time.perf_counter()
        r = server.request("POST", "fit/workspaces", json={"path": args.likelihood})
        r.raise_for_status()
        wid = r.json()["id"]
        t_store = time.perf_counter() - t0
        params: dict[str, Any] = {"workspace_id": wid, "patches": names, "workers": args.workers}
        if fix_stiff:
            params["fix_shapesys_tau_above"] = STIFF_TAU
        if args.engine in ("both", "pyhf"):
            first, t_first = run_job(server, {**params, "engine": "pyhf"})
            print(f"(b) vrelab scan: {len(names)} patches in {t_first:.1f} s ({first['executor']})", flush=True)
            print("    seconds per point:", " ".join(f"{p['seconds']:.2f}" for p in first["points"]), flush=True)
            second, t_second = run_job(server, {**params, "engine": "pyhf"})
        if args.engine in ("both", "jax"):
            cold = run_job(server, {**params, "engine": "jax"})
            print(f"(d) jax engine scan, empty compilation cache: {cold[1]:.1f} s ({cold[0]['executor']})", flush=True)
            warm = run_job(server, {**params, "engine": "jax", "poi_value": 1.5})
            print(f"(d) jax engine scan at mu = 1.5, compiled code cached: {warm[1]:.1f} s", flush=True)
            again = run_job(server, {**params, "engine": "jax"})
            engine_runs = {"cold": cold, "warm": warm, "again": again}
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    t_naive += baseline(patches[half:])
    print(f"(a) naive loop, both halves: {len(patches)} patches in {t_naive:.1f} s", flush=True)

    def deviation(point: dict[str, Any], obs: float, exp: list[float]) -> float:
        return max(abs(point["CLs_obs"] - obs), *(abs(a - b) for a, b in zip(point["CLs_exp"], exp, strict=True)))

    def compare(result: dict[str, Any]) -> tuple[float, float]:
        dev_naive = dev_ref = 0.0
        for point in result["points"]:
            if point["error"]:
                print(f"   point {point['patch']} FAILED: {point['error']}")
                continue
            dev_naive = max(dev_naive, deviation(point, *naive[point["patch"]]))
            ref = reference.get(point["patch"])
            if ref:
                dev_ref = max(dev_ref, deviation(point, ref["CLs_obs"], ref["CLs_exp"]))
        return dev_naive, dev_ref

    print()
    print(f"load average now {os.getloadavg()} (the machine is shared: every figure is noisy)")
    print(f"storing the workspace (validate, inspect, digest; once): {t_store:.1f} s")
    print(f"naive loop:           {t_naive:8.1f} s  ({t_naive / len(patches):.2f} s per patch)")
    nice = "default" if args.nice is None else args.nice
    if first is not None:
        busy = sum(p["seconds"] for p in first["points"])
        efficiency = busy / (t_first * max(1, first["workers"]))
        median = sorted(p["seconds"] for p in first["points"])[len(first["points"]) // 2]
        dev_naive, dev_ref = compare(first)
        print(
            f"vrelab scan (pyhf):   {t_first:8.1f} s  ({args.workers} workers at nice {nice}, "
            f"{first['n_failed']} failed; per-patch median {median:.2f} s)"
        )
        print(f"speed-up:             {t_naive / t_first:8.2f} x   (goal >= 3 on 2 cores)")
        print(f"parallel efficiency:  {efficiency:8.2f}     (workers' busy time / (workers x wall time))")
        print(f"second request:       {t_second:8.3f} s = {100 * t_second / t_first:.3f}% of the first (goal <= 1%)")
        print(f"max |CLs vrelab - naive|:     {dev_naive:.2e}")
        if reference:
            print(f"max |CLs vrelab - reference|: {dev_ref:.2e}  (goal < 1e-4)")
    if engine_runs:
        (cold, t_cold), (_warm, t_warm), (_again, t_again) = (
            engine_runs["cold"],
            engine_runs["warm"],
            engine_runs["again"],
        )
        dev_naive, dev_ref = compare(cold)
        median = sorted(p["seconds"] for p in cold["points"])[len(cold["points"]) // 2]
        print(
            f"jax engine scan:      {t_cold:8.1f} s  compile included ({t_naive / t_cold:.1f} x naive"
            + (f", {t_first / t_cold:.1f} x the pyhf scan" if first is not None else "")
            + f"); per-patch median {median:.3f} s"
        )
        print(f"jax engine scan:      {t_warm:8.1f} s  compile cached on disk ({t_naive / t_warm:.1f} x naive)")
        print(f"second request:       {t_again:8.3f} s = {100 * t_again / t_cold:.3f}% of the first")
        print(f"max |CLs engine - naive|:     {dev_naive:.2e}")
        if reference:
            print(f"max |CLs engine - reference|: {dev_ref:.2e}  (goal < 1e-4)")
    if args.engine in ("both", "jax"):
        in_process(folder, background, patchset, reference, fix_stiff, t_naive / len(patches))


def in_process(
    folder: Path,
    background: dict[str, Any],
    patchset: dict[str, Any],
    reference: dict[str, Any],
    fix_stiff: bool,
    naive_per_patch: float,
) -> None:
    """(e) the engine in this process over every patch: compile included, then excluded."""
    os.environ["VRELAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="vrelab-jax-cache-")
    from vrelab.fit.engine.batch import hypotests
    from vrelab.fit.engine.layout import Background
    from vrelab.fit.engine.runtime import setup

    setup()
    started = time.perf_counter()
    bg = Background(background, fix_shapesys_tau_above=STIFF_TAU if fix_stiff else None)
    layouts = [bg.layout(p["patch"]) for p in patchset["patches"]]
    t_layout = time.perf_counter() - started
    outcomes = hypotests(layouts, 1.0)
    t_cold = time.perf_counter() - started
    started = time.perf_counter()
    outcomes = hypotests(layouts, 1.0)
    t_warm = time.perf_counter() - started
    worst, worst_name, over = 0.0, "", []
    for patch, out in zip(patchset["patches"], outcomes, strict=True):
        ref = reference.get(patch["metadata"]["name"])
        if out.problem or ref is None:
            if out.problem:
                print(f"   {patch['metadata']['name']}: {out.problem}")
            continue
        dev = max(
            abs(a - b) for a, b in zip([out.cls_obs, *out.cls_exp], [ref["CLs_obs"], *ref["CLs_exp"]], strict=True)
        )
        if dev > worst:
            worst, worst_name = dev, patch["metadata"]["name"]
        if dev > 1e-4:
            over.append(patch["metadata"]["name"])
    n = len(layouts)
    print(
        f"(e) engine in one process, all {n} patches: {t_cold:.1f} s compile included "
        f"({t_layout:.1f} s of it building the arrays), {t_warm:.2f} s warm ({1000 * t_warm / n:.0f} ms per patch; "
        f"{naive_per_patch * n / t_cold:.0f} x / {naive_per_patch * n / t_warm:.0f} x the naive loop's pace)"
    )
    if reference:
        print(
            f"    max |CLs engine - reference| over all patches: {worst:.2e} ({worst_name}); > 1e-4: {over or 'none'}"
        )


if __name__ == "__main__":
    main()
