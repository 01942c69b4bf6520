"""The managers' weekly digest: their departments, in plain words, at their Monday 09:00."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import Session, select

from bot.delivery.models import Delivery
from bot.members.models import Member
from tests.conftest import run_scheduled

JULIEN = "julien.roux@example.com"  # manages sales, hr, legal (French)
CLAIRE = "claire.dubois@example.com"  # coordinator (French)
NOAH = "noah.bernard@example.com"  # ambassador in hr


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def test_digest_for_managers_and_coordinators_once_per_slot(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    monday_nine = datetime(2026, 11, 23, 8, 0, 30, tzinfo=UTC)  # 09:00 in Paris
    with time_machine.travel(
        monday_nine - timedelta(days=2), tick=False
    ):  # Saturday: an answer last week
        noah = chat(NOAH)
        noah.type("lesson")
        correct = runtime.relais.content.lesson("welcome", "fr").quiz.correct_index
        noah.press(noah.number_of("lesson.answer", f"welcome:{correct}"))
    julien = chat(JULIEN)
    julien.type("lang en")
    queued = run_scheduled(runtime, "manager_digest", monday_nine)
    assert run_scheduled(runtime, "manager_digest", monday_nine + timedelta(seconds=40)) == 0
    with Session(runtime.engine) as session:
        readers = set(
            session.exec(
                select(Member.email)
                .join(Delivery, Delivery.member_id == Member.id)
                .where(Delivery.kind == "digest")
            ).all()
        )
    # Managers of departments and coordinators (all in Paris in the demo); not ambassadors.
    assert JULIEN in readers and CLAIRE in readers and NOAH not in readers
    assert queued == len(readers)
    with time_machine.travel(monday_nine + timedelta(minutes=1), tick=False):
        digest = next(
            item.rendered.text for item in julien.inbox() if "Your week" in item.rendered.text
        )
    assert "Human resources" in digest and "Legal" in digest and "Marketing" not in digest
    assert "The week of November 16, 2026, compared with the week before" in digest
    assert "1 of 2 ambassadors active (50%, up from 0%)." in digest  # Human resources
    assert "1 lesson answer (up from 0); 100% right at first try." in digest
    assert "The whole programme" not in digest  # Julien is not a coordinator


def test_nothing_outside_the_slot(runtime) -> None:  # type: ignore[no-untyped-def]
    tuesday = datetime(2026, 11, 24, 8, 0, 30, tzinfo=UTC)
    assert run_scheduled(runtime, "manager_digest", tuesday) == 0
