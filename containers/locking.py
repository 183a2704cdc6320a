"""Per-tier locks: ``python -m containers lock [TIER...]``.

A tier's lock (``<tier>/packages.lock``) pins every Python package of its image. It is resolved by uv for
the images' interpreter (CPython 3.11 on Debian 12, x86_64) from the package lists of the tiers it
builds on (``Tier.lock_inputs``), vrelab's own dependencies and the extras the tier serves, and it is
constrained by the locks of the tiers below it, so a tier never moves a package its parent pinned.
Mars, the slim Earth, also gets ``drop.txt``: what Earth installs and Mars uninstalls.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from .engine import EngineError
from .tiers import ORDER, REPO, TIERS

PYTHON_VERSION = "3.11.2"  # Debian 12's python3
PLATFORM = "x86_64-manylinux_2_36"  # Debian 12's glibc


def vrelab_requirements(extras: tuple[str, ...], pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """vrelab's dependencies with ``extras`` (self-references such as ``vrelab[lake,fit]`` expanded)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    found: list[str] = list(project["dependencies"])
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        if extra not in optional:
            raise KeyError(f"pyproject.toml has no extra {extra!r}")
        for req in optional[extra]:
            inner = re.fullmatch(r"vrelab\[([^\]]+)\]", req.replace(" ", ""))
            if inner:
                todo += inner.group(1).split(",")
            elif req not in found:
                found.append(req)
    return found


def parse_lock(path: Path) -> dict[str, str]:
    """``{normalised name: version}`` of a lock file's ``name==version`` lines."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            pins[normalise(match.group(1))] = match.group(2)
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        import uv as uv_module  # type: ignore[import-not-found]

        return [uv_module.find_uv_bin()]
    except ImportError as exc:
        raise EngineError("uv is needed to lock the tiers: pip install uv") from exc


def lock(name: str) -> Path:
    """Resolve and write ``<tier>/packages.lock`` (and Mars's ``drop.txt``)."""
    tier = TIERS[name]
    below = ORDER[: ORDER.index(name)]
    with tempfile.TemporaryDirectory() as tmp:
        vrelab_in = Path(tmp) / "vrelab-requirements.txt"
        vrelab_in.write_text("\n".join(vrelab_requirements(tier.vrelab_extras)) + "\n")
        inputs = [str(TIERS[t].folder / "packages.txt") for t in tier.lock_inputs] + [str(vrelab_in)]
        constraints: list[str] = []
        for t in below:
            if not TIERS[t].lock.exists():
                raise EngineError(f"lock {t} first: {name}'s lock is constrained by it")
            constraints += ["-c", str(TIERS[t].lock)]
        cmd = [*uv(), "pip", "compile", "--quiet", "--no-header", "--no-annotate",
               "--python-version", PYTHON_VERSION, "--python-platform", PLATFORM, *inputs, *constraints]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    if proc.returncode != 0:
        raise EngineError(f"resolving {name}'s packages failed:\n{proc.stderr[-4000:]}")
    header = (
        f"# {name}: every Python package of the image, pinned. Made by `python -m containers lock {name}` from\n"
        f"# {', '.join(t + '/packages.txt' for t in tier.lock_inputs)} and vrelab's dependencies"
        f"{' with extras ' + ','.join(tier.vrelab_extras) if tier.vrelab_extras else ''},\n"
        f"# for CPython {PYTHON_VERSION} on {PLATFORM}"
        f"{', constrained by the locks of ' + ', '.join(below) if below else ''}.\n"
    )
    tier.lock.write_text(header + proc.stdout)
    tools = tier.folder / "tools.txt"
    if tools.exists():
        lock_tools(name, tools)
    if tier.drops:
        parent = parse_lock(TIERS[tier.parent].lock) if tier.parent else {}
        mine = parse_lock(tier.lock)
        dropped = sorted(set(parent) - set(mine))
        (tier.folder / "drop.txt").write_text(
            f"# what {tier.parent} installs and {name} uninstalls (made by `python -m containers lock {name}`)\n"
            + "".join(f"{n}\n" for n in dropped)
        )
    return tier.lock


def tool_requirements(tools: Path) -> list[str]:
    return [ln.strip() for ln in tools.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def tool_name(requirement: str) -> str:
    return normalise(re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0])


def lock_tools(name: str, tools: Path) -> None:
    """One lock per command-line tool of ``tools.txt``, each for a virtual environment of its own."""
    folder = tools.parent / "tools"
    folder.mkdir(exist_ok=True)
    wanted = set()
    for requirement in tool_requirements(tools):
        tool = tool_name(requirement)
        wanted.add(tool)
        cmd = [*uv(), "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--python-version",
               PYTHON_VERSION, "--python-platform", PLATFORM, "-"]  # fmt: skip
        proc = subprocess.run(cmd, input=requirement + "\n", capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise EngineError(f"resolving {requirement!r} failed:\n{proc.stderr[-4000:]}")
        (folder / f"{tool}.lock").write_text(
            f"# {tool}: the virtual environment /opt/tools/{tool} of {name}, pinned. Made by "
            f"`python -m containers lock {name}` from {requirement!r}.\n" + proc.stdout
        )
    for stale in folder.glob("*.lock"):
        if stale.stem not in wanted:
            stale.unlink()


def main(names: list[str]) -> int:
    for name in names or list(ORDER):
        path = lock(name)
        print(f"{name}: {len(parse_lock(path))} packages pinned in {path.relative_to(REPO)}", file=sys.stderr)
    return 0
