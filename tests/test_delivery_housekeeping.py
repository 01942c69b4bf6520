"""Delivery housekeeping: finished deliveries pruned after ``delivery.retention_days`` by the
scheduled job (through the real scheduler wiring), participation events kept; identical
messages stored once (``DeliveryBody``), each member keeping what they were sent; the
migration that moved the payloads."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import MetaData, Table, func, select
from sqlmodel import Session

from bot.clock import utcnow
from bot.db import make_engine, session_scope, upgrade
from bot.delivery import outbox
from bot.delivery.models import (
    CANCELLED,
    FAILED,
    PENDING,
    SENT,
    UPDATE,
    Delivery,
    DeliveryBody,
    DeliveryPart,
)
from bot.delivery.outbox import Outgoing, body_hash, cancel, enqueue_many, message_of
from bot.members import service as members
from bot.members.models import Member
from bot.messages import Message, Section, simple
from bot.participation.models import ParticipationEvent
from tests.conftest import run_scheduled
from tests.test_config import DEMO, line_of, problems_of


def _members(runtime: Any, count: int) -> list[int]:
    with Session(runtime.engine) as session:
        return list(session.execute(select(Member.id).order_by(Member.id).limit(count)).scalars())


def _queue(runtime: Any, member: int, key: str, message: Message, **extra: Any) -> int:
    with session_scope(runtime.engine) as session:
        enqueue_many(
            session,
            [
                Outgoing(
                    member_id=member,
                    platform="console",
                    dedupe_key=key,
                    kind="post",
                    message=message,
                    purpose="promotional",
                    **extra,
                )
            ],
        )
    with Session(runtime.engine) as session:
        return session.execute(select(Delivery.id).where(Delivery.dedupe_key == key)).scalar_one()


def _count(runtime: Any, model: Any, *where: Any) -> int:
    with Session(runtime.engine) as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _statuses(runtime: Any) -> dict[str, str]:
    with Session(runtime.engine) as session:
        return dict(session.execute(select(Delivery.dedupe_key, Delivery.status)).all())


def test_the_prune_job_removes_finished_deliveries_after_the_retention(runtime) -> None:  # type: ignore[no-untyped-def]
    emma, karim, thomas = _members(runtime, 3)
    start = utcnow()
    old = _queue(runtime, emma, "old-sent", simple("Old post"))
    _queue(runtime, karim, "old-broadcast", simple("Old post"))  # the same body as old-sent
    kept_target = _queue(runtime, emma, "old-but-updated-lately", simple("Kept post"))
    _queue(runtime, emma, "cancelled", simple("Never sent"))
    _queue(runtime, thomas, "failed", simple("To someone who left"))
    _queue(runtime, karim, "later", simple("Next quarter"), not_before=start + timedelta(days=200))
    with session_scope(runtime.engine) as session:
        cancel(session, ids=[_statuses_id(session, "cancelled")])
        members.set_left(session, session.get(Member, thomas), True)
    asyncio.run(runtime.worker.drain())
    _queue(
        runtime, emma, "old-update", simple("Old post, corrected"), operation=UPDATE, target_id=old
    )
    asyncio.run(runtime.worker.drain())
    assert _statuses(runtime) == {
        "old-sent": SENT,
        "old-broadcast": SENT,
        "old-but-updated-lately": SENT,
        "cancelled": CANCELLED,
        "failed": FAILED,
        "later": PENDING,
        "old-update": SENT,
    }
    # Two months later: a new message, and an update of the old one that keeps it.
    with time_machine.travel(start + timedelta(days=60), tick=True):
        _queue(runtime, karim, "recent", simple("Recent post"))
        _queue(
            runtime,
            emma,
            "recent-update",
            simple("Kept post, corrected"),
            operation=UPDATE,
            target_id=kept_target,
        )
        asyncio.run(runtime.worker.drain())
    events = _count(runtime, ParticipationEvent)
    assert _count(runtime, DeliveryPart, DeliveryPart.delivery_id == old) == 1
    assert runtime.config.delivery.retention_days == 90

    # The job as the scheduler runs it, 91 days after the first sends.
    removed = run_scheduled(runtime, "prune_deliveries", start + timedelta(days=91))
    assert removed == 5
    assert set(_statuses(runtime)) == {"old-but-updated-lately", "later", "recent", "recent-update"}
    assert _count(runtime, DeliveryPart, DeliveryPart.delivery_id == old) == 0
    assert _count(runtime, ParticipationEvent) == events  # the figures do not change
    with Session(runtime.engine) as session:
        used = set(session.execute(select(Delivery.body_hash)).scalars())
        stored = set(session.execute(select(DeliveryBody.hash)).scalars())
    assert stored == used and body_hash(simple("Old post").to_payload()) not in stored
    assert run_scheduled(runtime, "prune_deliveries", start + timedelta(days=91)) == 0
    # Once the update that kept it is old too, the updated message goes with it.
    assert run_scheduled(runtime, "prune_deliveries", start + timedelta(days=151)) == 3
    assert set(_statuses(runtime)) == {"later"}


def _statuses_id(session: Session, key: str) -> int:
    return session.execute(select(Delivery.id).where(Delivery.dedupe_key == key)).scalar_one()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "delivery.retention_days: "),
        ("forever", "delivery.retention_days: expected a whole number"),
    ],
)
def test_retention_days_is_checked(value: str, expected: str) -> None:
    text = DEMO.replace("  retention_days: 90", f"  retention_days: {value}", 1)
    found = problems_of(text)
    line = line_of("retention_days:", text)
    assert any(p.startswith(f"app.yaml:{line}: {expected}") for p in found), found


def test_identical_messages_are_stored_once_and_each_member_keeps_what_they_were_sent(
    runtime,
) -> None:  # type: ignore[no-untyped-def]
    everyone = _members(runtime, 50)
    post = Message(text="Launch", blocks=[Section(title="Launch", text="We launch today.")])
    with session_scope(runtime.engine) as session:
        enqueue_many(
            session,
            [
                Outgoing(m, "console", "launch", "post", post, purpose="promotional")
                for m in everyone
            ]
            + [
                Outgoing(
                    everyone[0],
                    "console",
                    "note",
                    "post",
                    simple("Personal note"),
                    purpose="operational",
                )
            ],
        )
    assert _count(runtime, Delivery) == len(everyone) + 1
    assert _count(runtime, DeliveryBody) == 2
    with Session(runtime.engine) as session:
        rows = session.execute(select(Delivery)).scalars().all()
        sent = {
            row.dedupe_key: message_of(row, session) for row in rows if row.member_id == everyone[0]
        }
    assert sent == {"launch": post, "note": simple("Personal note")}
    # Queued again later (a second campaign with the same text): still one body, touched.
    with session_scope(runtime.engine) as session:
        enqueue_many(
            session,
            [Outgoing(everyone[1], "console", "again", "post", post, purpose="promotional")],
        )
    assert _count(runtime, DeliveryBody) == 2


def test_the_migration_moves_each_payload_into_one_body(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0010")  # deliveries still carry their own payload
    post = simple("Launch").to_payload()
    now = utcnow()
    with engine.begin() as connection:
        member = Table("member", MetaData(), autoload_with=connection)
        delivery = Table("delivery", MetaData(), autoload_with=connection)
        connection.execute(
            member.insert().values(
                email="a@example.com",
                name="A",
                language="en",
                time_zone="UTC",
                roles=[],
                opted_in=True,
                created_at=now,
                updated_at=now,
            )
        )
        member_id = connection.execute(select(member.c.id)).scalar_one()
        connection.execute(
            delivery.insert(),
            [
                {
                    "member_id": member_id,
                    "platform": "console",
                    "dedupe_key": f"k{n}",
                    "kind": "post",
                    "purpose": "promotional",
                    "priority": 0,
                    "operation": "send",
                    "payload": payload,
                    "status": "sent",
                    "attempts": 1,
                    "not_before": now,
                    "created_at": now,
                }
                for n, payload in enumerate([post, post, post, simple("Other").to_payload()])
            ],
        )
    upgrade(engine)
    outbox._bodies.clear()  # read from the database, not from an earlier test's cache
    with Session(engine) as session:
        rows = session.execute(select(Delivery).order_by(Delivery.id)).scalars().all()
        assert [message_of(row, session).text for row in rows] == ["Launch"] * 3 + ["Other"]
        assert session.execute(select(func.count()).select_from(DeliveryBody)).scalar_one() == 2
    engine.dispose()
