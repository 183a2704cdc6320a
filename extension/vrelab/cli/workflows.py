"""``vrelab wf``: submit workflows and follow them (status, logs, outputs, stop, ls, recast)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from ..units import format_bytes
from .common import Ctx, emit, json_option, pass_ctx, table

ENDED = {"finished", "failed", "stopped"}


def _parameters(values: tuple[str, ...]) -> dict[str, str] | None:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        out[name] = value
    return out or None


def _source(spec: str, upload: bool) -> dict[str, Any]:
    if upload:
        path = Path(spec)
        if not path.is_file():
            raise click.BadParameter(f"{spec!r} is not a file on this machine", param_hint="SPEC")
        return {"spec": path.read_text()}
    return {"path": spec}


def _follow(ctx: Ctx, run_id: str) -> dict[str, Any]:
    """Show per-step progress until the run ends (a tqdm bar on stderr unless --json)."""
    wf = ctx.client.workflows
    if ctx.as_json or not sys.stderr.isatty():
        return wf.wait(run_id)
    from tqdm import tqdm

    bar = tqdm(total=None, unit="step", desc=run_id[:8], dynamic_ncols=True, file=sys.stderr)

    def update(run: dict[str, Any]) -> None:
        p = run["progress"]
        bar.total = p["total"]
        bar.n = p["finished"]
        running = [s["name"] for s in run.get("steps", []) if s["status"] == "running"]
        bar.set_postfix_str(f"{run['status']} {' '.join(running)}"[:60], refresh=False)
        bar.refresh()

    try:
        final = wf.wait(run_id, on_progress=update)
        update(final)
    finally:
        bar.close()
    return final


def _status_text(run: dict[str, Any]) -> str:
    p = run["progress"]
    lines = [
        f"{run['id']}  {run['name']}  on {run['backend']}: {run['status'].upper()}"
        f"  ({p['finished']}/{p['total']} steps finished, {p['running']} running, {p['failed']} failed)"
    ]
    if run.get("message"):
        lines.append(f"  {run['message']}")
    rows = [
        [s["name"], s["status"], s.get("image") or "", s.get("started_at") or "", s.get("finished_at") or "",
         "" if s.get("exit_code") is None else str(s["exit_code"]), s.get("message", "")[:50]]
        for s in run.get("steps", [])
    ]  # fmt: skip
    if rows:
        lines.append(table(rows, ["step", "status", "image", "started", "finished", "exit", "message"]))
    recast = run.get("recast")
    if recast and recast.get("conclusion"):
        lines.append(f"RECAST: {recast['conclusion']}")
        lines.append(f"  CLs expected (-2..+2 sigma): {', '.join(f'{v:.4g}' for v in recast.get('CLs_exp') or [])}")
    return "\n".join(lines)


def _exit_for(run: dict[str, Any]) -> None:
    if run["status"] != "finished":
        sys.exit(1)


@click.group("wf")
def wf() -> None:
    """Workflows (reana.yaml or the DAG form) on the local, container, REANA or Dask backends."""


@wf.command("submit")
@click.argument("spec")
@click.option("--backend", "-b", help="local (default), container, reana, dask: see 'vrelab status'.")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE", help="A parameter value (repeatable).")
@click.option("--base-dir", help="Folder (inside the server's root) the input files are taken from.")
@click.option("--name", help="A name for the run.")
@click.option("--upload", is_flag=True, help="SPEC is a file on THIS machine: send its text.")
@click.option("--wait/--no-wait", default=True, help="Follow the run to its end (default) or return at once.")
@json_option
@pass_ctx
def submit(
    ctx: Ctx, spec: str, backend: str | None, params: tuple[str, ...], base_dir: str | None, name: str | None,
    upload: bool, wait: bool,
) -> None:  # fmt: skip
    """Run the workflow SPEC (a path inside the server's root, or --upload a local file)."""
    run = ctx.client.workflows.submit(
        **_source(spec, upload), backend=backend, parameters=_parameters(params), base_dir=base_dir, name=name
    )
    if wait:
        run = _follow(ctx, run["id"])
    emit(ctx, run, _status_text)
    if wait:
        _exit_for(run)


@wf.command("validate")
@click.argument("spec")
@click.option("--backend", "-b", help="Also check that this backend is available.")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE")
@click.option("--upload", is_flag=True, help="SPEC is a file on THIS machine.")
@json_option
@pass_ctx
def validate(ctx: Ctx, spec: str, backend: str | None, params: tuple[str, ...], upload: bool) -> None:
    """Check a workflow without running it."""
    out = ctx.client.workflows.validate(**_source(spec, upload), backend=backend, parameters=_parameters(params))

    def text(d: dict[str, Any]) -> str:
        w = d["workflow"]
        lines = [f"valid: {w['name']} ({w['form']}), {len(w['steps'])} step(s)"]
        lines += [f"  {s['name']:<20} {s['image']:<30} needs: {', '.join(s['needs']) or '-'}" for s in w["steps"]]
        if "backend" in d:
            b = d["backend"]
            lines.append(f"backend {b['name']}: {'available' if b['available'] else 'NOT available'} {b['message']}")
        return "\n".join(lines)

    emit(ctx, out, text)


@wf.command("status")
@click.argument("workflow_id")
@click.option("--watch", "-w", is_flag=True, help="Follow it until it ends.")
@json_option
@pass_ctx
def status(ctx: Ctx, workflow_id: str, watch: bool) -> None:
    """A run's status, step by step."""
    run = _follow(ctx, workflow_id) if watch else ctx.client.workflows.status(workflow_id)
    emit(ctx, run, _status_text)


@wf.command("logs")
@click.argument("workflow_id")
@click.option("--step", "-s", help="Only this step.")
@json_option
@pass_ctx
def logs(ctx: Ctx, workflow_id: str, step: str | None) -> None:
    """The run's log and each step's log (image, command, times, exit code)."""
    out = ctx.client.workflows.logs(workflow_id, step=step)

    def text(d: dict[str, Any]) -> str:
        parts = [] if step else ["== workflow ==", d["workflow_logs"].rstrip()]
        for s in d["steps"]:
            code = "" if s.get("exit_code") is None else f", exit code {s['exit_code']}"
            parts.append(f"== step {s['name']} [{s['status']}{code}] image {s.get('image')} ==")
            parts.append(f"$ {s['command']}")
            if s.get("started_at"):
                parts.append(f"# {s['started_at']} -> {s.get('finished_at') or '...'}")
            if s.get("truncated"):
                parts.append("# (only the end of the log is shown)")
            parts.append(s["logs"].rstrip())
        return "\n".join(parts)

    emit(ctx, out, text)


@wf.command("outputs")
@click.argument("workflow_id")
@click.option("--download", "-d", "paths", multiple=True, metavar="PATH", help="Download this file (repeatable).")
@click.option("--to", "dest", default=".", show_default=True, help="Local folder to download into.")
@json_option
@pass_ctx
def outputs(ctx: Ctx, workflow_id: str, paths: tuple[str, ...], dest: str) -> None:
    """List a run's files (declared outputs marked *), or --download some."""
    wf_api = ctx.client.workflows
    if paths:
        saved = [str(wf_api.download(workflow_id, p, Path(dest) / p)) for p in paths]
        emit(ctx, {"downloaded": saved}, lambda d: "\n".join(d["downloaded"]))
        return
    out = wf_api.outputs(workflow_id)

    def text(d: dict[str, Any]) -> str:
        rows = [["*" if f["declared"] else "", f["path"], format_bytes(f["size"]), f["modified"]] for f in d["files"]]
        lines = [table(rows, ["", "path", "size", "modified"])]
        if d["missing"]:
            lines.append(f"declared but not written: {', '.join(d['missing'])}")
        return "\n".join(lines)

    emit(ctx, out, text)


@wf.command("stop")
@click.argument("workflow_id")
@json_option
@pass_ctx
def stop(ctx: Ctx, workflow_id: str) -> None:
    """Stop a queued or running run."""
    run = ctx.client.workflows.stop(workflow_id)
    deadline = time.monotonic() + 30
    while run["status"] not in ENDED and time.monotonic() < deadline:
        time.sleep(0.3)
        run = ctx.client.workflows.status(workflow_id)
    emit(ctx, run, _status_text)


@wf.command("rm")
@click.argument("workflow_id")
@pass_ctx
def rm(ctx: Ctx, workflow_id: str) -> None:
    """Delete an ended run (record, logs and files)."""
    ctx.client.workflows.delete(workflow_id)
    emit(ctx, {"deleted": workflow_id}, f"deleted {workflow_id}")


@wf.command("ls")
@click.option("--status", type=click.Choice(["queued", "running", "finished", "failed", "stopped"]))
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@pass_ctx
def ls(ctx: Ctx, status: str | None, limit: int) -> None:
    """Your workflow runs, newest first."""
    out = ctx.client.workflows.list(status=status, limit=limit)

    def text(d: dict[str, Any]) -> str:
        rows = [
            [r["id"], r["name"], r["backend"] or "", r["status"],
             f"{r['progress']['finished']}/{r['progress']['total']}", r.get("started_at") or ""]
            for r in d["workflows"]
        ]  # fmt: skip
        return table(rows, ["id", "name", "backend", "status", "steps", "started"]) + f"\n{d['total']} run(s)"

    emit(ctx, out, text)


@wf.command("recast")
@click.argument("spec")
@click.option("--workspace", "workspace_id", required=True, help="Id of the stored background-only workspace.")
@click.option("--yields", help="The output file with the signal yields (default: the spec's one .json/.root output).")
@click.option("--sample", help="Signal sample to add or replace (default 'signal').")
@click.option("--channel", "channels", multiple=True, help="Only these channels (repeatable).")
@click.option("--poi-value", type=float, help="Signal strength tested (default 1).")
@click.option("--backend", "-b")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE")
@click.option("--upload", is_flag=True, help="SPEC is a file on THIS machine.")
@json_option
@pass_ctx
def recast(
    ctx: Ctx, spec: str, workspace_id: str, yields: str | None, sample: str | None, channels: tuple[str, ...],
    poi_value: float | None, backend: str | None, params: tuple[str, ...], upload: bool,
) -> None:  # fmt: skip
    """RECAST: run SPEC, patch its signal yields into WORKSPACE, and test at 95% CL."""
    run = ctx.client.workflows.recast(
        **_source(spec, upload), workspace_id=workspace_id, yields=yields, sample=sample,
        channels=list(channels) or None, poi_value=poi_value, backend=backend, parameters=_parameters(params),
        wait=False,
    )  # fmt: skip
    run = _follow(ctx, run["id"])
    emit(ctx, run, _status_text)
    _exit_for(run)
