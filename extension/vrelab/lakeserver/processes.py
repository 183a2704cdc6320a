"""The lake's background processes: started detached, tracked by PID files in ``<home>/run``.

A PID file is trusted only if that PID is alive AND its command line is ours (the script name and
``--lake-home <home>``), so a recycled PID of someone else's process is never signalled. A PID file
whose process is gone is stale: it is removed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from .paths import LakePaths


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _is_running(pid: int) -> bool:
    """Alive and not a zombie (a zombie is reaped when it is our child)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    if state == "Z":
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


class LakeProcess:
    """One background process of one lake: ``name`` (e.g. 'server'), run as ``script``."""

    def __init__(self, paths: LakePaths, name: str, script: str) -> None:
        self.paths = paths
        self.name = name
        self.script = script
        self.stale: str | None = None  # why running_pid() removed a stale PID file
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid_file(self) -> Path:
        return self.paths.pid_file(self.name)

    @property
    def log_file(self) -> Path:
        return self.paths.log_file(self.name)

    def _is_ours(self, pid: int) -> bool:
        argv = _cmdline(pid)
        if not any(Path(arg).name == self.script for arg in argv):
            return False
        home = str(self.paths.home)
        return any(a == "--lake-home" and b == home for a, b in zip(argv, argv[1:], strict=False))

    def recorded_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def running_pid(self) -> int | None:
        """The PID if our process runs; removes a stale PID file (and says why in ``stale``)."""
        self.stale = None
        pid = self.recorded_pid()
        if pid is None:
            if self.pid_file.exists():
                self.pid_file.unlink(missing_ok=True)
                self.stale = "it held no PID"
            return None
        if not _is_running(pid):
            self.stale = f"process {pid} is gone"
        elif not self._is_ours(pid):
            self.stale = f"process {pid} is not one of this lake's (left alone)"
        else:
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(self, argv: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> int:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.name}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(cwd) if cwd else None,
                start_new_session=True,  # not killed with the terminal / the caller's process group
                close_fds=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        self._popen = proc
        return proc.pid

    def exited(self) -> int | None:
        """The exit code if the process we just started has already died."""
        if self._popen is not None:
            return self._popen.poll()
        pid = self.recorded_pid()
        return None if pid is not None and _is_running(pid) else -1

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (then SIGKILL after ``timeout``) our process, if it runs; returns its PID."""
        pid = self.running_pid()
        if pid is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _is_running(pid):
            time.sleep(0.1)
        if _is_running(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
            _is_running(pid)
        if self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=1)
        self.pid_file.unlink(missing_ok=True)
        return pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1", *, also_free: tuple[int, ...] = ()) -> int:
    """A port nobody listens on right now (for tests and the auth extras).

    ``also_free`` are offsets that must be free too (the auth extras use port+3 and port+9).
    """
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if all(port + k < 65536 and port_is_free(port + k, host) for k in also_free):
            return port
    raise RuntimeError("no free block of ports found")
