"""Make SQLite bearable for two processes (the REST server and the daemon loop) writing at once.

On SQLite, Rucio's transactions start DEFERRED: they read, then take the write lock when they
first write. If the other process holds it, SQLite waits up to the busy timeout (raised here to
60 s); if the other process committed in between, SQLite answers "database is locked" at once and
the whole transaction must be retried. The database runs in WAL mode (set at creation), so reads
never wait. ``RetryOnLockedDatabase`` retries such a request in the server; the daemon loop simply
tries again on its next pass. (Making every transaction ``BEGIN IMMEDIATE`` instead deadlocks:
Rucio's daemons keep more than one connection open at a time.) PostgreSQL is left untouched.

``install()`` must run before Rucio creates its engine (serve.py and daemon_loop.py call it).
"""

from __future__ import annotations

import io
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

BUSY_TIMEOUT_MS = 60_000
_installed = False


def install(busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
    global _installed
    if _installed:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")

    event.listen(Engine, "connect", on_connect)
    _installed = True


def _recorder() -> tuple[dict[str, Any], Callable[..., Any]]:
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"], captured["exc_info"] = status, headers, exc_info
        return lambda data: None  # Flask never uses write()

    return captured, capture


class RetryOnLockedDatabase:
    """WSGI middleware: replay a request whose transaction failed with "database is locked"
    (or with the DatabaseException Rucio turns that into).

    The request body is buffered so it can be sent again; the failed transaction was rolled back,
    so replaying it is safe. Only HTTP 500 answers are inspected: others stream through untouched.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], attempts: int = 8) -> None:
        self.app = app
        self.attempts = attempts

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        for attempt in range(1, self.attempts + 1):
            environ["wsgi.input"] = io.BytesIO(body)
            captured, capture = _recorder()
            result = self.app(environ, capture)
            if not str(captured.get("status", "")).startswith("500") or attempt == self.attempts:
                start_response(captured["status"], captured["headers"], captured.get("exc_info"))
                return result
            content = b"".join(result)
            close = getattr(result, "close", None)
            if close:
                close()
            # Rucio hides the cause of a DatabaseException from the client ("An unknown Database
            # Exception has occurred"); on SQLite that is almost always the lock
            if b"database is locked" not in content and b"DatabaseException" not in content:
                start_response(captured["status"], captured["headers"], captured.get("exc_info"))
                return [content]
            time.sleep(0.1 * attempt)
        raise AssertionError("unreachable")
