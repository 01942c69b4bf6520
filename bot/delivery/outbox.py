"""Putting messages in the outbox and claiming them for sending.

Writers insert with ON CONFLICT DO NOTHING on ``(member_id, dedupe_key)``, so
a job that runs twice queues nothing twice. Workers claim due rows by setting
a lease (``claimed_until``); on PostgreSQL the claim uses ``FOR UPDATE SKIP
LOCKED`` so replicas never take the same row, on SQLite the single writer
lock gives the same guarantee. A row whose lease expired (its worker died) is
claimable again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session
from sqlmodel import select as sqlmodel_select

from bot.clock import utcnow
from bot.delivery.models import (
    FAILED,
    OPERATIONAL,
    PENDING,
    PRIORITY_SCHEDULED,
    SENDING,
    SENT,
    Delivery,
)
from bot.messages import Message

LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Outgoing:
    """A message to queue for one member."""

    member_id: int
    platform: str
    dedupe_key: str
    kind: str
    message: Message
    subject: str | None = None
    purpose: str = OPERATIONAL
    priority: int = PRIORITY_SCHEDULED
    not_before: datetime | None = None

    def row(self, now: datetime) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "platform": self.platform,
            "dedupe_key": self.dedupe_key,
            "kind": self.kind,
            "subject": self.subject,
            "purpose": self.purpose,
            "priority": self.priority,
            "payload": self.message.to_payload(),
            "status": PENDING,
            "attempts": 0,
            "not_before": self.not_before or now,
            "created_at": now,
        }


def _insert(session: Session):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(Delivery)


def enqueue_many(
    session: Session, items: Iterable[Outgoing], now: datetime | None = None
) -> set[tuple[int, str]]:
    """Queue messages; return the (member_id, dedupe_key) pairs actually inserted."""
    now = now or utcnow()
    rows = [item.row(now) for item in items]
    if not rows:
        return set()
    table = Delivery.__table__  # type: ignore[attr-defined]
    statement = (
        _insert(session)
        .on_conflict_do_nothing(index_elements=["member_id", "dedupe_key"])
        .returning(table.c.member_id, table.c.dedupe_key)
    )
    # executemany: SQLAlchemy batches it as multi-row INSERTs ("insertmanyvalues")
    # without compiling a new statement for every batch size.
    result = session.connection().execute(statement, rows)
    inserted = {(row[0], row[1]) for row in result}
    return inserted


def enqueue(session: Session, item: Outgoing, now: datetime | None = None) -> bool:
    """Queue one message; False when the same (member, dedupe key) is already queued."""
    return bool(enqueue_many(session, [item], now))


def claim(
    engine: Engine,
    worker_id: str,
    platforms: list[str],
    limit: int,
    now: datetime | None = None,
    member_id: int | None = None,
) -> list[Delivery]:
    """Take up to ``limit`` due deliveries for these platforms, highest priority first."""
    now = now or utcnow()
    due = and_(
        Delivery.platform.in_(platforms),  # type: ignore[attr-defined]
        Delivery.not_before <= now,  # type: ignore[operator]
        or_(
            Delivery.status == PENDING,
            and_(Delivery.status == SENDING, Delivery.claimed_until < now),  # type: ignore[operator]
        ),
    )
    if member_id is not None:
        due = and_(due, Delivery.member_id == member_id)
    candidates = (
        select(Delivery.id)
        .where(due)
        .order_by(Delivery.priority.desc(), Delivery.id)  # type: ignore[attr-defined]
        .limit(limit)
    )
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        statement = (
            update(Delivery)
            .where(Delivery.id.in_(candidates.scalar_subquery()))  # type: ignore[union-attr]
            .where(due)
            .values(
                status=SENDING,
                claimed_by=worker_id,
                claimed_until=now + LEASE,
                attempts=Delivery.attempts + 1,
            )
            .returning(Delivery.id)
        )
        ids = [row[0] for row in session.execute(statement)]
        session.commit()
        if not ids:
            return []
        rows = session.exec(
            sqlmodel_select(Delivery)
            .where(Delivery.id.in_(ids))  # type: ignore[union-attr]
            .order_by(Delivery.priority.desc(), Delivery.id)  # type: ignore[attr-defined]
        ).all()
        return list(rows)


def finish(
    connection: Session | Connection, delivery_id: int, worker_id: str, values: dict[str, Any]
) -> bool:
    """Record a send's outcome, only if this worker still holds the claim."""
    result = connection.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id, Delivery.claimed_by == worker_id, Delivery.status == SENDING
        )
        .values(claimed_until=None, **values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def status_counts(session: Session) -> dict[str, int]:
    from sqlalchemy import func

    rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    return {status: count for status, count in rows}


__all__ = [
    "FAILED",
    "SENT",
    "Outgoing",
    "claim",
    "enqueue",
    "enqueue_many",
    "finish",
    "status_counts",
]
