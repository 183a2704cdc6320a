"""Memory of one student's Jupyter server with vrelab, for sizing a hub (docs/operations.md).

    python benchmarks/server_memory.py [--likelihood sbottom-RegionA] [--patches 8] [--workers 2]

Starts a real ``jupyter lab`` with vrelab (as JupyterHub would spawn it) and prints the resident
set size (VmRSS, and the peak VmHWM) of:

(a) the server idle, vrelab loaded, after its first API calls (status, openapi.json);
(b) the server after a workspace upload (``POST fit/workspaces``), a ``fit.hypotest`` and a
    ``fit.scan`` of ``--patches`` patches: pyhf and the validated workspace now live in it;
(c) the server's child processes during that scan — the fit workers, and multiprocessing's
    resource tracker — (the largest one, and their sum at the busiest moment), sampled every
    50 ms from /proc;
(d) a Python kernel that imported what the school notebooks import (vrelab's client and widgets,
    pyhf, matplotlib), started with jupyter_client.

Linux only (/proc). Figures are RSS: pages shared between processes (libraries) count in each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from servers import JupyterServerProcess

BESIDE_REPO = Path(__file__).resolve().parents[2] / "shared" / "likelihoods"
DEFAULT_DIR = Path(os.environ.get("VRELAB_LIKELIHOODS") or BESIDE_REPO)
MB = 1024 * 1024


def rss(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in bytes."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(rest.split()[0]) * 1024
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0)


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class WorkerSampler(threading.Thread):
    """The fit workers' memory while a scan runs: the largest worker and the largest sum."""

    def __init__(self, server_pid: int):
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.stop = threading.Event()
        self.largest = 0
        self.largest_sum = 0
        self.most = 0

    def run(self) -> None:
        while not self.stop.wait(0.05):
            sizes = []
            for pid in descendants(self.server_pid):
                try:
                    sizes.append(rss(pid)[0])
                except OSError:
                    continue
            if sizes:
                self.largest = max(self.largest, *sizes)
                self.largest_sum = max(self.largest_sum, sum(sizes))
                self.most = max(self.most, len(sizes))


def submit_and_wait(server: JupyterServerProcess, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    from vrelab.client import Client

    with Client(server.url, server.token, timeout=900) as client:
        job = client.wait(client.submit(kind, params)["id"])
    if job["state"] != "succeeded":
        sys.exit(f"{kind} {job['state']}: {job.get('error')}")
    return job


def kernel_rss() -> tuple[int, int]:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        kc.execute_interactive(
            "import vrelab.client, vrelab.widgets, pyhf, matplotlib.pyplot as plt\n"
            "plt.plot([1, 2], [3, 4]); plt.gcf().canvas.draw()",
            timeout=300,
        )
        pid = km.provisioner.process.pid  # type: ignore[union-attr]
        return rss(pid)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def show(label: str, sizes: tuple[int, int]) -> None:
    print(f"{label}: RSS {sizes[0] / MB:.0f} MiB (peak {sizes[1] / MB:.0f} MiB)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--likelihood", default="sbottom-RegionA", help="a folder of the likelihoods directory")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the likelihoods directory")
    parser.add_argument("--patches", type=int, default=8, help="how many patches the scan computes")
    parser.add_argument("--workers", type=int, default=2, help="VRELab.fit_workers")
    args = parser.parse_args()

    folder = args.dir / args.likelihood
    if not folder.is_dir():
        sys.exit(f"no likelihood folder {folder}: give --dir and --likelihood")
    print(f"{os.cpu_count()} cores; python {sys.version.split()[0]}; likelihood {args.likelihood}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="vrelab-memory-"))
    server = JupyterServerProcess(workdir, app="lab", vrelab_config={"fit_workers": args.workers, "job_workers": 2})
    try:
        server.start()
        assert server.proc is not None
        pid = server.proc.pid
        for path in ("status", "openapi.json", "jobs", "metrics"):
            server.request("GET", path).raise_for_status()
        time.sleep(1)
        show("(a) jupyter lab + vrelab, idle", rss(pid))

        shutil.copytree(folder, server.root / args.likelihood)
        r = server.request("POST", "fit/workspaces", json={"path": args.likelihood})
        r.raise_for_status()
        ws = r.json()
        r = server.request("GET", f"fit/workspaces/{ws['id']}/patches", params={"limit": args.patches + 1})
        r.raise_for_status()
        *names, single = [p["name"] for p in r.json()["patches"]][: args.patches + 1]
        submit_and_wait(server, "fit.hypotest", {"workspace_id": ws["id"], "patch": single})  # not in the scan
        sampler = WorkerSampler(pid)
        sampler.start()
        started = time.perf_counter()
        job = submit_and_wait(server, "fit.scan", {"workspace_id": ws["id"], "patches": names})
        elapsed = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
        time.sleep(1)
        show(f"(b) the server after a hypotest and a {len(names)}-point scan ({elapsed:.0f} s)", rss(pid))
        print(
            f"(c) child processes during the scan: largest {sampler.largest / MB:.0f} MiB, "
            f"at most {sampler.most} processes together {sampler.largest_sum / MB:.0f} MiB "
            f"({job['result']['n_points']} points, {job['result']['n_failed']} failed)",
            flush=True,
        )
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    show("(d) a kernel after importing vrelab's client and widgets, pyhf, matplotlib", kernel_rss())


if __name__ == "__main__":
    main()
