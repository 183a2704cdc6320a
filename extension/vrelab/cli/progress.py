"""Progress bars for long work in the terminal (tqdm), fed by the job event stream."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm


def follow_job(client: Any, job_id: str, *, quiet: bool = False) -> dict[str, Any]:
    """Show a job's progress until it finishes; return its final record."""
    if quiet:
        return client.wait(job_id)
    bar = tqdm(total=None, unit="", dynamic_ncols=True, desc=job_id[:8], leave=True)

    def update(job: dict[str, Any]) -> None:
        p = job["progress"]
        if p.get("total"):
            bar.total = p["total"]
        bar.n = p.get("done") or 0
        bar.set_postfix_str(f"{job['state']} {p.get('message', '')}"[:60], refresh=False)
        bar.refresh()

    try:
        final = client.wait(job_id, on_progress=update)
        update(final)
    finally:
        bar.close()
    return final
