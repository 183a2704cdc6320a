"""Pieces every vrelab widget uses: an error banner and a progress bar that follows a job."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..errors import VRELabError

FINISHED = {"succeeded", "failed", "cancelled", "interrupted"}
_STYLE = {
    "error": ("var(--jp-error-color3, #fdecea)", "var(--jp-error-color1, #b71c1c)"),
    "warning": ("var(--jp-warn-color3, #fff8e1)", "var(--jp-warn-color1, #8a6d00)"),
    "info": ("var(--jp-info-color3, #e3f2fd)", "var(--jp-info-color1, #0d47a1)"),
    "success": ("var(--jp-success-color3, #e8f5e9)", "var(--jp-success-color1, #1b5e20)"),
}


# every label shown whole (ipywidgets cuts descriptions at 80 px by default)
LABEL = {"description_width": "initial"}


def wrap_row(*children: widgets.Widget) -> widgets.HBox:
    """A row of controls that wraps onto the next line when the notebook is narrow."""
    return widgets.HBox(list(children), layout=widgets.Layout(flex_flow="row wrap", align_items="center"))


# the whole width of a box, less the margins ipywidgets gives every control
FULL = "calc(100% - 2 * var(--jp-widgets-margin, 2px))"


def sized(size: str, *, grow: bool = False, **more: str) -> widgets.Layout:
    """A control ``size`` wide (CSS), or at least that wide and growing to fill its row (``grow``),
    never wider than its box."""
    if grow:
        return widgets.Layout(flex="1 1 auto", min_width=f"min({size}, {FULL})", max_width=FULL, **more)
    return widgets.Layout(width=size, max_width=FULL, **more)


def describe_error(error: BaseException | str) -> str:
    """One readable sentence for an error: the server's message, never a traceback."""
    if isinstance(error, str):
        return error
    if isinstance(error, VRELabError):
        return error.message
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class ErrorBanner(widgets.HTML):
    """A banner that shows one message (an error by default) and hides when cleared."""

    def __init__(self, **kwargs: Any):
        super().__init__(value="", **kwargs)
        self.layout.display = "none"
        self.message = ""
        self.level = ""

    def show(self, error: BaseException | str, level: str = "error") -> None:
        self.message = describe_error(error)
        self.level = level
        background, colour = _STYLE.get(level, _STYLE["error"])
        self.value = (
            f'<div class="vrelab-banner vrelab-banner-{level}" style="padding:6px 10px;border-radius:4px;'
            f'background:{background};color:{colour}">{html.escape(self.message)}</div>'
        )
        self.layout.display = None

    def clear(self) -> None:
        self.message = ""
        self.level = ""
        self.value = ""
        self.layout.display = "none"


def job_fraction(job: dict[str, Any]) -> float | None:
    progress = job.get("progress") or {}
    fraction = progress.get("fraction")
    if fraction is None and progress.get("total"):
        fraction = float(progress.get("done") or 0) / float(progress["total"])
    return None if fraction is None else max(0.0, min(1.0, float(fraction)))


class JobProgress(widgets.VBox):
    """A progress bar and a status line following one job over the server's event stream.

    The stream is read in a background thread, so the notebook stays usable; ``on_done(job)``
    is called once with the job's final record (result included). ``stop()`` stops following.
    """

    def __init__(
        self,
        client: Any,
        job_id: str,
        on_done: Callable[[dict[str, Any]], None] | None = None,
        *,
        description: str = "",
        start: bool = True,
    ):
        self.client = client
        self.job_id = job_id
        self.on_done = on_done
        self.bar = widgets.FloatProgress(
            value=0.0,
            min=0.0,
            max=1.0,
            description=description,
            bar_style="info",
            layout=widgets.Layout(width="100%"),
        )
        self.label = widgets.HTML(value="queued")
        self.error = ErrorBanner()
        self.job: dict[str, Any] | None = None
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        super().__init__(children=[self.bar, self.label, self.error])
        if start:
            self.start()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._follow, name=f"vrelab-job-{self.job_id}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until the job finished (for scripts and tests); return its final record."""
        self.finished.wait(timeout)
        return self.job

    def update(self, job: dict[str, Any]) -> None:
        self.job = job
        state = job.get("state", "")
        fraction = job_fraction(job)
        progress = job.get("progress") or {}
        if fraction is not None:
            self.bar.value = fraction
        message = progress.get("message") or ""
        done, total = progress.get("done"), progress.get("total")
        count = f" {done:g}/{total:g}" if isinstance(done, int | float) and isinstance(total, int | float) else ""
        self.label.value = html.escape(f"{state}{count}{' — ' + message if message else ''}")
        if state == "succeeded":
            self.bar.value, self.bar.bar_style = 1.0, "success"
        elif state in FINISHED:
            self.bar.bar_style = "danger" if state != "cancelled" else "warning"
            err = job.get("error") or {}
            if err.get("message"):
                self.error.show(err["message"])

    def _follow(self) -> None:
        try:
            for event in self.client.events(self.job_id):
                job = event.get("job") or {}
                self.update(job)
                if self._stop.is_set() or job.get("state") in FINISHED:
                    break
            if not self._stop.is_set():
                final = self.client.job(self.job_id)
                self.update(final)
                if self.on_done is not None:
                    try:
                        self.on_done(final)
                    except Exception as exc:  # a callback's failure is shown, not raised in a thread
                        self.error.show(exc)
        except Exception as exc:
            self.error.show(exc)
            self.bar.bar_style = "danger"
        finally:
            self.finished.set()
