"""``FitPanel``: run likelihood fits from a notebook (ipywidgets only), through ``Client().fit``.

    >>> from vrelab.widgets import FitPanel
    >>> panel = FitPanel()                                  # finds the server like Client() does
    >>> panel.add_workspace("likelihoods/3L-eRJR")          # or pick a stored one in the list
    >>> panel                                               # choose a patch and an action, click Run

Choose a stored workspace (or add one: a path inside the server's root — a folder with
BkgOnly.json + patchset.json, a workspace .json, a HEPData .tar.gz — or a workspace dict), a
patch, and what to run: a fit, CLs at a POI value, an upper limit or a scan of every patch. The
job's progress bar follows it on the server; the results come as a table and as plots (pulls,
correlations, pre/post-fit yields, CLs, Brazil band, exclusion contour) drawn by
:mod:`vrelab.plots.fit`. Errors are shown in a banner at the top, never as a traceback.
The same steps work from code: ``select_workspace``, ``set_action``, ``run``, ``wait``.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..errors import BadRequest, VRELabError
from .common import LABEL, ErrorBanner, JobProgress, sized, wrap_row

__all__ = ["FitPanel"]

ACTIONS = (("Fit", "fit.mle"), ("CLs", "fit.hypotest"), ("Upper limit", "fit.limit"), ("Scan", "fit.scan"))
NO_PATCH = "(no patch: the workspace as stored)"
_CELL = "padding:2px 8px;text-align:right;border-bottom:1px solid var(--jp-border-color2, #ddd)"
_HEAD = "padding:2px 8px;text-align:right;border-bottom:1px solid var(--jp-border-color1, #999)"


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a widget callback, showing any error in the panel's banner instead of raising it."""

    @functools.wraps(method)
    def wrapper(self: FitPanel, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # every error reaches the user as a sentence in the banner
            self.banner.show(exc)
            return None

    return wrapper


def _every(fetch: Callable[..., dict[str, Any]], key: str, page_size: int = 1000) -> list[dict[str, Any]]:
    """Every item of a paged listing (the server caps a page at its max_page_size, 1000 by default)."""
    items: list[dict[str, Any]] = []
    while True:
        page = fetch(limit=page_size, offset=len(items))
        batch = page.get(key) or []
        items += batch
        if not batch or len(items) >= int(page.get("total") or 0):
            return items


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:.{digits}g}" if math.isfinite(value) else "–"
    return str(value)


def html_table(rows: list[list[Any]], header: list[str] | None = None, keys: list[str] | None = None) -> str:
    """An HTML table; cells are escaped, and a row's first cell gets ``data-key`` from ``keys``."""
    out = ['<table class="vrelab-table" style="border-collapse:collapse;font-size:var(--jp-ui-font-size1, 13px)">']
    if header:
        out.append("<tr>" + "".join(f'<th style="{_HEAD}">{html.escape(h)}</th>' for h in header) + "</tr>")
    for i, row in enumerate(rows):
        key = f' data-key="{html.escape(keys[i])}"' if keys and i < len(keys) else ""
        cells = "".join(
            f'<td style="{_CELL}"{key if j == 1 else ""}>{html.escape(_fmt(cell))}</td>' for j, cell in enumerate(row)
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</table>")
    return "".join(out)


def _scroll(inner: str, height: str = "320px") -> str:
    return f'<div style="max-height:{height};overflow:auto">{inner}</div>'


def result_table(kind: str, result: dict[str, Any]) -> str:
    """The results table of one fit job's result, as HTML."""
    cached = " (from the cache)" if result.get("cached") else ""
    if kind == "fit.hypotest":
        exp = list(result.get("CLs_exp") or [None] * 5)
        level = 0.05
        obs = result.get("CLs_obs")
        verdict = None if obs is None else ("excluded" if obs < level else "not excluded")
        rows = [
            [f"{result.get('poi') or 'POI'} value", result.get("poi_value")],
            ["CLs observed", obs],
            *[[f"CLs expected {s}", v] for s, v in zip(("−2σ", "−1σ", "median", "+1σ", "+2σ"), exp, strict=False)],
            ["CLs+b", result.get("CLsb")],
            ["CLb", result.get("CLb")],
            ["at 95% CL", verdict],
            ["test statistic", result.get("test_stat")],
            ["seconds" + cached, result.get("wall_seconds")],
        ]
        keys = ["poi_value", "CLs_obs", "CLs_exp_m2", "CLs_exp_m1", "CLs_exp", "CLs_exp_p1", "CLs_exp_p2"]
        return html_table(rows, ["", "value"], keys + ["CLsb", "CLb", "verdict", "test_stat", "seconds"])
    if kind == "fit.limit":
        exp = list(result.get("exp_limits") or [None] * 5)
        on_poi = f" on {result['poi']}" if result.get("poi") else ""
        rows = [
            ["observed upper limit" + on_poi, result.get("obs_limit")],
            *[[f"expected {s}", v] for s, v in zip(("−2σ", "−1σ", "median", "+1σ", "+2σ"), exp, strict=False)],
            ["CLs level", result.get("level")],
            ["method", f"{result.get('method')} ({len(result.get('poi_values') or [])} points)"],
            ["seconds" + cached, result.get("wall_seconds")],
        ]
        keys = ["obs_limit", "exp_m2", "exp_m1", "exp_limit", "exp_p1", "exp_p2", "level", "method", "seconds"]
        return html_table(rows, ["", "value"], keys)
    if kind == "fit.mle":
        head = html_table(
            [
                [f"POI {result.get('poi')}", result.get("poi_bestfit")],
                ["POI uncertainty", result.get("poi_uncertainty")],
                ["−2 ln L", result.get("twice_nll")],
                ["seconds" + cached, result.get("wall_seconds")],
            ],
            ["", "value"],
            ["poi_bestfit", "poi_uncertainty", "twice_nll", "seconds"],
        )
        params = [
            [label, value, error, "fixed" if fixed else ""]
            for label, value, error, fixed in zip(
                result["labels"], result["bestfit"], result["uncertainty"], result["fixed"], strict=True
            )
        ]
        return head + "<br>" + _scroll(html_table(params, ["parameter", "best fit", "uncertainty", ""]))
    if kind == "fit.scan":
        labels = list(result.get("labels") or [])
        rows = []
        for p in result.get("points", []):
            median = (p.get("CLs_exp") or [None] * 5)[2]
            excluded = None if p.get("CLs_obs") is None else p["CLs_obs"] < 0.05
            rows.append([p["patch"], *p["values"], p.get("CLs_obs"), median, excluded, p.get("error") or ""])
        summary = (
            f"{result.get('n_points', 0)} points, {sum(1 for r in rows if r[-2])} excluded at 95% CL (observed), "
            f"{result.get('n_failed', 0)} failed, {result.get('n_cached', 0)} from the cache; "
            f"{_fmt(result.get('wall_seconds'), 3)} s on {result.get('executor', '?')}"
        )
        header = ["patch", *labels, "CLs obs", "CLs exp", "excluded", "error"]
        return f"<div>{html.escape(summary)}</div>" + _scroll(html_table(rows, header))
    raise BadRequest(f"No results table for job kind {kind!r}.")


def figure_output(figure: Any, name: str, dpi: int = 90) -> dict[str, Any]:
    """A display_data output holding the figure as PNG (what the Output widget shows)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"), "text/plain": f"<plot: {name}>"},
        "metadata": {},
    }


class FitPanel(widgets.VBox):
    """Choose a workspace and a patch, run a fit, CLs, an upper limit or a scan; see the table and plots.

    ``FitPanel(client=None, workspace=None, patchset=None)``: ``client`` defaults to
    ``vrelab.client.Client()``; ``workspace`` is a stored workspace's id, a path inside the
    server's root, or a pyhf workspace dict (stored with ``patchset``, if given).
    """

    def __init__(
        self,
        client: Any = None,
        *,
        workspace: str | dict[str, Any] | None = None,
        patchset: dict[str, Any] | None = None,
        name: str | None = None,
    ):
        self.banner = ErrorBanner()
        self.title = widgets.HTML("<b>Likelihood fits</b>")
        # workspace: choose, refresh, add
        self.workspace = widgets.Dropdown(
            description="Workspace", options=[], style=LABEL, layout=sized("20em", grow=True)
        )
        self.refresh_button = widgets.Button(
            icon="refresh", tooltip="List the stored workspaces again", layout=sized("auto")
        )
        self.source = widgets.Text(
            description="Add",
            placeholder="a path in the server's root",
            tooltip="A folder (BkgOnly.json + patchset.json), a workspace .json or a HEPData .tar.gz",
            style=LABEL,
            layout=sized("18em", grow=True),
        )
        self.region = widgets.Text(
            description="Region",
            placeholder="(optional)",
            tooltip="The likelihood to take from an archive that holds several",
            style=LABEL,
            layout=sized("14em"),
        )
        self.add_button = widgets.Button(
            description="Add", tooltip="Store this workspace on the server", layout=sized("auto")
        )
        self.info = widgets.HTML()
        self.patch = widgets.Dropdown(
            description="Patch", options=[NO_PATCH], style=LABEL, layout=sized("20em", grow=True)
        )
        # what to run, and how
        self.action = widgets.ToggleButtons(options=list(ACTIONS), value="fit.hypotest", description="Run", style=LABEL)
        self.poi_value = widgets.FloatText(value=1.0, description="POI value", style=LABEL, layout=sized("14em"))
        self.test_stat = widgets.Dropdown(
            options=["qtilde", "q"], value="qtilde", description="Test statistic", style=LABEL, layout=sized("14em")
        )
        self.calctype = widgets.Dropdown(
            options=["asymptotics", "toybased"], value="asymptotics", description="Calculator", style=LABEL,
            layout=sized("17em"),
        )  # fmt: skip
        self.ntoys = widgets.IntText(value=1000, description="Toys", style=LABEL, layout=sized("12em"))
        self.backend = widgets.Dropdown(
            options=["numpy", "jax"], value="numpy", description="Backend", style=LABEL, layout=sized("12em")
        )
        self.fix_tau = widgets.Text(
            description="Fix γ with τ >", placeholder="e.g. 1e8", tooltip="Fix shapesys gammas whose tau exceeds this",
            style=LABEL, layout=sized("15em"),
        )  # fmt: skip
        # empty: the server's default (the POI's bounds), so the request matches the CLI's and the client's
        self.limit_start = widgets.Text(
            description="POI from", placeholder="its lower bound", style=LABEL, layout=sized("14em")
        )
        self.limit_stop = widgets.Text(
            description="to", placeholder="its upper bound", style=LABEL, layout=sized("12em")
        )
        self.limit_steps = widgets.IntText(
            value=0, description="steps", tooltip="0: root finding (toms748)", style=LABEL, layout=sized("9em")
        )
        self.level = widgets.FloatText(value=0.05, description="CLs level", style=LABEL, layout=sized("12em"))
        self.workers = widgets.IntText(
            value=0, description="Workers", tooltip="0: the server's default", style=LABEL, layout=sized("10em")
        )
        self.contour_axes = widgets.Text(
            description="Contour axes", placeholder="e.g. mn2,mn1", style=LABEL, layout=sized("18em")
        )
        self.common_box = wrap_row(self.test_stat, self.calctype, self.backend, self.fix_tau)
        self.toys_box = wrap_row(self.ntoys)
        self.poi_box = wrap_row(self.poi_value)
        self.limit_box = wrap_row(self.limit_start, self.limit_stop, self.limit_steps, self.level)
        self.scan_box = wrap_row(self.workers, self.contour_axes)
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True)
        self.progress_box = widgets.VBox()
        # results
        self.table = widgets.HTML()
        self.plot_choice = widgets.Dropdown(
            description="Plot", options=[], style=LABEL, layout=sized("18em", grow=True)
        )
        self.plot_output = widgets.Output()
        self.result: dict[str, Any] | None = None
        self.result_kind: str | None = None
        self.job: dict[str, Any] | None = None
        self._reused = False
        self.figure: Any = None
        self.progress: JobProgress | None = None
        self._plots: dict[str, Callable[[], Any]] = {}
        self._poi: str | None = None
        self._done = threading.Event()
        self._done.set()
        super().__init__(
            children=[
                self.title,
                self.banner,
                wrap_row(self.workspace, self.refresh_button),
                wrap_row(self.source, self.region, self.add_button),
                self.info,
                self.patch,
                self.action,
                self.poi_box,
                self.limit_box,
                self.scan_box,
                self.common_box,
                self.toys_box,
                wrap_row(self.run_button, self.cancel_button),
                self.progress_box,
                self.table,
                self.plot_choice,
                self.plot_output,
            ]
        )
        self.workspace.observe(self._on_workspace, names="value")
        self.action.observe(lambda _: self._show_options(), names="value")
        self.calctype.observe(lambda _: self._show_options(), names="value")
        self.plot_choice.observe(self._on_plot, names="value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.add_button.on_click(lambda _: self._add_clicked())
        self.run_button.on_click(lambda _: self.run())
        self.cancel_button.on_click(lambda _: self.cancel())
        self._show_options()
        self.client = self._connect(client)
        if self.client is not None:
            self.refresh()
            if workspace is not None:
                self.add_workspace(workspace, patchset=patchset, name=name)

    # ------------------------------------------------------------------ workspaces
    @_guarded
    def _connect(self, client: Any) -> Any:
        if client is not None:
            return client
        from ..client import Client

        return Client()

    @_guarded
    def refresh(self) -> None:
        """List the stored workspaces (keeping the selection)."""
        self._need_client()
        stored = _every(self.client.fit.workspaces, "workspaces")
        current = self.workspace.value
        options = [(f"{w['name']} · {w['id'][:8]} · {w['n_patches']} patches", w["id"]) for w in stored]
        self.workspace.options = options
        ids = [value for _, value in options]
        self.workspace.value = current if current in ids else (ids[0] if ids else None)

    @_guarded
    def add_workspace(
        self,
        source: str | dict[str, Any],
        *,
        region: str | None = None,
        patchset: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> str | None:
        """Store a workspace and select it: a stored id, a path inside the server's root, or a workspace dict."""
        self._need_client()
        self.banner.clear()
        if isinstance(source, dict):
            added = self.client.fit.add(source, patchset=patchset, name=name)
        elif not isinstance(source, str) or not source.strip():
            raise BadRequest("Give a path inside the server's root folder, a workspace id, or a workspace dict.")
        elif source.strip() in [value for _, value in self.workspace.options]:
            self.workspace.value = source.strip()
            return source.strip()
        else:
            added = self.client.fit.add(path=source.strip(), region=region or None, name=name)
        self.refresh()
        self.workspace.value = added["id"]
        return added["id"]

    def _add_clicked(self) -> None:
        if self.add_workspace(self.source.value, region=self.region.value.strip() or None) is not None:
            self.source.value = ""

    def select_workspace(self, workspace_id: str) -> None:
        """Select a stored workspace by its id or a unique prefix of it."""
        ids = [value for _, value in self.workspace.options]
        matches = [i for i in ids if i.startswith(workspace_id)]
        if len(matches) != 1:
            self.banner.show(
                f"No stored workspace has the id {workspace_id!r}."
                if not matches
                else f"{workspace_id!r} matches {len(matches)} workspaces; give more of the id."
            )
            return
        self.workspace.value = matches[0]

    @_guarded
    def _on_workspace(self, change: dict[str, Any]) -> None:
        workspace_id = change["new"]
        self.patch.options = [NO_PATCH]
        self.info.value = ""
        self._poi = None
        if not workspace_id:
            return
        info = self.client.fit.inspect(workspace_id)
        summary = info.get("summary") or {}
        self._poi = info.get("poi")
        patches = _every(lambda **page: self.client.fit.patches(workspace_id, **page), "patches")
        self.patch.options = [NO_PATCH, *[p["name"] for p in patches]]
        self.patch.value = self.patch.options[1] if len(self.patch.options) > 1 else NO_PATCH
        channels = ", ".join(
            f"{c['name']} ({c['bins']} bin{'' if c['bins'] == 1 else 's'})" for c in summary.get("channels", [])
        )
        labels = (summary.get("patchset") or {}).get("labels") or []
        self.info.value = html.escape(
            f"POI: {info.get('poi') or 'none'} · channels: {channels} · {len(patches)} patches"
            + (f" (labels {', '.join(labels)})" if labels else "")
        )

    # ------------------------------------------------------------------ what to run
    def set_action(self, kind: str) -> None:
        """Choose what to run: fit.mle, fit.hypotest, fit.limit or fit.scan."""
        if kind not in dict((v, k) for k, v in ACTIONS):
            self.banner.show(f"Unknown action {kind!r}; choose one of {', '.join(v for _, v in ACTIONS)}.")
            return
        self.action.value = kind

    def _show_options(self) -> None:
        kind = self.action.value
        show = {
            self.poi_box: kind in ("fit.hypotest", "fit.scan"),
            self.limit_box: kind == "fit.limit",
            self.scan_box: kind == "fit.scan",
            self.toys_box: kind != "fit.mle" and self.calctype.value == "toybased",
        }
        for box, visible in show.items():
            box.layout.display = None if visible else "none"
        self.patch.disabled = kind == "fit.scan"

    def params(self) -> dict[str, Any]:
        """The job's parameters from the controls (BadRequest names a bad one)."""
        kind = self.action.value
        out: dict[str, Any] = {"backend": self.backend.value}
        if kind != "fit.mle":
            out["test_stat"] = self.test_stat.value
            out["calctype"] = self.calctype.value
            if self.calctype.value == "toybased":
                out["ntoys"] = int(self.ntoys.value)
        text = self.fix_tau.value.strip()
        if text:
            try:
                out["fix_shapesys_tau_above"] = float(text)
            except ValueError:
                raise BadRequest(f"'Fix γ τ >' must be a number such as 1e8; got {text!r}.") from None
        if kind in ("fit.hypotest", "fit.scan"):
            out["poi_value"] = float(self.poi_value.value)
        if kind != "fit.scan" and self.patch.value != NO_PATCH:
            out["patch"] = self.patch.value
        if kind == "fit.limit":
            out["level"] = float(self.level.value)
            bounds = self._poi_range()
            if self.limit_steps.value:
                if bounds is None:
                    raise BadRequest("A grid of POI values needs 'POI from' and 'to'.")
                out["scan"] = {"start": bounds[0], "stop": bounds[1], "steps": int(self.limit_steps.value)}
            elif bounds is not None:
                out["poi_range"] = list(bounds)
        if kind == "fit.scan":
            if self.workers.value:
                out["workers"] = int(self.workers.value)
            axes = [a.strip() for a in self.contour_axes.value.split(",") if a.strip()]
            if axes:
                if len(axes) != 2:
                    raise BadRequest("'Contour axes' takes two labels separated by a comma, e.g. mn2,mn1.")
                out["contour_axes"] = axes
        return out

    def _poi_range(self) -> tuple[float, float] | None:
        """'POI from' and 'to' as numbers, or None when both are empty (the POI's own bounds)."""
        texts = [self.limit_start.value.strip(), self.limit_stop.value.strip()]
        if not any(texts):
            return None
        try:
            low, high = (float(t) for t in texts)
        except ValueError:
            raise BadRequest(f"'POI from' and 'to' must both be numbers; got {texts[0]!r} and {texts[1]!r}.") from None
        return low, high

    # ------------------------------------------------------------------ running
    @_guarded
    def run(self) -> str | None:
        """Submit the chosen action as a job and follow it; return the job's id."""
        self._need_client()
        self.banner.clear()
        if not self.workspace.value:
            raise BadRequest("Choose a workspace first (or add one: a path inside the server's root).")
        kind = self.action.value
        params = self.params()
        job = self.client.fit.submit(kind, self.workspace.value, **params)
        self.job = job
        self._reused = bool(job.get("reused"))  # an earlier job of the same parameters answers
        self._done.clear()
        self.run_button.disabled = True
        self.cancel_button.disabled = False
        if self.progress is not None:
            self.progress.stop()
        self.progress = JobProgress(self.client, job["id"], on_done=self._finished, description=kind, start=False)
        self.progress_box.children = [self.progress]
        self.progress.start()
        return job["id"]

    @_guarded
    def cancel(self) -> None:
        if self.job is not None:
            self.client.cancel(self.job["id"])

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until the running job finished and its results are shown; return its final record."""
        self._done.wait(timeout)
        return self.job

    def _finished(self, job: dict[str, Any]) -> None:
        try:
            self.job = job
            if job.get("state") == "succeeded":
                result = job.get("result") or {}
                if self._reused:
                    result = {**result, "cached": True}
                self.show_result(result, job.get("kind"))
            else:
                err = job.get("error") or {}
                self.banner.show(err.get("message") or f"The job {job.get('state')}.")
        except Exception as exc:
            self.banner.show(exc)
        finally:
            self.run_button.disabled = False
            self.cancel_button.disabled = True
            self._done.set()

    # ------------------------------------------------------------------ results
    @_guarded
    def show_result(self, result: dict[str, Any], kind: str | None = None) -> None:
        """Show a fit job's result: the table, and the plots it gives (the first one drawn)."""
        from ..plots.fit import kind_of, plots_for

        kind = kind or kind_of(result)
        self.result, self.result_kind = result, kind
        self.table.value = result_table(kind, result)
        label = result.get("patch") or None
        self._plots = plots_for(result, kind, poi_label=self._poi, label=label)
        names = list(self._plots)
        self.plot_choice.unobserve(self._on_plot, names="value")
        self.plot_choice.options = names
        self.plot_choice.value = names[0] if names else None
        self.plot_choice.observe(self._on_plot, names="value")
        if names:
            self.show_plot(names[0])

    @_guarded
    def show_plot(self, name: str) -> Any:
        """Draw one of the result's plots in the output area; return its Figure."""
        make = self._plots.get(name)
        if make is None:
            raise BadRequest(f"No plot named {name!r}; this result has: {', '.join(self._plots) or 'none'}.")
        figure = make()
        self.figure = figure
        self.plot_output.outputs = (figure_output(figure, name),)
        return figure

    def _on_plot(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.show_plot(change["new"])

    def _need_client(self) -> None:
        if self.client is None:
            raise VRELabError(
                "Not connected to a vrelab server: start JupyterLab with vrelab, or pass FitPanel(Client(url, token))."
            )
