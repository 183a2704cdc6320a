"""One step as a shell process on this machine (the local backend) or on a Dask worker.

The step's commands run in ``bash`` (``sh`` when there is no bash) in their own process group,
in the run's workspace, with a small environment: the server's Python first on ``PATH``, the
locale, ``HOME``, and the run's parameters as variables. Output (stdout and stderr) goes to the
step's log file. Stopping sends SIGTERM to the whole group, then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = [
    "PROCESS_MARKER",
    "kill_group",
    "shell_command",
    "start_step_process",
    "step_environment",
    "run_step_blocking",
]

# Set in every step process, so that a leftover one can be recognised (and only such a one
# killed) after a server restart.
PROCESS_MARKER = "VRELAB_RUN_ID"
KILL_GRACE_SECONDS = 3.0
_PASS_THROUGH = ("HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM")


def shell_command(script: str) -> list[str]:
    shell = shutil.which("bash") or "/bin/sh"
    return [shell, "-c", script]


def step_environment(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a step process: a clean base plus ``extra`` (parameters, markers)."""
    env = {k: os.environ[k] for k in _PASS_THROUGH if k in os.environ}
    python_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([python_bin, os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")])
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def start_step_process(script: str, cwd: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            shell_command(script),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_group(proc: subprocess.Popen[bytes], grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM to the step's process group, SIGKILL if still alive after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def run_step_blocking(
    script: str, cwd: str, env: dict[str, str], log_path: str, stop_file: str, timeout: float | None = None
) -> tuple[int | None, str]:
    """Run a step to its end (used on Dask workers): ``(exit code, message)``.

    The step is killed when ``stop_file`` appears (the run was stopped) or after ``timeout``.
    """
    proc = start_step_process(script, Path(cwd), step_environment(env), Path(log_path))
    started = time.monotonic()
    while True:
        try:
            code = proc.wait(0.2)
            return code, "" if code == 0 else describe_exit(code)
        except subprocess.TimeoutExpired:
            pass
        if os.path.exists(stop_file):
            kill_group(proc)
            return None, "stopped on request"
        if timeout and time.monotonic() - started > timeout:
            kill_group(proc)
            return None, f"stopped after its time limit of {timeout:g} s"
