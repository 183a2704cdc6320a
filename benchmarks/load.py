"""Many users at once: concurrent clients browsing the data lake while a scan and a download run.

    python benchmarks/load.py [--clients 50] [--seconds 30] [--likelihood 3L-eRJR] [--patches 8]

Starts, in one run: a temporary embedded data lake (real Rucio, samples at ``--scale``), a real
Jupyter server with vrelab pointed at it, then

(a) a quiet phase: ``--clients`` concurrent clients, each looping over GET status, a DID search
    (``ATLAS_OD_EDU:*``), a DID's details and its replicas with a pause of ``--think`` seconds on
    average between two requests (``--think 0``: back to back, the server saturated), for
    ``--seconds`` / 2;
(b) a busy phase: the same clients while a patchset scan (``fit.scan``) and, when the server has
    the ``lake.download`` job kind, downloads of the sample datasets run in the background.

It prints, per phase and per request type, the count, errors (any non-2xx answer or transport
error) and p50 / p99 latency, and the busy / quiet p99 ratio of ``status``.
Goals (issue "Reliability and security"): 0 errors; p99 of ``status`` <= 100 ms while busy.
The clients run in this process (asyncio + httpx), so they compete with the server for the same
cores: the figures are an upper bound of what a separate client machine would see.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from servers import JupyterServerProcess
from vrelab.lakeserver import LakeServer
from vrelab.lakeserver.processes import free_port

LIKELIHOODS = Path(__file__).resolve().parents[2] / "shared" / "likelihoods"
DATASETS = ["ATLAS_OD_EDU:GamGam.data", "ATLAS_OD_EDU:4lep.data", "ATLAS_OD_EDU:GamGam.mc", "ATLAS_OD_EDU:4lep.mc"]


def requests_for(instance: str) -> dict[str, tuple[str, dict[str, Any]]]:
    lake = f"lake/instances/{instance}"
    did = "ATLAS_OD_EDU:GamGam.data"
    return {
        "status": ("status", {}),
        "search": (f"{lake}/dids", {"pattern": "ATLAS_OD_EDU:*", "type": "all", "limit": 50}),
        "details": (f"{lake}/dids/{did}", {}),
        "replicas": (f"{lake}/dids/{did}/replicas", {"limit": 50}),
    }


async def one_client(
    http: httpx.AsyncClient,
    requests: dict[str, tuple[str, dict[str, Any]]],
    until: float,
    stats: dict[str, Any],
    think: float,
) -> None:
    names = list(requests)
    i = random.randrange(len(names))
    while time.monotonic() < until:
        if think:
            await asyncio.sleep(random.uniform(0.5, 1.5) * think)
        name = names[i % len(names)]
        i += 1
        path, params = requests[name]
        started = time.perf_counter()
        try:
            r = await http.get(path, params=params)
            ok = r.status_code < 300
            if not ok:
                stats["messages"][f"{name} {r.status_code}"] += 1
        except httpx.HTTPError as exc:
            ok = False
            stats["messages"][f"{name} {type(exc).__name__}"] += 1
        stats["latency"][name].append(time.perf_counter() - started)
        if not ok:
            stats["errors"][name] += 1


async def phase(
    server: JupyterServerProcess, instance: str, clients: int, seconds: float, think: float
) -> dict[str, Any]:
    stats: dict[str, Any] = {"latency": defaultdict(list), "errors": defaultdict(int), "messages": defaultdict(int)}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=server.api, headers=server.headers, timeout=60.0, limits=limits) as http:
        until = time.monotonic() + seconds
        await asyncio.gather(*(one_client(http, requests_for(instance), until, stats, think) for _ in range(clients)))
    return stats


def quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def report(title: str, stats: dict[str, Any]) -> None:
    print(f"\n{title}")
    print(f"  {'request':10s} {'count':>7s} {'errors':>7s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for name, values in sorted(stats["latency"].items()):
        print(
            f"  {name:10s} {len(values):7d} {stats['errors'][name]:7d} "
            f"{1000 * quantile(values, 0.5):8.1f} {1000 * quantile(values, 0.99):8.1f}"
        )
    for message, count in sorted(stats["messages"].items()):
        print(f"  error: {message} x{count}")


def start_background_work(server: JupyterServerProcess, args: argparse.Namespace, instance: str) -> list[str]:
    """Submit the scan (and downloads, when the server has that job kind); return the job ids."""
    jobs: list[str] = []
    with httpx.Client(base_url=server.api, headers=server.headers, timeout=120.0) as http:
        kinds = {k["kind"] for k in http.get("jobs/kinds").json()["kinds"]}
        folder = LIKELIHOODS / args.likelihood
        if folder.is_dir():
            shutil.copytree(folder, server.root / args.likelihood)
            r = http.post("fit/workspaces", json={"path": args.likelihood})
            r.raise_for_status()
            wid = r.json()["id"]
            names = [
                p["name"] for p in http.get(f"fit/workspaces/{wid}/patches", params={"limit": 1000}).json()["patches"]
            ]
            params: dict[str, Any] = {"workspace_id": wid, "patches": names[: args.patches]}
            if args.likelihood == "3L-eRJR":
                params["fix_shapesys_tau_above"] = 1e8
            r = http.post("jobs", json={"kind": "fit.scan", "params": params})
            r.raise_for_status()
            jobs.append(r.json()["id"])
        else:
            print(f"note: {folder} is missing: no scan runs during the busy phase")
        if "lake.download" in kinds:
            for i, did in enumerate(DATASETS):
                body = {"kind": "lake.download", "params": {"instance": instance, "dids": [did], "dest": f"dl{i}"}}
                r = http.post("jobs", json=body)
                if r.status_code < 300:
                    jobs.append(r.json()["id"])
                else:
                    print(f"note: download of {did} refused: {r.text[:200]}")
        else:
            print("note: this server has no lake.download job kind: no download runs during the busy phase")
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0, help="both phases together")
    parser.add_argument("--likelihood", default="3L-eRJR")
    parser.add_argument("--patches", type=int, default=8)
    parser.add_argument("--scale", type=float, default=0.2, help="sample size of the temporary lake")
    parser.add_argument("--fit-nice", type=int, default=None, help="VRELab.fit_worker_nice (server default: 10)")
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="mean pause of a client between two requests, in s (a person clicking or a widget polling); "
        "0 sends back to back (saturation)",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="vrelab-load-"))
    lake = LakeServer(home=workdir / "lake", port=free_port(), sample_scale=args.scale)
    server: JupyterServerProcess | None = None
    try:
        info = lake.up(progress=lambda msg: print(f"[lake] {msg}"))
        config = json.loads(Path(info.jupyter_config).read_text())["VRELab"]
        instance = config["default_lake_instance"]
        server_config = {**config, "max_active_jobs_per_user": 100}
        if args.fit_nice is not None:
            server_config["fit_worker_nice"] = args.fit_nice
        server = JupyterServerProcess(workdir / "server", vrelab_config=server_config)
        server.start()
        pace = f"pausing {args.think:g} s on average" if args.think else "back to back"
        print(f"{args.clients} clients {pace}, {os.cpu_count()} cores, load average {os.getloadavg()}")
        quiet = asyncio.run(phase(server, instance, args.clients, args.seconds / 2, args.think))
        jobs = start_background_work(server, args, instance)
        busy = asyncio.run(phase(server, instance, args.clients, args.seconds / 2, args.think))
        with httpx.Client(base_url=server.api, headers=server.headers, timeout=30.0) as http:
            states = [http.get(f"jobs/{j}").json() for j in jobs]
        report("(a) quiet", quiet)
        report(f"(b) busy: {len(jobs)} background job(s) ({', '.join(s['kind'] for s in states)})", busy)
        for s in states:
            p = s["progress"]
            print(f"  job {s['kind']}: {s['state']}, progress {p.get('done')}/{p.get('total')}")
        errors = sum(quiet["errors"].values()) + sum(busy["errors"].values())
        p99_busy = 1000 * quantile(busy["latency"]["status"], 0.99)
        p99_quiet = 1000 * quantile(quiet["latency"]["status"], 0.99)
        print(f"\nerrors: {errors}   (goal 0)")
        print(f"status p99 busy: {p99_busy:.1f} ms   (goal <= 100 ms); busy / quiet: {p99_busy / p99_quiet:.2f}")
        print(f"load average at the end: {os.getloadavg()} (other work on the machine raises every figure)")
    finally:
        if server is not None:
            server.stop()
        lake.down()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
