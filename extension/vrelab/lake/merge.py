"""Merging ROOT files that share a tree, like ``hadd``, with uproot (no ROOT installation needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import BadRequest


def common_tree(paths: list[Path], tree: str | None = None) -> str:
    """The tree to merge: ``tree`` if every file has it, else the one TTree name all files share."""
    import uproot

    shared: set[str] | None = None
    for path in paths:
        with uproot.open(path) as f:
            names = {k.split(";")[0] for k, cls in f.classnames().items() if cls == "TTree"}
        shared = names if shared is None else shared & names
    shared = shared or set()
    if tree is not None:
        if tree not in shared:
            raise BadRequest(
                f"Not every file has a tree named {tree!r}; they share: {', '.join(sorted(shared)) or 'none'}."
            )
        return tree
    if len(shared) != 1:
        raise BadRequest(
            f"The files share {len(shared)} trees ({', '.join(sorted(shared)) or 'none'}); name the one to merge "
            "with 'tree'."
        )
    return next(iter(shared))


def merge(
    paths: list[Path],
    out: Path,
    tree: str,
    *,
    step: Callable[[str], None] = lambda text: None,
) -> dict[str, Any]:
    """Write one file holding ``tree`` with the entries of every input, in order; returns its size
    and number of entries. Branches must agree across files (same names and types)."""
    import awkward as ak
    import uproot

    parts: list[Any] = []
    branches: list[str] | None = None
    for path in paths:
        with uproot.open(path) as f:
            t = f[tree]
            names = list(t.keys())
            if branches is None:
                branches = names
            elif set(names) != set(branches):
                raise BadRequest(f"{path.name}: its {tree!r} tree has other branches than the first file's.")
            parts.append(t.arrays(branches, library="ak"))
        step(f"read {path.name}")
    assert branches is not None
    merged = ak.concatenate(parts) if len(parts) > 1 else parts[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with uproot.recreate(tmp) as f:
        f[tree] = {name: merged[name] for name in branches}
    tmp.replace(out)
    step(f"wrote {out.name}")
    return {"entries": len(merged), "bytes": out.stat().st_size, "branches": len(branches)}
