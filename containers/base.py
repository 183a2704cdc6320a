"""The bottom of the chain where no registry can be reached: a Debian 12 minimal root filesystem made
with mmdebstrap from the machine's own apt mirror, imported as ``localhost/vrelab/base:bookworm``.

It keeps the contract of the public upstream (``debian:bookworm-slim``): Debian 12, apt, no Python, no
documentation, so Mercury's Dockerfile is the same for both.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .engine import Engine, EngineError, nice_prefix, state_home
from .tiers import LOCAL_BASE

SUITE = "bookworm"
#: what debian:bookworm-slim leaves out
_SLIM_DPKG = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
)
#: a fixed timestamp: the same packages give a byte-identical tarball
SOURCE_DATE_EPOCH = "1735689600"


def apt_sources(root: Path = Path("/etc/apt")) -> list[str]:
    """One-line ``deb URI SUITE COMPONENTS`` entries read from the machine's apt configuration."""
    lines: list[str] = []
    for path in sorted((root / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
                continue
            for uri in fields.get("uris", "").split():
                for suite in fields.get("suites", "").split():
                    lines.append(f"deb {uri} {suite} {fields.get('components', 'main')}")
    for path in [root / "sources.list", *sorted((root / "sources.list.d").glob("*.list"))]:
        if path.is_file():
            lines += [ln.split("#")[0].strip() for ln in path.read_text().splitlines() if ln.startswith("deb ")]
    debian = [ln for ln in lines if f" {SUITE}" in ln]
    if not debian:
        raise EngineError(f"no Debian {SUITE} mirror in {root}/sources.list*: cannot bootstrap the base image")
    # only plain-Debian components (main) make the base
    return [" ".join(ln.split()[:3] + ["main"]) for ln in debian]


def rootfs(out: Path) -> Path:
    """Make (or reuse) the root-filesystem tarball ``out``."""
    if out.exists():
        return out
    tool = shutil.which("mmdebstrap")
    if tool is None:
        raise EngineError("mmdebstrap is not installed: apt-get install mmdebstrap (./ci/setup does)")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial.tar")
    cmd = [*nice_prefix(), tool, "--variant=minbase", "--mode=root", "--format=tar", "--quiet"]
    cmd += [f"--dpkgopt={opt}" for opt in _SLIM_DPKG]
    cmd += ['--aptopt=Acquire::Retries "3"', SUITE, str(partial), *apt_sources()]
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise EngineError(f"mmdebstrap failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    partial.rename(out)
    return out


def bootstrap(engine: Engine, tag: str = LOCAL_BASE, force: bool = False) -> str:
    """Make sure ``tag`` exists on the engine; returns it."""
    if not force and engine.exists(tag):
        return tag
    tarball = rootfs(state_home() / "base" / f"debian-{SUITE}-minbase.tar")
    engine.import_rootfs(tarball, tag)
    return tag
