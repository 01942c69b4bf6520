"""Training: spaced repetition intervals, the one reminder, tracks by audience, results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import Session, select

from adapters.console.chat import ConsoleChat
from bot.delivery.models import Delivery
from bot.members.models import Member
from bot.training import service
from bot.training.models import LessonProgress
from tests.conftest import run_scheduled

EMMA = "emma.wilson@example.com"  # ambassador, London
KARIM = "karim.benali@example.com"  # relay, Paris
CLAIRE = "claire.dubois@example.com"  # coordinator


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def wrong_option(runtime, lesson_id: str) -> int:  # type: ignore[no-untyped-def]
    quiz = runtime.relais.content.lesson(lesson_id, "en").quiz
    return next(i for i, option in enumerate(quiz.options) if not option.correct)


def progress_row(runtime, email: str, lesson_id: str) -> LessonProgress:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return session.exec(
            select(LessonProgress)
            .join(Member, Member.id == LessonProgress.member_id)
            .where(Member.email == email, LessonProgress.lesson_id == lesson_id)
        ).one()


def test_wrong_answers_come_back_after_1_then_3_then_7_days(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    emma: ConsoleChat = chat(EMMA)
    wrong = wrong_option(runtime, "welcome")
    start = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    intervals = []
    moment = start
    with time_machine.travel(moment, tick=False):
        emma.type("lesson")
        emma.press(emma.number_of("lesson.answer", f"welcome:{wrong}"))
    for _ in range(3):
        due = progress_row(runtime, EMMA, "welcome").review_due_at
        intervals.append((due - moment).days)
        moment = due + timedelta(minutes=1)
        with time_machine.travel(moment, tick=False):
            assert "Review:" in texts(emma.type("lesson"))
            emma.press(emma.number_of("lesson.answer", f"welcome:{wrong}"))
    assert intervals == [1, 3, 7]
    assert progress_row(runtime, EMMA, "welcome").wrong_answers == 4


def test_answering_twice_the_same_delivery_counts_once(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    emma: ConsoleChat = chat(EMMA)
    emma.type("lesson")
    correct = runtime.relais.content.lesson("welcome", "en").quiz.correct_index
    number = emma.number_of("lesson.answer", f"welcome:{correct}")
    emma.press(number)
    again = texts(emma.press(number))
    assert "You already answered this question correctly." in again


def test_unanswered_lesson_is_reminded_once_in_daytime(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    emma: ConsoleChat = chat(EMMA)
    sent = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday
    with time_machine.travel(sent, tick=False):
        emma.type("lesson")
    assert run_scheduled(runtime, "lesson_reminders", sent + timedelta(hours=23)) == 0  # too soon
    night = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)  # 22:00 in London: quiet hours
    assert run_scheduled(runtime, "lesson_reminders", night) == 0
    morning = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert run_scheduled(runtime, "lesson_reminders", morning) == 1
    assert run_scheduled(runtime, "lesson_reminders", morning + timedelta(days=2)) == 0
    with time_machine.travel(morning + timedelta(minutes=1), tick=False):
        reminder = texts(emma.inbox())
    assert "Reminder: this lesson is waiting for your answer." in reminder


def test_tracks_follow_the_audience(runtime) -> None:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        karim = session.exec(select(Member).where(Member.email == KARIM)).one()
        emma = session.exec(select(Member).where(Member.email == EMMA)).one()
    assert service.tracks_for(karim, runtime.config) == ["basics", "relay"]  # at once
    assert service.tracks_for(emma, runtime.config) == ["basics"]
    content = runtime.relais.content
    now = datetime(2026, 11, 24, tzinfo=UTC)
    views = [service.ProgressView(lid, True, None, True, now) for lid in content.track("basics")]
    assert service.next_lesson(karim, views, content, runtime.config, now) == (
        content.track("relay")[0],
        service.NEW,
    )
    assert service.next_lesson(emma, views, content, runtime.config, now) is None


def test_coordinator_sees_results_and_others_cannot(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    for email in (EMMA, KARIM):
        member = chat(email)
        member.type("lesson")
        option = (
            wrong_option(runtime, "welcome")
            if email == EMMA
            else runtime.relais.content.lesson("welcome", "fr").quiz.correct_index
        )
        member.press(member.number_of("lesson.answer", f"welcome:{option}"))
    claire = chat(CLAIRE)
    claire.type("lang en")
    summary = texts(claire.type("results"))
    assert "(`welcome`): received 2, answered 2, right 50%" in summary
    assert (
        "Most-missed question" in summary
        and "50% wrong at the first attempt (2 answers)" in summary
    )
    detail = texts(claire.type("results welcome"))
    assert "Received by 2, answered by 2 (100%), right at the first attempt: 50%." in detail
    assert "No lesson has the id “nope”" in texts(claire.type("results nope"))
    refused = texts(chat(EMMA).type("results"))
    assert "you may not see lesson results" in refused
    with Session(runtime.engine) as session:
        assert len(session.exec(select(Delivery).where(Delivery.kind == "lesson")).all()) == 2
