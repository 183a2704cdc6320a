"""The lake's database URL: SQLite by default, PostgreSQL with ``--db postgresql://...``."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..errors import LakeServerError

POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def normalise(url: str) -> str:
    """The SQLAlchemy URL to give Rucio; "" stays "" (SQLite). Raises on unsupported URLs."""
    url = url.strip()
    if not url:
        return ""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise LakeServerError(
            f"--db {redact(url)!r} is not a database URL; expected postgresql://USER:PW@HOST:PORT/DB"
        )
    if scheme.lower() in POSTGRES_SCHEMES:
        parts = urlsplit(url)
        if not parts.path.strip("/"):
            raise LakeServerError(
                f"--db {redact(url)} names no database; expected postgresql://USER:PW@HOST:PORT/DB"
            )
        return "postgresql+psycopg://" + rest
    if scheme.lower().startswith("sqlite"):
        raise LakeServerError("SQLite is the default: leave out --db to use it (a file in the lake's home)")
    raise LakeServerError(
        f"--db {redact(url)}: only PostgreSQL (postgresql://USER:PW@HOST:PORT/DB) "
        "or the default SQLite are supported"
    )


def redact(url: str) -> str:
    """The URL without its password, for messages and ``status``."""
    if not url:
        return "sqlite"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def check_reachable(url: str, timeout: float = 3.0) -> None:
    """Fail with one clear line if no PostgreSQL server listens where ``url`` points."""
    if not url:
        return
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    try:
        port = parts.port or 5432
    except ValueError:
        raise LakeServerError(f"--db {redact(url)}: the port is not a number") from None
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError:
        raise LakeServerError(
            f"no PostgreSQL server answers at {host}:{port} (from --db {redact(url)}); "
            f"start PostgreSQL there, or leave out --db to use SQLite"
        ) from None
