"""Tags derived from what is inside an image, as docker-stacks does: the versions are read by running
Python in the image itself, the date and the commit come from the build."""

from __future__ import annotations

import json
import time

from .build import git
from .engine import Engine

#: run inside the image: the versions tags are made of (a missing package is simply not reported)
_PROBE = """
import importlib.metadata as md, json, platform
found = {"python": platform.python_version()}
for key, dist in (("lab", "jupyterlab"), ("hub", "jupyterhub"), ("vrelab", "vrelab"), ("root", "root"),
                  ("pyhf", "pyhf"), ("coffea", "coffea")):
    try:
        found[key] = md.version(dist)
    except md.PackageNotFoundError:
        pass
print(json.dumps(found))
"""


def inside_versions(engine: Engine, image: str) -> dict[str, str]:
    out = engine.run(image, "python", "-c", _PROBE, options=["--entrypoint", ""])
    return json.loads(out.strip().splitlines()[-1])


def tags_for(engine: Engine, image: str, *, date: str | None = None, sha: str | None = None) -> list[str]:
    """``python-3.11.2``, ``lab-4.6.6``, ``hub-…``, ``vrelab-…`` (``root-…``…), the date and the commit."""
    versions = inside_versions(engine, image)
    tags = [f"{key}-{value}" for key, value in versions.items()]
    tags.append(date or time.strftime("%Y-%m-%d", time.gmtime()))
    commit = sha if sha is not None else git("rev-parse", "--short=12", "HEAD")
    if commit:
        tags.append(commit)
    # a tag may hold [A-Za-z0-9_.-] only
    return ["".join(c if c.isalnum() or c in "_.-" else "-" for c in t) for t in tags]


def apply(engine: Engine, image: str, tags: list[str]) -> list[str]:
    repo = image.rsplit(":", 1)[0]
    named = [f"{repo}:{t}" for t in tags]
    for name in named:
        engine.tag(image, name)
    return named
