"""vrelab: a Jupyter workbench for open science in particle physics.

The server extension serves one REST API (``{base_url}vrelab/api/v1``) over the data lake,
likelihood fits and workflows; :mod:`vrelab.client` speaks it from kernels and scripts, and the
widgets and the ``vrelab`` command are built on that client.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["__version__"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "vrelab"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "vrelab"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from .extension import load_jupyter_server_extension

    load_jupyter_server_extension(serverapp)


def _unload_jupyter_server_extension(serverapp: Any) -> None:
    from .extension import unload_jupyter_server_extension

    unload_jupyter_server_extension(serverapp)
