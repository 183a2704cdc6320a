"""``vrelab lake download|upload|multiply``: data-lake transfers as jobs of the server, with progress.

The server does the work (``lake.download``, ``lake.upload``, ``lake.multiply`` jobs) with the
identity stored for the instance; paths are folders and files of your Jupyter home (the server's
root). Each command calls the client's method of the same name (``Client().lake.download`` ...),
so the CLI and a notebook send the same job. A progress bar follows the job; ``--no-wait`` only
submits it, ``--json`` prints the record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ...units import format_bytes
from ..common import Ctx, emit, json_option, pass_ctx, table
from ..progress import job_bar
from .browse import _instance_option

Job = dict[str, Any]


def _run(ctx: Ctx, start: Callable[..., Job], no_wait: bool, text: Callable[[dict[str, Any]], str]) -> None:
    """``start(wait=..., on_progress=...)`` is one of the client's transfer methods, arguments bound."""
    if no_wait:
        job = start(wait=False)
        emit(ctx, job, lambda j: f"submitted {j['kind']} job {j['id']} (follow it: vrelab jobs watch {j['id']})")
        return
    with job_bar(quiet=ctx.as_json) as on_progress:
        final = start(wait=True, on_progress=on_progress)
    emit(ctx, final["result"], text)


def _download_text(r: dict[str, Any]) -> str:
    rows = [
        [f["path"], format_bytes(f["bytes"]), f["state"], f.get("verified") or "-", f.get("rse") or "-"]
        for f in r["files"]
    ]
    c = r["counts"]
    head = (
        f"{c['downloaded']} downloaded, {c['present']} already there (verified), into {r['dest']} "
        f"({format_bytes(r['bytes_downloaded'])} in {r['seconds']:.1f} s)"
    )
    return head + "\n" + table(rows, ["PATH", "SIZE", "STATE", "VERIFIED", "FROM"])


@click.command()
@click.argument("dids", nargs=-1, required=True)
@click.option("-d", "--dest", help="Folder in your Jupyter home [default: data/<scope>].")
@click.option("--rse", help="Preferred RSE to read from.")
@click.option("-w", "--workers", type=click.IntRange(1, 16), help="Files fetched in parallel [4].")
@click.option("--no-local", is_flag=True, help="Fetch through the RSE protocol even where a replica is readable here.")
@click.option("--no-wait", is_flag=True, help="Submit the job and print it, without waiting.")
@_instance_option
@json_option
@pass_ctx
def download(
    ctx: Ctx,
    dids: tuple[str, ...],
    dest: str | None,
    rse: str | None,
    workers: int | None,
    no_local: bool,
    no_wait: bool,
    instance: str | None,
) -> None:
    """Download DIDS (files, datasets, containers) into a folder of your home: checksum-verified;
    run it again to fetch only what is missing or damaged."""

    def start(**how: Any) -> Job:
        return ctx.client.lake.download(
            list(dids),
            dest=dest,
            rse=rse,
            workers=workers,
            prefer_local=False if no_local else None,
            instance=instance,
            **how,
        )

    _run(ctx, start, no_wait, _download_text)


def _upload_text(r: dict[str, Any]) -> str:
    rows = [[f["path"], f["did"], format_bytes(f["bytes"]), f["state"]] for f in r["files"]]
    where = f" into {r['dataset']}" if r.get("dataset") else ""
    life = f", lifetime {r['lifetime']} s" if r.get("lifetime") else ""
    return f"{len(r['files'])} file(s) on {r['rse']}{where}{life}\n" + table(rows, ["PATH", "DID", "SIZE", "STATE"])


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("-s", "--scope", required=True, help="Scope of the new files, e.g. user.jdoe.")
@click.option("--rse", required=True, help="RSE to upload to, e.g. LAPP-SCRATCHDISK.")
@click.option("--dataset", help="Dataset to put them in (made if needed).")
@click.option("--lifetime", type=click.IntRange(1), help="Seconds until the rule (and the copies) expire.")
@click.option("--no-wait", is_flag=True, help="Submit the job and print it, without waiting.")
@_instance_option
@json_option
@pass_ctx
def upload(
    ctx: Ctx,
    files: tuple[str, ...],
    scope: str,
    rse: str,
    dataset: str | None,
    lifetime: int | None,
    no_wait: bool,
    instance: str | None,
) -> None:
    """Upload FILES (paths in your Jupyter home) to the lake."""

    def start(**how: Any) -> Job:
        return ctx.client.lake.upload(
            list(files), scope=scope, rse=rse, dataset=dataset, lifetime=lifetime, instance=instance, **how
        )

    _run(ctx, start, no_wait, _upload_text)


def _multiply_text(r: dict[str, Any]) -> str:
    rule = r["rule"]
    return (
        f"merged {len(r['inputs'])} file(s) of {r['source']} ({r['merged']['entries']} entries of {r['tree']!r}); "
        f"{len(r['files'])} copies in {r['dataset']}\n"
        f"rule {rule['id']} to {rule['rse_expression']}: {rule['state']}, expires {rule['expires_at'] or 'never'}"
    )


@click.command()
@click.argument("dataset")
@click.option("-n", "--copies", type=click.IntRange(1, 100), default=2, show_default=True)
@click.option("--rse", required=True, help="RSE to upload the copies to, e.g. LAPP-SCRATCHDISK.")
@click.option("--replicate-to", required=True, help="Second RSE to replicate the new dataset to, e.g. NAPOLI-DISK.")
@click.option("--lifetime", type=click.IntRange(1), help="Seconds until the new dataset's rules expire [7 days].")
@click.option("-s", "--scope", help="Scope of the new dataset [user.<account>].")
@click.option("--name", help="Name of the new dataset [<dataset>.x<N>.<time>].")
@click.option("--tree", help="Tree to merge [the one the files share].")
@click.option("--no-wait", is_flag=True, help="Submit the job and print it, without waiting.")
@_instance_option
@json_option
@pass_ctx
def multiply(
    ctx: Ctx,
    dataset: str,
    copies: int,
    rse: str,
    replicate_to: str,
    lifetime: int | None,
    scope: str | None,
    name: str | None,
    tree: str | None,
    no_wait: bool,
    instance: str | None,
) -> None:
    """Data multiplication: merge DATASET's ROOT files (like hadd), upload N copies into a new
    dataset with a lifetime, and replicate it to a second RSE."""

    def start(**how: Any) -> Job:
        return ctx.client.lake.multiply(
            dataset,
            copies=copies,
            rse=rse,
            replicate_to=replicate_to,
            lifetime=lifetime,
            scope=scope,
            name=name,
            tree=tree,
            instance=instance,
            **how,
        )

    _run(ctx, start, no_wait, _multiply_text)


COMMANDS = [download, upload, multiply]
