"""``LakeServer``: start, stop, inspect, wipe and seed the embedded data lake (a real Rucio server).

One lake lives in one state dir (``home``, default ``~/.local/share/vrelab/lake``)::

    lake.json                    settings it was created with (port, database, user, auth extras)
    etc/rucio.cfg, alembic.ini   server config (RUCIO_CONFIG of the server and its daemons)
    etc/rucio-root.cfg           client config of root        (RUCIO_CONFIG=... rucio whoami)
    etc/rucio-<user>.cfg         client config of the user account
    jupyter_server_config.json   points vrelab's data-lake instance "embedded" at the lake
    secrets/<account>.password   random passwords (0600); never printed
    rucio.db                     the SQLite database (unless --db postgresql://...)
    rses/<rse>/                  the storage of LAPP-DISK, NAPOLI-DISK, LAPP-SCRATCHDISK
    run/*.pid, log/*.log         the background processes: server, daemons (+ tls, oidc)
    state/bootstrapped, seeded,  written only once a step fully succeeded
          course-seeded

The Rucio server runs from its own cached venv (see ``venv.py``); the scripts it runs are in
``serverside/`` and never import vrelab.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from ..errors import LakeServerError
from . import authextras, configfiles, course, database, layout
from . import seed as seeding
from .passwords import ensure_password, read_password
from .paths import SERVERSIDE_DIR, LakePaths, default_home, default_port, default_venv
from .processes import LakeProcess, port_is_free
from .restapi import RucioREST, ping
from .settings import LakeSettings
from .venv import ServerVenv

Progress = Callable[[str], None]
ERROR_PREFIX = "VRELAB-ERROR: "
SERVER_START_TIMEOUT = 90.0


P = ParamSpec("P")
T = TypeVar("T")


def _silent(message: str) -> None:
    pass


def _os_errors_as_lake_errors(method: Callable[P, T]) -> Callable[P, T]:
    """A file-system error (permissions, a full disk...) becomes one clear LakeServerError line."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            raise LakeServerError(f"{exc.strerror or exc}{where}") from exc

    return wrapper


@dataclass
class LakeInfo:
    """What ``up()`` returns: where the lake is and how to use it (no passwords in here)."""

    url: str
    home: Path
    user: str
    root_config: Path
    user_config: Path
    user_password_file: Path
    jupyter_config: Path
    rse_roots: dict[str, Path]
    tls_url: str = ""
    issuer_url: str = ""
    already_running: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def jupyter_config_dir(self) -> Path:
        """A directory for JUPYTER_CONFIG_PATH: it holds jupyter_server_config.json."""
        return self.jupyter_config.parent

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()} | {
            "rse_roots": {k: str(v) for k, v in self.rse_roots.items()}
        }


class LakeServer:
    """The embedded data lake in ``home``.

    ``port``, ``db`` and ``auth_extras`` apply when the lake is created; later starts reuse the
    stored settings (``port`` may change between starts, the database may not: reset first).
    ``course_material`` is the folder with the course files (``course.py``; default
    ``course.default_material_dir()``); ``with_course=False`` leaves them out.
    """

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        port: int | None = None,
        db: str | None = None,
        auth_extras: bool | None = None,
        user: str | None = None,
        venv: str | Path | None = None,
        sample_scale: float = 1.0,
        course_material: str | Path | None = None,
        with_course: bool = True,
    ) -> None:
        self.paths = LakePaths(Path(home).expanduser().resolve() if home else default_home().resolve())
        self.venv = ServerVenv(Path(venv).expanduser() if venv else default_venv())
        self._port = port
        self._db = db
        self._auth_extras = auth_extras
        self._user = user
        self.sample_scale = sample_scale
        self.course_material = Path(course_material).expanduser() if course_material else None
        self.with_course = with_course
        self.server = LakeProcess(self.paths, "server", "serve.py")
        self.tls_server = LakeProcess(self.paths, "tls-server", "serve.py")
        self.daemons = LakeProcess(self.paths, "daemons", "daemon_loop.py")
        self.issuer = LakeProcess(self.paths, "oidc-issuer", "oidc_issuer.py")

    # ------------------------------------------------------------------ helpers
    @property
    def processes(self) -> list[LakeProcess]:
        """In stopping order: users of the database first, the server last."""
        return [self.daemons, self.tls_server, self.issuer, self.server]

    @property
    def settings(self) -> LakeSettings | None:
        return LakeSettings.load(self.paths.settings_file)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.paths.run.mkdir(parents=True, exist_ok=True)
        with open(self.paths.run / "lake.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LakeServerError(
                    f"another `vrelab lake` command is working on {self.paths.home}; wait for it to finish"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _env(self, rucio_config: Path) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "RUCIO_HOME", "RUCIO_CONFIG")
        }
        env["RUCIO_CONFIG"] = str(rucio_config)
        env["PYTHONPATH"] = str(SERVERSIDE_DIR)  # the metadata plugin must import in server processes
        env["PYTHONUNBUFFERED"] = "1"
        env["PATH"] = f"{self.venv.path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def _script(
        self, script: str, *args: str, config: Path, what: str, timeout: float = 600, log_output: bool = True
    ) -> str:
        """Run a serverside script to completion; its VRELAB-ERROR line becomes a LakeServerError."""
        log = self.paths.log_file("setup")
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            proc = subprocess.run(
                [str(self.venv.python), str(SERVERSIDE_DIR / script), *args],
                env=self._env(config),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise LakeServerError(f"{what} took more than {timeout:.0f} s; see {log}") from None
        with open(log, "a") as handle:
            handle.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} {script} {' '.join(args)}\n")
            handle.write((proc.stdout if log_output else "(output not logged)\n") + proc.stderr)
        if proc.returncode != 0:
            lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(ERROR_PREFIX)]
            detail = lines[-1][len(ERROR_PREFIX) :] if lines else f"exit code {proc.returncode}"
            raise LakeServerError(f"{what} failed: {detail} (details in {log})")
        return proc.stdout

    def _site_packages(self) -> Path:
        return self.venv.path / "lib" / f"python{_venv_python_tag(self.venv)}" / "site-packages"

    # ------------------------------------------------------------------ settings
    def _resolve_settings(self, existing: LakeSettings | None) -> LakeSettings:
        db = database.normalise(self._db) if self._db is not None else None
        if existing is not None:
            if db is not None and db != existing.db_url:
                raise LakeServerError(
                    f"the lake in {self.paths.home} was created with database "
                    f"{database.redact(existing.db_url)}; to change it run `vrelab lake reset` first"
                )
            settings = LakeSettings(**asdict(existing))
            if self._port is not None:
                settings.port = self._port
            if self._auth_extras:
                settings.auth_extras = True
        else:
            user = self._user or layout.default_user_account()
            if not layout.valid_account(user):
                raise LakeServerError(
                    f"{user!r} cannot be a Rucio account name (lower-case letters, digits, '-' and '_', "
                    f"at most 20 characters, not 'root')"
                )
            settings = LakeSettings(
                port=self._port if self._port is not None else default_port(),
                user=user,
                db_url=db or "",
                auth_extras=bool(self._auth_extras),
            )
        if not 0 < settings.port < 65536:
            raise LakeServerError(f"port {settings.port} is not a valid TCP port; choose one with --port")
        if settings.auth_extras:
            settings.tls_port = settings.tls_port or settings.port + 3
            settings.idp_port = settings.idp_port or settings.port + 9
        return settings

    def _check_ports(self, settings: LakeSettings) -> None:
        wanted = [("the Rucio server", settings.port, "--port")]
        if settings.auth_extras:
            wanted.append(("the HTTPS (x509) server", settings.tls_port, "--port"))
            wanted.append(("the OIDC issuer", settings.idp_port, "--port"))
        for what, port, option in wanted:
            if not port_is_free(port):
                raise LakeServerError(
                    f"port {port} on 127.0.0.1 (for {what}) is already in use by another program; "
                    f"start the lake on another port with `vrelab lake up {option} N` (or VRELAB_LAKE_PORT=N)"
                )

    def _has_schema(self) -> bool:
        return self.paths.schema_marker.exists() or self.paths.bootstrapped_marker.exists()

    def _check_not_half_initialised(self, settings: LakeSettings) -> None:
        has_schema = self._has_schema()
        if has_schema and settings.uses_sqlite and not self.paths.sqlite_db.exists():
            raise LakeServerError(
                f"the lake database {self.paths.sqlite_db} is missing although the lake was set up; "
                f"run `vrelab lake reset --home {self.paths.home}` and then `vrelab lake up` to start afresh"
            )
        if not has_schema and settings.uses_sqlite and self.paths.sqlite_db.exists():
            raise LakeServerError(
                f"the lake in {self.paths.home} is only half-initialised (its database exists but "
                f"was never completed: an earlier `vrelab lake up` stopped early); "
                f"run `vrelab lake reset --home {self.paths.home}` and then `vrelab lake up`"
            )

    # ------------------------------------------------------------------ up
    @_os_errors_as_lake_errors
    def up(self, progress: Progress | None = None, *, seed: bool = True) -> LakeInfo:
        """Start the lake (creating and seeding it on the first start); return how to reach it.

        Idempotent: on a running lake it only restarts a missing daemon loop."""
        report = progress or _silent
        t0 = time.monotonic()
        timings: dict[str, float] = {}
        with self._lock():
            self.paths.home.mkdir(parents=True, exist_ok=True)
            existing = self.settings
            settings_existed = self.paths.settings_file.exists()
            if settings_existed and existing is None:
                raise LakeServerError(
                    f"{self.paths.settings_file} is unreadable; "
                    f"run `vrelab lake reset --home {self.paths.home}`"
                )
            settings = self._resolve_settings(existing)

            running = self.server.running_pid()
            if self.server.stale:
                report(f"removed a stale PID file of the server ({self.server.stale})")
            if running is not None and existing is None:
                raise LakeServerError(
                    f"a lake server (pid {running}) runs from {self.paths.home} but its settings are gone; "
                    f"stop it with `vrelab lake down --home {self.paths.home}`"
                )
            if running is not None and existing is not None:
                if settings.port != existing.port:
                    raise LakeServerError(
                        f"the lake already runs on port {existing.port}; stop it with `vrelab lake down` "
                        f"before starting it on port {settings.port}"
                    )
                if ping(existing.url) is None:
                    raise LakeServerError(
                        f"the lake server (pid {running}) runs but does not answer at {existing.url}; "
                        f"see {self.server.log_file}, or restart it: `vrelab lake down && vrelab lake up`"
                    )
                if settings.auth_extras and not existing.auth_extras:
                    raise LakeServerError(
                        "the lake runs without the auth extras; restart it with them: "
                        "`vrelab lake down` then `vrelab lake up --auth-extras`"
                    )
                if self.daemons.running_pid() is None:
                    self._start_daemons()
                    report("restarted the daemon loop")
                extras_pids = (self.issuer.running_pid(), self.tls_server.running_pid())
                if existing.auth_extras and None in extras_pids:
                    authextras.prepare(self, existing, report)
                    authextras.finish(self, existing, report)
                if seed and self._course_pending():
                    self._seed_course(self._course_files(), report)
                report(f"the lake already runs at {existing.url}")
                return self._info(existing, already_running=True, timings=timings)
            for proc in self.processes:  # a half-dead lake: clean up what is left before starting
                if proc.stop() is not None:
                    report(f"stopped a leftover {proc.name} process")
                elif proc.stale:
                    report(f"removed a stale PID file of the {proc.name} ({proc.stale})")

            self._check_not_half_initialised(settings)
            self._check_ports(settings)
            course_files = self._course_files() if seed and self._course_pending() else None
            if not settings.uses_sqlite:
                database.check_reachable(settings.db_url)

            self.venv.ensure(report)
            if not settings.uses_sqlite:
                self.venv.ensure_postgres_driver(report)
            timings["venv"] = time.monotonic() - t0

            settings.save(self.paths.settings_file)
            root_pw = ensure_password(self.paths.password_file("root"))
            user_pw = ensure_password(self.paths.password_file(settings.user))
            configfiles.write_all(self.paths, settings, self.venv, self._site_packages(), root_pw, user_pw)

            if not self._has_schema():
                report(f"creating the Rucio database ({database.redact(settings.db_url)})")
                cfg = self.paths.server_cfg
                state = self._script("bootstrap_db.py", "check", config=cfg, what="checking the database")
                if state.strip() != "empty":
                    why = (
                        "is only half-initialised (an earlier `vrelab lake up` stopped early)"
                        if settings_existed
                        else "already holds tables (give an empty database, or wipe it)"
                    )
                    raise LakeServerError(
                        f"the database {database.redact(settings.db_url)} {why}; "
                        f"run `vrelab lake reset --home {self.paths.home}` and then `vrelab lake up`"
                    )
                self._script("bootstrap_db.py", "init", config=cfg, what="building the schema")
                _stamp(self.paths.schema_marker)
                timings["schema"] = time.monotonic() - t0
            try:
                self._start_and_complete(settings, report, seed, timings, t0, course_files)
            except BaseException:
                # leave nothing half-running: the next `up` starts (and completes the lake) afresh
                for proc in self.processes:
                    proc.stop()
                raise
            timings["total"] = time.monotonic() - t0
            report(f"the lake is up at {settings.url} ({timings['total']:.1f} s)")
            return self._info(settings, timings=timings)

    def _start_and_complete(
        self,
        settings: LakeSettings,
        report: Progress,
        seed: bool,
        timings: dict[str, float],
        t0: float,
        course_files: list[Path] | None = None,
    ) -> None:
        if settings.auth_extras:
            authextras.prepare(self, settings, report)  # the issuer must answer before the server starts
        report(f"starting the Rucio server on {settings.url}")
        self._start_server(settings)
        warm = self.paths.bootstrapped_marker.exists() and self.paths.seeded_marker.exists()
        if warm:
            self._start_daemons()  # in parallel with the server's start-up
        self._wait_for_server(settings)
        timings["server"] = time.monotonic() - t0
        if not self.paths.bootstrapped_marker.exists():
            report("adding RSEs LAPP-DISK, NAPOLI-DISK, LAPP-SCRATCHDISK, accounts, scopes and quotas")
            self._populate_topology(settings)  # idempotent: safe to repeat after an interruption
            _stamp(self.paths.bootstrapped_marker)
            timings["topology"] = time.monotonic() - t0
        if settings.auth_extras:
            authextras.finish(self, settings, report)
        if seed and not self.paths.seeded_marker.exists():
            self._seed(settings, report)
            timings["seed"] = time.monotonic() - t0
        if course_files is not None:
            self._seed_course(course_files, report)
            timings["course"] = time.monotonic() - t0
        if self.daemons.running_pid() is None:
            self._start_daemons()

    def _info(
        self, settings: LakeSettings, *, already_running: bool = False, timings: dict[str, float]
    ) -> LakeInfo:
        return LakeInfo(
            url=settings.url,
            home=self.paths.home,
            user=settings.user,
            root_config=self.paths.client_cfg("root"),
            user_config=self.paths.client_cfg(settings.user),
            user_password_file=self.paths.password_file(settings.user),
            jupyter_config=self.paths.jupyter_config,
            rse_roots={r.name: self.paths.rse_root(r.directory) for r in layout.RSES},
            tls_url=settings.tls_url,
            issuer_url=settings.issuer_url,
            already_running=already_running,
            timings=timings,
        )

    def _start_server(self, settings: LakeSettings) -> None:
        argv = [str(self.venv.python), str(SERVERSIDE_DIR / "serve.py"), "--lake-home", str(self.paths.home)]
        argv += ["--port", str(settings.port)]
        if not settings.uses_sqlite:
            argv.append("--threads")  # SQLite must stay single-threaded ("database is locked")
        self.server.start(argv, self._env(self.paths.server_cfg), cwd=self.paths.home)

    def _wait_for_server(
        self, settings: LakeSettings, proc: LakeProcess | None = None, url: str = ""
    ) -> None:
        proc = proc or self.server
        url = url or settings.url
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if ping(url, timeout=1.0) is not None:
                return
            if proc.exited() is not None:
                raise LakeServerError(self._death_message(proc, settings))
            time.sleep(0.2)
        proc.stop()
        raise LakeServerError(
            f"the lake's {proc.name} did not answer at {url} within {SERVER_START_TIMEOUT:.0f} s; "
            f"see {proc.log_file}"
        )

    def _death_message(self, proc: LakeProcess, settings: LakeSettings) -> str:
        tail = proc.log_tail(40).splitlines()
        errors = [ln[len(ERROR_PREFIX) :] for ln in tail if ln.startswith(ERROR_PREFIX)]
        proc.pid_file.unlink(missing_ok=True)
        if errors:
            detail = errors[-1]
        elif any("Address already in use" in ln for ln in tail):
            detail = f"port {settings.port} is already in use; choose another one with --port"
        else:
            detail = next((ln.strip() for ln in reversed(tail) if ln.strip()), "no output")
        return f"the lake's {proc.name} exited at start: {detail} (log: {proc.log_file})"

    def _start_daemons(self) -> None:
        script = SERVERSIDE_DIR / "daemon_loop.py"
        argv = [str(self.venv.python), str(script), "--lake-home", str(self.paths.home)]
        self.daemons.start(argv, self._env(self.paths.server_cfg), cwd=self.paths.home)

    def _populate_topology(self, settings: LakeSettings) -> None:
        spec = {
            "rses": [
                {
                    "name": rse.name,
                    "root": str(self.paths.rse_root(rse.directory)),
                    "properties": {"country_name": rse.country, "city": rse.city},
                    "attributes": {
                        "type": rse.rse_type,
                        "tier": 2,
                        "site": rse.name.split("-")[0],
                        # tombstoned replicas are deleted at once, not only when space runs out
                        "greedyDeletion": True,
                    },
                    "capacity_bytes": rse.capacity_bytes,
                }
                for rse in layout.RSES
            ],
            "distance": 1,
            "accounts": [
                {
                    "name": "root",
                    "quotas": {name: layout.ROOT_QUOTA_BYTES for name in layout.RSE_NAMES},
                    "scopes": [layout.OPEN_DATA_SCOPE],
                },
                {
                    "name": settings.user,
                    "email": f"{settings.user}@localhost",
                    "password_file": str(self.paths.password_file(settings.user)),
                    "quotas": {name: layout.USER_QUOTA_BYTES for name in layout.RSE_NAMES},
                    "scopes": [layout.user_scope(settings.user)],
                },
            ],
        }
        spec_file = self.paths.state / "topology.json"
        spec_file.parent.mkdir(parents=True, exist_ok=True)
        spec_file.write_text(json.dumps(spec, indent=1))
        self._script(
            "populate.py",
            "topology",
            str(spec_file),
            config=self.paths.client_cfg("root"),
            what="setting up RSEs and accounts",
        )

    # ------------------------------------------------------------------ auth extras
    @_os_errors_as_lake_errors
    def oidc_token(self, lifetime: int = 3600) -> str:
        """A JWT for the user account from the lake's OIDC issuer (``--auth-extras`` only)."""
        settings = self.settings
        if settings is None:
            raise LakeServerError(f"there is no lake in {self.paths.home}")
        return authextras.mint_token(self, settings, lifetime)

    # ------------------------------------------------------------------ seed
    @_os_errors_as_lake_errors
    def seed(self, progress: Progress | None = None, *, scale: float | None = None) -> dict[str, Any]:
        """(Re)generate the sample files and register them, and upload the course material (unless
        ``with_course=False``); idempotent; the lake must be up."""
        report = progress or _silent
        settings = self.settings
        if settings is None or not self.paths.bootstrapped_marker.exists():
            raise LakeServerError(f"there is no lake in {self.paths.home} yet; `vrelab lake up` creates it")
        if self.server.running_pid() is None or ping(settings.url) is None:
            raise LakeServerError(f"the lake in {self.paths.home} is not running; `vrelab lake up` starts it")
        course_files = self._course_files() if self.with_course else None
        with self._lock():
            result = self._seed(settings, report, scale=scale)
            if course_files is not None:
                result["course"] = self._seed_course(course_files, report)
            return result

    def _course_pending(self) -> bool:
        return self.with_course and not self.paths.course_marker.exists()

    def _course_files(self) -> list[Path]:
        """The course files to upload (a LakeServerError saying where they were looked for)."""
        return course.find_material(self.course_material or course.default_material_dir())

    def _seed_course(self, files: list[Path], report: Progress) -> list[str]:
        """Upload the course material into the course scope (idempotent); returns its DIDs."""
        manifest = course.build_manifest(files)
        manifest_file = self.paths.state / "course.json"
        seeding.write_manifest(manifest_file, manifest)
        report(f"uploading the course material to {course.COURSE_SCOPE}:{course.COURSE_DATASET}")
        self._script(
            "populate.py",
            "course",
            str(manifest_file),
            config=self.paths.client_cfg("root"),
            what="uploading the course material",
        )
        _stamp(self.paths.course_marker)
        return [course.course_did(path.name) for path in files]

    def _seed(
        self, settings: LakeSettings, report: Progress, *, scale: float | None = None
    ) -> dict[str, Any]:
        t0 = time.monotonic()
        staging = self.paths.home / "samples-staging"
        report("generating the sample ROOT files (H->gamma gamma, H->ZZ*->4l)")
        samples = seeding.generate(staging, scale=self.sample_scale if scale is None else scale)
        manifest = seeding.build_manifest(samples)
        manifest_file = self.paths.state / "samples.json"
        seeding.write_manifest(manifest_file, manifest)
        report(f"registering {len(samples)} files under {layout.OPEN_DATA_SCOPE} on {layout.UPLOAD_RSE}")
        self._script(
            "populate.py",
            "samples",
            str(manifest_file),
            config=self.paths.client_cfg("root"),
            what="registering the samples",
        )
        shutil.rmtree(staging, ignore_errors=True)
        _stamp(self.paths.seeded_marker)
        result = {
            "files": len(samples),
            "datasets": [f"{layout.OPEN_DATA_SCOPE}:{d['name']}" for d in manifest["datasets"]],
            "containers": [f"{layout.OPEN_DATA_SCOPE}:{c['name']}" for c in manifest["containers"]],
            "seconds": round(time.monotonic() - t0, 1),
        }
        containers = ", ".join(f"{layout.OPEN_DATA_SCOPE}:{c['name']}" for c in manifest["containers"])
        report(
            f"samples registered in {result['seconds']} s: {containers} "
            f"(a second replica on {layout.REPLICA_RSE} follows from the daemon loop)"
        )
        return result

    # ------------------------------------------------------------------ down / reset
    @_os_errors_as_lake_errors
    def down(self, progress: Progress | None = None) -> list[str]:
        """Stop this lake's processes (only the PIDs in its PID files, after checking their command
        lines). Returns what was stopped."""
        report = progress or _silent
        stopped: list[str] = []
        for proc in self.processes:
            pid = proc.stop()
            if pid is not None:
                stopped.append(f"{proc.name} (pid {pid})")
                report(f"stopped the {proc.name} (pid {pid})")
            elif proc.stale:
                report(f"removed a stale PID file of the {proc.name} ({proc.stale})")
        if not stopped:
            report(f"the lake in {self.paths.home} was not running")
        return stopped

    _OWNED = (
        "lake.json",
        "rucio.db",
        "rucio.db-wal",
        "rucio.db-shm",
        "rucio.db-journal",
        "jupyter_server_config.json",
        "env.sh",
        "etc",
        "log",
        "run",
        "state",
        "secrets",
        "rses",
        "tmp",
        "certs",
        "samples-staging",
    )

    @_os_errors_as_lake_errors
    def reset(self, progress: Progress | None = None, *, db: str | None = None) -> None:
        """Stop the lake and wipe its state: database, storage, configs, passwords, logs.

        Only the lake's own entries in ``home`` are removed. With PostgreSQL the Rucio tables are
        dropped from that database (``db`` names it when the lake's settings are gone)."""
        report = progress or _silent
        self.down(report)
        with self._lock():
            settings = self.settings
            url = database.normalise(db) if db else (settings.db_url if settings else "")
            if url:
                self._purge_postgres(url, settings, report)
            for name in self._OWNED:
                if name == "run":
                    continue
                target = self.paths.home / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
        shutil.rmtree(self.paths.run, ignore_errors=True)
        report(f"wiped the lake in {self.paths.home}")

    def _purge_postgres(self, url: str, settings: LakeSettings | None, report: Progress) -> None:
        database.check_reachable(url)
        self.venv.ensure(report)
        self.venv.ensure_postgres_driver(report)
        temp = LakeSettings(port=settings.port if settings else default_port(), user="-", db_url=url)
        cfg = self.paths.tmp / "purge-rucio.cfg"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        alembic = self.paths.tmp / "purge-alembic.ini"
        paths = LakePaths(self.paths.home)
        text = configfiles.server_cfg(paths, temp, self.venv, "unused").replace(
            str(paths.alembic_ini), str(alembic)
        )
        from .passwords import write_private

        write_private(cfg, text)
        write_private(alembic, configfiles.alembic_ini(paths, temp, self._site_packages()))
        report(f"dropping the Rucio tables in {database.redact(url)}")
        self._script("bootstrap_db.py", "purge", config=cfg, what="wiping the PostgreSQL database")

    # ------------------------------------------------------------------ status
    @_os_errors_as_lake_errors
    def status(self) -> dict[str, Any]:
        """State, URL, processes, accounts, RSEs and usage (never a password)."""
        settings = self.settings
        out: dict[str, Any] = {
            "home": str(self.paths.home),
            "initialised": self.paths.bootstrapped_marker.exists(),
            "seeded": self.paths.seeded_marker.exists(),
            "venv": str(self.venv.path),
            "venv_ready": self.venv.is_ready(),
        }
        if settings is None:
            out["state"] = "not created"
            return out
        processes = {}
        for proc in self.processes:
            pid = proc.running_pid()
            if pid is not None or proc.name in ("server", "daemons"):
                processes[proc.name] = pid
        answering = processes.get("server") is not None and ping(settings.url) is not None
        state = "running" if answering else ("not answering" if processes.get("server") else "stopped")
        if state == "running" and processes.get("daemons") is None:
            state = "running (daemon loop stopped: rules will not progress; run `vrelab lake up`)"
        out.update(
            {
                "state": state,
                "url": settings.url,
                "database": (
                    database.redact(settings.db_url) if settings.db_url else f"sqlite {self.paths.sqlite_db}"
                ),
                "processes": processes,
                "root_config": str(self.paths.client_cfg("root")),
                "user": settings.user,
                "user_config": str(self.paths.client_cfg(settings.user)),
                "user_password_file": str(self.paths.password_file(settings.user)),
                "jupyter_config": str(self.paths.jupyter_config),
                "rse_roots": {r.name: str(self.paths.rse_root(r.directory)) for r in layout.RSES},
                "logs": str(self.paths.log),
            }
        )
        if settings.auth_extras:
            out["tls_url"] = settings.tls_url
            out["issuer_url"] = settings.issuer_url
        if answering:
            out.update(self._live_status(settings))
        return out

    def _live_status(self, settings: LakeSettings) -> dict[str, Any]:
        try:
            with RucioREST(settings.url, "root", read_password(self.paths.password_file("root"))) as api:
                accounts = sorted(a["account"] for a in api.accounts())
                rses = []
                for rse in api.rses():
                    usage = {u["source"]: u for u in api.rse_usage(rse)}
                    rucio = usage.get("rucio", {})
                    rses.append(
                        {"rse": rse, "used_bytes": rucio.get("used", 0), "files": rucio.get("files", 0)}
                    )
                quotas: dict[str, dict[str, Any]] = {}
                for account in accounts:
                    limits = api.account_limits(account)
                    used = {u["rse"]: u for u in api.account_usage(account)}
                    quotas[account] = {
                        rse: {
                            "used_bytes": used.get(rse, {}).get("bytes", 0),
                            "files": used.get(rse, {}).get("files", 0),
                            "limit_bytes": limits.get(rse),
                        }
                        for rse in sorted(set(limits) | set(used))
                    }
                samples = api.collections(layout.OPEN_DATA_SCOPE)
        except (LakeServerError, KeyError, ValueError) as exc:
            return {"live_error": str(exc)}
        return {"accounts": accounts, "rses": rses, "usage": quotas, "samples": samples}

    # ------------------------------------------------------------------ for tests and tools
    def password(self, account: str) -> str:
        """The stored password of ``account`` (for a caller that must log in; never printed)."""
        return read_password(self.paths.password_file(account))

    def wait_for_samples(self, timeout: float = 30.0) -> list[str]:
        settings = self.settings
        if settings is None:
            raise LakeServerError("the lake does not exist")
        deadline = time.monotonic() + timeout
        with RucioREST(settings.url, "root", self.password("root")) as api:
            while True:
                found = api.collections(layout.OPEN_DATA_SCOPE)
                if found or time.monotonic() > deadline:
                    return found
                time.sleep(0.5)


def _stamp(marker: Path) -> None:
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))


def _venv_python_tag(venv: ServerVenv) -> str:
    lib = venv.path / "lib"
    for candidate in sorted(lib.glob("python3*")):
        return candidate.name.removeprefix("python")
    return "3.11"
