"""The pool replaces a PostgreSQL connection that died while idle (server restart, a
dropped idle connection) instead of handing it out; a connection used moments ago is
handed out without a ping (the delivery worker checks out hundreds a second)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

import bot.db
from bot.db import make_engine


def _kill_the_pooled_connection(postgres_url: str, engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    return int(pid)


@pytest.mark.postgres
def test_a_connection_killed_while_idle_is_replaced(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(postgres_url)
    first = _kill_the_pooled_connection(postgres_url, engine)
    monkeypatch.setattr(bot.db, "IDLE_BEFORE_PING", 0.0)  # as if it had sat idle for long
    with engine.connect() as connection:
        second = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert second != first
    engine.dispose()


@pytest.mark.postgres
def test_a_connection_used_moments_ago_is_not_pinged(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(postgres_url)
    _kill_the_pooled_connection(postgres_url, engine)
    monkeypatch.setattr(bot.db, "IDLE_BEFORE_PING", 3600.0)
    # Not pinged: the dead connection is handed out and the statement fails (the pool
    # then invalidates it, and the next checkout gets a new one).
    with pytest.raises(OperationalError), engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()
