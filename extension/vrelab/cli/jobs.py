"""``vrelab jobs``: list, show, follow, cancel, delete and resubmit jobs."""

from __future__ import annotations

import time
from typing import Any

import click

from .common import Ctx, emit, json_option, pass_ctx, table
from .progress import follow_job


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _progress(job: dict[str, Any]) -> str:
    p = job["progress"]
    if p.get("fraction") is not None:
        return f"{100 * p['fraction']:.0f}%"
    return p.get("message", "")[:30] or "-"


@click.group()
def jobs() -> None:
    """Your jobs: transfers, fits and workflows."""


@jobs.command("ls")
@click.option("--kind", help="Only jobs of this kind (comma-separated for several).")
@click.option("--state", help="Only jobs in this state (queued, running, succeeded, failed, cancelled, interrupted).")
@click.option("--limit", default=50, show_default=True, help="How many to show.")
@click.option("--offset", default=0, show_default=True, help="How many to skip.")
@json_option
@pass_ctx
def ls(ctx: Ctx, kind: str | None, state: str | None, limit: int, offset: int) -> None:
    """List jobs, newest first."""
    page = ctx.client.jobs(kind=kind, state=state, limit=limit, offset=offset)

    def text(p: dict[str, Any]) -> str:
        rows = [
            [j["id"], j["kind"], j["state"], _progress(j), _when(j["created"]), j.get("title", "")] for j in p["jobs"]
        ]
        shown = f"{len(rows)} of {p['total']} job(s)"
        return (table(rows, ["ID", "KIND", "STATE", "PROGRESS", "CREATED", "TITLE"]) + "\n" + shown) if rows else shown

    emit(ctx, page, text)


@jobs.command("show")
@click.argument("job_id")
@json_option
@pass_ctx
def show(ctx: Ctx, job_id: str) -> None:
    """Show one job, with its result or error."""
    job = ctx.client.job(job_id)

    def text(j: dict[str, Any]) -> str:
        lines = [
            f"id:        {j['id']}",
            f"kind:      {j['kind']}",
            f"state:     {j['state']}",
            f"progress:  {_progress(j)} {j['progress'].get('message', '')}",
            f"created:   {_when(j['created'])}",
            f"started:   {_when(j.get('started'))}",
            f"finished:  {_when(j.get('finished'))}",
        ]
        if j.get("error"):
            lines.append(f"error:     {j['error']['message']}")
        if j.get("result") is not None:
            import json

            lines.append("result:    " + json.dumps(j["result"], indent=2)[:4000])
        return "\n".join(lines)

    emit(ctx, job, text)


@jobs.command("watch")
@click.argument("job_id")
@json_option
@pass_ctx
def watch(ctx: Ctx, job_id: str) -> None:
    """Follow a job with a progress bar until it finishes."""
    final = follow_job(ctx.client, job_id, quiet=ctx.as_json)
    emit(
        ctx,
        final,
        lambda j: f"{j['id']}: {j['state']}" + (f" — {j['error']['message']}" if j.get("error") else ""),
    )
    if final["state"] != "succeeded":
        raise SystemExit(1)


@jobs.command("cancel")
@click.argument("job_id")
@json_option
@pass_ctx
def cancel(ctx: Ctx, job_id: str) -> None:
    """Cancel a queued or running job."""
    emit(ctx, ctx.client.cancel(job_id), lambda j: f"cancellation requested for {j['id']}")


@jobs.command("rm")
@click.argument("job_id")
@json_option
@pass_ctx
def rm(ctx: Ctx, job_id: str) -> None:
    """Delete a finished job's record and log."""
    ctx.client.delete_job(job_id)
    emit(ctx, {"deleted": job_id}, f"deleted {job_id}")


@jobs.command("resubmit")
@click.argument("job_id")
@click.option("--watch/--no-watch", default=False, help="Follow the new job.")
@json_option
@pass_ctx
def resubmit(ctx: Ctx, job_id: str, watch: bool) -> None:
    """Run a finished job again (e.g. one interrupted by a server restart)."""
    job = ctx.client.resubmit(job_id)
    if watch:
        job = follow_job(ctx.client, job["id"], quiet=ctx.as_json)
    emit(ctx, job, lambda j: f"new job {j['id']} ({j['state']})")


@jobs.command("log")
@click.argument("job_id")
@pass_ctx
def log_(ctx: Ctx, job_id: str) -> None:
    """Print a job's log."""
    click.echo(ctx.client.job_log(job_id), nl=False)
