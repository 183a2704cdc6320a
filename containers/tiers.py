"""The tiers of the collection: who each is for, what it promises, what it is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

#: the repository part of every image name; a tier's image is ``{REGISTRY}/{tier}:{tag}``
LOCAL_REGISTRY = "localhost/vrelab"
#: the image the bottom tier is built FROM where no registry can be reached (``bootstrap-base``)
LOCAL_BASE = f"{LOCAL_REGISTRY}/base:bookworm"
#: the public upstream of the same contract (Debian 12, minimal), for real deployments
UPSTREAM_BASE = "docker.io/library/debian:bookworm-slim"


@dataclass(frozen=True)
class Tier:
    name: str
    parent: str | None
    #: one line: who the image is for
    purpose: str
    #: Python modules the tier promises to import (checked inside the image, and in every tier above)
    imports: tuple[str, ...] = ()
    #: commands the tier promises on PATH
    commands: tuple[str, ...] = ()
    #: the tiers whose package lists make this tier's lock (its own last)
    lock_inputs: tuple[str, ...] = ()
    #: vrelab's optional extras (pyproject.toml) the tier's lock satisfies
    vrelab_extras: tuple[str, ...] = ()
    #: promises of lower tiers that this tier gives up (Mars: Earth's heavy extras)
    drops: tuple[str, ...] = field(default=())

    @property
    def folder(self) -> Path:
        return HERE / self.name

    @property
    def dockerfile(self) -> Path:
        return self.folder / "Dockerfile"

    @property
    def lock(self) -> Path:
        return self.folder / "packages.lock"

    def image(self, tag: str = "latest", registry: str = LOCAL_REGISTRY) -> str:
        return f"{registry}/{self.name}:{tag}"


TIERS: dict[str, Tier] = {
    t.name: t
    for t in (
        Tier(
            "mercury",
            None,
            "the base: a minimal JupyterLab with the Rucio client and vrelab (server extension, sidebar, widgets)",
            imports=(
                "jupyterlab",
                "jupyter_server",
                "jupyterhub",
                "ipykernel",
                "ipywidgets",
                "rucio",
                "vrelab",
                "vrelab.client",
                "vrelab.widgets",
            ),
            commands=(
                "jupyter",
                "jupyter-lab",
                "jupyterhub-singleuser",
                "rucio",
                "vrelab",
                "start.sh",
                "start-notebook.sh",
                "start-singleuser.sh",
                "tini",
            ),
            lock_inputs=("mercury",),
        ),
        Tier(
            "venus",
            "mercury",
            "Mercury plus the everyday DevOps tools, for people who build and maintain software",
            imports=("pre_commit",),
            commands=("git", "make", "vim", "nano", "curl", "jq", "less", "ssh", "tmux", "unzip", "pre-commit", "ruff"),
            lock_inputs=("mercury", "venus"),
        ),
        Tier(
            "earth",
            "venus",
            "the most popular: the common HEP Python stack and the school notebooks",
            imports=(
                "numpy",
                "scipy",
                "matplotlib",
                "uproot",
                "awkward",
                "hist",
                "mplhep",
                "vector",
                "pyhf",
                "iminuit",
                "pandas",
                "cabinetry",
                "coffea",
                "dask",
                "distributed",
                "dask_labextension",
                "vrelab.fit",
                "vrelab.lake",
            ),
            lock_inputs=("mercury", "venus", "earth"),
            vrelab_extras=("lake", "fit", "widgets", "school"),
        ),
        Tier(
            "mars",
            "earth",
            "a slim Earth: the analysis core without coffea, cabinetry and the Dask dashboard, for quick spawns",
            lock_inputs=("mercury", "venus", "mars"),
            vrelab_extras=("lake", "fit", "widgets", "school"),
            drops=("cabinetry", "coffea", "dask_labextension"),
        ),
        Tier(
            "jupyter",
            "mars",
            "the largest: everything, with workflow tools, extra kernels, ROOT and a C++ toolchain",
            imports=(
                "cabinetry",
                "coffea",
                "dask_labextension",
                "docker",
                "papermill",
                "bash_kernel",
                "ROOT",
                "vrelab.workflows",
            ),
            commands=("g++", "cmake", "snakemake", "reana-client", "papermill"),
            lock_inputs=("mercury", "venus", "earth", "mars", "jupyter"),
            vrelab_extras=("lake", "fit", "widgets", "school", "workflows"),
        ),
    )
}

ORDER: tuple[str, ...] = tuple(TIERS)


def chain(name: str) -> list[Tier]:
    """The tiers from the bottom up to ``name`` (included)."""
    if name not in TIERS:
        raise KeyError(f"no tier {name!r}: the tiers are {', '.join(ORDER)}")
    out: list[Tier] = []
    tier: Tier | None = TIERS[name]
    while tier is not None:
        out.append(tier)
        tier = TIERS[tier.parent] if tier.parent else None
    return out[::-1]


def promised_imports(name: str) -> list[str]:
    """Every module the tier ``name`` promises: its own and its parents', less what a tier on the way dropped."""
    found: list[str] = []
    for tier in chain(name):
        found = [m for m in found if m not in tier.drops]
        found += [m for m in tier.imports if m not in found]
    return found


def promised_commands(name: str) -> list[str]:
    found: list[str] = []
    for tier in chain(name):
        found += [c for c in tier.commands if c not in found]
    return found


def descendants(name: str) -> list[str]:
    """``name`` and every tier built on it."""
    return [t for t in ORDER if name in [c.name for c in chain(t)]]
