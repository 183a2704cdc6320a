"""``--plot FILE`` for the ``vrelab fit`` commands: save the plots of a fit job's result.

    vrelab fit fit 3f2a9c -p sbottom_1300_205_60 --plot fit.pdf     # every plot, one page each
    vrelab fit limit 3f2a9c -p sbottom_1300_205_60 --plot brazil.png
    vrelab fit scan 3f2a9c --plot contour.svg

A ``.pdf`` holds all the result's plots, one per page. Any other format (``.png``, ``.svg``, ...)
gives one file when the result has one plot (CLs, Brazil band, a two-label contour), and
otherwise one file per plot named after it: ``fit-pulls.png``, ``fit-SR_meff-post-fit.png``, ...

A command uses it as::

    @plot_option
    def cls(ctx, ..., plot_file, **opts):
        result = _submit(...)
        emit(ctx, result, text)
        emit_plots(ctx, wid, "fit.hypotest", result, plot_file)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import BadRequest

__all__ = ["emit_plots", "plot_option", "save_plots"]

F = TypeVar("F", bound=Callable[..., Any])


def plot_option(fn: F) -> F:
    """``--plot FILE``: the command's parameter ``plot_file`` (None when not given)."""
    return click.option(
        "--plot",
        "plot_file",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="Save the result's plots: FILE.pdf holds them all; .png/.svg/... one file per plot.",
    )(fn)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "-", name).strip("-") or "plot"


def save_plots(
    result: dict[str, Any],
    path: str | Path,
    kind: str | None = None,
    *,
    poi: str | None = None,
    label: str | None = None,
    dpi: int = 150,
) -> list[Path]:
    """Draw the plots of a fit job's result and save them at ``path``; return the files written."""
    from ..plots.fit import plots_for

    target = Path(path).expanduser()
    suffix = target.suffix.lower()
    if not suffix:
        raise BadRequest(f"Give the plot file a format suffix such as .pdf, .png or .svg: {str(path)!r}.")
    if not target.parent.is_dir():
        raise BadRequest(f"The folder for the plot file does not exist: {str(target.parent)!r}.")
    try:
        makers = plots_for(result, kind, poi_label=poi or result.get("poi"), label=label)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    written: list[Path] = []
    try:
        if suffix == ".pdf":
            from matplotlib.backends.backend_pdf import PdfPages

            with PdfPages(target) as pdf:
                for make in makers.values():
                    pdf.savefig(make())
            written.append(target)
        else:
            for name, make in makers.items():
                out = target if len(makers) == 1 else target.with_name(f"{target.stem}-{_slug(name)}{target.suffix}")
                make().savefig(out, dpi=dpi)
                written.append(out)
    except OSError as exc:
        raise BadRequest(f"Cannot write the plot file {str(path)!r}: {exc.strerror or exc}.") from None
    except ValueError as exc:  # e.g. a format matplotlib does not know
        raise BadRequest(f"Cannot save the plot as {str(path)!r}: {exc}") from None
    return written


def emit_plots(ctx: Any, workspace_id: str, kind: str, result: dict[str, Any], plot_file: str | None) -> list[Path]:
    """Save the plots when ``--plot`` was given, naming each file written on stderr (stdout stays JSON)."""
    if not plot_file:
        return []
    poi = result.get("poi")
    if poi is None and kind in ("fit.hypotest", "fit.limit"):
        poi = ctx.client.fit.inspect(workspace_id).get("poi")
    written = save_plots(result, plot_file, kind, poi=poi, label=result.get("patch"))
    for path in written:
        click.echo(f"plot saved: {path}", err=True)
    return written
