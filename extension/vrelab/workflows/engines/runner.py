"""Running a workflow with its engine on this machine: one engine process per run.

The engine (from its venv) runs in the run's workspace in its own process group, carrying the
run's ``VRELAB_RUN_ID`` marker (so a server restart stops a leftover one, as for local steps). Its
output is read line by line: the engine's parser turns lines into step events, written to the run
record as they come (``step_started``, ``step_output``, ``step_finished``); the engine's own lines go
to the run's log. A stop kills the process group (SIGTERM, then SIGKILL). When the engine exits,
steps it left running take its verdict; a failure with no failed step fails the run with the
engine's last error line.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from pathlib import Path

from ...errors import WorkflowFailed
from ..backends.base import RunContext, RunStatus
from ..stepproc import describe_exit, kill_group, step_environment
from .base import Engine, Event

__all__ = ["run_engine", "write_main_file"]

_EOF = object()


def write_main_file(ctx: RunContext) -> None:
    """The workflow's main file (CWL, Snakefile, Yadage spec) into the workspace, as validated."""
    engine = ctx.spec.engine
    assert engine is not None
    target = ctx.workspace / engine.file
    target.parent.mkdir(parents=True, exist_ok=True)
    if engine.text and (not target.is_file() or target.read_text(errors="replace") != engine.text):
        target.write_text(engine.text)


def _reader(stream: object, lines: queue.Queue[object]) -> None:
    for raw in stream:  # type: ignore[attr-defined]
        lines.put(raw.decode("utf-8", errors="replace").rstrip("\n"))
    lines.put(_EOF)


def run_engine(ctx: RunContext, engine: Engine, *, container_host: str | None = None) -> None:
    """Run ``ctx.spec`` with ``engine``; returns when it ended or was stopped.

    ``container_host``: run each step in its image, through the podman command talking to the
    engine at that URL (``CONTAINER_HOST``: the same podman service the container backend uses)."""
    ctx.log(f"{engine.program}: preparing its environment {engine.venv.path}")
    engine.venv.ensure(ctx.log)
    write_main_file(ctx)
    scratch = ctx.workspace.parent / "engine"
    scratch.mkdir(parents=True, exist_ok=True)
    steps = [s.name for s in ctx.spec.steps]
    argv = engine.command(ctx.spec, ctx.workspace, scratch, ctx.concurrency, containers=container_host is not None)
    env = step_environment({**ctx.parameters, "VRELAB_RUN_ID": ctx.run_id, "VRELAB_STEP": engine.program})
    if container_host is not None:
        env["CONTAINER_HOST"] = container_host
    if (scratch / "bin").is_dir():  # helper commands the engine wrote for itself
        env["PATH"] = os.pathsep.join([str(scratch / "bin"), env["PATH"]])
    env["PATH"] = os.pathsep.join([str(engine.venv.path / "bin"), env["PATH"]])
    stdout_path = scratch / "stdout.txt"
    ctx.log("$ " + " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv)))
    with open(stdout_path, "wb") as stdout_file:
        proc = subprocess.Popen(
            argv,
            cwd=ctx.workspace,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if engine.merge_stdout else stdout_file,
            stderr=subprocess.STDOUT if engine.merge_stdout else subprocess.PIPE,
            start_new_session=True,
        )
    stream = proc.stdout if engine.merge_stdout else proc.stderr
    lines: queue.Queue[object] = queue.Queue()
    threading.Thread(target=_reader, args=(stream, lines), name=f"vrelab-engine-{ctx.run_id}", daemon=True).start()
    parser = engine.parser(steps)
    started: set[str] = set()
    ended: set[str] = set()
    failed: list[str] = []
    last_error = ""
    current: list[str | None] = [None]

    def apply(event: Event) -> None:
        nonlocal last_error
        step = event.step
        if event.kind == "engine":
            ctx.log(f"{engine.program}: {event.text}")
            if "error" in event.text.lower() or "fail" in event.text.lower():
                last_error = event.text.strip()
        elif event.kind == "start" and step is not None:
            ctx.step_started(step, backend_id=f"pid:{proc.pid}")
            started.add(step)
            ended.discard(step)
            current[0] = step
        elif event.kind == "output":
            target = step or current[0]
            if target is None:
                ctx.log(f"{engine.program}: {event.text.rstrip()}")
            else:
                if target not in started:
                    ctx.step_started(target, backend_id=f"pid:{proc.pid}")
                    started.add(target)
                ctx.step_output(target, event.text)
        elif event.kind == "end" and step is not None:
            if step not in started:
                ctx.step_started(step, backend_id=f"pid:{proc.pid}")
                started.add(step)
            if not event.ok and ctx.stopping:  # the engine reporting the kill of a stop
                ctx.step_finished(step, status=RunStatus.STOPPED, message="stopped on request")
                ended.add(step)
                return
            status = RunStatus.FINISHED if event.ok else RunStatus.FAILED
            ctx.step_finished(step, status=status, exit_code=0 if event.ok else event.exit_code, message=event.text)
            ended.add(step)
            if not event.ok:
                failed.append(step)

    stopped = False
    while True:
        if ctx.stopping and not stopped:
            stopped = True
            kill_group(proc)  # type: ignore[arg-type]
        try:
            item = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        if item is _EOF:
            break
        for event in parser.feed(str(item)):
            apply(event)
    code = proc.wait()
    for line in engine.after(ctx.workspace, scratch, stdout_path.read_text(errors="replace")):
        ctx.log(line)
    if stopped:
        for step in sorted(started - ended):
            ctx.step_finished(step, status=RunStatus.STOPPED, message="stopped on request")
        return
    verdict = RunStatus.FINISHED if code == 0 else RunStatus.FAILED
    why = "" if code == 0 else f"{engine.program} {describe_exit(code)}"
    for step in [s for s in steps if s in started and s not in ended]:
        ctx.step_finished(step, status=verdict, exit_code=0 if code == 0 else None, message=why)
        if verdict is RunStatus.FAILED:
            failed.append(step)
    if code == 0:
        for step in [s for s in steps if s not in started]:  # the engine found nothing to do for it
            ctx.step_started(step)
            nothing = f"{engine.program} had nothing to run"
            ctx.step_finished(step, status=RunStatus.FINISHED, exit_code=0, message=nothing)
        return
    if not failed:
        raise WorkflowFailed(f"{engine.program} {describe_exit(code)}" + (f": {last_error}" if last_error else ""))
