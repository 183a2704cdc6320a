"""Keeping user-given paths inside the user's root folder."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import BadRequest, Forbidden


def resolve_inside(root: str | os.PathLike[str], user_path: str, *, must_exist: bool = False) -> Path:
    """Resolve ``user_path`` (relative to ``root``) and refuse anything that lands outside ``root``.

    Absolute paths, ``..`` components and symbolic links that lead out of ``root`` are refused
    with :class:`Forbidden`; the check is made on the fully resolved path, so a symlink planted
    inside the root cannot be used to write elsewhere.
    """
    if not isinstance(user_path, str):
        raise BadRequest("A path must be a string.")
    if "\x00" in user_path:
        raise BadRequest("A path may not contain NUL characters.")
    root_path = Path(root).resolve()
    candidate = Path(user_path.strip())
    if candidate.is_absolute():
        raise Forbidden(
            f"Absolute paths are not allowed here: give a path relative to your home folder ({user_path!r}).",
            details={"path": user_path},
        )
    resolved = (root_path / candidate).resolve()
    if resolved != root_path and root_path not in resolved.parents:
        raise Forbidden(
            f"The path {user_path!r} leads outside your home folder.", details={"path": user_path}
        )
    if must_exist and not resolved.exists():
        from .errors import NotFound

        raise NotFound(f"No such file or folder: {user_path!r}.", details={"path": user_path})
    return resolved


def relative_to_root(root: str | os.PathLike[str], path: Path) -> str:
    """The path as the user sees it: relative to the root, with forward slashes."""
    return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
