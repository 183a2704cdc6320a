"""The container engines the tool drives: podman (default), buildah (builds; podman runs) and docker.

podman and buildah keep their images in a store of the project's own (``state_home()/storage``, overlay),
configured through ``CONTAINERS_CONF``/``CONTAINERS_STORAGE_CONF`` files written here; the machine's
/etc is left alone and so is any other podman store. docker uses whatever daemon ``DOCKER_HOST`` names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ENGINES = ("podman", "buildah", "docker")

_CONTAINERS_CONF = """\
# written by `python -m containers`: settings podman needs in unprivileged sandboxes and CI machines
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def state_home() -> Path:
    """Where the tool keeps its podman store, the bootstrapped base and the hub's tools."""
    return Path(os.environ.get("VRELAB_CONTAINERS_HOME") or Path.home() / ".cache" / "vrelab" / "containers")


def nice_prefix() -> list[str]:
    """Builds run under ``nice``: the machines are small and shared."""
    return ["nice", "-n", "10"] if shutil.which("nice") else []


class EngineError(RuntimeError):
    pass


@dataclass
class Engine:
    name: str = "podman"

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise EngineError(f"unknown engine {self.name!r}: use one of {', '.join(ENGINES)}")

    # -- environment -------------------------------------------------------------------------------
    @property
    def runner(self) -> str:
        """The CLI that runs containers and manages images (buildah cannot run them: podman does)."""
        return "docker" if self.name == "docker" else "podman"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.name == "docker":
            env["DOCKER_BUILDKIT"] = "1"
            return env
        home = state_home()
        home.mkdir(parents=True, exist_ok=True)
        conf, storage = home / "containers.conf", home / "storage.conf"
        if not conf.exists() or conf.read_text() != _CONTAINERS_CONF:
            conf.write_text(_CONTAINERS_CONF)
        text = f'[storage]\ndriver = "overlay"\ngraphroot = "{home / "storage"}"\nrunroot = "{home / "run"}"\n'
        if not storage.exists() or storage.read_text() != text:
            storage.write_text(text)
        env["CONTAINERS_CONF"] = str(conf)
        env["CONTAINERS_STORAGE_CONF"] = str(storage)
        return env

    def check(self) -> None:
        for tool in {self.name, self.runner}:
            if shutil.which(tool) is None:
                raise EngineError(
                    f"{tool} is not installed: ./ci/setup installs podman and buildah from Debian "
                    "(apt-get install podman buildah runc fuse-overlayfs)"
                )

    # -- plumbing ----------------------------------------------------------------------------------
    def cli(
        self,
        *args: str,
        check: bool = True,
        capture: bool = True,
        timeout: float | None = None,
        input_bytes: bytes | None = None,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.runner, *args], env=self.env(), check=False, capture_output=capture, timeout=timeout,
            input=input_bytes.decode("latin-1") if input_bytes is not None else None, text=True,
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise EngineError(f"{self.runner} {' '.join(args[:3])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return proc

    # -- images ------------------------------------------------------------------------------------
    def build(
        self,
        context: Path,
        tag: str,
        *,
        build_args: Mapping[str, str] = {},
        secrets: Mapping[str, Path] = {},
        labels: Mapping[str, str] = {},
        log: Path | None = None,
    ) -> None:
        """Build ``context/Dockerfile`` as ``tag`` with layer caching, never pulling."""
        args: list[str] = []
        if self.name == "docker":
            cmd = ["docker", "build", "--network", "host", "-t", tag]
        elif self.name == "podman":
            cmd = ["podman", "build", "--layers", "--pull=never", "--format", "docker", "--isolation", "chroot",
                   "--network", "host", "-t", tag]  # fmt: skip
        else:
            cmd = ["buildah", "bud", "--layers", "--pull=never", "--format", "docker", "--isolation", "chroot",
                   "--network", "host", "-t", tag]  # fmt: skip
        for key, value in build_args.items():
            args += ["--build-arg", f"{key}={value}"]
        for key, path in secrets.items():
            args += ["--secret", f"id={key},src={path}"]
        for key, value in labels.items():
            args += ["--label", f"{key}={value}"]
        full = [*nice_prefix(), *cmd, *args, "-f", str(context / "Dockerfile"), str(context)]
        if log is None:
            proc = subprocess.run(full, env=self.env(), check=False)
        else:
            with open(log, "w") as out:
                proc = subprocess.run(full, env=self.env(), check=False, stdout=out, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            tail = log.read_text()[-4000:] if log is not None else ""
            raise EngineError(f"building {tag} failed ({proc.returncode}){': see ' + str(log) if log else ''}\n{tail}")

    def exists(self, image: str) -> bool:
        return self.cli("image", "inspect", image, check=False).returncode == 0

    def inspect(self, image: str) -> dict:
        return json.loads(self.cli("image", "inspect", image).stdout)[0]

    def image_id(self, image: str) -> str:
        return str(self.inspect(image)["Id"])

    def size(self, image: str) -> int:
        return int(self.inspect(image)["Size"])

    def tag(self, image: str, new: str) -> None:
        self.cli("tag", image, new)

    def push(self, image: str, extra: Sequence[str] = ()) -> None:
        self.cli("push", *extra, image, capture=False)

    def import_rootfs(self, tarball: Path, tag: str) -> None:
        """Make an image from a root-filesystem tarball (``podman import`` / ``docker import``)."""
        self.cli("import", "--change", 'CMD ["/bin/bash"]', str(tarball), tag)

    # -- containers --------------------------------------------------------------------------------
    def run(self, image: str, *command: str, options: Sequence[str] = (), timeout: float = 300) -> str:
        """Run ``command`` in a fresh container of ``image``; its standard output."""
        proc = self.cli("run", "--rm", "--network", "none", *options, image, *command, check=False, timeout=timeout)
        if proc.returncode != 0:
            output = proc.stdout[-2000:] + proc.stderr[-3000:]
            raise EngineError(f"`{' '.join(command)}` in {image} exited {proc.returncode}:\n{output}")
        return proc.stdout

    def start(self, image: str, *command: str, options: Sequence[str] = ()) -> str:
        """Start a detached container; its id."""
        return self.cli("run", "-d", *options, image, *command).stdout.strip()

    def exec(
        self, container: str, *command: str, user: str | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        opts = ["--user", user] if user else []
        return self.cli("exec", *opts, container, *command, check=False, timeout=timeout)

    def logs(self, container: str) -> str:
        proc = self.cli("logs", container, check=False)
        return proc.stdout + proc.stderr

    def remove(self, container: str) -> None:
        # `-t` is podman's; docker's `rm -f` kills at once anyway
        extra = ["-t", "2"] if self.runner == "podman" else []
        self.cli("rm", "-f", *extra, container, check=False)
