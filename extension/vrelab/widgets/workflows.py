"""``WorkflowPanel``: write, submit and follow workflows from a notebook (ipywidgets), through
``Client().workflows``.

    >>> from vrelab.widgets import WorkflowPanel
    >>> panel = WorkflowPanel()                        # finds the server like Client() does
    >>> panel.load_path("analysis/reana.yaml")         # or edit the spec in the text box
    >>> panel                                          # choose a backend, click Submit

The spec (``reana.yaml`` or the DAG form) is edited in place; parameters are given as
``name=value`` lines. While the run goes, a progress bar follows its job and a table shows each
step's status, image, times and exit code; the logs viewer shows the run's log or one step's;
the outputs list downloads a file next to the notebook. Stop ends the run. Errors are shown in
the banner at the top, never as a traceback. The same steps work from code: ``set_spec``,
``submit``, ``wait``, ``stop``, ``show_logs``, ``refresh_outputs``, ``download``.
"""

from __future__ import annotations

import html
import threading
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..errors import BadRequest, VRELabError
from .common import FULL, LABEL, ErrorBanner, JobProgress, sized, wrap_row

__all__ = ["WorkflowPanel"]

_CELL = "padding:2px 8px;text-align:left;border-bottom:1px solid var(--jp-border-color2, #ddd)"
_COLOURS = {"finished": "#2e7d32", "failed": "#c62828", "running": "#1565c0", "stopped": "#ef6c00"}
WORKFLOW_LOG = "(the run's own log)"


def _parameters(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise BadRequest(f"Parameters line {n}: write name=value, not {line!r}.")
        out[name.strip()] = value.strip()
    return out


def steps_table(run: dict[str, Any]) -> str:
    """The run's steps as an HTML table (status coloured)."""
    p = run.get("progress") or {}
    head = (
        f"<b>{html.escape(run.get('name', ''))}</b> on {html.escape(str(run.get('backend')))}: "
        f"<b style='color:{_COLOURS.get(run.get('status', ''), 'inherit')}'>{html.escape(run.get('status', ''))}</b>"
        f" — {p.get('finished', 0)}/{p.get('total', 0)} finished, {p.get('running', 0)} running, "
        f"{p.get('failed', 0)} failed"
    )
    if run.get("message"):
        head += f"<br>{html.escape(run['message'])}"
    recast = run.get("recast") or {}
    if recast.get("conclusion"):
        head += f"<br><b>RECAST:</b> {html.escape(recast['conclusion'])}"
    rows = []
    for s in run.get("steps", []):
        colour = _COLOURS.get(s["status"], "inherit")
        cells = [
            html.escape(s["name"]),
            f"<span style='color:{colour}'>{html.escape(s['status'])}</span>",
            html.escape(s.get("image") or ""),
            html.escape((s.get("started_at") or "")[11:23]),
            html.escape((s.get("finished_at") or "")[11:23]),
            "" if s.get("exit_code") is None else str(s["exit_code"]),
            html.escape(s.get("message") or ""),
        ]
        rows.append("<tr>" + "".join(f"<td style='{_CELL}'>{c}</td>" for c in cells) + "</tr>")
    header = "".join(
        f"<th style='{_CELL}'>{h}</th>" for h in ("step", "status", "image", "started", "finished", "exit", "")
    )
    return f"<div>{head}</div><table><tr>{header}</tr>{''.join(rows)}</table>"


class WorkflowPanel(widgets.VBox):
    def __init__(self, client: Any = None, *, spec: str = "", path: str = ""):
        if client is None:
            from ..client import Client

            client = Client()
        self.client = client
        self.api = client.workflows
        self.run: dict[str, Any] | None = None
        self._follower: threading.Thread | None = None
        self._done = threading.Event()
        self._done.set()

        self.banner = ErrorBanner()
        self.path = widgets.Text(value=path, placeholder="analysis/reana.yaml", description="Spec file",
                                 tooltip="A reana.yaml (or DAG) file inside your home folder", style=LABEL,
                                 layout=sized("22em", grow=True))  # fmt: skip
        self.load_button = widgets.Button(description="Load", tooltip="Read the spec file from the server")
        self.spec = widgets.Textarea(value=spec, placeholder="reana.yaml, or the DAG form (steps: ...)",
                                     layout=sized(FULL, height="220px"))  # fmt: skip
        self.parameters = widgets.Textarea(placeholder="name=value, one per line", style=LABEL,
                                           layout=widgets.Layout(flex="1 1 auto", min_width="18em", height="60px"),
                                           description="Parameters")  # fmt: skip
        try:
            backends = self.api.backends()
        except VRELabError as exc:
            backends = ["local"]
            self.banner.show(exc)
        self.backend = widgets.Dropdown(
            options=backends or ["local"], description="Backend", style=LABEL, layout=sized("14em")
        )
        self.validate_button = widgets.Button(description="Validate", icon="check")
        self.submit_button = widgets.Button(description="Submit", button_style="primary", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="warning", icon="stop", disabled=True)
        self.progress_box = widgets.VBox()
        self.steps = widgets.HTML()
        self.log_choice = widgets.Dropdown(
            options=[WORKFLOW_LOG], description="Log of", style=LABEL, layout=sized("18em", grow=True)
        )
        self.log_refresh = widgets.Button(description="Refresh", icon="refresh")
        self.log_text = widgets.Textarea(layout=sized(FULL, height="200px"), disabled=True)
        self.outputs = widgets.Select(options=[], rows=6, layout=sized("20em", grow=True))
        self.download_button = widgets.Button(description="Download", icon="download")
        self.download_note = widgets.HTML()

        self.load_button.on_click(lambda _: self._guard(lambda: self.load_path(self.path.value)))
        self.validate_button.on_click(lambda _: self._guard(self.validate))
        self.submit_button.on_click(lambda _: self._guard(self.submit))
        self.stop_button.on_click(lambda _: self._guard(self.stop))
        self.log_refresh.on_click(lambda _: self._guard(lambda: self.show_logs(self.log_choice.value)))
        self.log_choice.observe(lambda change: self._guard(lambda: self.show_logs(change["new"])), names="value")
        self.download_button.on_click(lambda _: self._guard(lambda: self.download(self.outputs.value)))

        tabs = widgets.Tab(
            children=[
                widgets.VBox([wrap_row(self.log_choice, self.log_refresh), self.log_text]),
                widgets.VBox([self.outputs, wrap_row(self.download_button, self.download_note)]),
            ]
        )
        tabs.set_title(0, "Logs")
        tabs.set_title(1, "Outputs")
        super().__init__(
            children=[
                self.banner,
                wrap_row(self.path, self.load_button),
                self.spec,
                wrap_row(self.parameters, widgets.VBox([self.backend, wrap_row(
                    self.validate_button, self.submit_button, self.stop_button)])),
                self.progress_box,
                self.steps,
                tabs,
            ]
        )  # fmt: skip

    # ------------------------------------------------------------------ helpers
    def _guard(self, action: Any) -> Any:
        try:
            self.banner.clear()
            return action()
        except VRELabError as exc:
            self.banner.show(exc)
        except OSError as exc:
            self.banner.show(str(exc))
        return None

    def _body(self) -> dict[str, Any]:
        text = self.spec.value
        if not text.strip():
            raise BadRequest("Write a workflow spec, or load one from a file.")
        return {"spec": text, "parameters": _parameters(self.parameters.value) or None}

    # ------------------------------------------------------------------ actions
    def set_spec(self, text: str) -> None:
        self.spec.value = text

    def load_path(self, path: str) -> None:
        """Read a spec file from the server's root into the editor (its inputs are taken from its folder)."""
        if not path.strip():
            raise BadRequest("Give the spec file's path inside your home folder.")
        checked = self.api.validate(path=path)
        self.path.value = path
        self._base_dir = checked["base_dir"]
        text = Path(path)  # the server's root is usually the notebook's: read it from there if present
        if text.is_file():
            self.spec.value = text.read_text()
        else:  # otherwise show the spec as the server understood it
            import yaml

            self.spec.value = yaml.safe_dump(checked["workflow"], sort_keys=False)

    def validate(self) -> dict[str, Any]:
        out = self.api.validate(**self._body(), backend=self.backend.value, base_dir=getattr(self, "_base_dir", None))
        b = out.get("backend") or {}
        note = f"valid: {len(out['workflow']['steps'])} step(s)"
        if b:
            note += f"; backend {b['name']}: {'available' if b['available'] else 'not available'} {b['message']}"
        self.banner.show(note, level="info")
        return out

    def submit(self) -> dict[str, Any]:
        """Submit the spec on the chosen backend and follow it."""
        run = self.api.submit(**self._body(), backend=self.backend.value, base_dir=getattr(self, "_base_dir", None))
        self.follow(run)
        return run

    def follow(self, run: dict[str, Any]) -> None:
        """Show and follow a run (one just submitted, or any by its record)."""
        self.run = run
        self._done.clear()
        self.stop_button.disabled = False
        self.submit_button.disabled = True
        self.steps.value = steps_table(run)
        self.log_choice.options = [WORKFLOW_LOG, *[s["name"] for s in run.get("steps", [])]]
        self.progress_box.children = [JobProgress(self.client, run["id"], description="run")]
        self._follower = threading.Thread(target=self._follow, args=(run["id"],), daemon=True)
        self._follower.start()

    def _follow(self, run_id: str) -> None:
        try:
            final = self.api.wait(run_id, on_progress=self._update)
            self._update(final)
            self.refresh_outputs()
            self.show_logs(self.log_choice.value)
        except Exception as exc:  # shown in the banner: a thread has nowhere else to report
            self.banner.show(exc)
        finally:
            self.stop_button.disabled = True
            self.submit_button.disabled = False
            self._done.set()

    def _update(self, run: dict[str, Any]) -> None:
        self.run = run
        self.steps.value = steps_table(run)

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until the followed run ended (for scripts and tests); return its final status."""
        self._done.wait(timeout)
        return self.run

    def stop(self) -> None:
        if self.run is None:
            raise BadRequest("No run to stop.")
        self._update(self.api.stop(self.run["id"]))

    def show_logs(self, which: str | None = None) -> str:
        if self.run is None:
            return ""
        step = None if which in (None, WORKFLOW_LOG) else which
        logs = self.api.logs(self.run["id"], step=step)
        if step is None:
            text = logs["workflow_logs"]
        else:
            s = logs["steps"][0]
            text = f"$ {s['command']}\n# image {s.get('image')}, exit code {s.get('exit_code')}\n{s['logs']}"
        self.log_text.value = text
        return text

    def refresh_outputs(self) -> list[str]:
        if self.run is None:
            return []
        files = self.api.outputs(self.run["id"])["files"]
        self.outputs.options = [f["path"] for f in files]
        return list(self.outputs.options)

    def download(self, path: str | None, dest: str | Path | None = None) -> Path:
        """Save an output file next to the notebook (or at ``dest``)."""
        if self.run is None or not path:
            raise BadRequest("Choose an output file first.")
        saved = self.api.download(self.run["id"], path, dest)
        self.download_note.value = f"saved to {html.escape(str(saved))}"
        return saved
