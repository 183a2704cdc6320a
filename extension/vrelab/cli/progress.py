"""Progress bars for long work in the terminal (tqdm), fed by the job event stream."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

Job = dict[str, Any]


@contextmanager
def job_bar(*, quiet: bool = False) -> Iterator[Callable[[Job], None] | None]:
    """``with job_bar() as on_progress:`` a callback for the client's ``on_progress=`` that moves a
    bar on stderr (``None`` when ``quiet``); the bar is closed on the way out."""
    if quiet:
        yield None
        return
    bar: tqdm[Any] | None = None

    def update(job: Job) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=None, unit="", dynamic_ncols=True, desc=job["id"][:8], leave=True)
        p = job["progress"]
        if p.get("total"):
            bar.total = p["total"]
        bar.n = p.get("done") or 0
        bar.set_postfix_str(f"{job['state']} {p.get('message', '')}"[:60], refresh=False)
        bar.refresh()

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def follow_job(client: Any, job_id: str, *, quiet: bool = False) -> Job:
    """Show a job's progress until it finishes; return its final record."""
    with job_bar(quiet=quiet) as on_progress:
        final = client.wait(job_id, on_progress=on_progress)
        if on_progress is not None:
            on_progress(final)
    return final
