"""Database access: SQLite by default, PostgreSQL through RELAIS_DATABASE_URL.

The schema is owned by Alembic (``migrations/``); ``upgrade()`` brings any
database to the latest revision and is what ``relais db upgrade`` and the
embedded default's start-up call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlmodel import Session, create_engine

import bot.models  # noqa: F401  (registers every table on the metadata)

DEFAULT_URL = "sqlite:///relais.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class DatabaseUrlError(ValueError):
    """RELAIS_DATABASE_URL is not a URL SQLAlchemy understands."""


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("RELAIS_DATABASE_URL") or DEFAULT_URL


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets `relais console` read while `relais serve` writes; the busy
    # timeout makes a second process wait for the lock instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _SQLiteCompiler(SQLiteCompiler):
    """SQLite's compiler, with ``with_hint(table, "INDEXED BY ix", "sqlite")`` rendered.

    SQLite without statistics picks an index by its equality columns, and would
    sort every queued delivery at each claim instead of walking the claim index.
    """

    def get_from_hint_text(self, table, text):  # type: ignore[no-untyped-def]
        return text


def make_engine(url: str | None = None) -> Engine:
    """An engine for the configured database, tuned for the backend it points at."""
    raw = database_url(url)
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise DatabaseUrlError(raw.split("@")[-1]) from None
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(raw, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        engine.dialect.statement_compiler = _SQLiteCompiler
        return engine
    engine = create_engine(raw, pool_size=10, max_overflow=10)
    event.listen(engine, "checkout", _ping_if_idle)
    event.listen(engine, "checkin", _note_checkin)
    return engine


# A connection back from the pool is checked with a round trip only if it sat idle this
# long: a server restart or a dropped idle connection is caught, and the delivery
# worker's claims and records (hundreds a second, each a checkout) do not pay a ping each.
IDLE_BEFORE_PING = 5.0


def _note_checkin(dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """``pool_pre_ping``, for connections that were idle: a dead one is replaced, not used."""
    if time.monotonic() - record.info.get("checked_in_at", 0.0) < IDLE_BEFORE_PING:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        if not getattr(dbapi_connection, "autocommit", True):
            dbapi_connection.rollback()
    except Exception as exc:
        # The pool drops this connection and checks out another (SQLAlchemy's recipe).
        raise DisconnectionError(f"stale connection: {type(exc).__name__}") from exc


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration not yet applied (safe to call on each start)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:  # any driver error means 'not reachable' for /healthz
        return False


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
