"""Downloading DIDs into the user's folder: parallel, checksum-verified, resumable.

How one file arrives:

1. Its target is ``<dest>/<name>`` (``<dest>/<scope>/<name>`` when the DIDs span several scopes),
   checked to stay inside the server root.
2. A target that is already there and matches Rucio's size and checksum is kept ("present"):
   a resubmitted download fetches only what is missing or damaged.
3. Otherwise the bytes go to ``<target>.part``: copied straight from a replica file when one is
   readable on this machine (a ``file://`` PFN of a POSIX RSE), else fetched through the RSE's
   protocol. Size, adler32 and md5 are checked, and only then is the ``.part`` renamed to the
   target — a file under its final name is always complete. A copy that does not match is thrown
   away and the next replica tried.

Rucio is asked once, up front, where the replicas are; after that the copies need only the
storage, so a file-by-file download survives a Rucio restart once it has started.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadRequest, DownloadFailed, Forbidden, NotFound, VRELabError
from ..jobs import JobCancelled
from ..paths import relative_to_root, resolve_inside
from . import checksums
from .dids import DID

log = logging.getLogger("vrelab.lake.download")
CHUNK = 1 << 20
PART = ".part"


@dataclass
class Source:
    rse: str
    pfn: str
    local_path: str | None  # a replica file readable on this machine


@dataclass
class RemoteFile:
    scope: str
    name: str
    bytes: int | None
    adler32: str | None
    md5: str | None
    sources: list[Source] = field(default_factory=list)

    @property
    def did(self) -> str:
        return f"{self.scope}:{self.name}"

    def expected(self) -> dict[str, Any]:
        return {"bytes": self.bytes, "adler32": self.adler32, "md5": self.md5}


@dataclass
class Outcome:
    did: str
    path: str  # relative to the server root
    local_path: str  # absolute
    state: str  # downloaded | present | failed
    bytes: int | None
    verified: str | None = None  # adler32 | md5 | size
    rse: str | None = None
    via: str | None = None  # local-copy | protocol
    error: str | None = None
    seconds: float = 0.0


def local_path_of(pfn: str) -> str | None:
    """The file behind a ``file://`` PFN when this process can read it."""
    parts = urllib.parse.urlsplit(pfn)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost", "127.0.0.1"):
        return None
    path = urllib.parse.unquote(parts.path)
    return path if os.path.isfile(path) and os.access(path, os.R_OK) else None


def resolve(client: Any, dids: list[DID], preferred_rse: str | None) -> list[RemoteFile]:
    """Every file under the DIDs with its available replicas: the preferred RSE first, then the
    replicas readable on this machine, then the others."""
    files: dict[tuple[str, str], RemoteFile] = {}
    for row in client.list_replicas([d.as_dict() for d in dids], all_states=False):
        key = (row["scope"], row["name"])
        if key in files:
            continue
        sources = [
            Source(rse, pfn, local_path_of(pfn))
            for rse, pfns in sorted((row.get("rses") or {}).items())
            for pfn in pfns[:1]
        ]
        sources.sort(key=lambda s: (s.rse != preferred_rse, s.local_path is None, s.rse))
        files[key] = RemoteFile(
            row["scope"], row["name"], row.get("bytes"), row.get("adler32"), row.get("md5"), sources
        )
    return sorted(files.values(), key=lambda f: (f.scope, f.name))


def targets(root: Path, dest: str, files: list[RemoteFile]) -> dict[str, Path]:
    """Where each file goes (inside the root): ``dest/name``, or ``dest/scope/name`` across scopes."""
    several_scopes = len({f.scope for f in files}) > 1
    out: dict[str, Path] = {}
    for f in files:
        rel = f"{dest}/{f.scope}/{f.name}" if several_scopes else f"{dest}/{f.name}"
        try:
            out[f.did] = resolve_inside(root, rel)
        except Forbidden as exc:
            raise BadRequest(exc.message, details=exc.details) from None
    return out


class Progress:
    """Bytes done of the total, over all workers; reported through ``report(done, total, message)``."""

    def __init__(self, total_bytes: int, total_files: int, report: Callable[[float, float, str], None]):
        self.total = max(total_bytes, 1)
        self.files = total_files
        self.done = 0
        self.files_done = 0
        self._report = report
        self._lock = threading.Lock()

    def add(self, n: int, current: str = "") -> None:
        with self._lock:
            self.done += n
            done, files_done = self.done, self.files_done
        self._report(
            min(done, self.total), self.total, f"{files_done}/{self.files} files{' · ' + current if current else ''}"
        )

    def file_done(self, name: str, state: str) -> None:
        with self._lock:
            self.files_done += 1
            done, files_done = self.done, self.files_done
        self._report(min(done, self.total), self.total, f"{files_done}/{self.files} files · {name} {state}")


class Downloader:
    """Fetch ``files`` into their ``targets`` with ``workers`` threads."""

    def __init__(
        self,
        root: Path,
        files: list[RemoteFile],
        targets: dict[str, Path],
        *,
        workers: int = 4,
        protocol: Callable[[Source], Any] | None = None,
        prefer_local: bool = True,
        progress: Callable[[float, float, str], None] = lambda *a: None,
        logline: Callable[[str], None] = lambda text: None,
        cancelled: Callable[[], bool] = lambda: False,
    ):
        self.root = root
        self.files = files
        self.targets = targets
        self.workers = max(1, workers)
        self.protocol = protocol
        self.prefer_local = prefer_local
        self.progress = Progress(sum(f.bytes or 0 for f in files), len(files), progress)
        self.logline = logline
        self.cancelled = cancelled

    def run(self) -> list[Outcome]:
        if not self.files:
            self.progress.add(0)
            return []
        with ThreadPoolExecutor(self.workers, thread_name_prefix="vrelab-download") as pool:
            outcomes = list(pool.map(self._one, self.files))
        if self.cancelled():
            raise JobCancelled()
        return outcomes

    # ------------------------------------------------------------------ one file
    def _outcome(self, f: RemoteFile, state: str, **kw: Any) -> Outcome:
        target = self.targets[f.did]
        return Outcome(f.did, relative_to_root(self.root, target), str(target), state, f.bytes, **kw)

    def _one(self, f: RemoteFile) -> Outcome:
        started = time.monotonic()
        if self.cancelled():
            return self._outcome(f, "failed", error="cancelled")
        target = self.targets[f.did]
        try:
            if target.is_file() and not target.is_symlink():
                why = checksums.mismatch(checksums.of_file(target), f.expected())
                if why is None:
                    self.progress.add(f.bytes or 0)
                    self.progress.file_done(f.name, "already there")
                    return self._outcome(f, "present", verified=checksums.verified_with(f.expected()))
                self.logline(f"{f.did}: the file in place does not match ({why}); fetching it again")
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return self._outcome(f, "failed", error=f"cannot write {target.parent}: {exc.strerror or exc}")
        errors: list[str] = []
        sources = f.sources if self.prefer_local else sorted(f.sources, key=lambda s: s.local_path is not None)
        for source in sources:
            part = target.with_name(target.name + PART)
            try:
                via = self._fetch(f, source, part)
            except JobCancelled:
                part.unlink(missing_ok=True)
                return self._outcome(f, "failed", error="cancelled")
            except Exception as exc:  # one replica failing: try the next
                part.unlink(missing_ok=True)
                errors.append(f"{source.rse}: {_short(exc)}")
                self.logline(f"{f.did}: from {source.rse} failed: {_short(exc)}")
                continue
            os.replace(part, target)
            self.progress.file_done(f.name, "done")
            self.logline(f"{f.did}: {via} from {source.rse} -> {relative_to_root(self.root, target)}")
            return self._outcome(
                f,
                "downloaded",
                verified=checksums.verified_with(f.expected()),
                rse=source.rse,
                via=via,
                seconds=round(time.monotonic() - started, 3),
            )
        if not f.sources:
            errors.append("no available replica in the lake")
        self.progress.file_done(f.name, "FAILED")
        return self._outcome(f, "failed", error="; ".join(errors))

    def _fetch(self, f: RemoteFile, source: Source, part: Path) -> str:
        """Bytes of one replica into ``part``, verified; raises when they do not match."""
        counted = 0
        try:
            if source.local_path is not None and self.prefer_local:
                summer = checksums.Checksummer()
                with open(source.local_path, "rb") as src, open(part, "wb") as out:
                    while chunk := src.read(CHUNK):
                        if self.cancelled():
                            raise JobCancelled()
                        out.write(chunk)
                        summer.update(chunk)
                        counted += len(chunk)
                        self.progress.add(len(chunk), f.name)
                via = "local-copy"
            else:
                if self.protocol is None:
                    raise DownloadFailed("no protocol to fetch it with")
                part.unlink(missing_ok=True)
                self.protocol(source).get(source.pfn, str(part))
                summer = checksums.of_file(part)
                counted = summer.size
                self.progress.add(counted, f.name)
                via = "protocol"
            why = checksums.mismatch(summer, f.expected())
            if why is not None:
                raise DownloadFailed(f"checksum mismatch ({why})")
            return via
        except BaseException:
            self.progress.add(-counted)
            raise


def _short(exc: BaseException) -> str:
    if isinstance(exc, VRELabError):
        return exc.message
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def summary(outcomes: list[Outcome], dest: str, seconds: float) -> dict[str, Any]:
    counts = {s: sum(1 for o in outcomes if o.state == s) for s in ("downloaded", "present", "failed")}
    moved = sum(o.bytes or 0 for o in outcomes if o.state == "downloaded")
    return {
        "dest": dest,
        "files": [asdict(o) for o in outcomes],
        "counts": counts,
        "bytes_downloaded": moved,
        "seconds": round(seconds, 3),
    }


def failure(outcomes: list[Outcome], dest: str) -> DownloadFailed:
    failed = [o for o in outcomes if o.state == "failed"]
    ok = len(outcomes) - len(failed)
    listed = "; ".join(f"{o.did} ({o.error})" for o in failed[:5]) + (" ..." if len(failed) > 5 else "")
    return DownloadFailed(
        f"{len(failed)} of {len(outcomes)} file(s) could not be downloaded: {listed}. The {ok} other(s) are "
        f"verified in {dest}; resubmit the job to fetch only what is missing.",
        details={"failed": [o.did for o in failed]},
    )


def no_files(dids: list[DID]) -> NotFound:
    return NotFound(f"{', '.join(map(str, dids))}: no files to download (empty collection).")
