"""Build the Rucio schema and the root account of the embedded lake (server venv only).

    RUCIO_CONFIG=<home>/etc/rucio.cfg python bootstrap_db.py check   # prints "empty", "partial" or "ready"
    RUCIO_CONFIG=<home>/etc/rucio.cfg python bootstrap_db.py init    # schema + base VO + root account
    RUCIO_CONFIG=<home>/etc/rucio.cfg python bootstrap_db.py purge   # drop every Rucio table (reset)

``init`` refuses a database that already holds tables (vrelab decides about wiping, not this).
"""

from __future__ import annotations

import sys

from _common import fail, short


def _engine_and_tables() -> tuple[object, set[str]]:
    from rucio.db.sqla.session import get_engine
    from sqlalchemy import inspect

    engine = get_engine()
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
    except Exception as exc:  # a missing server, wrong password, missing database...
        fail(f"cannot open the lake database: {short(exc)}")
    return engine, tables


def check() -> str:
    from sqlalchemy import text

    engine, tables = _engine_and_tables()
    if not tables:
        return "empty"
    if not {"accounts", "alembic_version", "dids", "rses"} <= tables:
        return "partial"
    with engine.connect() as conn:  # type: ignore[attr-defined]
        n = conn.execute(text("SELECT count(*) FROM accounts WHERE account = 'root'")).scalar()
    return "ready" if n else "partial"


def init() -> None:
    from rucio.db.sqla.util import build_database, create_base_vo, create_root_account
    from sqlalchemy import text

    engine, tables = _engine_and_tables()
    if tables:
        fail("the lake database is not empty; wipe it with `vrelab lake reset` first")
    try:
        build_database()
        create_base_vo()
        create_root_account()
    except Exception as exc:
        fail(f"building the Rucio schema failed: {short(exc)}")
    if engine.dialect.name == "sqlite":  # type: ignore[attr-defined]
        # WAL lets the daemon loop read while the single-threaded server writes (and vice versa)
        with engine.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(text("PRAGMA journal_mode=WAL"))


def purge() -> None:
    from rucio.db.sqla.util import purge_db

    _engine_and_tables()
    try:
        purge_db()
    except Exception as exc:
        fail(f"wiping the lake database failed: {short(exc)}")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "check":
        print(check())
    elif command == "init":
        init()
        print("ready")
    elif command == "purge":
        purge()
        print("empty")
    else:
        fail(f"unknown command {command!r} (expected check, init or purge)")
