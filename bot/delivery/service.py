"""Delivery housekeeping and the operator's view of the queue (used by jobs and the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from bot.clock import as_utc
from bot.delivery.models import (
    CANCELLED,
    FAILED,
    PENDING,
    PROMOTIONAL_PAUSE,
    SENT,
    Delivery,
    DeliveryBody,
    DeliveryPart,
    DeliveryPause,
)

FINISHED = (SENT, FAILED, CANCELLED)
PRUNE_BATCH = 2000


def _done_at() -> Any:
    """When a finished delivery ended: sent, or its last try (failed, cancelled)."""
    return func.coalesce(Delivery.sent_at, Delivery.not_before)


def prune_finished(engine: Engine, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Remove sent, failed and cancelled deliveries that ended before ``before``; return how many.

    Their parts go with them, then the bodies no delivery uses any more.
    Participation events (what members received and did) are kept: the figures
    do not change. A delivery an update or delete still to come (or recent)
    refers to is kept, so that operation still reaches the message. Work is
    done in short transactions of ``batch`` rows, oldest first.
    """
    later = aliased(Delivery)
    still_needed = exists().where(
        later.target_id == Delivery.id,
        or_(
            later.status.notin_(FINISHED),  # type: ignore[attr-defined]
            func.coalesce(later.sent_at, later.not_before) >= before,
        ),
    )
    removed = 0
    last = 0
    while True:
        with engine.begin() as connection:
            ids = list(
                connection.execute(
                    select(Delivery.id)
                    .where(
                        Delivery.id > last,  # type: ignore[operator]
                        Delivery.status.in_(FINISHED),  # type: ignore[attr-defined]
                        _done_at() < before,
                        ~still_needed,
                    )
                    .order_by(Delivery.id)  # type: ignore[arg-type]
                    .limit(batch)
                ).scalars()
            )
            if not ids:
                break
            last = ids[-1]
            # The operations on these messages (older still: they passed the same test) go
            # in the same statement, so no row is left pointing at a removed one.
            doomed = set(ids)
            while True:
                more = set(
                    connection.execute(
                        select(Delivery.id).where(
                            Delivery.target_id.in_(doomed),  # type: ignore[union-attr]
                            Delivery.id.notin_(doomed),  # type: ignore[union-attr]
                        )
                    ).scalars()
                )
                if not more:
                    break
                doomed |= more
            connection.execute(
                delete(DeliveryPart).where(DeliveryPart.delivery_id.in_(doomed))  # type: ignore[attr-defined]
            )
            connection.execute(delete(Delivery).where(Delivery.id.in_(doomed)))  # type: ignore[union-attr]
            removed += len(doomed)
    with engine.begin() as connection:
        connection.execute(
            delete(DeliveryBody).where(
                DeliveryBody.used_at < before,  # type: ignore[arg-type]
                ~exists().where(Delivery.body_hash == DeliveryBody.hash),
            )
        )
    return removed


@dataclass(frozen=True)
class QueueStatus:
    """The outbox as an operator sees it."""

    counts: list[tuple[str, str, int, int]]  # (status, purpose, priority, rows), in that order
    paused: bool
    pause_reason: str | None
    paused_at: datetime | None
    oldest_due_id: int | None
    oldest_due_at: datetime | None
    later: int = 0  # pending rows not due yet
    campaigns: list[tuple[str, int]] = field(default_factory=list)  # campaigns still queued


def queue_status(session: Session, now: datetime) -> QueueStatus:
    """Rows by status, purpose and priority; the pause; the oldest delivery waiting to go."""
    counts = [
        (status, purpose, int(priority), int(rows))
        for status, purpose, priority, rows in session.execute(
            select(Delivery.status, Delivery.purpose, Delivery.priority, func.count())
            .group_by(Delivery.status, Delivery.purpose, Delivery.priority)
            .order_by(Delivery.status, Delivery.purpose, Delivery.priority.desc())  # type: ignore[attr-defined]
        ).all()
    ]
    pause = session.get(DeliveryPause, PROMOTIONAL_PAUSE)
    oldest = session.execute(
        select(Delivery.id, Delivery.not_before)
        .where(Delivery.status == PENDING, Delivery.not_before <= now)  # type: ignore[operator]
        .order_by(Delivery.not_before, Delivery.id)  # type: ignore[arg-type]
        .limit(1)
    ).first()
    later = session.execute(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.status == PENDING, Delivery.not_before > now)  # type: ignore[operator]
    ).scalar_one()
    campaigns = [
        (str(name), int(rows))
        for name, rows in session.execute(
            select(Delivery.campaign, func.count())
            .where(Delivery.status == PENDING, Delivery.campaign.is_not(None))  # type: ignore[union-attr]
            .group_by(Delivery.campaign)
            .order_by(Delivery.campaign)
        ).all()
    ]
    return QueueStatus(
        counts=counts,
        paused=pause is not None,
        pause_reason=pause.reason if pause else None,
        paused_at=as_utc(pause.paused_at) if pause else None,
        oldest_due_id=oldest[0] if oldest else None,
        oldest_due_at=as_utc(oldest[1]) if oldest else None,
        later=int(later),
        campaigns=campaigns,
    )
