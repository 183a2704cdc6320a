"""Paths of the client's machine as the server names them."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["server_path"]


def server_path(path: str | os.PathLike[str]) -> str:
    """A file of this machine as the server names it: relative to the server's root folder.

    A kernel's working folder is somewhere inside the root (``VRELAB_SERVER_ROOT``, which the
    server exports to its kernels, or ``VRELAB_ROOT_DIR``), so ``"result.root"`` written by a notebook becomes
    ``"analysis/result.root"``. Paths that do not exist here are taken as root-relative already.
    """
    text = os.fspath(path)
    root = os.environ.get("VRELAB_SERVER_ROOT") or os.environ.get("VRELAB_ROOT_DIR")
    local = Path(text).expanduser()
    if not root or not (local.is_absolute() or local.exists()):
        return text
    try:
        return local.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return text  # outside the root: the server refuses it with a clear message
