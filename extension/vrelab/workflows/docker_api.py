"""Run workflow steps in containers on any Docker-API engine (dockerd, or podman's API service).

One :class:`ContainerEngine` talks to one engine through the Docker SDK. A step is one container:
the run's workspace (a host folder) is bind-mounted at :data:`WORKSPACE_MOUNT`, the command string
(already built and quoted by the spec layer) runs as ``sh -c COMMAND`` with that folder as working
directory, output is streamed to a callback while it runs, and the exit code, start and finish times
and the whole log are returned. Every container carries the labels ``vrelab.run`` and ``vrelab.step``,
so a run's containers can be stopped and removed without touching anything else on the engine.

Finding the engine (:func:`engine_candidates`): the configured URL (``c.VRELab.container_engine_url``
/ ``VRELAB_CONTAINER_ENGINE_URL``), else ``DOCKER_HOST``, else podman's rootful socket, podman's
rootless socket of this user, and docker's socket, in that order; the first that answers wins. When
none answers, :class:`~vrelab.errors.Unavailable` says where it looked and how to start one.

Images are never pulled silently from a registry that cannot be reached: a missing image is pulled
once (where a registry is reachable), and otherwise refused with a message naming how to build or
import it locally (``podman build``/``podman import``).
"""

from __future__ import annotations

import codecs
import datetime as dt
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadRequest, Unavailable, UpstreamError
from ..times import iso_utc, parse_iso

log = logging.getLogger(__name__)

WORKSPACE_MOUNT = "/workspace"
"""Where the run's workspace appears inside every step container (also the working directory)."""

LABEL_RUN = "vrelab.run"
LABEL_STEP = "vrelab.step"
LABEL_OWNER = "vrelab.owner"

#: How long a stopped step gets between SIGTERM and SIGKILL, in seconds.
STOP_GRACE_SECONDS = 3

_REQUEST_TIMEOUT = 60.0
_HINT = (
    "start podman's API service with `podman system service --time=0 unix:///run/podman/podman.sock` "
    "(or start dockerd), or point vrelab at a running engine with c.VRELab.container_engine_url, "
    "VRELAB_CONTAINER_ENGINE_URL or DOCKER_HOST"
)

OutputCallback = Callable[[str], None]
CancelCheck = Callable[[], bool]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------------------------------
# finding an engine


@dataclass(frozen=True)
class EngineCandidate:
    """One place an engine may listen, and why it is tried."""

    url: str
    source: str  # "configured", "DOCKER_HOST", "podman (rootful)", "podman (rootless)", "docker"


def _unix_path(url: str) -> str | None:
    if url.startswith("unix://"):
        return url[len("unix://") :] or None
    if url.startswith("/"):
        return url
    return None


def _normalise(url: str) -> str:
    return f"unix://{url}" if url.startswith("/") else url


def engine_candidates(configured: str | None = None, environ: dict[str, str] | None = None) -> list[EngineCandidate]:
    """Where to look for an engine, in order. A configured URL or DOCKER_HOST is the only place looked
    at when given (an explicit choice is never silently replaced by another engine)."""
    env = os.environ if environ is None else environ
    if configured:
        return [EngineCandidate(_normalise(configured), "configured")]
    if env.get("DOCKER_HOST"):
        return [EngineCandidate(_normalise(env["DOCKER_HOST"]), "DOCKER_HOST")]
    found = [EngineCandidate("unix:///run/podman/podman.sock", "podman (rootful)")]
    runtime_dir = env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    found.append(EngineCandidate(f"unix://{runtime_dir}/podman/podman.sock", "podman (rootless)"))
    found.append(EngineCandidate("unix:///var/run/docker.sock", "docker"))
    return found


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for known, said in (
        ("FileNotFoundError", "no socket there"),
        ("No such file or directory", "no socket there"),
        ("ConnectionRefusedError", "connection refused"),
        ("Connection refused", "connection refused"),
        ("PermissionError", "permission denied on the socket"),
        ("Permission denied", "permission denied on the socket"),
        ("timed out", "no answer in time"),
        ("Read timed out", "no answer in time"),
    ):
        if known in text:
            return said
    return text.splitlines()[0][:200] if text else type(exc).__name__


def connect(
    configured: str | None = None,
    *,
    environ: dict[str, str] | None = None,
    timeout: float = _REQUEST_TIMEOUT,
    network: str | None = None,
) -> ContainerEngine:
    """The first engine that answers, or :class:`Unavailable` naming every place tried and how to
    start one."""
    tried: list[str] = []
    for candidate in engine_candidates(configured, environ):
        path = _unix_path(candidate.url)
        if path is not None and candidate.source not in ("configured", "DOCKER_HOST") and not os.path.exists(path):
            tried.append(f"{candidate.url} ({candidate.source}: no socket there)")
            continue
        try:
            return ContainerEngine(
                candidate.url, source=candidate.source, timeout=timeout, environ=environ, network=network
            )
        except Unavailable as exc:
            tried.append(f"{candidate.url} ({candidate.source}: {exc.details.get('reason', 'no answer')})")
    raise Unavailable(
        f"No container engine reachable at {', '.join(tried)}: {_HINT}.",
        code="container_engine_unreachable",
        details={"tried": tried},
    )


# --------------------------------------------------------------------------------------------------
# steps


@dataclass
class ContainerStep:
    """What one step container runs. ``command`` is a complete shell command line, run with
    ``sh -c`` inside the image; it is never passed through a shell on the host."""

    run_id: str
    name: str
    image: str
    command: str
    workspace: Path
    env: dict[str, str] = field(default_factory=dict)
    cpus: float | None = None
    memory: str | int | None = None  # bytes, or docker's "512m" / "2g"
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class StepOutcome:
    """How a step container ended. ``exit_code`` is None when it never started (``error`` says why)."""

    exit_code: int | None
    started_at: str | None
    finished_at: str | None
    logs: str
    stopped: bool = False
    error: str | None = None
    container_id: str | None = None
    image: str = ""
    command: str = ""

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.stopped and self.error is None


class _Decoder:
    """Bytes chunks to text, keeping a UTF-8 character cut between two chunks whole."""

    def __init__(self) -> None:
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, chunk: bytes) -> str:
        return self._dec.decode(chunk)

    def flush(self) -> str:
        return self._dec.decode(b"", final=True)


def _container_name(run_id: str, step: str) -> str:
    clean = re.sub(r"[^a-zA-Z0-9_.-]+", "-", f"vrelab-{run_id}-{step}").strip("-.")[:100]
    return f"{clean}-{secrets.token_hex(3)}"


class ContainerEngine:
    """One Docker-API engine. Creating it checks that the engine answers (else :class:`Unavailable`)."""

    def __init__(
        self,
        url: str,
        *,
        source: str = "configured",
        timeout: float = _REQUEST_TIMEOUT,
        environ: dict[str, str] | None = None,
        network: str | None = None,
    ) -> None:
        import docker
        from docker.errors import DockerException

        self.url = _normalise(url)
        self.source = source
        self.network = network or None
        kwargs: dict[str, Any] = {}
        if source == "DOCKER_HOST":  # honour DOCKER_TLS_VERIFY / DOCKER_CERT_PATH like the docker CLI
            kwargs = docker.utils.kwargs_from_env(environment=environ)
        kwargs["base_url"] = self.url
        try:
            self._client = docker.DockerClient(version="auto", timeout=timeout, **kwargs)
            # log streams may stay silent for longer than any request timeout
            self._stream_client = docker.DockerClient(version=self._client.api.api_version, timeout=None, **kwargs)
            info = self._client.version()
        except DockerException as exc:
            reason = _reason(exc)
            raise Unavailable(
                f"No container engine reachable at {self.url} ({reason}): {_HINT}.",
                code="container_engine_unreachable",
                details={"url": self.url, "reason": reason},
            ) from None
        components = info.get("Components") or [{}]
        self.engine_name = str(components[0].get("Name") or "Docker Engine")
        self.engine_version = str(info.get("Version") or "")
        self.api_version = str(self._client.api.api_version)
        self._rootless: bool | None = None

    # -- engine ------------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What the status page shows: URL, engine name and version (nothing secret)."""
        return {
            "url": self.url,
            "source": self.source,
            "engine": self.engine_name,
            "version": self.engine_version,
            "api_version": self.api_version,
        }

    def ping(self) -> bool:
        from docker.errors import DockerException

        try:
            return bool(self._client.ping())
        except (DockerException, OSError) as exc:
            raise self._unreachable(exc) from None

    def close(self) -> None:
        self._client.close()
        self._stream_client.close()

    def _unreachable(self, exc: BaseException) -> Unavailable:
        reason = _reason(exc)
        return Unavailable(
            f"The container engine at {self.url} stopped answering ({reason}): {_HINT}.",
            code="container_engine_unreachable",
            details={"url": self.url, "reason": reason},
        )

    @property
    def rootless(self) -> bool:
        """Whether the engine runs rootless (its uid 0 is this user, so steps run as its root)."""
        if self._rootless is None:
            try:
                opts = self._client.info().get("SecurityOptions") or []
            except Exception:  # an engine without /info is treated as rootful
                opts = []
            self._rootless = any("rootless" in str(o) for o in opts)
        return self._rootless

    def step_user(self) -> str | None:
        """The user steps run as: this server's uid:gid, so files written into the workspace belong
        to the user; the image's own user where that is already the case (server running as root, or
        a rootless engine that maps its root to this user)."""
        if os.getuid() == 0 or self.rootless:
            return None
        return f"{os.getuid()}:{os.getgid()}"

    # -- images ------------------------------------------------------------------------------------

    def has_image(self, image: str) -> bool:
        from docker.errors import DockerException, ImageNotFound

        try:
            self._client.images.get(image)
            return True
        except ImageNotFound:
            return False
        except DockerException as exc:
            if _is_connection_error(exc):
                raise self._unreachable(exc) from None
            return False

    def ensure_image(self, image: str, *, pull: bool = True) -> None:
        """The image is on the engine, pulled once if a registry is reachable; else a clear
        :class:`BadRequest` that names the image."""
        from docker.errors import DockerException

        if not image or not isinstance(image, str):
            raise BadRequest("A step has no container image: give each step an image (e.g. 'python:3.11').")
        if self.has_image(image):
            return
        reason = "pulling is switched off"
        if pull:
            try:
                self._client.images.pull(image)
                return
            except DockerException as exc:
                if _is_connection_error(exc):
                    raise self._unreachable(exc) from None
                reason = _first_line(getattr(exc, "explanation", None) or str(exc))
        raise BadRequest(
            f"The container image {image!r} is not on the container engine at {self.url} and could not be "
            f"pulled ({reason}). Check its name, or build or import it there first "
            f"(podman build / podman import, docker build / docker import).",
            code="image_not_found",
            details={"image": image},
        )

    # -- running -----------------------------------------------------------------------------------

    def start_step(
        self, step: ContainerStep, *, on_output: OutputCallback | None = None, owner: str | None = None
    ) -> StepContainer:
        """Create and start the step's container; its output goes to ``on_output`` as it comes.
        A container that cannot start (an image without ``sh``, a runtime error) is removed again
        and reported as :class:`BadRequest` naming the step."""
        from docker.errors import APIError, DockerException

        self.ensure_image(step.image)
        workspace = Path(step.workspace).resolve()
        if not workspace.is_dir():
            raise BadRequest(f"The run's workspace {workspace} does not exist.")
        labels = {**step.labels, LABEL_RUN: step.run_id, LABEL_STEP: step.name}
        if owner:
            labels[LABEL_OWNER] = owner
        create: dict[str, Any] = {
            "image": step.image,
            "command": ["sh", "-c", step.command],
            "name": _container_name(step.run_id, step.name),
            "working_dir": WORKSPACE_MOUNT,
            "volumes": {str(workspace): {"bind": WORKSPACE_MOUNT, "mode": "rw"}},
            "environment": {"HOME": "/tmp", **step.env, "VRELAB_WORKSPACE": WORKSPACE_MOUNT},
            "labels": labels,
            "detach": True,
        }
        user = self.step_user()
        if user:
            create["user"] = user
        if self.network:
            create["network_mode"] = self.network
        if step.cpus:
            create["nano_cpus"] = int(float(step.cpus) * 1e9)
        if step.memory:
            create["mem_limit"] = _docker_memory(step.memory)
        try:
            try:
                # a small init as PID 1 passes SIGTERM on to the step, so a stop ends it at once
                container = self._client.containers.create(init=True, **create)
            except APIError as exc:
                if "init" not in str(exc.explanation or exc).lower():
                    raise
                container = self._client.containers.create(**create)  # an engine without an init binary
        except APIError as exc:
            if _is_connection_error(exc):
                raise self._unreachable(exc) from None
            raise UpstreamError(
                f"The container engine at {self.url} refused to create the container of step "
                f"{step.name!r}: {_first_line(exc.explanation or str(exc))}",
                code="container_engine_error",
            ) from None
        except DockerException as exc:
            raise self._unreachable(exc) from None
        host_started = _now()
        try:
            container.start()
        except DockerException as exc:
            self._remove(container.id)
            if _is_connection_error(exc):
                raise self._unreachable(exc) from None
            detail = _first_line(getattr(exc, "explanation", None) or str(exc))
            raise BadRequest(
                f"The container of step {step.name!r} could not start in image {step.image!r}: {detail}",
                code="step_start_failed",
                details={"step": step.name, "image": step.image},
            ) from None
        return StepContainer(self, container, step, on_output, host_started)

    def run_step(
        self,
        step: ContainerStep,
        *,
        on_output: OutputCallback | None = None,
        cancelled: CancelCheck | None = None,
        owner: str | None = None,
        poll_seconds: float = 0.1,
    ) -> StepOutcome:
        """Run one step to its end (or until ``cancelled()`` turns true, then stop it); its container
        is removed afterwards. Output goes to ``on_output`` as it comes; the whole log is returned too."""
        running = self.start_step(step, on_output=on_output, owner=owner)
        delay = poll_seconds
        while True:
            outcome = running.poll()
            if outcome is not None:
                return outcome
            if cancelled is not None and cancelled():
                return running.stop()
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    def _all_logs(self, container_id: str) -> str:
        try:
            raw = self._client.api.logs(container_id, stdout=True, stderr=True, stream=False)
        except Exception:
            return ""
        return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)

    def _state(self, container_id: str) -> dict[str, Any]:
        return dict(self._client.api.inspect_container(container_id).get("State") or {})

    def _stop_container(self, container: Any) -> None:
        from docker.errors import DockerException, NotFound

        try:
            container.stop(timeout=STOP_GRACE_SECONDS)
        except NotFound:
            return
        except DockerException as exc:
            log.warning("stopping container %s: %s", container.id[:12], _first_line(str(exc)))
        try:  # an engine that ignores the stop timeout gets a kill
            container.reload()
            if container.status == "running":
                container.kill()
        except DockerException:
            pass

    def _remove(self, container_id: str) -> None:
        from docker.errors import DockerException, NotFound

        try:
            self._client.api.remove_container(container_id, force=True)
        except NotFound:
            pass
        except DockerException as exc:
            log.warning("removing container %s: %s", container_id[:12], _first_line(str(exc)))

    # -- whole runs --------------------------------------------------------------------------------

    def run_containers(self, run_id: str) -> list[Any]:
        """The containers of one run (running or not), found by their label."""
        from docker.errors import DockerException

        try:
            return list(self._client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"}))
        except DockerException as exc:
            raise self._unreachable(exc) from None

    def stop_run(self, run_id: str) -> int:
        """Stop every running container of a run (SIGTERM, then SIGKILL after the grace time)."""
        stopped = 0
        for container in self.run_containers(run_id):
            if container.status in ("running", "paused", "restarting", "created"):
                self._stop_container(container)
                stopped += 1
        return stopped

    def remove_run(self, run_id: str) -> int:
        """Remove every container of a run, running or not. Only containers labelled with this run."""
        containers = self.run_containers(run_id)
        for container in containers:
            self._remove(container.id)
        return len(containers)


class StepContainer:
    """A started step container. :meth:`poll` until it returns the outcome, or :meth:`stop` it; either
    way the container is removed once it ended. Safe to call from several threads."""

    def __init__(
        self,
        engine: ContainerEngine,
        container: Any,
        step: ContainerStep,
        on_output: OutputCallback | None,
        host_started: dt.datetime,
    ) -> None:
        self.engine = engine
        self.container = container
        self.container_id: str = container.id
        self.step = step
        self._on_output = on_output
        self._host_started = host_started
        self._chunks: list[str] = []
        self._lock = threading.Lock()
        self._outcome: StepOutcome | None = None
        self._reader = threading.Thread(target=self._follow, name=f"logs-{step.name}", daemon=True)
        self._reader.start()

    @property
    def output(self) -> str:
        """What the step printed so far."""
        return "".join(self._chunks)

    def poll(self) -> StepOutcome | None:
        """None while the container runs; its outcome once it ended."""
        from docker.errors import DockerException, NotFound

        with self._lock:
            if self._outcome is not None:
                return self._outcome
            try:
                self.container.reload()
            except NotFound:  # removed behind our back
                return self._finish(stopped=True, state={})
            except DockerException as exc:
                raise self.engine._unreachable(exc) from None
            if self.container.status in ("exited", "dead", "stopped"):
                return self._finish(stopped=False)
            return None

    def stop(self) -> StepOutcome:
        """End the step now: SIGTERM, SIGKILL after :data:`STOP_GRACE_SECONDS`; its outcome."""
        with self._lock:
            if self._outcome is not None:
                return self._outcome
            self.engine._stop_container(self.container)
            return self._finish(stopped=True)

    def _follow(self) -> None:
        decoder = _Decoder()
        try:
            stream: Iterator[bytes] = self.engine._stream_client.api.logs(
                self.container_id, stdout=True, stderr=True, stream=True, follow=True
            )
            for chunk in stream:
                self._emit(decoder.feed(chunk))
            self._emit(decoder.flush())
        except Exception as exc:  # the whole log is read again at the end when this one broke off
            log.debug("log stream of %s ended: %s", self.container_id[:12], exc)

    def _emit(self, text: str) -> None:
        if not text:
            return
        self._chunks.append(text)
        if self._on_output is not None:
            try:
                self._on_output(text)
            except Exception:  # a failing consumer must not end the stream
                log.exception("writing the log of step %s", self.step.name)

    def _finish(self, *, stopped: bool, state: dict[str, Any] | None = None) -> StepOutcome:
        self._reader.join(timeout=10)
        if state is None:
            try:
                state = self.engine._state(self.container_id)
            except Exception:
                state = {}
        started = parse_iso(state.get("StartedAt")) or self._host_started
        finished = parse_iso(state.get("FinishedAt")) or _now()
        code = state.get("ExitCode")
        logs = "".join(self._chunks)
        if self._reader.is_alive() or (not logs and state):
            logs = self.engine._all_logs(self.container_id)  # the stream broke off: read it whole
        self.engine._remove(self.container_id)
        self._outcome = StepOutcome(
            exit_code=code if isinstance(code, int) and not stopped else None,
            started_at=iso_utc(started),
            finished_at=iso_utc(max(started, finished)),
            logs=logs,
            stopped=stopped,
            error="stopped" if stopped else None,
            container_id=self.container_id,
            image=self.step.image,
            command=self.step.command,
        )
        return self._outcome


_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtKMGT]i?[bB]?|[bB])?\s*$")
_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4,
          "ki": 1024, "mi": 1024**2, "gi": 1024**3, "ti": 1024**4}  # fmt: skip


def _docker_memory(value: str | int) -> int:
    """A memory size (bytes, ``512m``, ``2Gi``, ``1.5G``) in bytes; :class:`BadRequest` otherwise."""
    if isinstance(value, int):
        return value
    match = _MEMORY.match(str(value))
    if not match:
        raise BadRequest(f"Memory {value!r} is not a size such as 512Mi, 2Gi or 1G.")
    number, unit = match.groups()
    unit = (unit or "").lower().removesuffix("b") if unit and unit.lower() != "b" else ""
    return int(float(number) * _UNITS[unit])


def _first_line(text: str) -> str:
    text = (text or "").strip()
    return text.splitlines()[0][:300] if text else "no detail"


def _is_connection_error(exc: BaseException) -> bool:
    import requests

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, requests.exceptions.ConnectionError | ConnectionError | FileNotFoundError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
