"""Fixtures of the image tests (docker-stacks style).

Tests in ``tiers/<tier>/`` run against that tier's image and against every tier built on it (a test of
Mercury also runs on Venus, Earth, Mars and Jupyter). A module may narrow that with ``REQUIRES``: the
modules a tier must promise for the module to run on it (Mars drops Earth's heavy extras, so their
tests do not run on Mars; they do on Jupyter, which brings them back).

- ``images`` (session): the chain built for real from the locally bootstrapped base (layers cached).
- ``tier`` (parametrized, session scope) and ``image``: the tier under test and its image.
- ``lab`` (session, per tier): the image's JupyterLab running as it would for a user, on a free port.

Knobs: ``VRELAB_SKIP_IMAGES=1`` leaves the image tests out (a developer's quick run; CI runs them);
``VRELAB_IMAGE_TIERS=earth`` (or a comma list) tests only those tiers; ``VRELAB_CONTAINER_ENGINE``
(podman, buildah or docker) picks the engine.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from containers.build import build
from containers.engine import Engine
from containers.tiers import ORDER, REPO, TIERS, descendants, promised_imports

HERE = Path(__file__).resolve().parent
LIKELIHOODS = Path(os.environ.get("VRELAB_LIKELIHOODS", REPO.parent / "shared" / "likelihoods"))
IMAGE_TIMEOUT = 3600  # the first test of a session builds the chain (cold: ~15 min on 2 cores)

collect_ignore: list[str] = []
if os.environ.get("VRELAB_SKIP_IMAGES") == "1":
    collect_ignore += ["tiers", "test_hub.py"]


def selected_tiers() -> list[str]:
    wanted = os.environ.get("VRELAB_IMAGE_TIERS", "").strip()
    if not wanted or wanted == "all":
        return list(ORDER)
    names = [n.strip() for n in wanted.split(",") if n.strip()]
    unknown = [n for n in names if n not in TIERS]
    if unknown:
        raise pytest.UsageError(f"VRELAB_IMAGE_TIERS names no tier {unknown}: the tiers are {', '.join(ORDER)}")
    return names


# a tier folder whose tests would run on no selected tier is not collected (rather than skipped)
collect_ignore += [
    f"tiers/{t}" for t in ORDER if not set(descendants(t)) & set(selected_tiers()) and (HERE / "tiers" / t).is_dir()
]


def owning_tier(path: Path) -> str | None:
    parts = path.resolve().relative_to(HERE).parts
    return parts[1] if len(parts) > 2 and parts[0] == "tiers" else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    owner = owning_tier(Path(str(metafunc.definition.fspath)))
    if owner is None or "tier" not in metafunc.fixturenames:
        return
    requires = getattr(metafunc.module, "REQUIRES", ())
    tiers = [
        t for t in descendants(owner)
        if t in selected_tiers() and all(m in promised_imports(t) for m in requires)
    ]  # fmt: skip
    metafunc.parametrize("tier", tiers, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents and "images" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(IMAGE_TIMEOUT))
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine(os.environ.get("VRELAB_CONTAINER_ENGINE", "podman"))


@pytest.fixture(scope="session")
def images(engine: Engine) -> dict[str, str]:
    """Every selected tier built (with the tiers below it), from the locally bootstrapped base."""
    top = max(selected_tiers(), key=ORDER.index)
    built = build(top, engine, say=lambda msg: print(msg, flush=True))
    return {b.tier: b.image for b in built}


@pytest.fixture(scope="session")
def image(images: dict[str, str], tier: str) -> str:
    return images[tier]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    container: str
    url: str
    token: str
    engine: Engine

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.get(self.url + path, headers=self.headers if headers is None else headers, timeout=30)

    def exec(
        self, *command: str, env: dict[str, str] | None = None, workdir: str | None = None, timeout: float = 600
    ) -> str:
        opts: list[str] = []
        for key, value in (env or {}).items():
            opts += ["-e", f"{key}={value}"]
        if workdir:
            opts += ["-w", workdir]
        proc = self.engine.cli("exec", *opts, self.container, *command, check=False, timeout=timeout)
        output = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        assert proc.returncode == 0, f"`{' '.join(command)}` failed ({proc.returncode}):\n{output}"
        return proc.stdout


@pytest.fixture(scope="session")
def lab(engine: Engine, image: str, tier: str) -> Iterator[Lab]:
    """The image's default command (start-notebook.sh → JupyterLab) on a free port of the host network,
    with a token; the published likelihoods mounted read-only in the user's home when present."""
    port, token = free_port(), secrets.token_hex(16)
    options = ["--network", "host", "--name", f"vrelab-image-test-{tier}-{port}"]
    if LIKELIHOODS.is_dir():
        options += ["-v", f"{LIKELIHOODS}:/home/jovyan/likelihoods:ro"]
    container = engine.start(
        image, "start-notebook.sh", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", options=options,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "api/status", headers={"Authorization": f"token {token}"}, timeout=3).is_success:
                    break
            except httpx.HTTPError:
                pass
            state = engine.cli("inspect", "-f", "{{.State.Running}}", container, check=False).stdout.strip()
            if state != "true" or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab in {image} did not answer on {url}:\n{engine.logs(container)[-4000:]}")
            time.sleep(0.5)
        yield Lab(container, url, token, engine)
    finally:
        engine.remove(container)
