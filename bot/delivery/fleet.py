"""Several replicas on one PostgreSQL: a platform's rate limit is the fleet's, not each one's.

A Slack workspace or a Teams tenant allows so many sends a second to the app,
whichever replica makes them. So every replica's worker says it is alive
(``replica`` row, every ``BEAT`` seconds) and counts the live ones: each sends
at its share of the configured rate (``delivery.rate_per_second`` / live
replicas). And when the platform answers 429 to any replica, the Retry-After is
stored (``platformhold``) in the same transaction as the outcome, and every
replica holds its sends to that platform until then: the fleet backs off, not
just the replica that was told.

On SQLite there is one process: nothing to share, and no loop runs.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Field, SQLModel

from bot.clock import utcnow

log = logging.getLogger("relais.delivery")

BEAT = 2.0  # seconds between a replica's signs of life
GONE_AFTER = 3 * BEAT  # silent this long: counted out of the fleet
MAX_HOLD = 900.0  # a Retry-After longer than this is not believed


class Replica(SQLModel, table=True):
    """A running worker (one per ``relais serve``), as long as it keeps saying so."""

    id: str = Field(primary_key=True, max_length=64)
    host: str = Field(default="", max_length=255)
    pid: int = 0
    started_at: datetime = Field(default_factory=utcnow)
    seen_at: datetime = Field(default_factory=utcnow, index=True)


class PlatformHold(SQLModel, table=True):
    """A platform told a replica 'too many': every replica holds its sends until ``until``."""

    platform: str = Field(primary_key=True, max_length=32)
    until: datetime
    reason: str = Field(default="", max_length=200)


def shared(engine: Engine) -> bool:
    """Whether replicas can share this database (PostgreSQL), so the fleet loop runs."""
    return engine.dialect.name == "postgresql"


def beat(
    engine: Engine, replica_id: str, now: datetime | None = None
) -> tuple[int, dict[str, datetime]]:
    """Say this replica is alive; return how many replicas are, and the platforms on hold.

    One short transaction: an upsert and two small reads (a handful of rows).
    """
    now = now or utcnow()
    table = Replica.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(
            pg_insert(table)
            .values(
                id=replica_id,
                host=socket.gethostname()[:255],
                pid=os.getpid(),
                started_at=now,
                seen_at=now,
            )
            .on_conflict_do_update(index_elements=["id"], set_={"seen_at": now})
        )
        live = connection.execute(
            select(func.count())
            .select_from(table)
            .where(table.c.seen_at >= now - timedelta(seconds=GONE_AFTER))
        ).scalar_one()
        holds = {
            platform: until
            for platform, until in connection.execute(
                select(PlatformHold.platform, PlatformHold.until).where(PlatformHold.until > now)  # type: ignore[arg-type]
            )
        }
    return max(1, int(live)), holds


def leave(engine: Engine, replica_id: str) -> None:
    """A replica that stops cleanly leaves the count at once (the others speed up)."""
    with engine.begin() as connection:
        connection.execute(delete(Replica).where(Replica.id == replica_id))  # type: ignore[arg-type]
        # Replicas gone for long are forgotten (a kill -9 leaves its row behind).
        connection.execute(
            delete(Replica).where(Replica.seen_at < utcnow() - timedelta(hours=1))  # type: ignore[arg-type]
        )


def hold(connection: Any, platform: str, seconds: float, reason: str, now: datetime) -> None:
    """Store a platform's Retry-After for the fleet (kept if a later one is already stored)."""
    if connection.dialect.name != "postgresql":
        return
    until = now + timedelta(seconds=min(MAX_HOLD, max(0.0, seconds)))
    table = PlatformHold.__table__  # type: ignore[attr-defined]
    statement = pg_insert(table).values(platform=platform, until=until, reason=reason[:200])
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["platform"],
            set_={
                "until": func.greatest(table.c.until, statement.excluded.until),
                "reason": statement.excluded.reason,
            },
        )
    )
