"""What this machine lets vrelab use: the CPUs of this process, as a container's limit sets them.

``os.cpu_count()`` is the host's count: inside a container limited to 2 CPUs on a 64-core node it
says 64, and a default of one worker per CPU would start 64 fit workers of ~190 MB each.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["usable_cpus"]

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _quota_cpus(cgroup_root: Path) -> float | None:
    """The CPU quota of this process's cgroup (v2 ``cpu.max``, else v1 CFS), in CPUs; None if unlimited."""
    try:
        quota, period = (cgroup_root / "cpu.max").read_text().split()[:2]
        if quota != "max" and float(period) > 0:
            return float(quota) / float(period)
        return None
    except (OSError, ValueError):
        pass
    for folder in (cgroup_root / "cpu", cgroup_root / "cpu,cpuacct", cgroup_root):
        try:
            quota_us = int((folder / "cpu.cfs_quota_us").read_text())
            period_us = int((folder / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return quota_us / period_us if quota_us > 0 and period_us > 0 else None
    return None


def usable_cpus(cgroup_root: Path = CGROUP_ROOT) -> int:
    """How many CPUs this process may run on: its affinity, capped by its cgroup's quota (at least 1)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = _quota_cpus(cgroup_root)
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)
