"""Data-lake helpers for notebooks: local paths of a DID, ready for ``uproot.open``.

    >>> from vrelab import lake
    >>> import uproot
    >>> tree = uproot.open(lake.open("ATLAS_OD_EDU:data_A.GamGam.root"))["mini"]
    >>> files = lake.paths("ATLAS_OD_EDU:GamGam.data")          # one path per file

A replica this kernel can read directly (a ``file://`` replica of a storage mounted here) is used
in place; otherwise the files are downloaded by the server (its ``lake.download`` job, into your
home folder, verified and resumable) and those paths are returned. Everything goes through the
vrelab server's API: the kernel never holds a Rucio credential.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Any

from ..errors import BadRequest

__all__ = ["open", "paths"]


def _client(client: Any) -> Any:
    if client is not None:
        return client
    from ..client import Client

    return Client()


def _readable(pfn: str | None) -> str | None:
    if not pfn:
        return None
    parts = urllib.parse.urlsplit(pfn)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost", "127.0.0.1"):
        return None
    path = urllib.parse.unquote(parts.path)
    return path if os.path.isfile(path) and os.access(path, os.R_OK) else None


def local_replicas(client: Any, did: str, instance: str | None = None) -> list[str] | None:
    """Paths of directly readable replicas for every file of ``did``, or None if some file has none."""
    found: list[str] = []
    offset = 0
    while True:
        page = client.lake.replicas(did, limit=500, offset=offset, instance=instance)
        for f in page["items"]:
            path = next(
                (p for r in f["replicas"] if r["state"] == "AVAILABLE" and (p := _readable(r.get("pfn")))), None
            )
            if path is None:
                return None
            found.append(path)
        if not page["has_more"]:
            break
        offset += len(page["items"])
    return found or None


def _progress_bar(enabled: bool) -> tuple[Any, Any]:
    if not enabled:
        return None, None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None, None
    bar = tqdm(total=None, unit="B", unit_scale=True, desc="download", leave=False)

    def update(job: dict[str, Any]) -> None:
        p = job.get("progress") or {}
        if p.get("total"):
            bar.total = p["total"]
        bar.n = p.get("done") or 0
        bar.set_postfix_str(str(p.get("message") or "")[:50], refresh=False)
        bar.refresh()

    return bar, update


def paths(
    did: str | list[str],
    *,
    dest: str | None = None,
    download: bool = False,
    instance: str | None = None,
    progress: bool = True,
    client: Any = None,
) -> list[str]:
    """Local paths of every file of ``did`` (a file, dataset or container, or a list of them).

    Replicas readable in place are used unless ``download=True``; otherwise the server downloads
    the files into ``dest`` (a folder of your home, default ``data/<scope>``) and waits for them.
    """
    c = _client(client)
    dids = [did] if isinstance(did, str) else list(did)
    if not download:
        found: list[str] = []
        for one in dids:
            local = local_replicas(c, one, instance)
            if local is None:
                break
            found += local
        else:
            return found
    bar, update = _progress_bar(progress)
    try:
        job = c.lake.download(dids, dest=dest, instance=instance, on_progress=update)
    finally:
        if bar is not None:
            bar.close()
    return [f["local_path"] for f in job["result"]["files"]]


def open(did: str, **kwargs: Any) -> str:
    """The local path of a DID holding exactly one file (for ``uproot.open``); see :func:`paths`."""
    found = paths(did, **kwargs)
    if len(found) != 1:
        raise BadRequest(f"{did} holds {len(found)} files; use lake.paths({did!r}) for all of them.")
    return found[0]
