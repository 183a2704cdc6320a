"""``vrelab fit``: store and inspect pyhf workspaces; fit, CLs, upper limits and patchset scans.

WORKSPACE is a stored workspace's id (or a unique prefix of at least 6 characters), or a path
inside the server's root folder (a .json file, a folder with BkgOnly.json + patchset.json, or a
HEPData .tar.gz), which is stored first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import click

from ..errors import BadRequest, Forbidden, NotFound
from .common import Ctx, emit, json_option, pass_ctx, table
from .fit_plots import emit_plots, plot_option
from .progress import follow_job

_HEX = re.compile(r"^[0-9a-f]{6,64}$")


UPLOAD_HINT = "To store a workspace file of this machine, use `vrelab fit add --upload FILE`."


def _add_path(ctx: Ctx, path: str, **kwargs: Any) -> dict[str, Any]:
    """``fit.add(path=...)``; a path the server refuses as outside its root suggests ``--upload``."""
    try:
        return ctx.client.fit.add(path=path, **kwargs)
    except Forbidden as exc:
        raise Forbidden(f"{exc.message} {UPLOAD_HINT}", details=exc.details) from None


def _workspace_id(ctx: Ctx, text: str, region: str | None = None) -> str:
    """A stored workspace's id from its id, a unique prefix of it, or a path (stored first)."""
    if not _HEX.match(text):
        return _add_path(ctx, text, region=region)["id"]
    if len(text) == 64:
        return text  # the server says 404 "No workspace ..." if it has none
    matches = [w["id"] for w in ctx.client.fit.workspaces(limit=1000)["workspaces"] if w["id"].startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise BadRequest(f"{text!r} matches {len(matches)} workspaces; give more of the id.")
    try:
        return _add_path(ctx, text, region=region)["id"]
    except NotFound:
        raise NotFound(
            f"No workspace {text!r}: no stored workspace's id starts with it (`vrelab fit ls` lists them), "
            "and the server's root has no file or folder of that name.",
            details={"workspace_id": text},
        ) from None


def _options(
    test_poi: float | None,
    test_stat: str | None,
    calctype: str | None,
    ntoys: int | None,
    backend: str | None,
    optimizer: str | None,
    measurement: str | None,
    fix: tuple[str, ...],
    fix_tau: float | None,
) -> dict[str, Any]:
    fixed: dict[str, float] = {}
    for item in fix:
        name, sep, value = item.partition("=")
        try:
            fixed[name] = float(value) if sep else 1.0
        except ValueError:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--fix") from None
    out = {
        "poi_value": test_poi,
        "test_stat": test_stat,
        "calctype": calctype,
        "ntoys": ntoys,
        "backend": backend,
        "optimizer": optimizer,
        "measurement": measurement,
        "fixed_params": fixed or None,
        "fix_shapesys_tau_above": fix_tau,
    }
    return {k: v for k, v in out.items() if v is not None}


def fit_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options every fit command shares."""
    decorators = [
        click.argument("workspace"),
        click.option("-p", "--patch", help="Apply this patch of the workspace's patchset first."),
        click.option("--region", help="Which likelihood of an archive/folder holding several."),
        click.option("--measurement", help="Measurement to use (default: the first)."),
        click.option("--test-poi", type=float, help="POI value tested (default 1)."),
        click.option("--test-stat", type=click.Choice(["qtilde", "q"]), help="Test statistic (default qtilde)."),
        click.option(
            "--calctype", type=click.Choice(["asymptotics", "toybased"]), help="Calculator (default asymptotics)."
        ),
        click.option("--ntoys", type=int, help="Toys per hypothesis with --calctype toybased."),
        click.option("--backend", type=click.Choice(["numpy", "jax"]), help="pyhf backend (default numpy)."),
        click.option("--optimizer", type=click.Choice(["scipy", "minuit"]), help="Optimizer (default scipy)."),
        click.option("--fix", multiple=True, metavar="NAME=VALUE", help="Fix a parameter (or NAME[i]); repeatable."),
        click.option(
            "--fix-shapesys-tau-above",
            "fix_tau",
            type=float,
            help="Fix shapesys gammas whose tau exceeds this (e.g. 1e8 for ultra-stiff ones).",
        ),
        click.option("--no-wait", is_flag=True, help="Submit the job and print it, without waiting."),
        json_option,
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


engine_option = click.option(
    "--engine",
    type=click.Choice(["jax", "pyhf"]),
    help="Fit engine: the compiled jax engine or pyhf itself (default: the server's).",
)


def _engine_line(r: dict[str, Any]) -> str:
    """Which engine answered a hypothesis test, and why pyhf did when the engine could not."""
    note = f" ({r['engine_note']})" if r.get("engine_note") else ""
    return f"engine: {r.get('engine') or 'pyhf'}{note}"


def _engines_line(points: list[dict[str, Any]]) -> str:
    """How many of a scan's points each engine answered (cached points say which engine did)."""
    counts: dict[str, int] = {}
    for p in points:
        if p.get("engine"):
            counts[p["engine"]] = counts.get(p["engine"], 0) + 1
    if not counts:
        return "engine: none (no point computed)"
    return "engine: " + ", ".join(f"{name} ({n} point{'s' if n != 1 else ''})" for name, n in sorted(counts.items()))


def _run(
    ctx: Ctx,
    kind: str,
    workspace_id: str,
    params: dict[str, Any],
    no_wait: bool,
    plot_file: str | None,
    text: Callable[[dict[str, Any]], str],
) -> None:
    """Submit a fit job; unless ``no_wait``, follow it, print its result and write its plot."""
    job = ctx.client.fit.submit(kind, workspace_id, **params)
    if no_wait:
        emit(ctx, job, lambda j: f"submitted {j['kind']} job {j['id']}")
        return
    final = follow_job(ctx.client, job["id"], quiet=ctx.as_json)
    result = ctx.client.result(final)  # a failed job raises its service's error class
    if job.get("reused"):  # an earlier job of the same parameters answered
        result = {**result, "cached": True}
    emit(ctx, result, text)
    emit_plots(ctx, workspace_id, kind, result, plot_file)


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


@click.group()
def fit() -> None:
    """Likelihood fits with pyhf: workspaces, fits, CLs, upper limits, patchset scans."""


@fit.command("add")
@click.argument("path")
@click.option("--region", help="Which likelihood of an archive/folder holding several.")
@click.option("--labels", help="Comma-separated names of the numbers in loose patch.<name>.json files.")
@click.option("--name", help="A name to show for it.")
@click.option("--upload", is_flag=True, help="PATH is a workspace .json on THIS machine: upload it.")
@click.option("--patchset", "patchset_file", help="With --upload: the patchset .json to upload too.")
@json_option
@pass_ctx
def add(
    ctx: Ctx,
    path: str,
    region: str | None,
    labels: str | None,
    name: str | None,
    upload: bool,
    patchset_file: str | None,
) -> None:
    """Store a workspace (path inside the server's root, or --upload a local file)."""
    if upload:
        ws = ctx.client.fit.upload(path, patchset_file, name=name)
    else:
        ws = _add_path(ctx, path, region=region, labels=labels.split(",") if labels else None, name=name)
    emit(ctx, ws, lambda w: f"{w['id']}  {w['name']}  ({w['n_channels']} channels, {w['n_patches']} patches)")


@fit.command("ls")
@json_option
@pass_ctx
def ls(ctx: Ctx) -> None:
    """List stored workspaces."""
    page = ctx.client.fit.workspaces(limit=1000)

    def text(p: dict[str, Any]) -> str:
        rows = [
            [w["id"][:12], w["name"], str(w["n_channels"]), str(w["n_parameters"]), str(w["n_patches"])]
            for w in p["workspaces"]
        ]
        return table(rows, ["ID", "NAME", "CHANNELS", "PARAMETERS", "PATCHES"]) if rows else "no workspaces"

    emit(ctx, page, text)


@fit.command("inspect")
@click.argument("workspace")
@click.option("--region", help="Which likelihood of an archive/folder holding several.")
@click.option("--patches", "show_patches", is_flag=True, help="List the patches too.")
@json_option
@pass_ctx
def inspect(ctx: Ctx, workspace: str, region: str | None, show_patches: bool) -> None:
    """Channels, bins, samples, modifiers, parameters, POI and patches of a workspace."""
    wid = _workspace_id(ctx, workspace, region)
    data = ctx.client.fit.inspect(wid)
    if show_patches:
        data["patches"] = ctx.client.fit.patches(wid, limit=1000)["patches"]

    def text(d: dict[str, Any]) -> str:
        s = d["summary"]
        lines = [
            f"{d['id']}  {d['name']}",
            f"POI: {d['poi']}   measurements: {', '.join(m['name'] for m in s['measurements'])}",
        ]
        rows = [[c["name"], str(c["bins"]), str(len(c["samples"])), _fmt(c["observed_total"])] for c in s["channels"]]
        lines += ["", table(rows, ["CHANNEL", "BINS", "SAMPLES", "OBSERVED"])]
        kinds: dict[str, int] = {}
        for m in s["modifiers"]:
            kinds[m["type"]] = kinds.get(m["type"], 0) + 1
        lines.append("")
        lines.append("modifiers: " + ", ".join(f"{n} {t}" for t, n in sorted(kinds.items())))
        lines.append(f"parameters: {s['n_parameters']} (in {len(s['parameters'])} sets)")
        if s.get("patchset"):
            ps = s["patchset"]
            lines.append(f"patchset: {ps['n_patches']} patches, labels {', '.join(ps['labels'])}")
        for p in d.get("patches", []):
            lines.append(f"  {p['name']}  " + ", ".join(f"{k}={v:g}" for k, v in p["by_label"].items()))
        return "\n".join(lines)

    emit(ctx, data, text)


@fit.command("fit")
@fit_options
@plot_option
@pass_ctx
def fit_cmd(
    ctx: Ctx, workspace: str, patch: str | None, region: str | None, no_wait: bool, plot_file: str | None, **opts: Any
) -> None:
    """Maximum-likelihood fit: best-fit values, uncertainties, pulls, yields."""
    wid = _workspace_id(ctx, workspace, region)

    def text(r: dict[str, Any]) -> str:
        rows = [
            [label, _fmt(v), _fmt(e), "fixed" if f else ""]
            for label, v, e, f in zip(r["labels"], r["bestfit"], r["uncertainty"], r["fixed"], strict=True)
        ]
        poi = f"{_fmt(r['poi_bestfit'])} +- {_fmt(r['poi_uncertainty'])}"
        head = f"POI {r['poi']} = {poi}   -2lnL = {_fmt(r['twice_nll'])}"
        return head + "\n" + table(rows, ["PARAMETER", "BEST FIT", "ERROR", ""])

    _run(ctx, "fit.mle", wid, {"patch": patch, **_options(**opts)}, no_wait, plot_file, text)


@fit.command("cls")
@fit_options
@engine_option
@plot_option
@pass_ctx
def cls(
    ctx: Ctx,
    workspace: str,
    patch: str | None,
    region: str | None,
    no_wait: bool,
    plot_file: str | None,
    engine: str | None,
    **opts: Any,
) -> None:
    """Hypothesis test: CLs observed and expected (-2..+2 sigma)."""
    wid = _workspace_id(ctx, workspace, region)

    def text(r: dict[str, Any]) -> str:
        exp = "  ".join(_fmt(v) for v in r["CLs_exp"])
        cached = "  (cached)" if r.get("cached") else ""
        poi = f"{r.get('poi') or 'POI'} = {r['poi_value']:g}"
        return f"{poi}\nCLs_obs = {_fmt(r['CLs_obs'])}\nCLs_exp (-2..+2 sigma) = {exp}{cached}\n{_engine_line(r)}"

    params = {"patch": patch, **_options(**opts), **({"engine": engine} if engine else {})}
    _run(ctx, "fit.hypotest", wid, params, no_wait, plot_file, text)


@fit.command("limit")
@fit_options
@plot_option
@click.option("--scan", "grid", metavar="START:STOP:STEPS", help="A grid of POI values (default: toms748).")
@click.option(
    "--poi-range",
    type=(float, float),
    metavar="LO HI",
    help="Where toms748 looks for the limit (default: the POI's bounds).",
)
@click.option("--level", type=float, help="CLs level (default 0.05, 95% CL).")
@pass_ctx
def limit(
    ctx: Ctx,
    workspace: str,
    patch: str | None,
    region: str | None,
    no_wait: bool,
    plot_file: str | None,
    grid: str | None,
    poi_range: tuple[float, float] | None,
    level: float | None,
    **opts: Any,
) -> None:
    """Upper limit on the POI, with the expected band."""
    if grid and poi_range:
        raise click.BadParameter("give either --scan (a grid) or --poi-range (root finding)", param_hint="--poi-range")
    params: dict[str, Any] = {
        "patch": patch,
        "level": level,
        "poi_range": list(poi_range) if poi_range else None,
        **_options(**opts),
    }
    if grid:
        try:
            start, stop, steps = grid.split(":")
            params["scan"] = {"start": float(start), "stop": float(stop), "steps": int(steps)}
        except ValueError:
            raise click.BadParameter("use START:STOP:STEPS, e.g. 0:5:21", param_hint="--scan") from None
    wid = _workspace_id(ctx, workspace, region)

    def text(r: dict[str, Any]) -> str:
        exp = "  ".join(_fmt(v) for v in r["exp_limits"])
        method = f"({r['method']}, {len(r['poi_values'])} points)"
        poi = f" on {r['poi']}" if r.get("poi") else ""
        return f"observed limit{poi}: {_fmt(r['obs_limit'])}\nexpected (-2..+2 sigma): {exp}\n{method}"

    _run(ctx, "fit.limit", wid, params, no_wait, plot_file, text)


@fit.command("scan")
@fit_options
@engine_option
@plot_option
@click.option("--only", "only", multiple=True, metavar="PATCH", help="Scan only these patches (repeatable).")
@click.option("--workers", type=int, help="Worker processes (default: the server's VRELab.fit_workers).")
@click.option("--contour-axes", help="Two labels for the contour plane, e.g. mn2,mn1.")
@click.option("--level", type=float, help="CLs level of the exclusion contour (default 0.05, 95% CL).")
@pass_ctx
def scan(
    ctx: Ctx,
    workspace: str,
    patch: str | None,
    region: str | None,
    no_wait: bool,
    plot_file: str | None,
    only: tuple[str, ...],
    workers: int | None,
    contour_axes: str | None,
    level: float | None,
    engine: str | None,
    **opts: Any,
) -> None:
    """CLs for every patch of the patchset: a table, and the exclusion contour."""
    if patch:
        raise click.BadParameter("a scan runs over all patches; use --only PATCH to choose some", param_hint="--patch")
    wid = _workspace_id(ctx, workspace, region)
    params: dict[str, Any] = {
        "patches": list(only) or None,
        "workers": workers,
        "contour_axes": contour_axes.split(",") if contour_axes else None,
        "level": level,
        **_options(**opts),
        **({"engine": engine} if engine else {}),
    }

    def text(r: dict[str, Any]) -> str:
        rows = [
            [
                p["patch"],
                *(f"{v:g}" for v in p["values"]),
                _fmt(p["CLs_obs"]),
                _fmt((p["CLs_exp"] or [None] * 5)[2]),
                p.get("engine") or "",
                p["error"] or "",
            ]
            for p in r["points"]
        ]
        out = table(rows, ["PATCH", *r["labels"], "CLS_OBS", "CLS_EXP", "ENGINE", "ERROR"])
        # the level the server used (its default unless --level), as its contours record it
        cut = next((c["level"] for c in r.get("contours") or [] if "level" in c), level or 0.05)
        excluded = sum(1 for p in r["points"] if p["CLs_obs"] is not None and p["CLs_obs"] < cut)
        out += (
            f"\n{r['n_points']} points, {excluded} excluded at {100 * (1 - cut):g}% CL (observed), "
            f"{r['n_failed']} failed, "
            f"{r['n_cached']} from the cache; {r['wall_seconds']:.1f} s on {r['executor']}\n"
            f"{_engines_line(r['points'])}"
        )
        return out

    _run(ctx, "fit.scan", wid, params, no_wait, plot_file, text)
