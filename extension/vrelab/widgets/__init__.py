"""Notebook widgets (ipywidgets, no TypeScript), all built on :class:`vrelab.client.Client`.

``DataLakeBrowser`` browses and acts on the data lake, ``FitPanel`` runs fits on published
likelihoods, ``WorkflowPanel`` submits and follows workflows. Importing this package is cheap:
each widget's module is loaded when its name is first used.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "DataLakeBrowser": "lake",
    "FitPanel": "fit",
    "WorkflowPanel": "workflows",
    "ErrorBanner": "common",
    "JobProgress": "common",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'vrelab.widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return __all__
