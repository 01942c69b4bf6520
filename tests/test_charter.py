"""The charter: read, accepted once per version, reminded until accepted, and the key to sharing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import Session, select

from bot.charter.models import CharterAcknowledgement
from bot.delivery.models import Delivery
from bot.members.models import Member
from tests.conftest import run_scheduled

EMMA = "emma.wilson@example.com"  # English, London


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def test_read_accept_and_share(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    emma = chat(EMMA)
    assert "Accept the charter first" not in texts(emma.type("help"))
    locked = texts(emma.type("share"))
    assert "read it and accept it first" in locked and "Suggested text" not in locked
    charter = texts(emma.type("charter"))
    assert "Version 2" in charter and "I have read and accept the charter" in charter
    accept = emma.number_of("charter.accept")
    assert "You accepted version 2 of the charter" in texts(emma.press(accept))
    assert "You have already accepted version 2" in texts(emma.press(accept))
    assert "You accepted this version on" in texts(emma.type("charter"))
    assert "Suggested text for LinkedIn" in texts(emma.type("share"))
    with Session(runtime.engine) as session:
        ack = session.exec(select(CharterAcknowledgement)).one()
        assert (ack.version, ack.language, ack.platform) == (2, "en", "console")


def test_old_version_button_is_refused(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    from bot.events import ActionEvent, Who

    emma = chat(EMMA)
    runtime.relais.handle(
        ActionEvent(Who("console", email=EMMA), "old", action_id="charter.accept", value="1")
    )
    assert "has been replaced" in texts(emma.inbox())


def test_reminders_until_accepted(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    monday = datetime(
        2026, 11, 23, 9, 30, 20, tzinfo=UTC
    )  # 09:30 London, 10:30 Paris (slot is 09:30 local)
    # London's 09:30 now, Paris's an hour ago (within the catch-up window); not yet Montréal's.
    assert run_scheduled(runtime, "charter_reminders", monday) == 13
    assert run_scheduled(runtime, "charter_reminders", monday + timedelta(seconds=50)) == 0
    montreal = datetime(2026, 11, 23, 14, 30, 20, tzinfo=UTC)
    assert run_scheduled(runtime, "charter_reminders", montreal) == 2
    emma = chat(EMMA)
    with time_machine.travel(monday + timedelta(minutes=1), tick=False):
        reminder = texts(emma.inbox())
    assert "You have not accepted the programme's charter yet" in reminder
    accept = emma.number_of("charter.accept")
    emma.press(accept)
    next_monday = monday + timedelta(days=7)
    run_scheduled(runtime, "charter_reminders", next_monday)
    with Session(runtime.engine) as session:
        emma_id = session.exec(select(Member.id).where(Member.email == EMMA)).one()
        reminders = session.exec(
            select(Delivery).where(
                Delivery.member_id == emma_id, Delivery.kind == "charter_reminder"
            )
        ).all()
    assert len(reminders) == 1  # accepted: no more reminders


def test_new_version_needs_a_new_acceptance(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    from bot.clock import utcnow

    with Session(runtime.engine) as session:
        emma = session.exec(select(Member).where(Member.email == EMMA)).one()
        session.add(
            CharterAcknowledgement(
                member_id=emma.id,
                version=1,
                language="en",
                platform="console",
                acknowledged_at=utcnow(),
            )
        )
        session.commit()
    monday = datetime(2026, 11, 23, 9, 30, 20, tzinfo=UTC)
    run_scheduled(runtime, "charter_reminders", monday)
    with time_machine.travel(monday + timedelta(minutes=1), tick=False):
        assert "The charter has a new version (2)" in texts(chat(EMMA).inbox())


def test_reminders_read_acknowledgements_once_per_zone_not_per_member(runtime) -> None:  # type: ignore[no-untyped-def]
    """At 100,000 members, one query per member would take the job past its own interval."""
    from tests.test_scheduler import queries_of

    monday = datetime(2026, 11, 23, 9, 30, 20, tzinfo=UTC)  # London's and Paris's slots
    queued, statements = queries_of(runtime, "charter_reminders", monday)
    assert queued == 13
    reads = [s for s in statements if "from charteracknowledgement" in s]
    assert 1 <= len(reads) <= 2  # one per zone due (London, Paris)
