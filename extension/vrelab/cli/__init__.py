"""The ``vrelab`` command."""

from __future__ import annotations

import click

from .._version import __version__
from .common import Ctx, VRELabGroup, emit, json_option, pass_ctx
from .demo import demo
from .fit import fit
from .jobs import jobs
from .lake import lake
from .workflows import wf


@click.group(cls=VRELabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", envvar="VRELAB_URL", help="vrelab server URL (default: found by itself).")
@click.option("--token", envvar="VRELAB_TOKEN", help="Jupyter token for that server.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.version_option(__version__, prog_name="vrelab")
@click.pass_context
def main(ctx: click.Context, url: str | None, token: str | None, as_json: bool) -> None:
    """vrelab: the data lake, published likelihoods and workflows from one Jupyter server.

    Errors are one line on stderr (exit code 1); nothing prints a traceback.
    """
    ctx.obj = Ctx(url, token, as_json)


@main.command()
@json_option
@pass_ctx
def status(ctx: Ctx) -> None:
    """Show the server's version, capabilities and upstream services."""
    data = ctx.client.status()

    def text(d: dict) -> str:
        lines = [f"vrelab {d['version']} at {ctx.client.server.url} (found by {ctx.client.server.found_by})"]
        for name, cap in d["capabilities"].items():
            state = "enabled" if cap.get("enabled") else "disabled"
            reach = {True: "reachable", False: "UNREACHABLE", None: ""}[cap.get("reachable")]
            msg = cap.get("message") or ""
            lines.append(f"  {name:<10} {state:<9} {reach:<12} {msg}".rstrip())
        return "\n".join(lines)

    emit(ctx, data, text)


main.add_command(jobs)
main.add_command(lake)
main.add_command(fit)
main.add_command(demo)
main.add_command(wf)
