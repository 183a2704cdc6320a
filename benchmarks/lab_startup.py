"""How much the vrelab server extension adds to JupyterLab's start-up. Goal: at most +0.5 s.

    .venv/bin/python benchmarks/lab_startup.py [--repeat 5] [--app lab|server]

Starts ``jupyter lab`` (a real process, as a user runs it: --no-browser, a free port, a token, a
temporary root folder and Jupyter folders of its own) with vrelab's server extension enabled and
disabled, alternating (enabled, disabled, disabled, enabled, ...) so that drift in the machine's
load falls on both alike, after one untimed start of each to warm the disk cache. A start counts
from the process's creation until Jupyter's own HTTP API answers (``GET /api/status`` 200 with the
token). The CPU time the server process used until then is printed too: on a loaded machine it
varies much less than the wall-clock time. The script then checks the first ``/lab`` page and that
vrelab's API answers (200) when enabled and is absent (404) when disabled, so each run really was
what it claims.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

GOAL_SECONDS = 0.5
POLL_SECONDS = 0.02


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Start:
    enabled: bool
    api: float  # seconds until GET /api/status answered 200
    lab: float  # seconds until the first /lab page had come back (after the API answered)
    cpu: float  # CPU seconds (user + system) the server process had used when its API answered


def start_once(tmp: Path, app: str, enabled: bool, index: int) -> Start:
    run = tmp / f"{'on' if enabled else 'off'}-{index}"
    config_dir, root = run / "config", run / "root"
    config_dir.mkdir(parents=True)
    root.mkdir()
    # the user config folder wins over the venv's etc/jupyter, where the package enables vrelab
    config = {"ServerApp": {"jpserver_extensions": {"vrelab": enabled}}}
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "VRELAB"))}
    env.update(
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_RUNTIME_DIR=str(run / "runtime"),
        JUPYTER_DATA_DIR=str(run / "data"),
        VRELAB_DATA_DIR=str(tmp / "vrelab-data"),  # one state folder, as a user's is, kept across runs
    )
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyter", app, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    base, headers = f"http://127.0.0.1:{port}/", {"Authorization": f"token {token}"}
    log = open(run / "server.log", "wb")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with httpx.Client(headers=headers, timeout=5) as http:
            api = None
            while api is None:
                if proc.poll() is not None:
                    sys.exit(f"jupyter {app} exited:\n{(run / 'server.log').read_text()[-3000:]}")
                if time.monotonic() - t0 > 120:
                    sys.exit(f"jupyter {app} did not answer within 120 s:\n{(run / 'server.log').read_text()[-3000:]}")
                try:
                    if http.get(base + "api/status").status_code == 200:
                        api = time.monotonic() - t0
                        times = psutil.Process(proc.pid).cpu_times()
                        cpu = times.user + times.system
                        break
                except httpx.TransportError:
                    pass
                time.sleep(POLL_SECONDS)
            page = http.get(base + "lab")
            lab = time.monotonic() - t0
            if page.status_code != 200:
                sys.exit(f"/lab answered {page.status_code}")
            vrelab_status = http.get(base + "vrelab/api/v1/status").status_code
            if vrelab_status != (200 if enabled else 404):
                sys.exit(f"vrelab {'enabled' if enabled else 'disabled'}, yet its API answered {vrelab_status}")
        return Start(enabled, api, lab, cpu)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed starts of each kind (default 5)")
    ap.add_argument("--app", default="lab", choices=["lab", "server"], help="jupyter lab, or jupyter server")
    args = ap.parse_args()
    # ABBA order: enabled, disabled, disabled, enabled, ...
    order = [(i % 4) in (0, 3) for i in range(2 * args.repeat)]
    starts: list[Start] = []
    with tempfile.TemporaryDirectory(prefix="vrelab-lab-startup-") as name:
        tmp = Path(name)
        start_once(tmp, args.app, True, -1)  # warm-up, not counted
        start_once(tmp, args.app, False, -1)
        for i, enabled in enumerate(order):
            starts.append(start_once(tmp, args.app, enabled, i))
    on = [s for s in starts if s.enabled]
    off = [s for s in starts if not s.enabled]

    def line(runs: list[Start]) -> str:
        api = statistics.median(s.api for s in runs)
        lab = statistics.median(s.lab for s in runs)
        cpu = statistics.median(s.cpu for s in runs)
        each = " ".join(f"{s.api:.2f}" for s in runs)
        return f"API answering at median {api:5.2f} s, /lab page at {lab:5.2f} s, CPU {cpu:4.2f} s  (runs: {each})"

    print(f"jupyter {args.app} start, {args.repeat} alternating starts of each (cpus: {os.cpu_count()})")
    print(f"  vrelab disabled: {line(off)}")
    print(f"  vrelab enabled:  {line(on)}")
    base = statistics.median(s.api for s in off)
    with_vrelab = statistics.median(s.api for s in on)
    extra = with_vrelab - base
    cpu_extra = statistics.median(s.cpu for s in on) - statistics.median(s.cpu for s in off)
    # the k-th enabled start against the k-th disabled one, its neighbour in the ABBA order
    paired = statistics.median(a.api - b.api for a, b in zip(on, off, strict=True))
    verdict = "met" if extra <= GOAL_SECONDS else "NOT met"
    print(f"  enabled/disabled ratio {with_vrelab / base:.2f}, difference {extra:+.2f} s "
          f"[goal <= +{GOAL_SECONDS} s: {verdict}]; median paired difference {paired:+.2f} s; "
          f"CPU difference {cpu_extra:+.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
