"""How long the embedded data lake takes to start.

    python benchmarks/lake_startup.py [--home DIR] [--port N] [--scale X] [--keep]

Measures, with the real ``vrelab lake up`` command (a subprocess, as a user runs it):

- cold: a new lake (the server venv already cached): schema, root account, RSEs, accounts,
  sample generation and registration, until the server answers with the samples present;
- warm: ``vrelab lake down`` then ``vrelab lake up`` of that lake, until the server answers with
  the samples present. The goal is <= 15 s on a 2-core machine.

Without ``--home`` it uses a temporary lake and wipes it afterwards (``--keep`` leaves it).
The server venv must exist already for a meaningful number (the first ``vrelab lake up`` ever
builds it, ~100 s of pip); this script says so if it does not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vrelab.lakeserver import OPEN_DATA_SCOPE, LakeServer
from vrelab.lakeserver.processes import free_port
from vrelab.lakeserver.restapi import RucioREST, ping

GOAL_SECONDS = 15.0


def vrelab(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "vrelab", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"vrelab {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc


def samples_present(server: LakeServer, url: str) -> bool:
    if ping(url) is None:
        return False
    with RucioREST(url, "root", server.password("root")) as api:
        return bool(api.collections(OPEN_DATA_SCOPE))


def timed_up(server: LakeServer, home: Path, extra: list[str]) -> float:
    started = time.monotonic()
    vrelab("lake", "up", "--home", str(home), *extra)
    settings = server.settings
    assert settings is not None
    while not samples_present(server, settings.url):
        if time.monotonic() - started > 300:
            sys.exit("the lake did not show its samples within 300 s")
        time.sleep(0.1)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, help="lake to use (default: a temporary one, wiped afterwards)")
    parser.add_argument("--port", type=int, help="port for a new lake (default: a free one)")
    parser.add_argument("--scale", type=float, default=1.0, help="sample size factor for a new lake")
    parser.add_argument("--keep", action="store_true", help="leave the temporary lake (and keep it running)")
    args = parser.parse_args()

    temporary = args.home is None
    home = args.home or Path(tempfile.mkdtemp(prefix="vrelab-lake-bench-"))
    server = LakeServer(home=home)
    if not server.venv.is_ready():
        print(f"note: the server venv {server.venv.path} is not built yet: the cold number includes pip")
    print(f"lake home: {home}  (cpus: {os.cpu_count()})")
    try:
        if not server.paths.seeded_marker.exists():
            port = str(args.port or free_port())
            cold = timed_up(server, home, ["--port", port, "--scale", str(args.scale)])
            what = f"new lake: schema, RSEs, accounts, samples at scale {args.scale}"
            print(f"cold start ({what}): {cold:6.1f} s")
        vrelab("lake", "down", "--home", str(home))
        warm = timed_up(server, home, [])
        verdict = "OK" if warm <= GOAL_SECONDS else "SLOWER THAN THE GOAL"
        print(f"warm start (`vrelab lake up` -> server answering with samples): {warm:6.1f} s  "
              f"[goal <= {GOAL_SECONDS:.0f} s: {verdict}]")  # fmt: skip
    finally:
        if temporary and not args.keep:
            server.reset()
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
