"""The jobs database: one SQLite file in WAL mode under the server's data dir.

Every state change is written before it is announced, so what a client has seen is on disk;
a job that was queued or running when the server died is found at the next start and marked
``interrupted`` (never silently lost).
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .models import ACTIVE_STATES, Job, JobState, Progress

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    progress TEXT NOT NULL,
    result TEXT,
    error TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    updated REAL NOT NULL,
    resubmitted_from TEXT
);
CREATE INDEX IF NOT EXISTS jobs_owner_created ON jobs (owner, created);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
"""

_COLUMNS = (
    "id", "kind", "owner", "title", "params", "state", "progress", "result", "error",
    "created", "started", "finished", "updated", "resubmitted_from",
)  # fmt: skip


def _row_to_job(row: sqlite3.Row) -> Job:
    progress = json.loads(row["progress"])
    return Job(
        id=row["id"],
        kind=row["kind"],
        owner=row["owner"],
        title=row["title"],
        params=json.loads(row["params"]),
        state=JobState(row["state"]),
        progress=Progress(progress.get("done", 0), progress.get("total"), progress.get("message", "")),
        result=json.loads(row["result"]) if row["result"] is not None else None,
        error=json.loads(row["error"]) if row["error"] is not None else None,
        created=row["created"],
        started=row["started"],
        finished=row["finished"],
        updated=row["updated"],
        resubmitted_from=row["resubmitted_from"],
    )


def _job_values(job: Job) -> tuple[Any, ...]:
    return (
        job.id,
        job.kind,
        job.owner,
        job.title,
        json.dumps(job.params),
        str(job.state),
        json.dumps({"done": job.progress.done, "total": job.progress.total, "message": job.progress.message}),
        json.dumps(job.result) if job.result is not None else None,
        json.dumps(job.error) if job.error is not None else None,
        job.created,
        job.started,
        job.finished,
        job.updated,
        job.resubmitted_from,
    )


class JobStore:
    """Thread-safe access to the jobs table. Each call is one short transaction."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        os.chmod(self.path, 0o600)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def save(self, job: Job) -> None:
        """Insert or replace the whole record."""
        job.updated = time.time()
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO jobs ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                _job_values(job),
            )

    def save_progress(self, job: Job) -> None:
        job.updated = time.time()
        progress = {"done": job.progress.done, "total": job.progress.total, "message": job.progress.message}
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET progress = ?, updated = ? WHERE id = ?",
                (json.dumps(progress), job.updated, job.id),
            )

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _row_to_job(row) if row else None

    def list(
        self,
        *,
        owner: str | None = None,
        kinds: Iterable[str] = (),
        states: Iterable[str] = (),
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Job], int]:
        """Jobs newest first, and how many match in all."""
        where: list[str] = []
        args: list[Any] = []
        if owner is not None:
            where.append("owner = ?")
            args.append(owner)
        for column, values in (("kind", list(kinds)), ("state", list(states))):
            if values:
                where.append(f"{column} IN ({', '.join('?' for _ in values)})")
                args.extend(values)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            total = self._db.execute(f"SELECT COUNT(*) FROM jobs {clause}", args).fetchone()[0]
            rows = self._db.execute(
                f"SELECT * FROM jobs {clause} ORDER BY created DESC, id DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [_row_to_job(r) for r in rows], total

    def find_same(self, owner: str, kind: str, params: dict[str, Any], states: Iterable[str]) -> Job | None:
        """The newest job of *owner* of this kind with equal parameters in one of *states*."""
        wanted = [str(s) for s in states]
        params = json.loads(json.dumps(params))  # as stored: tuples are lists
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM jobs WHERE owner = ? AND kind = ? AND state IN ({', '.join('?' for _ in wanted)}) "
                "ORDER BY created DESC, id DESC",
                (owner, kind, *wanted),
            ).fetchall()
        for row in rows:
            if json.loads(row["params"]) == params:
                return _row_to_job(row)
        return None

    def count_active(self, owner: str) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM jobs WHERE owner = ? AND state IN (?, ?)",
                (owner, *(str(s) for s in ACTIVE_STATES)),
            ).fetchone()[0]

    def count_active_by_kind(self) -> dict[tuple[str, str], int]:
        """Queued and running jobs of every owner, as {(kind, state): count} (for the metrics)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, state, COUNT(*) FROM jobs WHERE state IN (?, ?) GROUP BY kind, state",
                tuple(str(s) for s in ACTIVE_STATES),
            ).fetchall()
        return {(str(kind), str(state)): int(n) for kind, state, n in rows}

    def delete(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def mark_interrupted(self, reason: str) -> builtins.list[str]:
        """Mark every queued or running job interrupted (called once at start-up)."""
        now = time.time()
        error = json.dumps({"code": "interrupted", "message": reason, "details": {}})
        with self._lock:
            ids = [
                r[0]
                for r in self._db.execute(
                    "SELECT id FROM jobs WHERE state IN (?, ?)", tuple(str(s) for s in ACTIVE_STATES)
                )
            ]
            if ids:
                self._db.execute(
                    f"UPDATE jobs SET state = ?, error = ?, finished = ?, updated = ? "
                    f"WHERE id IN ({', '.join('?' for _ in ids)})",
                    (str(JobState.INTERRUPTED), error, now, now, *ids),
                )
        return ids

    def purge_finished_before(self, cutoff: float) -> int:
        states = [str(s) for s in JobState if s.finished]
        with self._lock:
            cur = self._db.execute(
                f"DELETE FROM jobs WHERE finished IS NOT NULL AND finished < ? "
                f"AND state IN ({', '.join('?' for _ in states)})",
                (cutoff, *states),
            )
        return cur.rowcount
