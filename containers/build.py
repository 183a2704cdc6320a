"""Building the chain: stage each tier's build context, then build it FROM the tier below.

A tier's context is its folder, plus what the repository provides at build time: the vrelab wheel for
Mercury (built here with ``pip wheel``: it carries the prebuilt labextension, which needs Node to build,
so the wheel is made on the host and copied in) and the school notebooks for Earth. Contexts are staged
under ``containers/.build/<tier>/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import base
from .engine import Engine, EngineError, state_home
from .tiers import HERE, LOCAL_BASE, LOCAL_REGISTRY, REPO, TIERS, chain

BUILD_DIR = HERE / ".build"
HOST_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


@dataclass
class Built:
    tier: str
    image: str
    seconds: float
    size: int


def git(*args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def vrelab_version() -> str:
    namespace: dict[str, str] = {}
    exec((REPO / "extension" / "vrelab" / "_version.py").read_text(), namespace)
    return namespace["__version__"]


def build_args() -> dict[str, str]:
    return {
        "VRELAB_VERSION": vrelab_version(),
        "VCS_REF": git("rev-parse", "HEAD") or "unknown",
        "SOURCE_URL": git("remote", "get-url", "origin") or "unknown",
    }


def wheel(out: Path) -> Path:
    """Build vrelab's wheel into ``out`` (the labextension is built first if it is missing)."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("vrelab-*.whl"):
        old.unlink()
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(REPO), "-w", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise EngineError(f"building the vrelab wheel failed:\n{proc.stderr[-3000:]}")
    (found,) = out.glob("vrelab-*.whl")
    return found


def stage(name: str) -> Path:
    """The build context of tier ``name``, staged under containers/.build/."""
    tier = TIERS[name]
    context = BUILD_DIR / name
    if context.exists():
        shutil.rmtree(context)
    shutil.copytree(tier.folder, context, ignore=shutil.ignore_patterns("README.md", "packages.txt", "__pycache__"))
    if name == "mercury":
        wheel(context / "wheels")
    if name == "earth":
        notebooks = context / "notebooks"
        notebooks.mkdir()
        source = REPO / "notebooks"
        if source.is_dir():
            for item in sorted(source.iterdir()):
                if item.name.startswith(".") or item.name == "__pycache__":
                    continue
                if item.is_dir():
                    shutil.copytree(item, notebooks / item.name, ignore=shutil.ignore_patterns(".*", "__pycache__"))
                else:
                    shutil.copy2(item, notebooks / item.name)
    return context


def secrets() -> dict[str, Path]:
    for bundle in HOST_CA_BUNDLES:
        if Path(bundle).is_file():
            return {"cacert": Path(bundle)}
    return {}


def record(built: Built) -> None:
    """Keep the last build time and size of each tier (the README's table is measured from these)."""
    path = state_home() / "builds.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[built.tier] = {"image": built.image, "seconds": round(built.seconds, 1), "size": built.size,
                        "at": time.strftime("%Y-%m-%dT%H:%M:%S")}  # fmt: skip
    path.write_text(json.dumps(data, indent=2))


def build(
    name: str,
    engine: Engine,
    *,
    tag: str = "latest",
    registry: str = LOCAL_REGISTRY,
    base_image: str | None = None,
    only: bool = False,
    say=print,  # noqa: ANN001
) -> list[Built]:
    """Build tier ``name`` and (unless ``only``) every tier below it, bottom up; layers are cached."""
    engine.check()
    if base_image is None:
        base_image = base.bootstrap(engine, LOCAL_BASE)
    tiers = chain(name)[-1:] if only else chain(name)
    args = build_args()
    logs = state_home() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    done: list[Built] = []
    for tier in tiers:
        parent = TIERS[tier.parent].image(tag, registry) if tier.parent else base_image
        if not engine.exists(parent):
            raise EngineError(f"{tier.name} is built FROM {parent}, which the engine does not have")
        image = tier.image(tag, registry)
        say(f"[containers] building {image} FROM {parent}")
        started = time.monotonic()
        context = stage(tier.name)
        engine.build(
            context,
            image,
            build_args={"PARENT_IMAGE" if tier.parent else "BASE_IMAGE": parent, **args},
            secrets=secrets(),
            log=logs / f"{tier.name}.log",
        )
        built = Built(tier.name, image, time.monotonic() - started, engine.size(image))
        record(built)
        say(f"[containers] {image}: {built.seconds:.0f} s, {built.size / 1e6:.0f} MB")
        done.append(built)
    return done
