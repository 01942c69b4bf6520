"""The charter's reach: acceptance per department, reminding those who have not accepted now,
and what a new version changed, computed from the two versions."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.charter.models import CharterAcknowledgement
from bot.charter.service import changes
from bot.clock import utcnow
from bot.delivery.models import Delivery
from bot.delivery.outbox import message_of
from bot.members.models import Member
from tests.conftest import run_scheduled

CLAIRE = "claire.dubois@example.com"  # coordinator (French)
EMMA = "emma.wilson@example.com"  # ambassador (English)
JULIEN = "julien.roux@example.com"  # manager of Sales, HR, Legal


def said(chat, email: str, text: str, lang: str | None = None) -> str:  # type: ignore[no-untyped-def]
    person = chat(email)
    if lang:
        person.type(f"lang {lang}")
    return "\n".join(item.rendered.text for item in person.type(text))


def test_a_new_version_lists_sections_added_removed_and_modified(runtime) -> None:  # type: ignore[no-untyped-def]
    content = runtime.relais.content
    v1 = content._pick(content.charters, "v1", "en")
    v2 = content._pick(content.charters, "v2", "en")
    found = changes(v1, v2)
    assert found.added == ["In a crisis, personal accounts included", "Use generative AI with care"]
    assert found.removed == ["In a crisis, let the official statement speak"]
    edited = v2.model_copy(
        update={
            "sections": [
                s.model_copy(update={"text": s.text + " (new)"}) if i == 0 else s
                for i, s in enumerate(v2.sections)
            ]
        }
    )
    assert changes(v2, edited).modified == [v2.sections[0].title]
    assert not changes(v2, v2)


def test_coordinators_see_acceptance_per_department_and_remind_now(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        emma = session.exec(select(Member).where(Member.email == EMMA)).one()
        session.add(
            CharterAcknowledgement(
                member_id=emma.id or 0, version=1, language="en", platform="console"
            )
        )
        session.commit()
    claire = chat(CLAIRE)
    claire.type("lang en")
    shown = "\n".join(item.rendered.text for item in claire.type("charter status"))
    assert "Charter version 2: who has accepted it" in shown
    assert "• *Sales*: 0 of 3 (0%)" in shown and "• *Legal*: 0 of 1 (0%)" in shown
    assert "Remind the 15 people who have not accepted" in shown
    answer = "\n".join(
        item.rendered.text for item in claire.press(claire.number_of("charter.remind"))
    )
    assert (
        "The reminder is being sent to 15 people who have not accepted the current charter."
        in answer
    )
    # The request only counted them: the `charter_remind_now` job queues the reminders.
    with Session(runtime.engine) as session:
        assert not session.exec(select(Delivery).where(Delivery.kind == "charter_reminder")).all()
    assert run_scheduled(runtime, "charter_remind_now", utcnow()) == 15
    with Session(runtime.engine) as session:
        rows = session.exec(
            select(Delivery, Member.email)
            .join(Member, Member.id == Delivery.member_id)
            .where(Delivery.kind == "charter_reminder")
        ).all()
    assert len(rows) == 15
    reminder = next(message_of(row, session) for row, email in rows if email == EMMA)
    text = "\n".join(getattr(b, "text", "") or "" for b in reminder.blocks)
    assert "The charter has a new version (2)" in text
    assert "What changed:" in text and "• Added: Use generative AI with care" in text
    assert "• Removed: In a crisis, let the official statement speak" in text
    # Typed, it reminds again: each request is a new reminder.
    assert "The reminder is being sent to 15 people" in said(chat, CLAIRE, "charter remind")
    assert run_scheduled(runtime, "charter_remind_now", utcnow()) == 15


def test_others_may_not_remind_and_managers_see_their_departments(chat) -> None:  # type: ignore[no-untyped-def]
    refused = said(chat, EMMA, "charter remind")
    assert "Sorry, you may not remind people to accept the charter." in refused
    shown = said(chat, JULIEN, "charter status", "en")
    assert "*Sales*" in shown and "*Legal*" in shown and "*Marketing*" not in shown
    assert "Remind the" not in shown


def test_a_remind_now_is_queued_chunk_by_chunk_and_survives_a_crash(
    runtime, chat, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, update

    from bot.charter import schedule, service
    from bot.charter.models import CharterReminderRequest
    from bot.delivery import outbox

    monkeypatch.setattr(service, "REMIND_CHUNK", 4)
    monkeypatch.setattr(schedule, "CHUNKS_PER_RUN", 1)
    assert "is being sent to 15 people" in said(chat, CLAIRE, "charter remind", "en")
    # The job's second chunk dies before it commits (a killed process): the first stays.
    real, calls = outbox.enqueue_many, []

    def dying(session, items, now=None):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(session, items, now)

    now = utcnow()
    with monkeypatch.context() as crash:
        crash.setattr(outbox, "enqueue_many", dying)
        first = run_scheduled(runtime, "charter_remind_now", now)
        with pytest.raises(RuntimeError):
            run_scheduled(runtime, "charter_remind_now", now)
    assert 0 < first <= 4
    # The next runs go on from the mark until every member in reach was read.
    queued = first + sum(run_scheduled(runtime, "charter_remind_now", now) for _ in range(6))
    assert queued == 15

    def per_member() -> list[int]:
        with Session(runtime.engine) as session:
            return list(
                session.execute(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.kind == "charter_reminder")
                    .group_by(Delivery.member_id)
                ).scalars()
            )

    assert len(per_member()) == 15 and set(per_member()) == {1}
    # A lost mark reminds nobody twice: the request's dedupe key holds.
    with Session(runtime.engine) as session:
        session.execute(update(CharterReminderRequest).values(queued_after=0, queued_at=None))
        session.commit()
    assert sum(run_scheduled(runtime, "charter_remind_now", now) for _ in range(6)) == 0
    assert len(per_member()) == 15 and set(per_member()) == {1}
