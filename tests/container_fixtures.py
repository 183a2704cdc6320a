"""Container-engine fixtures: a REAL Docker-API engine (podman's API service) and a small test image.

- ``container_engine_url`` (session): the engine the ``container`` backend tests run on. An engine
  named in the environment (``VRELAB_CONTAINER_ENGINE_URL`` or ``DOCKER_HOST``) is used as it is.
  Otherwise, where podman is installed, ``podman system service`` is started on a socket in a private
  temporary folder (machine-wide engines are other people's state, and their settings may not suit),
  with its own containers.conf (runc, fixed ulimits, cgroupfs: podman's defaults fail in these
  sandboxes) and its own image store, and stopped again at the end of the session; so
  the tests never touch a developer's (or another tool's) podman images and containers. Without
  podman, any engine that answers at the usual sockets is used.
- ``container_test_image`` (session): an image made here, without any registry: a root filesystem
  holding only a static busybox (``sh``, ``sleep``, ``cat``...), imported through the engine's API as
  ``localhost/vrelab-test-busybox:<hash>``. The busybox is the host's ``/bin/busybox`` when static
  (Debian's ``busybox-static``, installed by ./ci/setup), else extracted from ``apt-get download
  busybox-static``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from vrelab.errors import Unavailable

if TYPE_CHECKING:
    from vrelab.workflows.docker_api import ContainerEngine


def connect(url: str | None, **kwargs) -> ContainerEngine:
    # imported when used, so that collecting other tests never depends on the workflows package
    from vrelab.workflows.docker_api import connect as _connect

    return _connect(url, **kwargs)


TEST_IMAGE_REPO = "localhost/vrelab-test-busybox"
_CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""
_APPLETS = (
    "sh", "ash", "cat", "cp", "date", "echo", "env", "false", "grep", "head", "id", "ls", "mkdir", "mv", "printf",
    "pwd", "rm", "sed", "seq", "sleep", "sort", "tail", "test", "touch", "tr", "true", "uniq", "wc", "[",
)  # fmt: skip


class PodmanService:
    """``podman system service`` on a private socket with a private store (see the module docstring)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.socket = home / "podman.sock"
        self.graphroot = home / "storage"
        self.runroot = home / "run"
        self.log = home / "service.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def env(self) -> dict[str, str]:
        (self.home / "containers.conf").write_text(_CONTAINERS_CONF)
        (self.home / "storage.conf").write_text(
            f'[storage]\ndriver = "overlay"\ngraphroot = "{self.graphroot}"\nrunroot = "{self.runroot}"\n'
        )
        return {
            **os.environ,
            "CONTAINERS_CONF": str(self.home / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(self.home / "storage.conf"),
        }

    def start(self, podman: str, timeout: float = 60) -> None:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [podman, "system", "service", "--time=0", self.url],
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.socket.exists():
                try:
                    connect(self.url).close()
                    return
                except Unavailable:
                    pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"podman system service did not answer on {self.url}:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        # rootful podman leaves its overlay folder bind-mounted after it exits
        for mounted in _mounts_under(self.home):
            subprocess.run(["umount", mounted], check=False, capture_output=True)
        shutil.rmtree(self.home, ignore_errors=True)


def _mounts_under(folder: Path) -> list[str]:
    """Mount points inside ``folder``, deepest first (read from /proc/self/mounts)."""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return []
    prefix = str(folder).rstrip("/") + "/"
    points = {line.split()[1] for line in lines if len(line.split()) > 1 and line.split()[1].startswith(prefix)}
    return sorted(points, key=len, reverse=True)


@pytest.fixture(scope="session")
def container_engine_url() -> Iterator[str]:
    """URL of a Docker-API engine that answers (see the module docstring)."""
    explicit = os.environ.get("VRELAB_CONTAINER_ENGINE_URL") or os.environ.get("DOCKER_HOST")
    podman = shutil.which("podman")
    if explicit or podman is None:
        # an engine named in the environment is used as it is; without podman, any engine that answers
        try:
            engine = connect(os.environ.get("VRELAB_CONTAINER_ENGINE_URL") or None)
        except Unavailable as exc:
            pytest.fail(
                f"{exc.message}\nFor the tests, install podman (./ci/setup does, as root): a private "
                "`podman system service` is then started for the session."
            )
        url = engine.url
        engine.close()
        yield url
        return
    # a short path: a unix socket's path may not exceed 107 bytes
    service = PodmanService(Path(tempfile.mkdtemp(prefix="vrelab-podman-", dir="/tmp")))
    service.start(podman)
    try:
        yield service.url
    finally:
        service.stop()


@pytest.fixture(scope="session")
def container_engine(container_engine_url: str) -> Iterator[ContainerEngine]:
    """A connected engine (steps on network 'none', as the tests need nothing else)."""
    engine = connect(container_engine_url, network="none")
    try:
        yield engine
    finally:
        engine.close()


def _is_static_elf(path: Path) -> bool:
    """A 64-bit ELF executable without an interpreter (PT_INTERP), i.e. one that runs in an empty image."""
    try:
        data = path.read_bytes()[:65536]
    except OSError:
        return False
    if data[:5] != b"\x7fELF\x02":
        return False
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        offset = phoff + i * phentsize
        if offset + 4 > len(data):
            return False
        if struct.unpack_from("<I", data, offset)[0] == 3:  # PT_INTERP
            return False
    return True


def static_busybox(workdir: Path) -> Path:
    """A statically linked busybox binary: the host's, or Debian's busybox-static package unpacked."""
    host = shutil.which("busybox")
    for candidate in (host, "/bin/busybox", "/usr/bin/busybox"):
        if candidate and _is_static_elf(Path(candidate)):
            return Path(candidate)
    workdir.mkdir(parents=True, exist_ok=True)
    got = subprocess.run(
        ["apt-get", "download", "busybox-static"], cwd=workdir, capture_output=True, text=True, check=False
    )
    debs = sorted(workdir.glob("busybox-static_*.deb"))
    if got.returncode != 0 or not debs:
        pytest.fail(f"no static busybox for the test image: install busybox-static (./ci/setup does).\n{got.stderr}")
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(workdir / "root")], check=True)
    return workdir / "root" / "bin" / "busybox"


def busybox_rootfs(busybox: Path) -> bytes:
    """A tar of a root filesystem with busybox, its applets as symlinks, /tmp and /workspace."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, mode in (("bin", 0o755), ("tmp", 0o1777), ("workspace", 0o755), ("etc", 0o755)):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add(str(busybox), "bin/busybox")
        for applet in _APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
        passwd = b"root:x:0:0:root:/tmp:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size, info.mode = len(passwd), 0o644
        tar.addfile(info, io.BytesIO(passwd))
    return buf.getvalue()


@pytest.fixture(scope="session")
def container_test_image(container_engine: ContainerEngine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``localhost/vrelab-test-busybox:<hash>`` on the engine, imported from a local root filesystem."""
    busybox = static_busybox(tmp_path_factory.mktemp("busybox"))
    rootfs = busybox_rootfs(busybox)
    tag = hashlib.sha256(rootfs).hexdigest()[:12]
    name = f"{TEST_IMAGE_REPO}:{tag}"
    if container_engine.has_image(name):
        return name
    client = container_engine._client
    answer = client.api.import_image_from_data(rootfs)
    # the engines answer with JSON lines; the last names the new image's id
    last = json.loads([line for line in str(answer).splitlines() if line.strip()][-1])
    image_id = last.get("id") or last.get("status")
    client.images.get(image_id).tag(TEST_IMAGE_REPO, tag)
    assert container_engine.has_image(name)
    return name
