"""``python -m vrelab.lakeserver.samples OUTDIR [--scale X]``: write the samples, list them."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ...units import format_bytes
from .catalogue import COLLECTIONS
from .writing import generate_samples


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vrelab.lakeserver.samples OUTDIR [--scale X] [--seed N] [--collection C]``."""
    parser = argparse.ArgumentParser(
        prog="python -m vrelab.lakeserver.samples",
        description="Write synthetic ATLAS Open Data 13 TeV (2020 release) GamGam and 4lep samples.",
    )
    parser.add_argument("outdir", type=Path, help="directory to write <collection>/{Data,MC}/*.root into")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every event count (default 1.0)")
    parser.add_argument("--seed", type=int, default=2020, help="random seed (default 2020)")
    parser.add_argument(
        "--collection", action="append", choices=COLLECTIONS, dest="collections",
        help="collection to write (repeatable; default: all)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        files = generate_samples(
            args.outdir, scale=args.scale, seed=args.seed, collections=args.collections or COLLECTIONS
        )
    except ValueError as err:
        parser.error(str(err))
    elapsed = time.perf_counter() - start
    width = max(len(f.name) for f in files)
    print(f"{'file':<{width}}  {'kind':<4}  {'events':>8}  {'size':>9}")
    total_events = total_size = 0
    for f in files:
        size = f.path.stat().st_size
        events = int(f.metadata["events"])
        total_events += events
        total_size += size
        print(f"{f.name:<{width}}  {f.kind:<4}  {events:>8}  {format_bytes(size):>9}")
    print(
        f"{len(files)} files, {total_events} events, {format_bytes(total_size)} in {elapsed:.1f} s -> {args.outdir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
