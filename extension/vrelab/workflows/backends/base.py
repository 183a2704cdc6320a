"""The one interface every workflow backend implements, and the records every front end shows.

The vocabulary is REANA's, whatever runs the steps:

* a run's status is one of ``created, queued, running, finished, failed, stopped`` (``deleted``
  once removed); so is each step's (a step that never started stays ``created``);
* progress is ``{total, finished, running, failed}`` counted in steps;
* each step has a log record: image, command, started/finished times (ISO 8601, UTC), exit code.

How a backend plugs in
----------------------
A backend is a subclass of :class:`Backend` in ``vrelab/workflows/backends/<name>.py`` defining
``name``, ``description``, :meth:`Backend.check` and :meth:`Backend.run`. The registry
(:mod:`vrelab.workflows.backends`) imports every known module, calls
:meth:`Backend.from_settings` and offers the backend when that returns an instance (return
``None`` when the backend is not configured on this server).

The service drives a run in a worker thread of the jobs system (job kind ``workflow.run``):
it prepares the run's workspace (inputs copied in), then calls ``backend.run(ctx)`` once.
``run`` blocks until the run is over and reports everything as it happens through the
:class:`RunContext` — ``ctx.step_started``, ``ctx.step_output``, ``ctx.step_finished`` — which
writes it to disk in the run's folder at once. So status and logs are never asked from the
backend afterwards: every front end shows every backend alike, and a server restart loses
nothing that was reported. ``run`` returns normally when the run finished or failed (the
context knows which steps failed) and when it stopped because ``ctx.stopping`` became true.
Outputs are the files left in ``ctx.workspace``: a remote backend copies them there before
``run`` returns.

A stop request sets ``ctx.stopping``; backends that poll it need nothing more. A backend whose
``run`` blocks elsewhere (waiting on a container, a remote call) overrides :meth:`Backend.stop`,
which the service calls once, from another thread, when the stop is requested.

Backends raise :mod:`vrelab.errors` for what the user must read (``Unavailable`` when the engine
cannot be reached, ``UpstreamError`` when it answers with an error, ``BadRequest`` for a spec it
cannot run); they never put a credential into a message, a log or a record.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ...times import iso_utc

if TYPE_CHECKING:
    from ..spec import Step, WorkflowSpec

__all__ = [
    "Backend",
    "BackendCheck",
    "BackendSettings",
    "OutputFile",
    "RunContext",
    "RunProgress",
    "RunStatus",
    "StepRecord",
    "list_outputs",
    "utc_now",
]


class RunStatus(StrEnum):
    """Status of a run or of one step (REANA's words)."""

    CREATED = "created"
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    STOPPED = "stopped"
    DELETED = "deleted"

    @property
    def active(self) -> bool:
        return self in (RunStatus.CREATED, RunStatus.QUEUED, RunStatus.RUNNING)


def utc_now() -> str:
    """Now, as the ISO 8601 UTC text used for every time in run records (millisecond precision)."""
    return iso_utc()


@dataclass
class RunProgress:
    """How far a run is, counted in steps."""

    total: int = 0
    finished: int = 0
    running: int = 0
    failed: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class StepRecord:
    """One step of a run as recorded: what ran, where, when, and how it ended."""

    name: str
    status: RunStatus = RunStatus.CREATED
    image: str | None = None
    command: str = ""
    needs: list[str] = field(default_factory=list)
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None
    message: str = ""
    backend_id: str | None = None  # the engine's own id of the step (container id, REANA job id, ...)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepRecord:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["status"] = RunStatus(values.get("status", "created"))
        values["needs"] = list(values.get("needs") or [])
        return cls(**values)


@dataclass
class OutputFile:
    """A file in a run's workspace; ``declared`` when the spec lists it among the outputs."""

    path: str
    size: int
    modified: str
    declared: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BackendCheck:
    """Whether a backend can run workflows right now, and why not."""

    name: str
    available: bool
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BackendSettings:
    """What a backend is built from.

    ``options`` is this backend's entry of ``c.VRELab.workflow_backends`` (a dict, empty when
    absent); ``config`` is the whole :class:`vrelab.config.VRELab` object (None in unit tests), for
    backends that read traits of their own.
    """

    root_dir: Path
    runs_dir: Path
    concurrency: int = 2
    dask_scheduler: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    config: Any = None


class RunContext(ABC):
    """What :meth:`Backend.run` is handed: the run's spec and folder, and where to report to.

    Every ``step_*`` call is written to disk before it returns; they may be called from any
    thread.
    """

    run_id: str
    spec: WorkflowSpec
    workspace: Path  # the steps' working folder: inputs are copied in, outputs are left here
    parameters: dict[str, str]  # the run's parameter values, as text
    concurrency: int  # how many steps may run at the same time

    @property
    @abstractmethod
    def stopping(self) -> bool:
        """True once a stop was requested: start nothing new, end what runs, return."""

    @abstractmethod
    def wait_stop(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; True as soon as a stop is requested."""

    @abstractmethod
    def step_env(self, step: Step) -> dict[str, str]:
        """Environment variables for ``step``'s command: the run's parameters (the only safe way
        parameter values reach a shell: ``"${name}"`` expands them without re-parsing), plus
        ``VRELAB_RUN_ID`` and ``VRELAB_STEP``. Add them to the host's environment for local
        processes; pass them as the container's environment otherwise."""

    @abstractmethod
    def step_log_path(self, name: str) -> Path:
        """The file holding ``name``'s log; a runner on the same file system may write it directly."""

    @abstractmethod
    def step_started(
        self, name: str, *, image: str | None = None, command: str | None = None, backend_id: str | None = None
    ) -> None:
        """The step began to run (``image``/``command`` as really used, when they differ from the spec)."""

    @abstractmethod
    def step_output(self, name: str, text: str) -> None:
        """Append ``text`` to the step's log."""

    @abstractmethod
    def step_finished(self, name: str, *, status: RunStatus, exit_code: int | None = None, message: str = "") -> None:
        """The step ended: ``finished`` (exit code 0), ``failed`` (say why in ``message``) or ``stopped``."""

    @abstractmethod
    def log(self, text: str) -> None:
        """A line of the run's own log (the engine's log, as opposed to a step's)."""


class Backend(ABC):
    """Runs the steps of a workflow somewhere. See the module docstring for the contract."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    def __init__(self, settings: BackendSettings):
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> Backend | None:
        """This backend for this server, or None when it is not configured here."""
        return cls(settings)

    @abstractmethod
    def check(self) -> BackendCheck:
        """Whether runs can be submitted now (engine reachable, credentials accepted). Never raises;
        says why not in ``message``, in words a physicist understands."""

    @abstractmethod
    def run(self, ctx: RunContext) -> None:
        """Run ``ctx.spec``'s steps (respecting ``needs`` and ``ctx.concurrency``), reporting through
        ``ctx``; return when every step ended, after a failure (start no later step) or a stop."""

    def stop(self, ctx: RunContext) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Called once from another thread when a stop is requested while :meth:`run` runs."""

    def delete(self, run_id: str, workspace: Path) -> None:  # noqa: B027 - optional hook
        """Remove what the backend keeps of a run elsewhere (a remote workspace); the service
        removes the local folder itself."""

    def outputs(self, workspace: Path, declared: set[str]) -> list[OutputFile]:
        """The files of a run's workspace (the default looks at the local folder)."""
        return list_outputs(workspace, declared)


def list_outputs(workspace: Path, declared: set[str]) -> list[OutputFile]:
    """Every regular file under ``workspace`` (symbolic links are skipped), declared ones flagged."""
    out: list[OutputFile] = []
    if not workspace.is_dir():
        return out
    for path in sorted(workspace.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        rel = path.relative_to(workspace).as_posix()
        stat = path.stat()
        modified = iso_utc(stat.st_mtime, timespec="seconds")
        hit = rel in declared or any(d.endswith("/") and rel.startswith(d) for d in declared)
        out.append(OutputFile(rel, stat.st_size, modified.replace("+00:00", "Z"), hit))
    return out
