"""Small real workflows shipped with vrelab (used by the tests and the school notebooks).

* ``recast/`` — the RECAST example: ``reana.yaml`` runs :mod:`.ntuple` (a toy "ntupling" step that
  selects diphoton events in an ATLAS-Open-Data-like signal file and histograms m_yy into the
  signal region's bins), whose ``yields.json`` is patched into ``background.json`` (a
  background-only likelihood with the same bins) to test the new signal at 95% CL.
* ``dag/`` — a three-step DAG (two parallel steps, then one).

:func:`example_path` gives the folder of an example; :func:`copy_example` copies one into a folder.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

__all__ = ["EXAMPLES", "copy_example", "example_path"]

EXAMPLES = ("recast", "dag")


def example_path(name: str) -> Path:
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; examples: {', '.join(EXAMPLES)}")
    return Path(str(resources.files(__name__).joinpath(name)))


def copy_example(name: str, dest: Path) -> Path:
    """Copy the example's files into ``dest`` (created); returns ``dest``."""
    dest = Path(dest)
    shutil.copytree(example_path(name), dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    return dest
