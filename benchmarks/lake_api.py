"""Data-lake API speed against the real embedded Rucio lake.

    python benchmarks/lake_api.py [--rounds 200] [--files 100] [--size 20000] [--workers 4]

(a) DID listing: ``GET lake/instances/embedded/dids?pattern=ATLAS_OD_EDU:*`` through a vrelab
    server vs the same listing by rucio-clients directly (``list_dids(long=True)``, first page),
    interleaved call by call; prints p50/p95 of both and of the overhead (goal: <= 10 ms at p50).
(b) Download of ``--files`` small files (one dataset) through vrelab's ``lake.download`` job vs
    the ``rucio download`` command of the lake's own venv and client configuration, each into an
    empty folder, twice; prints the times and the ratio (goal: vrelab >= 2x faster).

Starts a temporary lake and a vrelab server (both stopped and wiped afterwards).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from servers import JupyterServerProcess
from vrelab.client import Client
from vrelab.lakeserver import LakeServer
from vrelab.lakeserver.processes import free_port

SCRATCH = "LAPP-SCRATCHDISK"


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float], q: float) -> str:
    return f"{1000 * quantile(values, q):7.2f} ms"


def rucio_client(url: str, account: str, password: str):  # type: ignore[no-untyped-def]
    from rucio.client import Client as RucioClient

    return RucioClient(
        rucio_host=url, auth_host=url, account=account, auth_type="userpass",
        creds={"username": account, "password": password},
    )  # fmt: skip


def listing(server: JupyterServerProcess, rucio, rounds: int, limit: int) -> None:  # type: ignore[no-untyped-def]
    http = httpx.Client(base_url=server.api, headers=server.headers, timeout=30)
    params = {"pattern": "ATLAS_OD_EDU:*", "type": "all", "limit": limit}
    path = "lake/instances/embedded/dids"

    def via_vrelab() -> int:
        r = http.get(path, params=params)
        r.raise_for_status()
        return len(r.json()["items"])

    def direct() -> int:
        rows = rucio.list_dids("ATLAS_OD_EDU", {"name": "*"}, did_type="all", long=True)
        return len(list(itertools.islice(rows, limit + 1))[:limit])

    assert via_vrelab() == direct(), "the two listings differ"
    for _ in range(10):  # warm both (token, connections)
        via_vrelab(), direct()
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        for fn, out in ((via_vrelab, a), (direct, b)):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    diff = [x - y for x, y in zip(a, b, strict=True)]
    print(f"(a) DID listing, {limit} rows, {rounds} rounds (interleaved)")
    print(f"    vrelab REST   p50 {ms(a, 0.5)}   p95 {ms(a, 0.95)}")
    print(f"    rucio-clients p50 {ms(b, 0.5)}   p95 {ms(b, 0.95)}")
    p50 = 1000 * (statistics.median(a) - statistics.median(b))
    print(f"    overhead      p50 {p50:7.2f} ms   p95 {ms(diff, 0.95)}   (goal p50 <= 10 ms)")
    http.close()


def make_dataset(rucio, workdir: Path, scope: str, files: int, size: int) -> str:  # type: ignore[no-untyped-def]
    from rucio.client.uploadclient import UploadClient

    src = workdir / "src"
    src.mkdir()
    dataset = f"bench_{uuid.uuid4().hex[:6]}"
    items = []
    for i in range(files):
        p = src / f"{dataset}_{i:03d}.root"
        p.write_bytes(os.urandom(size))
        items.append({"path": str(p), "rse": SCRATCH, "did_scope": scope, "dataset_scope": scope,
                      "dataset_name": dataset, "register_after_upload": True})  # fmt: skip
    UploadClient(_client=rucio, logger=logging.getLogger("bench")).upload(items)
    return f"{scope}:{dataset}"


def download(server: JupyterServerProcess, lake: LakeServer, info, did: str, workdir: Path, args) -> None:  # type: ignore[no-untyped-def]
    client = Client(server.url, server.token, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "RUCIO_HOME")}
    env["RUCIO_CONFIG"] = str(info.user_config)
    env["TMPDIR"] = str(workdir)
    rucio_cli = str(lake.venv.path / "bin" / "rucio")
    ours: list[float] = []
    theirs: list[float] = []
    inside: list[float] = []
    listed: list[float] = []
    for run in range(2):
        t = time.perf_counter()
        job = client.lake.download(did, dest=f"bench-{run}", workers=args.workers)
        ours.append(time.perf_counter() - t)
        inside.append(job["result"]["seconds"])
        listed.append(job["result"]["listing_seconds"])
        assert job["result"]["counts"]["downloaded"] == args.files, job["result"]["counts"]
        out = workdir / f"rucio-{run}"
        t = time.perf_counter()
        proc = subprocess.run([rucio_cli, "download", "--dir", str(out), did], env=env, capture_output=True,
                              text=True, check=False)  # fmt: skip
        theirs.append(time.perf_counter() - t)
        got = sum(1 for p in out.rglob("*") if p.is_file())
        if proc.returncode != 0 or got < args.files:
            print(f"rucio download failed ({proc.returncode}, {got} files):\n{proc.stderr[-2000:]}")
            return
    best_ours, best_theirs = min(ours), min(theirs)
    print(f"(b) download of {args.files} files x {args.size} B ({did})")
    print(f"    vrelab lake.download ({args.workers} workers): " + ", ".join(f"{x:.2f} s" for x in ours))
    print("      of which inside the job:          " + ", ".join(f"{x:.2f} s" for x in inside))
    print("      of which asking Rucio for replicas: " + ", ".join(f"{x:.2f} s" for x in listed))
    print("    rucio download (lake venv):         " + ", ".join(f"{x:.2f} s" for x in theirs))
    print(f"    speed-up (best of each): {best_theirs / best_ours:.1f}x   (goal >= 2x)")
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--limit", type=int, default=50, help="rows per DID listing")
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--scale", type=float, default=0.05, help="sample size of the temporary lake")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="vrelab-lake-api-"))
    lake = LakeServer(home=workdir / "lake", port=free_port(), sample_scale=args.scale)
    server: JupyterServerProcess | None = None
    try:
        info = lake.up(progress=lambda msg: print(f"[lake] {msg}"))
        config = json.loads(Path(info.jupyter_config).read_text())["VRELab"]
        server = JupyterServerProcess(workdir / "server", vrelab_config=config)
        server.start()
        print(f"{os.cpu_count()} cores, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        os.environ["RUCIO_CONFIG"] = str(info.user_config)  # rucio-clients' upload reads RSE settings by it
        rucio = rucio_client(info.url, info.user, lake.password(info.user))
        listing(server, rucio, args.rounds, args.limit)
        did = make_dataset(rucio, workdir, f"user.{info.user}", args.files, args.size)
        download(server, lake, info, did, workdir, args)
    finally:
        if server is not None:
            server.stop()
        lake.down()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
