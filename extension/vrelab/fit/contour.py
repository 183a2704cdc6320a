"""Exclusion contours: where CLs crosses 0.05 in the plane of two of the patches' mass labels.

The scan points are scattered, so the plane is triangulated (Delaunay, on coordinates scaled
to the unit square) and log10(CLs) is interpolated linearly on each triangle ("marching
triangles"); the crossing segments are joined into polylines. One contour set is made for each
combination of the remaining labels' values (e.g. one per LSP mass of a three-label grid).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

__all__ = ["contours"]

CURVES = {"observed": None, "expected": 2, "expected_m1": 1, "expected_p1": 3, "expected_m2": 0, "expected_p2": 4}


def _segments(points: Any, values: Any, simplices: Any, level: float) -> list[tuple[tuple[float, ...], ...]]:
    out: list[tuple[tuple[float, ...], ...]] = []
    for tri in simplices:
        crossings = []
        for a, b in ((tri[0], tri[1]), (tri[1], tri[2]), (tri[2], tri[0])):
            va, vb = values[a] - level, values[b] - level
            if (va < 0) != (vb < 0):
                t = va / (va - vb)
                crossings.append(tuple(points[a] + t * (points[b] - points[a])))
        if len(crossings) == 2:
            out.append((crossings[0], crossings[1]))
    return out


def _join(segments: list[tuple[tuple[float, ...], ...]]) -> list[list[tuple[float, ...]]]:
    """Join segments sharing end points into polylines."""

    def key(p: tuple[float, ...]) -> tuple[float, ...]:
        return tuple(round(c, 9) for c in p)

    ends: dict[tuple[float, ...], list[int]] = defaultdict(list)
    for i, (a, b) in enumerate(segments):
        ends[key(a)].append(i)
        ends[key(b)].append(i)
    used = [False] * len(segments)
    lines = []
    for start in range(len(segments)):
        if used[start]:
            continue
        used[start] = True
        line = list(segments[start])
        for forward in (True, False):
            while True:
                tip = line[-1] if forward else line[0]
                nxt = next((j for j in ends[key(tip)] if not used[j]), None)
                if nxt is None:
                    break
                used[nxt] = True
                a, b = segments[nxt]
                other = b if key(a) == key(tip) else a
                if forward:
                    line.append(other)
                else:
                    line.insert(0, other)
        lines.append(line)
    return lines


def contours(
    labels: list[str], points: list[dict[str, Any]], axes: list[str] | None = None, level: float = 0.05
) -> list[dict[str, Any]]:
    """Contour polylines (in the labels' units) of CLs_obs and the expected band at ``level``."""
    import numpy as np

    good = [p for p in points if p.get("CLs_obs") is not None and p.get("CLs_exp")]
    if len(labels) < 2 or len(good) < 3:
        return []
    if axes is None:
        spread = sorted(
            range(len(labels)), key=lambda i: -len({p["values"][i] for p in good if len(p["values"]) == len(labels)})
        )
        axes_idx = sorted(spread[:2])
    else:
        axes_idx = [labels.index(a) for a in axes]
    rest = [i for i in range(len(labels)) if i not in axes_idx]
    groups: dict[tuple[float, ...], list[dict[str, Any]]] = defaultdict(list)
    for p in good:
        if len(p["values"]) == len(labels):
            groups[tuple(p["values"][i] for i in rest)].append(p)
    out = []
    for fixed, members in sorted(groups.items()):
        entry: dict[str, Any] = {
            "x": labels[axes_idx[0]],
            "y": labels[axes_idx[1]],
            "fixed": {labels[i]: v for i, v in zip(rest, fixed, strict=True)},
            "level": level,
            "n_points": len(members),
        }
        xy = np.array([[p["values"][axes_idx[0]], p["values"][axes_idx[1]]] for p in members], dtype=float)
        span = xy.max(axis=0) - xy.min(axis=0)
        if len(members) < 3 or np.any(span == 0):
            entry["error"] = "fewer than three points off a line: no contour"
            out.append(entry)
            continue
        from scipy.spatial import Delaunay, QhullError

        scaled = (xy - xy.min(axis=0)) / span
        try:
            tri = Delaunay(scaled)
        except (QhullError, ValueError) as exc:
            entry["error"] = f"the points cannot be triangulated: {str(exc).splitlines()[0]}"
            out.append(entry)
            continue
        for name, index in CURVES.items():
            raw = [p["CLs_obs"] if index is None else p["CLs_exp"][index] for p in members]
            values = np.array([math.log10(max(v, 1e-300)) if v is not None else np.nan for v in raw])
            if np.any(np.isnan(values)):
                keep = ~np.isnan(values)
                values = np.where(keep, values, 0.0)
            lines = _join(_segments(xy, values, tri.simplices, math.log10(level)))
            entry[name] = [[[float(x), float(y)] for x, y in line] for line in lines]
        out.append(entry)
    return out
