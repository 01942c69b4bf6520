"""The delivery engine: pause, priority, pacing, operations on sent messages, outages."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session, select

from bot.db import session_scope
from bot.delivery import worker as worker_module
from bot.delivery.models import (
    DELETE,
    PENDING,
    PRIORITY_URGENT,
    SENT,
    UPDATE,
    Delivery,
    DeliveryPart,
)
from bot.delivery.outbox import (
    Outgoing,
    enqueue,
    enqueue_many,
    pause_promotional,
    resume_promotional,
)
from bot.delivery.pacing import TokenBucket
from bot.delivery.worker import DeliveryWorker
from bot.members.models import Member
from bot.messages import Message, Section, simple
from bot.platforms import Attempt, Part, Platform, Recipient, SendResult
from tests.test_slack import slack  # noqa: F401  (the Slack stand-in, a served Relais)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _spin(times: int = 20) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


def test_token_bucket_waits_out_retry_after_and_serves_priority_first() -> None:
    async def scenario() -> list[str]:
        clock = FakeClock()
        bucket = TokenBucket(clock=clock)
        for _ in range(50):
            bucket.accepted()
        bucket.throttled(2.0)  # Slack said 429, Retry-After: 2
        assert bucket.rate is not None and 45 <= bucket.rate < 50  # just under what was accepted
        order: list[str] = []

        async def take(name: str, priority: int) -> None:
            await bucket.acquire(priority)
            order.append(name)

        tasks = [asyncio.create_task(take(f"campaign{n}", 0)) for n in range(3)]
        await _spin()
        tasks.append(asyncio.create_task(take("alert", PRIORITY_URGENT)))
        await _spin()
        assert order == []  # nobody goes during Retry-After
        clock.now += 2.0
        while len(order) < 4:
            await asyncio.sleep(0.01)
            clock.now += 0.05
        await asyncio.gather(*tasks)
        return order

    order = asyncio.run(scenario())
    assert order[0] == "alert" and sorted(order[1:]) == ["campaign0", "campaign1", "campaign2"]


class PartsPlatform(Platform):
    """Sends each message as three parts, like a long Slack message; records every part."""

    name = "console"

    def __init__(self) -> None:
        self.posted: list[tuple[int, int]] = []  # (delivery id, part)
        self.after_part: dict[int, object] = {}  # part -> action run after it was posted

    async def send(self, recipient: Recipient, message: Message, attempt: Attempt) -> SendResult:
        parts = list(attempt.parts)
        for position in range(len(parts), 3):
            if attempt.promotional and not await attempt.may_continue():
                return SendResult.paused()
            self.posted.append((attempt.delivery_id, position))
            parts.append(Part(f"{attempt.delivery_id}.{position}", "C1"))
            if position < 2:
                await attempt.part_sent(position, parts[-1])
            action = self.after_part.pop(position, None)
            if action is not None:
                action()  # type: ignore[operator]
        return SendResult.sent(parts[0].message_id, "C1", parts=parts)


def _queue(runtime, member_id: int, key: str, purpose: str, priority: int = 0) -> int:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        enqueue(
            session,
            Outgoing(
                member_id=member_id,
                platform="console",
                dedupe_key=key,
                kind="lesson" if purpose == "promotional" else "reply",
                message=simple(key),
                purpose=purpose,
                priority=priority,
            ),
        )
    with Session(runtime.engine) as session:
        return session.exec(select(Delivery.id).where(Delivery.dedupe_key == key)).one()  # type: ignore[return-value]


def _first_member(runtime) -> int:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return session.exec(select(Member.id).order_by(Member.id)).first()  # type: ignore[return-value]


def test_pause_holds_promotional_rows_and_stops_a_split_message_between_parts(
    runtime, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(worker_module, "PAUSE_FRESHNESS", 0.0)  # re-read before every part
    member = _first_member(runtime)
    platform = PartsPlatform()
    worker = DeliveryWorker(runtime.engine, {"console": platform}, runtime.config.delivery)
    lesson = _queue(runtime, member, "lesson", "promotional")
    platform.after_part[0] = lambda: pause_promotional(runtime.engine, "crisis")
    asyncio.run(worker.drain())
    assert platform.posted == [(lesson, 0)]  # stopped between parts
    queued = _queue(runtime, member, "lesson-2", "promotional")
    reply = _queue(runtime, member, "reply", "operational")
    asyncio.run(worker.drain())
    assert platform.posted[1:] == [(reply, 0), (reply, 1), (reply, 2)]  # operational still goes
    with Session(runtime.engine) as session:
        paused = session.get(Delivery, lesson)
        assert paused is not None and (paused.status, paused.attempts) == (PENDING, 0)
        assert session.get(Delivery, queued).status == PENDING  # type: ignore[union-attr]
        stored = session.exec(select(DeliveryPart).where(DeliveryPart.delivery_id == lesson)).all()
        assert [p.message_id for p in stored] == [f"{lesson}.0"]
    resume_promotional(runtime.engine)
    # A new worker (a restart, another replica) resumes after the stored part.
    again = PartsPlatform()
    asyncio.run(DeliveryWorker(runtime.engine, {"console": again}, runtime.config.delivery).drain())
    assert sorted(again.posted) == [(lesson, 1), (lesson, 2), (queued, 0), (queued, 1), (queued, 2)]
    with Session(runtime.engine) as session:
        stored = session.exec(
            select(DeliveryPart)
            .where(DeliveryPart.delivery_id == lesson)
            .order_by(DeliveryPart.position)  # type: ignore[arg-type]
        ).all()
        assert [p.message_id for p in stored] == [f"{lesson}.{n}" for n in range(3)]
        assert session.get(Delivery, lesson).status == SENT  # type: ignore[union-attr]


def test_priority_lane_overtakes_a_paced_campaign(runtime) -> None:  # type: ignore[no-untyped-def]
    member = _first_member(runtime)
    order: list[str] = []

    class Paced(Platform):
        name = "console"
        bucket = TokenBucket(rate=200.0)

        async def send(self, recipient, message, attempt):  # type: ignore[no-untyped-def]
            await self.bucket.acquire(attempt.priority)
            order.append(message.text)
            return SendResult.sent(str(attempt.delivery_id))

    for n in range(300):
        _queue(runtime, member, f"campaign-{n:03d}", "promotional")
    worker = DeliveryWorker(runtime.engine, {"console": Paced()}, runtime.config.delivery)

    async def scenario() -> None:
        task = asyncio.create_task(worker.run())
        while len(order) < 20:
            await asyncio.sleep(0.01)

        def alert() -> None:  # one transaction: the five alerts become due together
            with session_scope(runtime.engine) as session:
                enqueue_many(
                    session,
                    [
                        Outgoing(
                            member_id=member,
                            platform="console",
                            dedupe_key=f"alert-{n}",
                            kind="reply",
                            message=simple(f"alert-{n}"),
                            purpose="operational",
                            priority=PRIORITY_URGENT,
                        )
                        for n in range(5)
                    ],
                )

        await asyncio.to_thread(alert)
        worker.kick()
        while len(order) < 305:
            await asyncio.sleep(0.01)
        worker.stop()
        await task

    asyncio.run(scenario())
    first_alert = next(i for i, text in enumerate(order) if text.startswith("alert"))
    last_alert = max(i for i, text in enumerate(order) if text.startswith("alert"))
    # The alerts went out together, long before the campaign ended.
    assert last_alert - first_alert < 10 and last_alert < 200
    assert len(set(order)) == 305


def test_update_and_delete_every_part_through_slack(slack) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    with Session(slack.runtime.engine) as session:
        emma = session.exec(
            select(Member.id).where(Member.email == "emma.wilson@example.com")
        ).one()

    def long(word: str, count: int) -> Message:
        return Message(text=word, blocks=[Section(text=f"{word} {n}") for n in range(count)])

    original = _queue_message(slack.runtime, emma, "post", long("v1", 120))  # 3 Slack messages
    slack.wait_for(lambda: len(slack.dms("U0EMMA001")) == 3, "three parts")
    slack.wait_for(lambda: _status(slack.runtime, original) == SENT, "recorded")
    update = _queue_message(slack.runtime, emma, "post-v2", long("v2", 60), UPDATE, original)
    slack.wait_for(lambda: _status(slack.runtime, update) == SENT, "the update")
    texts = [m["blocks"][0]["text"]["text"] for m in slack.dms("U0EMMA001")]
    assert texts == ["v2 0", "v2 50"]  # two parts edited in place, the third deleted
    assert len(slack.standin.called("chat.update")) == 2
    gone = _queue_message(slack.runtime, emma, "post-gone", simple("-"), DELETE, original)
    slack.wait_for(lambda: _status(slack.runtime, gone) == SENT, "the delete")
    assert slack.dms("U0EMMA001") == [] and len(slack.standin.deleted) == 3
    with Session(slack.runtime.engine) as session:
        assert (
            session.exec(select(DeliveryPart).where(DeliveryPart.delivery_id == original)).all()
            == []
        )


def test_revoked_token_holds_messages_without_using_attempts(slack) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import httpx

    slack.runtime.worker.outage_hold = 0.2
    slack.standin.auth_error = "invalid_auth"
    with Session(slack.runtime.engine) as session:
        emma = session.exec(
            select(Member.id).where(Member.email == "emma.wilson@example.com")
        ).one()
    row = _queue_message(slack.runtime, emma, "held", simple("held"))

    def failing() -> dict | None:  # type: ignore[type-arg]
        body = httpx.get(slack.url.removesuffix("/slack/events") + "/healthz").json()
        return body if body["platforms"]["slack"].get("ok") is False else None

    body = slack.wait_for(failing, "healthz showing Slack failing")
    assert body["platforms"]["slack"]["failing"] == "invalid_auth"
    with Session(slack.runtime.engine) as session:
        held = session.get(Delivery, row)
        assert held is not None and held.status in (PENDING, "sending") and held.attempts <= 1
    slack.standin.auth_error = None  # the operator fixed the token
    slack.wait_for(lambda: _status(slack.runtime, row) == SENT, "sent once the token works")
    with Session(slack.runtime.engine) as session:
        assert session.get(Delivery, row).attempts == 1  # type: ignore[union-attr]
    slack.wait_for(
        lambda: (
            httpx.get(slack.url.removesuffix("/slack/events") + "/healthz")
            .json()["platforms"]["slack"]
            .get("ok")
        ),
        "healthz recovered",
    )


def _queue_message(runtime, member_id, key, message, operation="send", target=None) -> int:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        enqueue(
            session,
            Outgoing(
                member_id=member_id,
                platform="slack",
                dedupe_key=key,
                kind="post",
                message=message,
                purpose="operational",
                operation=operation,
                target_id=target,
            ),
        )
    runtime.worker.kick()
    with Session(runtime.engine) as session:
        return session.exec(select(Delivery.id).where(Delivery.dedupe_key == key)).one()  # type: ignore[return-value]


def _status(runtime, delivery_id: int) -> str | None:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        row = session.get(Delivery, delivery_id)
        return row.status if row else None


def test_purpose_is_required() -> None:
    with pytest.raises(TypeError):
        Outgoing(1, "console", "k", "reply", simple("x"))  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        Outgoing(1, "console", "k", "reply", simple("x"), purpose="whatever")


def test_a_timed_out_send_is_found_in_the_dm_not_posted_twice(runtime) -> None:  # type: ignore[no-untyped-def]
    """Slack took the message but answered after the client's timeout: history says so."""
    from adapters.slack.platform import SlackPlatform
    from bot.members.models import Address
    from tests.conftest import LoopbackServer
    from tests.slack_standin import SlackStandIn

    member = _first_member(runtime)
    with session_scope(runtime.engine) as session:
        session.add(Address(member_id=member, platform="slack", user_id="U0SLOW001"))
    standin = SlackStandIn({})
    standin.slow_fraction, standin.slow_seconds = 1.0, 2.0  # every post answered too late
    with LoopbackServer(standin.app) as api:
        slack = SlackPlatform(
            runtime.relais, "xoxb-test-token", "s", api_url=f"{api.url}/api/", send_timeout=0.5
        )
        worker = DeliveryWorker(runtime.engine, {"slack": slack}, runtime.config.delivery)
        first = _queue_message_to(runtime, member, "slow-1")
        asyncio.run(worker.drain())
        standin.slow_fraction = 0.0
        second = _queue_message_to(runtime, member, "slow-2")
        asyncio.run(worker.drain())
    assert _status(runtime, first) == SENT and _status(runtime, second) == SENT
    assert [p["text"] for p in standin.posted] == ["slow-1", "slow-2"]  # none twice
    # The DM was opened once, kept, and used for the next message.
    assert len(standin.called("conversations.open")) == 1
    assert len(standin.called("conversations.history")) == 1
    assert standin.called("chat.postMessage")[1]["channel"] == "D0SLOW001"


def _queue_message_to(runtime, member_id: int, key: str) -> int:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        enqueue(
            session,
            Outgoing(
                member_id=member_id,
                platform="slack",
                dedupe_key=key,
                kind="reply",
                message=simple(key),
                purpose="operational",
            ),
        )
    with Session(runtime.engine) as session:
        return session.exec(select(Delivery.id).where(Delivery.dedupe_key == key)).one()  # type: ignore[return-value]
