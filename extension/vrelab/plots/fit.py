"""Plots of fit results: Brazil band, CLs, pulls, correlations, data/model yields, exclusion contours.

Pure functions of the result dicts the fit jobs return (``Client().fit.mle(...)`` etc., or a job
record's ``result``): nothing is fitted here. Each function draws in an ATLAS-like mplhep style
and returns a :class:`matplotlib.figure.Figure` (a ``StyledFigure``, which is drawn in that style
wherever it is shown: see ``style.py``); give ``ax`` to draw into an existing Axes (the
figure returned is then that Axes' figure). Figures are made without pyplot, so they hold no global
state and can be drawn in any thread; in a notebook, display them or ``fig.savefig("x.png")``.

:func:`plots_for` lists the plots a result can give (names -> functions making them), for the
``FitPanel`` widget and ``vrelab fit ... --plot``.
"""

from __future__ import annotations

import fnmatch
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from .style import StyledFigure, style

__all__ = [
    "axis_label",
    "kind_of",
    "plot_brazil",
    "plot_cls",
    "plot_contour",
    "plot_correlations",
    "plot_pulls",
    "plot_yields",
    "plots_for",
    "poi_tex",
    "style",
]

BAND_1SIGMA = "#00c000"
BAND_2SIGMA = "#ffdf00"
CONTOUR_BAND = "#ffdf00"
OBSERVED_CONTOUR = "#d7191c"
POINT_COLOURS = "Blues_r"  # excluded points dark, allowed ones pale
# one colour per sample, in the order of the workspace's samples (the same in every channel)
SAMPLE_COLOURS = (
    "#3f90da",
    "#ffa90e",
    "#bd1f01",
    "#94a4a2",
    "#832db6",
    "#a96b59",
    "#e76300",
    "#b9ac70",
    "#717581",
    "#92dadd",
)
# sparticle names as they appear in patchset labels (mn1, msb, mstau, ...)
_SPARTICLES = {
    "n1": r"\tilde{\chi}^{0}_{1}",
    "n2": r"\tilde{\chi}^{0}_{2}",
    "n3": r"\tilde{\chi}^{0}_{3}",
    "c1": r"\tilde{\chi}^{\pm}_{1}",
    "c2": r"\tilde{\chi}^{\pm}_{2}",
    "n2c1": r"\tilde{\chi}^{\pm}_{1}/\tilde{\chi}^{0}_{2}",
    "c1n2": r"\tilde{\chi}^{\pm}_{1}/\tilde{\chi}^{0}_{2}",
    "sb": r"\tilde{b}_{1}",
    "b1": r"\tilde{b}_{1}",
    "st": r"\tilde{t}_{1}",
    "t1": r"\tilde{t}_{1}",
    "stau": r"\tilde{\tau}",
    "gl": r"\tilde{g}",
    "go": r"\tilde{g}",
    "sq": r"\tilde{q}",
    "sl": r"\tilde{\ell}",
    "slep": r"\tilde{\ell}",
}
_MASS = re.compile(r"^m_?(?P<particle>[a-z0-9]+)$", re.IGNORECASE)


# ------------------------------------------------------------------ style and helpers
def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.get_figure(), ax  # type: ignore[return-value]
    fig = StyledFigure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _floats(values: Iterable[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _corner_text(ax: Axes, lines: Sequence[str], *, x: float = 0.04, y: float = 0.95) -> None:
    text = "\n".join(line for line in lines if line)
    if text:
        ax.text(x, y, text, transform=ax.transAxes, ha="left", va="top")


def _title(ax: Axes, label: str | None) -> None:
    if label:
        ax.set_title(label, loc="left", fontsize="medium")


def _no_minor_ticks(ax: Axes, axis: Literal["both", "x", "y"] = "both") -> None:
    ax.tick_params(axis=axis, which="minor", bottom=False, top=False, left=False, right=False)


def axis_label(name: str, unit: str = "GeV") -> str:
    """A readable axis label for a patchset label: ``mn1`` -> m(chi^0_1) [GeV]; others unchanged."""
    match = _MASS.match(name)
    if match and match["particle"].lower() in _SPARTICLES:
        return rf"$m({_SPARTICLES[match['particle'].lower()]})$ [{unit}]"
    return name


def poi_tex(name: str | None) -> str:
    """The POI's name as mathtext (without the dollars): ``mu_SIG`` -> mu_SIG with a roman subscript."""
    if not name or name == "mu":
        return r"\mu"
    if name.startswith("mu_"):
        return rf"\mu_{{\mathrm{{{name[3:]}}}}}".replace("_", r"\_").replace(r"\mu\_", r"\mu_")
    return rf"\mathrm{{{name}}}".replace("_", r"\_")


def _percent(level: float) -> str:
    return f"{(1 - level) * 100:g}% CL"


# ------------------------------------------------------------------ CLs of one hypothesis test
def plot_cls(
    result: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    level: float = 0.05,
    poi_label: str = r"\mu",
    label: str | None = None,
) -> Figure:
    """CLs of one hypothesis test (``fit.hypotest``): the observed value against the expected band.

    The horizontal axis is CLs on a log scale; the ±1σ (green) and ±2σ (yellow) expected bands,
    the median expected (dashed), the observed value (marker) and the exclusion level (red).
    """
    with style():
        fig, ax = _new_axes(ax, (8.0, 3.4))
        obs = result.get("CLs_obs")
        exp = _floats(result.get("CLs_exp") or [None] * 5)
        values = [v for v in [obs, *exp] if v is not None and math.isfinite(v) and v > 0]
        low = 10 ** math.floor(math.log10(min([level / 2, *values])))
        ax.set_xscale("log")
        ax.set_xlim(low, 1.5)
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        _no_minor_ticks(ax, "y")
        handles: list[Any] = []
        if np.all(np.isfinite(exp)):
            ax.axvspan(exp[0], exp[4], ymin=0.3, ymax=0.7, color=BAND_2SIGMA, lw=0)
            ax.axvspan(exp[1], exp[3], ymin=0.3, ymax=0.7, color=BAND_1SIGMA, lw=0)
            ax.plot([exp[2], exp[2]], [0.3, 0.7], color="k", ls="--")
            handles += [
                Line2D([], [], color="k", ls="--", label=f"Expected ({exp[2]:.3g})"),
                Patch(color=BAND_1SIGMA, label=r"Expected $\pm 1\sigma$"),
                Patch(color=BAND_2SIGMA, label=r"Expected $\pm 2\sigma$"),
            ]
        if obs is not None:
            (marker,) = ax.plot([obs], [0.5], "o", color="k", ms=10, label=f"Observed ({obs:.3g})")
            handles.insert(0, marker)
        line = ax.axvline(level, color="red", lw=1.5, label=f"CLs = {level:g} ({_percent(level)})")
        handles.append(line)
        ax.set_xlabel(r"CL$_{s}$")
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
        poi_value = result.get("poi_value", 1.0)
        verdict = ""
        if obs is not None:
            verdict = f"excluded at {_percent(level)}" if obs < level else f"not excluded at {_percent(level)}"
        _corner_text(ax, [label or "", rf"${poi_label} = {poi_value:g}$: {verdict}"], y=0.97)
    return fig


# ------------------------------------------------------------------ upper limit: Brazil band
def plot_brazil(
    result: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    poi_label: str = r"\mu",
    label: str | None = None,
    log_y: bool = False,
) -> Figure:
    """CLs against the POI (``fit.limit``): observed, expected with ±1σ/±2σ bands, the CLs level and the limits."""
    with style():
        fig, ax = _new_axes(ax, (8.0, 6.0))
        mu = _floats(result["poi_values"])
        obs = _floats(result["CLs_obs"])
        exp = np.array([_floats(band) for band in result["CLs_exp"]])
        level = float(result.get("level", 0.05))
        ax.fill_between(mu, exp[0], exp[4], color=BAND_2SIGMA, lw=0, label=r"Expected $\pm 2\sigma$")
        ax.fill_between(mu, exp[1], exp[3], color=BAND_1SIGMA, lw=0, label=r"Expected $\pm 1\sigma$")
        exp_limits = _floats(result.get("exp_limits") or [None] * 5)
        median = exp_limits[2]
        ax.plot(
            mu,
            exp[2],
            color="k",
            ls="--",
            label="Expected" + (rf" (${poi_label} < {median:.3g}$)" if math.isfinite(median) else ""),
        )
        obs_limit = result.get("obs_limit")
        ax.plot(
            mu,
            obs,
            color="k",
            marker="o",
            ms=4,
            label="Observed" + (rf" (${poi_label} < {obs_limit:.3g}$)" if obs_limit is not None else ""),
        )
        ax.axhline(level, color="red", lw=1.5, label=f"CLs = {level:g} ({_percent(level)})")
        if obs_limit is not None:
            ax.axvline(obs_limit, color="k", ls=":", lw=1.5)
        if math.isfinite(median):
            ax.axvline(median, color="0.4", ls=":", lw=1.5)
        ax.set_xlim(np.nanmin(mu), np.nanmax(mu))
        if log_y:
            ax.set_yscale("log")
            positive = exp[0][np.isfinite(exp[0]) & (exp[0] > 0)]
            ax.set_ylim(max(1e-4, float(positive.min()) / 2) if positive.size else 1e-4, 1.5)
        else:
            ax.set_ylim(0, 1.3)
        ax.set_xlabel(rf"${poi_label}$")
        ax.set_ylabel(r"CL$_{s}$")
        # what the scan was heads the legend; the label is the title above the axes: neither can
        # run into the other, however long the label
        method = f"{result.get('method', '')} scan".strip()
        ax.legend(loc="upper right", fontsize="small", title=f"{method}, {len(mu)} points", title_fontsize="small")
        _title(ax, label)
    return fig


# ------------------------------------------------------------------ MLE fit: pulls and correlations
def _excluded(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def plot_pulls(
    result: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    exclude: Iterable[str] = (),
    label: str | None = None,
) -> Figure:
    """Pulls (θ̂−θ₀)/Δθ of the constrained parameters (``fit.mle``), with their constraints as error bars.

    An error bar of 1 means the fit did not constrain the parameter beyond its prior; ``exclude``
    takes glob patterns of parameters to leave out (e.g. ``["staterror_*"]``).
    """
    patterns = list(exclude)
    pulls = [p for p in result.get("pulls", []) if not _excluded(p["parameter"], patterns)]
    n = len(pulls)
    with style():
        fig, ax = _new_axes(ax, (8.0, max(3.5, 0.28 * n + 1.6)))
        y = np.arange(n)[::-1]
        x = _floats(p["pull"] for p in pulls)
        err = _floats(p["error"] for p in pulls)
        reach = float(np.nanmax(np.abs(x) + np.nan_to_num(err))) if n else 0.0
        xmax = max(3.0, math.ceil(reach + 0.5))
        ax.fill_betweenx([-0.5, n - 0.5], -2, 2, color=BAND_2SIGMA, lw=0)
        ax.fill_betweenx([-0.5, n - 0.5], -1, 1, color=BAND_1SIGMA, lw=0)
        ax.axvline(0, color="0.3", ls="--", lw=1)
        if n:
            ax.errorbar(x, y, xerr=err, fmt="o", color="k", ms=5, elinewidth=1.5, capsize=0)
            ax.set_yticks(y, labels=[p["parameter"] for p in pulls], fontsize="small")
        else:
            ax.set_yticks([])
            ax.text(0.5, 0.5, "no constrained parameters", transform=ax.transAxes, ha="center")
        _no_minor_ticks(ax, "y")
        ax.set_ylim(-0.5, max(n, 1) - 0.5)
        ax.set_xlim(-xmax, xmax)
        ax.set_xlabel(r"$(\hat{\theta} - \theta_0) / \Delta\theta$")
        if label:
            ax.set_title(label, loc="left", fontsize="medium")
    return fig


def correlation_subset(result: Mapping[str, Any], threshold: float = 0.0) -> tuple[list[str], np.ndarray]:
    """The free parameters with at least one correlation of size >= ``threshold``, and their matrix."""
    labels = list(result["labels"])
    corr = np.array([_floats(row) for row in result["correlations"]], dtype=float)
    fixed = list(result.get("fixed") or [False] * len(labels))
    keep = [i for i in range(len(labels)) if not fixed[i]]
    if threshold > 0:
        sub = np.abs(np.nan_to_num(corr[np.ix_(keep, keep)]))
        np.fill_diagonal(sub, 0.0)
        keep = [i for i, strongest in zip(keep, sub.max(axis=1, initial=0.0), strict=True) if strongest >= threshold]
    return [labels[i] for i in keep], corr[np.ix_(keep, keep)]


def plot_correlations(
    result: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    threshold: float = 0.0,
    annotate: bool | None = None,
    label: str | None = None,
) -> Figure:
    """The correlation matrix of the free parameters after the fit (``fit.mle``).

    ``threshold`` drops parameters whose largest correlation with any other is smaller (e.g. 0.2,
    as cabinetry's pruning); values are written in the cells when there are at most 20 parameters
    (or as ``annotate`` says).
    """
    names, corr = correlation_subset(result, threshold)
    n = len(names)
    side = min(30.0, max(5.5, 0.45 * n + 3.0))
    with style():
        fig, ax = _new_axes(ax, (side + 1.2, side))
        image = ax.imshow(corr if n else np.zeros((1, 1)), cmap="RdBu_r", vmin=-1, vmax=1)
        fig.colorbar(image, ax=ax, label="correlation", shrink=0.8)
        _no_minor_ticks(ax)
        ax.tick_params(top=False, right=False)
        if n:
            ticks = np.arange(n)
            ax.set_xticks(ticks, labels=names, rotation=90, fontsize="small")
            ax.set_yticks(ticks, labels=names, fontsize="small")
        else:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.text(0, 0, f"no parameter correlated by {threshold:g} or more", ha="center", va="center")
        if annotate if annotate is not None else 0 < n <= 20:
            for i in range(n):
                for j in range(n):
                    v = corr[i, j]
                    if math.isfinite(v):
                        colour = "white" if abs(v) > 0.6 else "black"
                        text = f"{v:.2f}" if abs(v) >= 0.005 else "0"
                        ax.text(j, i, text, ha="center", va="center", fontsize="x-small", color=colour)
        if label:
            ax.set_title(label, loc="left", fontsize="medium")
    return fig


# ------------------------------------------------------------------ MLE fit: data and model per channel
def channel_names(result: Mapping[str, Any]) -> list[str]:
    return [y["channel"] for y in result.get("yields", [])]


def plot_yields(
    result: Mapping[str, Any],
    channel: str,
    ax: Axes | tuple[Axes, Axes] | None = None,
    *,
    stage: str = "postfit",
    log_y: bool = False,
    label: str | None = None,
) -> Figure:
    """Observed data against the stacked samples of one channel, pre- or post-fit (``fit.mle``).

    The hatched band is the model's uncertainty (pre-fit: the constrained parameters moved by
    their prior widths; post-fit: the fit's covariance); the lower panel is data / model. ``ax`` is
    the upper Axes, or a pair (upper, ratio); without it, both are made.
    """
    if stage not in ("prefit", "postfit"):
        raise ValueError(f"stage must be 'prefit' or 'postfit'; got {stage!r}.")
    entry = next((y for y in result.get("yields", []) if y["channel"] == channel), None)
    if entry is None:
        raise ValueError(f"No channel {channel!r} in this result; channels: {', '.join(channel_names(result))}.")
    samples = list(entry["samples"])
    stack = np.array([_floats(s) for s in entry[stage]], dtype=float)
    total = _floats(entry[f"{stage}_total"])
    unc = np.nan_to_num(_floats(entry[f"{stage}_uncertainty"]))
    data = _floats(entry["observed"])
    nbins = len(total)
    edges = np.arange(nbins + 1, dtype=float)
    centres = edges[:-1] + 0.5
    with style():
        if ax is None:
            fig = StyledFigure(figsize=(7.5, 7.5))
            fig.subplots_adjust(left=0.15, right=0.96, top=0.96, bottom=0.11)
            grid = fig.add_gridspec(2, 1, height_ratios=(3, 1), hspace=0.0)
            main = fig.add_subplot(grid[0])
            ratio: Axes | None = fig.add_subplot(grid[1], sharex=main)
        elif isinstance(ax, tuple):
            main, ratio = ax
            fig = main.get_figure()  # type: ignore[assignment]
        else:
            main, ratio = ax, None
            fig = main.get_figure()  # type: ignore[assignment]
        order = np.argsort(-np.nansum(stack, axis=1), kind="stable")  # the largest sample at the bottom
        bottom = np.zeros(nbins)
        for i in order:
            top = bottom + np.nan_to_num(stack[i])
            main.stairs(
                top,
                edges,
                baseline=bottom,
                fill=True,
                color=SAMPLE_COLOURS[i % len(SAMPLE_COLOURS)],
                label=samples[i],
            )
            bottom = top
        lo, hi = np.append(total - unc, (total - unc)[-1]), np.append(total + unc, (total + unc)[-1])
        main.fill_between(
            edges, lo, hi, step="post", hatch="////", facecolor="none", edgecolor="0.25", lw=0, label="Uncertainty"
        )
        main.stairs(total, edges, color="k", lw=1)
        data_err = np.sqrt(np.clip(np.nan_to_num(data), 0, None))
        main.errorbar(centres, data, yerr=data_err, fmt="o", color="k", ms=6, label="Data")
        peak = float(np.nanmax(np.concatenate([total + unc, data + data_err]))) if nbins else 1.0
        if log_y:
            main.set_yscale("log")
            floor = float(np.nanmin(stack[stack > 0])) if np.any(stack > 0) else 0.1
            main.set_ylim(max(floor / 2, 1e-2), peak * 100)
        else:
            main.set_ylim(0, peak * 1.6)
        main.set_xlim(0, nbins)
        main.set_ylabel("Events")
        handles, names = main.get_legend_handles_labels()
        main.legend(handles[::-1], names[::-1], loc="upper right", fontsize="small", ncols=2 if len(names) > 6 else 1)
        stage_text = "Pre-fit" if stage == "prefit" else "Post-fit"
        _corner_text(main, [label or "", channel, stage_text])
        bottom_ax = main
        if ratio is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(total > 0, unc / total, 0.0)
                r = np.where(total > 0, data / total, np.nan)
                r_err = np.where(total > 0, data_err / total, np.nan)
            ratio.fill_between(
                edges,
                np.append(1 - rel, 1 - rel[-1]),
                np.append(1 + rel, 1 + rel[-1]),
                step="post",
                hatch="////",
                facecolor="none",
                edgecolor="0.25",
                lw=0,
            )
            ratio.axhline(1, color="k", ls="--", lw=1)
            ratio.errorbar(centres, r, yerr=r_err, fmt="o", color="k", ms=6)
            spread = np.nanmax(np.abs(np.concatenate([r - r_err, r + r_err, 1 - rel, 1 + rel])) - 1, initial=0.0)
            half = 0.5 if not math.isfinite(spread) or spread < 0.45 else min(2.0, math.ceil(spread * 4 + 1) / 4)
            ratio.set_ylim(max(0.0, 1 - half), 1 + half)
            ratio.set_ylabel("Data / Model")
            ratio.yaxis.set_major_locator(MaxNLocator(nbins=4, prune="upper"))  # clear of the main panel's 0
            main.tick_params(labelbottom=False)
            bottom_ax = ratio
        bottom_ax.set_xticks(centres, labels=[str(i + 1) for i in range(nbins)])
        _no_minor_ticks(bottom_ax, "x")
        _no_minor_ticks(main, "x")
        bottom_ax.set_xlabel("bin")
    return fig


# ------------------------------------------------------------------ scan: exclusion contour
def _contour_entry(
    result: Mapping[str, Any], fixed: Mapping[str, float] | None, index: int | None
) -> dict[str, Any] | None:
    entries = list(result.get("contours") or [])
    if fixed is not None:
        for entry in entries:
            if {k: float(v) for k, v in entry.get("fixed", {}).items()} == {k: float(v) for k, v in fixed.items()}:
                return entry
        options = "; ".join(", ".join(f"{k}={v:g}" for k, v in e.get("fixed", {}).items()) for e in entries)
        raise ValueError(f"No contour with {dict(fixed)}; the scan has: {options or 'none'}.")
    if not entries:
        return None
    if index is None:
        return entries[0]
    if not -len(entries) <= index < len(entries):
        raise ValueError(f"The scan has {len(entries)} contour(s); index {index} is out of range.")
    return entries[index]


def _band_triangulation(xy: np.ndarray) -> Any:
    """The triangulation the service's contours were traced on (Delaunay on the unit square)."""
    from matplotlib.tri import Triangulation
    from scipy.spatial import Delaunay

    span = xy.max(axis=0) - xy.min(axis=0)
    simplices = Delaunay((xy - xy.min(axis=0)) / span).simplices
    return Triangulation(xy[:, 0], xy[:, 1], triangles=simplices)


BAND_GRID = 300  # grid points per axis on which the ±1σ band is filled


def _fill_band(ax: Axes, xy: np.ndarray, low: np.ndarray, high: np.ndarray, log_level: float) -> bool:
    """Fill between the two contours ``low = log_level`` and ``high = log_level``.

    ``low`` and ``high`` are log10 CLs_exp at -1σ and +1σ per point. Each is interpolated
    linearly on the service's triangulation (so its zero crossing is the line the service
    traced) onto a fine regular grid; the band is where the -1σ expectation excludes and the
    +1σ one does not, a region bounded by the two lines and, point by point, around the
    median expected line (which lies between them). Returns whether anything was filled.
    """
    from matplotlib.tri import LinearTriInterpolator

    tri = _band_triangulation(xy)
    lo, hi = np.minimum(low, high), np.maximum(low, high)
    gx = np.linspace(xy[:, 0].min(), xy[:, 0].max(), BAND_GRID)
    gy = np.linspace(xy[:, 1].min(), xy[:, 1].max(), BAND_GRID)
    grid_x, grid_y = np.meshgrid(gx, gy)
    lo_grid = LinearTriInterpolator(tri, lo)(grid_x, grid_y)
    hi_grid = LinearTriInterpolator(tri, hi)(grid_x, grid_y)
    # < 0 exactly where lo < level < hi; masked outside the points' convex hull
    inside = np.ma.maximum(lo_grid - log_level, log_level - hi_grid)
    if inside.count() == 0 or float(inside.min()) >= 0:
        return False
    ax.contourf(grid_x, grid_y, inside, levels=[float(inside.min()) - 1.0, 0.0], colors=[CONTOUR_BAND], zorder=1)
    return True


def _polylines(ax: Axes, lines: Sequence[Sequence[Sequence[float]]], **kwargs: Any) -> None:
    for k, line in enumerate(lines):
        points = np.asarray(line, dtype=float)
        if len(points) >= 2:
            ax.plot(points[:, 0], points[:, 1], **(kwargs if k == 0 else {**kwargs, "label": None}))


def plot_contour(
    result: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    fixed: Mapping[str, float] | None = None,
    index: int | None = None,
    axis_labels: Mapping[str, str] | None = None,
    annotate: bool = False,
    label: str | None = None,
) -> Figure:
    """The exclusion contour of a patchset scan (``fit.scan``) in the plane of two mass labels.

    Observed contour (red), expected (dashed) with its ±1σ band (yellow, filled between the ±1σ
    expected CLs crossing the level on the same triangulation the service traced the lines on),
    and the scan points coloured by their observed CLs (failed points as grey crosses). For a grid
    of more than two labels, ``fixed`` (e.g. ``{"mn1": 60}``) or ``index`` chooses the slice.
    Axis labels come from the patchset's labels (``mn1`` -> m(chi^0_1) [GeV]) unless ``axis_labels``
    names them.
    """
    entry = _contour_entry(result, fixed, index)
    labels = list(result.get("labels") or [])
    if entry is not None:
        xname, yname, fixed_values = entry["x"], entry["y"], dict(entry.get("fixed", {}))
    elif len(labels) >= 2:
        xname, yname, fixed_values = labels[0], labels[1], {}
    else:
        raise ValueError("This scan has no two labels to draw a plane of.")
    ix, iy = labels.index(xname), labels.index(yname)
    rest = {labels.index(k): float(v) for k, v in fixed_values.items()}
    members = [
        p
        for p in result.get("points", [])
        if len(p["values"]) == len(labels) and all(float(p["values"][i]) == v for i, v in rest.items())
    ]
    names = {**{k: axis_label(k) for k in labels}, **dict(axis_labels or {})}
    level = float(entry.get("level", 0.05)) if entry else 0.05
    with style():
        fig, ax = _new_axes(ax, (8.5, 6.5))
        good = [p for p in members if p.get("CLs_obs") is not None]
        failed = [p for p in members if p.get("CLs_obs") is None]
        handles: list[Any] = []
        if entry is not None and "expected" in entry and len(good) >= 3:
            complete = [p for p in good if p.get("CLs_exp") and None not in p["CLs_exp"]]
            xy = np.array([[p["values"][ix], p["values"][iy]] for p in complete], dtype=float)
            if len(complete) >= 3 and np.all(xy.max(axis=0) > xy.min(axis=0)):
                m1 = np.log10(np.clip([p["CLs_exp"][1] for p in complete], 1e-300, None))
                p1 = np.log10(np.clip([p["CLs_exp"][3] for p in complete], 1e-300, None))
                if _fill_band(ax, xy, m1, p1, math.log10(level)):
                    handles.append(Patch(color=CONTOUR_BAND, label=r"Expected $\pm 1\sigma$"))
            _polylines(ax, entry.get("expected", []), color="k", ls="--", lw=2, label="Expected")
            _polylines(ax, entry.get("observed", []), color=OBSERVED_CONTOUR, lw=3, label="Observed")
            handles += [
                Line2D([], [], color="k", ls="--", lw=2, label="Expected"),
                Line2D([], [], color=OBSERVED_CONTOUR, lw=3, label="Observed"),
            ]
        if good:
            x = np.array([p["values"][ix] for p in good], dtype=float)
            y = np.array([p["values"][iy] for p in good], dtype=float)
            cls = np.clip(np.array([p["CLs_obs"] for p in good], dtype=float), 1e-4, 1.0)
            norm = LogNorm(vmin=1e-4, vmax=1.0)
            points = ax.scatter(x, y, c=cls, cmap=POINT_COLOURS, norm=norm, s=28, edgecolors="k", lw=0.5, zorder=3)
            fig.colorbar(points, ax=ax, label=r"observed CL$_{s}$")
            if annotate:
                for xi, yi, v in zip(x, y, cls, strict=True):
                    ax.annotate(f"{v:.2g}", (xi, yi), textcoords="offset points", xytext=(3, 3), fontsize="xx-small")
        if failed:
            fx, fy = [p["values"][ix] for p in failed], [p["values"][iy] for p in failed]
            ax.scatter(fx, fy, marker="x", color="0.5", s=40, zorder=3)
            handles.append(Line2D([], [], marker="x", color="0.5", ls="", label=f"failed ({len(failed)})"))
        everything = [p["values"] for p in members]
        if everything:
            xs = [float(v[ix]) for v in everything]
            ys = [float(v[iy]) for v in everything]
            dx, dy = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
            ax.set_xlim(min(xs) - 0.05 * dx, max(xs) + 0.05 * dx)
            ax.set_ylim(min(ys) - 0.05 * dy, max(ys) + 0.35 * dy)  # room for the legend
        ax.set_xlabel(names.get(xname, xname))
        ax.set_ylabel(names.get(yname, yname))
        note = "" if entry is not None and "expected" in entry else (entry or {}).get("error", "no contour")
        slice_text = ", ".join(f"{k} = {v:g}" for k, v in fixed_values.items())
        heading = "\n".join(t for t in (f"{_percent(level)} exclusion", slice_text) if t)
        if handles:
            ax.legend(handles=handles, loc="upper right", fontsize="small", title=heading, title_fontsize="small")
            _corner_text(ax, [note])
        else:
            _corner_text(ax, [heading, note])
        _title(ax, label)  # above the axes: a long label never runs into the legend
    return fig


# ------------------------------------------------------------------ which plots a result gives
def kind_of(result: Mapping[str, Any]) -> str:
    """The job kind a result came from, recognised by its fields."""
    if "contours" in result and "points" in result:
        return "fit.scan"
    if "pulls" in result and "correlations" in result:
        return "fit.mle"
    if "obs_limit" in result and "poi_values" in result:
        return "fit.limit"
    if "CLs_obs" in result and "CLs_exp" in result:
        return "fit.hypotest"
    raise ValueError("This is not the result of a fit job (fit.mle, fit.hypotest, fit.limit or fit.scan).")


def plots_for(
    result: Mapping[str, Any],
    kind: str | None = None,
    *,
    poi_label: str | None = None,
    axis_labels: Mapping[str, str] | None = None,
    label: str | None = None,
) -> dict[str, Callable[[], Figure]]:
    """The plots a result gives, by name, each a function drawing it when called (in order)."""
    kind = kind or kind_of(result)
    poi = poi_tex(poi_label or result.get("poi"))
    out: dict[str, Callable[[], Figure]] = {}
    if kind == "fit.hypotest":
        out["CLs"] = lambda: plot_cls(result, poi_label=poi, label=label)
    elif kind == "fit.limit":
        out["Brazil band"] = lambda: plot_brazil(result, poi_label=poi, label=label)
    elif kind == "fit.mle":
        out["pulls"] = lambda: plot_pulls(result, label=label)
        out["correlations"] = lambda: plot_correlations(result, threshold=0.1, label=label)
        for channel in channel_names(result):
            for stage, text in (("prefit", "pre-fit"), ("postfit", "post-fit")):
                out[f"{channel} {text}"] = functools.partial(plot_yields, result, channel, stage=stage, label=label)
    elif kind == "fit.scan":
        entries = list(result.get("contours") or [])
        if not entries:
            out["contour"] = lambda: plot_contour(result, axis_labels=axis_labels, label=label)
        for i, entry in enumerate(entries):
            fixed = ", ".join(f"{k}={v:g}" for k, v in entry.get("fixed", {}).items())
            name = f"contour ({fixed})" if fixed else "contour"
            out[name] = functools.partial(plot_contour, result, index=i, axis_labels=axis_labels, label=label)
    else:
        raise ValueError(f"No plots for job kind {kind!r}.")
    return out
