"""The outbox: one row per message and recipient, claimed once, never lost."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import time_machine
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.config import DeliverySettings
from bot.db import session_scope
from bot.delivery.models import FAILED, PENDING, SENDING, SENT, Delivery
from bot.delivery.outbox import Outgoing, claim, enqueue, enqueue_many
from bot.delivery.worker import DeliveryWorker
from bot.members.models import Address, Member
from bot.messages import simple
from bot.participation.models import ParticipationEvent
from bot.platforms import Attempt, Platform, Recipient, SendResult
from tests.conftest import run_scheduled


class ScriptedPlatform(Platform):
    """An adapter whose answers the test decides (the real adapters have their own tests)."""

    name = "console"

    def __init__(self, answers: list[SendResult] | None = None) -> None:
        self.answers = list(answers or [])
        self.sent: list[tuple[int, str]] = []

    async def send(self, recipient: Recipient, message, attempt: Attempt) -> SendResult:  # type: ignore[no-untyped-def]
        result = (
            self.answers.pop(0)
            if self.answers
            else SendResult.sent(f"m{attempt.delivery_id}", "D1", remember={"channel_id": "D1"})
        )
        if result.status == "sent":
            self.sent.append((recipient.member_id, message.text))
        return result


def queue_one(runtime, member_id: int, text: str = "x") -> None:  # type: ignore[no-untyped-def]
    """One reply in the outbox for ``member_id``."""
    with session_scope(runtime.engine) as session:
        enqueue(
            session,
            Outgoing(
                member_id=member_id,
                platform="console",
                dedupe_key="k",
                kind="reply",
                message=simple(text),
                purpose="operational",
            ),
        )


def member_ids(runtime) -> list[int]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return [m.id for m in session.exec(select(Member).order_by(Member.id)).all()]


def test_same_dedupe_key_queues_once(runtime) -> None:  # type: ignore[no-untyped-def]
    first = member_ids(runtime)[0]
    item = Outgoing(
        member_id=first,
        platform="console",
        dedupe_key="k1",
        kind="reply",
        message=simple("hi"),
        purpose="operational",
    )
    with session_scope(runtime.engine) as session:
        assert enqueue(session, item) is True
    with session_scope(runtime.engine) as session:
        assert enqueue(session, item) is False
        assert enqueue_many(session, [item, item]) == set()
    with Session(runtime.engine) as session:
        assert len(session.exec(select(Delivery)).all()) == 1


def test_scheduled_job_twice_for_one_slot_sends_once(runtime) -> None:  # type: ignore[no-untyped-def]
    # Tuesday 24 November 2026, 10:00:30 in Paris (09:00:30 UTC).
    from datetime import UTC, datetime

    now = datetime(2026, 11, 24, 9, 0, 30, tzinfo=UTC)
    first = run_scheduled(runtime, "lessons", now)
    second = run_scheduled(runtime, "lessons", now + timedelta(seconds=40))
    assert first > 0 and second == 0
    with Session(runtime.engine) as session:
        rows = session.exec(select(Delivery).where(Delivery.kind == "lesson")).all()
    assert len(rows) == first
    assert len({row.member_id for row in rows}) == len(rows)  # one delivery per member
    platform = ScriptedPlatform()
    worker = DeliveryWorker(runtime.engine, {"console": platform}, runtime.config.delivery)
    with time_machine.travel(now + timedelta(minutes=1)):
        asyncio.run(worker.drain())
        asyncio.run(worker.drain())
    assert len(platform.sent) == first
    assert len({member for member, _ in platform.sent}) == first


def test_retry_after_then_sent_and_address_kept(runtime) -> None:  # type: ignore[no-untyped-def]
    first = member_ids(runtime)[0]
    queue_one(runtime, first, "hello")
    platform = ScriptedPlatform(
        [SendResult.retry(0.0, "rate_limited"), SendResult.retry(0.0, "HTTP 503")]
    )
    worker = DeliveryWorker(runtime.engine, {"console": platform}, runtime.config.delivery)
    asyncio.run(worker.drain())
    with Session(runtime.engine) as session:
        row = session.exec(select(Delivery)).one()
        assert (row.status, row.attempts, row.platform_message_id) == (SENT, 3, f"m{row.id}")
        assert row.platform_channel_id == "D1"
        address = session.exec(select(Address).where(Address.member_id == first)).one()
        assert address.channel_id == "D1"
        kinds = [e.kind for e in session.exec(select(ParticipationEvent)).all()]
        assert kinds == ["reply_delivered"]
    assert platform.sent == [(first, "hello")]


def test_final_failure_recorded_with_reason(runtime) -> None:  # type: ignore[no-untyped-def]
    first = member_ids(runtime)[0]
    queue_one(runtime, first, "x")
    platform = ScriptedPlatform([SendResult.failed("account_inactive")])
    worker = DeliveryWorker(runtime.engine, {"console": platform}, runtime.config.delivery)
    asyncio.run(worker.drain())
    with Session(runtime.engine) as session:
        row = session.exec(select(Delivery)).one()
        assert (row.status, row.error) == (FAILED, "account_inactive")


def test_gives_up_after_max_attempts(runtime) -> None:  # type: ignore[no-untyped-def]
    first = member_ids(runtime)[0]
    queue_one(runtime, first, "x")
    platform = ScriptedPlatform([SendResult.retry(0.0, "HTTP 500")] * 10)
    worker = DeliveryWorker(runtime.engine, {"console": platform}, DeliverySettings(max_attempts=3))
    asyncio.run(worker.drain())
    with Session(runtime.engine) as session:
        row = session.exec(select(Delivery)).one()
        assert (row.status, row.attempts, row.error) == (FAILED, 3, "HTTP 500")


def test_adapter_exception_does_not_lose_the_message(runtime) -> None:  # type: ignore[no-untyped-def]
    class Flaky(ScriptedPlatform):
        calls = 0

        async def send(self, recipient, message, attempt):  # type: ignore[no-untyped-def]
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise ConnectionError("connection reset")
            return await super().send(recipient, message, attempt)

    first = member_ids(runtime)[0]
    queue_one(runtime, first, "x")
    worker = DeliveryWorker(runtime.engine, {"console": Flaky()}, runtime.config.delivery)
    asyncio.run(worker.drain_once())
    with Session(runtime.engine) as session:
        row = session.exec(select(Delivery)).one()
        assert row.status == PENDING and "ConnectionError" in (row.error or "")
        row.not_before = utcnow()
        session.add(row)
        session.commit()
    asyncio.run(worker.drain())
    with Session(runtime.engine) as session:
        assert session.exec(select(Delivery)).one().status == SENT


def test_expired_lease_is_claimed_again(runtime) -> None:  # type: ignore[no-untyped-def]
    first = member_ids(runtime)[0]
    queue_one(runtime, first, "x")
    taken = claim(runtime.engine, "dead-worker", ["console"], 10)
    assert len(taken) == 1 and taken[0].status == SENDING
    assert claim(runtime.engine, "other", ["console"], 10) == []  # leased
    later = utcnow() + timedelta(minutes=6)
    again = claim(runtime.engine, "other", ["console"], 10, now=later)
    assert [row.id for row in again] == [taken[0].id]


def test_concurrent_workers_never_share_a_row(runtime) -> None:  # type: ignore[no-untyped-def]
    ids = member_ids(runtime)
    with session_scope(runtime.engine) as session:
        enqueue_many(
            session,
            [
                Outgoing(
                    member_id=member,
                    platform="console",
                    dedupe_key=f"k{n}",
                    kind="reply",
                    message=simple(str(n)),
                    purpose="operational",
                )
                for member in ids
                for n in range(20)
            ],
        )
    total = len(ids) * 20
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def work(name: str) -> None:
        barrier.wait()
        mine: list[int] = []
        while rows := claim(runtime.engine, name, ["console"], 7):
            assert len(rows) <= 7  # never more than asked (PostgreSQL once took the queue)
            mine.extend(row.id for row in rows)
        claimed[name] = mine

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [row for rows in claimed.values() for row in rows]
    assert len(everything) == total and len(set(everything)) == total
