"""vrelab's REST contract: an OpenAPI 3.1 document assembled from one YAML file per capability.

``base.yaml`` holds the document's head and the shared schemas; every other ``*.yaml`` here adds
``paths`` (relative to ``{base_url}vrelab/api/v1``) and ``components``. A test checks that the
route table and these paths are the same set.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

import yaml

from .._version import __version__


def _merge(into: dict[str, Any], other: dict[str, Any], where: str) -> None:
    for key, value in other.items():
        if key in into and isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value, f"{where}.{key}")
        elif key in into:
            raise ValueError(f"openapi: {where}.{key} is defined twice")
        else:
            into[key] = value


@functools.cache
def _spec() -> dict[str, Any]:
    folder = resources.files(__name__)
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))
    spec: dict[str, Any] = yaml.safe_load(folder.joinpath("base.yaml").read_text())
    for name in names:
        if name != "base.yaml":
            _merge(spec, yaml.safe_load(folder.joinpath(name).read_text()) or {}, name)
    spec["info"]["version"] = __version__
    return spec


def load_spec() -> dict[str, Any]:
    """The whole OpenAPI document (a fresh copy)."""
    return copy.deepcopy(_spec())
