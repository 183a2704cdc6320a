"""Units shown to people: the one size formatter of the CLI, the widgets and the notebooks.

Sizes are decimal (kB, MB, GB: powers of 1000), as Rucio and the sidebar show them, so a quota reads
the same wherever it is shown.
"""

from __future__ import annotations

from typing import Any

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def format_bytes(n: Any, *, missing: str = "-") -> str:
    """``1234567`` -> ``"1.2 MB"``; ``None`` (size unknown) -> *missing*."""
    if n is None or isinstance(n, bool):
        return missing
    try:
        value = float(n)
    except (TypeError, ValueError):
        return missing
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return missing  # pragma: no cover - the loop always returns
