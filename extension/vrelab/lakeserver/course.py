"""The course material of the school notebooks, put into the lake's course scope by ``up``/``seed``.

Besides the samples, the notebooks read files that a teacher uploads for the course: the
published ATLAS staus likelihood as HEPData ships it (``ATLAS-SUSY-2018-04_likelihoods.tar.gz``,
notebook 05). The lake uploads them from a folder on this machine (never from the repository,
which holds no large files) into the scope ``school``, dataset ``school:likelihoods``, on
LAPP-DISK, owned by root and readable by every account.

The folder is, in this order: the ``course_material`` argument of ``LakeServer`` (the CLI's
``--course-material``), ``$VRELAB_COURSE_MATERIAL``, ``$VRELAB_LIKELIHOODS/archives``, and, in a
source checkout, ``../shared/likelihoods/archives`` beside the repository (where CI has it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import LakeServerError
from . import layout

COURSE_SCOPE = "school"
COURSE_DATASET = "likelihoods"
#: file name -> its metadata in the lake
COURSE_FILES: dict[str, dict[str, str]] = {
    "ATLAS-SUSY-2018-04_likelihoods.tar.gz": {
        "description": "ATLAS-SUSY-2018-04 (direct stau production) full likelihoods, HEPData ins1765529",
        "hepdata": "ins1765529",
        "course_kind": "likelihood",
    },
}
ENV_VAR = "VRELAB_COURSE_MATERIAL"
_REPO = Path(__file__).resolve().parents[3]


def course_did(name: str) -> str:
    """``school:<file name>``, the DID a notebook downloads."""
    return f"{COURSE_SCOPE}:{name}"


def default_material_dir() -> Path | None:
    """Where the course files are when nobody said: the environment, else beside a source checkout."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    if os.environ.get("VRELAB_LIKELIHOODS"):
        return Path(os.environ["VRELAB_LIKELIHOODS"]).expanduser() / "archives"
    if (_REPO / "pyproject.toml").is_file():
        return _REPO.parent / "shared" / "likelihoods" / "archives"
    return None


def find_material(folder: Path | None) -> list[Path]:
    """The course files in ``folder``; a clear LakeServerError naming what is missing."""
    how = f"set {ENV_VAR} (or `--course-material DIR`) to the folder that holds it, or use --no-course"
    wanted = ", ".join(COURSE_FILES)
    if folder is None:
        raise LakeServerError(f"no folder with the course material ({wanted}) is known: {how}")
    missing = [name for name in COURSE_FILES if not (folder / name).is_file()]
    if missing:
        raise LakeServerError(f"the course material {', '.join(missing)} is not in {folder}: {how}")
    return [(folder / name).resolve() for name in COURSE_FILES]


def build_manifest(files: list[Path], rse: str = layout.UPLOAD_RSE) -> dict[str, Any]:
    """What ``populate.py course`` reads: the scope, its dataset and the files to upload."""
    return {
        "scope": COURSE_SCOPE,
        "account": "root",
        "rse": rse,
        "dataset": COURSE_DATASET,
        "dataset_metadata": {"description": "course material of the vrelab training school"},
        "files": [
            {"path": str(path), "name": path.name, "metadata": dict(COURSE_FILES.get(path.name, {}))} for path in files
        ],
    }
