"""Results cached by content hash: the same question is answered once.

A key is the SHA-256 of what determines the answer — the workspace's and the patch's content,
the options, the kind of computation and pyhf's version — so a repeated request is served from
disk, and a scan interrupted half-way (even by ``kill -9`` of the server) keeps every point
finished before: each is stored the moment it completes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["ResultCache", "pyhf_version", "result_key"]


@cache
def pyhf_version() -> str:
    try:
        return metadata.version("pyhf")
    except metadata.PackageNotFoundError:
        return "missing"


def result_key(kind: str, **parts: Any) -> str:
    """The cache key of a result: kind, its determining parts, and pyhf's version."""
    text = json.dumps({"kind": kind, "pyhf": pyhf_version(), **parts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class ResultCache:
    """JSON results in ``<root>/<key[:2]>/<key>.json``; the oldest go when ``max_bytes`` is passed."""

    def __init__(self, root: Path, max_bytes: int = 1 << 30):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self._lock = threading.Lock()
        self._written = 0

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        path = self._path(key)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        try:
            os.utime(path)  # recently used: kept longest
        except OSError:
            pass
        return data

    def put(self, key: str, value: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(value, fh, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        with self._lock:
            self._written += path.stat().st_size
            if self._written > self.max_bytes // 10:
                self._written = 0
                self.prune()

    def prune(self) -> None:
        """Remove the least recently used entries until the cache fits ``max_bytes``."""
        entries = []
        for path in self.root.glob("*/*.json"):
            try:
                st = path.stat()
            except OSError:
                continue
            entries.append((st.st_mtime, st.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
