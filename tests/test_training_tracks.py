"""Training for every audience: tracks side by side, refreshers, lessons written later.

Driven through the scheduler's real wiring (``run_scheduled``) and read on the
console, as members see them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from sqlmodel import Session, select

from adapters.console.chat import ConsoleChat
from bot.delivery.models import Delivery
from bot.members.models import Member
from bot.training import service
from bot.training.models import LessonProgress
from tests.conftest import run_scheduled

EMMA = "emma.wilson@example.com"  # ambassador, London
KARIM = "karim.benali@example.com"  # relay of customer service, Paris
SOPHIE = "sophie.laurent@example.com"  # manager and crisis cell (comms), Paris
NATHALIE = "nathalie.blanc@example.com"  # relay of legal and crisis cell (legal), Paris

# Tuesdays and Thursdays at 10:00 in Paris (09:00 UTC in winter): the demo's lesson slots.
PARIS_SLOTS = [
    datetime(2026, 11, 24, 9, 0, 30, tzinfo=UTC),
    datetime(2026, 11, 26, 9, 0, 30, tzinfo=UTC),
    datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC),
    datetime(2026, 12, 3, 9, 0, 30, tzinfo=UTC),
]


def lesson_ids(runtime, email: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The lessons queued for a member, in the order they were queued."""
    with Session(runtime.engine) as session:
        return list(
            session.exec(
                select(Delivery.subject)
                .join(Member, Member.id == Delivery.member_id)
                .where(Member.email == email, Delivery.kind == "lesson")
                .order_by(Delivery.id)
            ).all()
        )


def titles(runtime, lesson_ids: list[str], lang: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [runtime.relais.content.lesson(lid, lang).title for lid in lesson_ids]


def read(chat: ConsoleChat, moment: datetime) -> str:
    with time_machine.travel(moment, tick=False):
        return "\n".join(item.rendered.text for item in chat.inbox())


def test_a_relay_gets_the_relay_track_alongside_the_basics_from_week_one(runtime) -> None:  # type: ignore[no-untyped-def]
    karim = ConsoleChat(runtime, KARIM)
    seen = []
    for slot in PARIS_SLOTS:
        assert run_scheduled(runtime, "lessons", slot) > 0
        seen.append(read(karim, slot + timedelta(minutes=1)))
    content = runtime.relais.content
    basics, relay = content.track("basics"), content.track("relay")
    expected = [basics[0], relay[0], basics[1], relay[1]]
    assert lesson_ids(runtime, KARIM) == expected
    # Week one already brings the relay track, as Karim reads it on the console (in French).
    for text, title in zip(seen, titles(runtime, expected, "fr"), strict=True):
        assert title in text
    assert "Recevoir un dossier et le faire parvenir aux bonnes personnes" in seen[1]
    # An ambassador who is nothing else follows the basics only.
    emma = [slot + timedelta(hours=1) for slot in PARIS_SLOTS[:2]]  # 10:00 in London
    for slot in emma:
        run_scheduled(runtime, "lessons", slot)
    assert lesson_ids(runtime, EMMA) == basics[:2]


def test_managers_and_the_crisis_cell_get_their_own_tracks(runtime) -> None:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        people = {
            email: session.exec(select(Member).where(Member.email == email)).one()
            for email in (SOPHIE, NATHALIE, EMMA)
        }
    config = runtime.config
    assert service.tracks_for(people[SOPHIE], config) == ["basics", "managers", "crisis-cell"]
    assert service.tracks_for(people[NATHALIE], config) == ["basics", "relay", "crisis-cell"]
    assert service.tracks_for(people[EMMA], config) == ["basics"]
    for slot in PARIS_SLOTS[:3]:
        run_scheduled(runtime, "lessons", slot)
    content = runtime.relais.content
    assert lesson_ids(runtime, SOPHIE) == [
        content.track("basics")[0],
        content.track("managers")[0],
        content.track("crisis-cell")[0],
    ]
    assert lesson_ids(runtime, NATHALIE) == [
        content.track("basics")[0],
        content.track("relay")[0],
        content.track("crisis-cell")[0],
    ]
    sophie = ConsoleChat(runtime, SOPHIE)
    text = read(sophie, PARIS_SLOTS[2] + timedelta(minutes=1))
    assert "Lire les chiffres de votre équipe" in text
    assert "Qui fait quoi dans la cellule de crise" in text
    # `progress` names her three tracks.
    with time_machine.travel(PARIS_SLOTS[2] + timedelta(minutes=2), tick=False):
        progress = "\n".join(s.rendered.text for s in sophie.type("progres"))
    for name in ("Les bases", "Managers", "Cellule de crise"):
        assert f"*{name}*" in progress or name in progress


def answer_every_lesson(runtime, chat: ConsoleChat, start: datetime, wrong: set[str]) -> datetime:  # type: ignore[no-untyped-def]
    """Type `lesson` until none is left, answering right except for ``wrong``; then the reviews."""
    moment = start
    content = runtime.relais.content
    while True:
        moment += timedelta(minutes=2)
        with time_machine.travel(moment, tick=False):
            shown = chat.type("lesson")
            text = "\n".join(s.rendered.text for s in shown)
            if "You have done every lesson" in text or "Refresher:" in text:
                return moment
            lesson_id = next(
                lid for lid in content.lessons if f"lesson.answer:{lid}:" in _values(chat)
            )
            quiz = content.lesson(lesson_id, "en").quiz
            review = "Review:" in text
            index = next(
                i
                for i, option in enumerate(quiz.options)
                if option.correct != (lesson_id in wrong and not review)
            )
            chat.press(chat.number_of("lesson.answer", f"{lesson_id}:{index}"))
        chat.buttons.clear()
        if any(_review_due(runtime, chat.email)):
            moment = max(_review_due(runtime, chat.email)) + timedelta(minutes=1)


def _values(chat: ConsoleChat) -> str:
    return " ".join(f"{b.action_id}:{b.value}" for b in chat.buttons.values())


def _review_due(runtime, email: str) -> list[datetime]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return [
            due.replace(tzinfo=UTC) if due.tzinfo is None else due
            for due in session.exec(
                select(LessonProgress.review_due_at)
                .join(Member, Member.id == LessonProgress.member_id)
                .where(Member.email == email, LessonProgress.review_due_at.is_not(None))
            ).all()
        ]


def test_a_member_who_finished_every_track_gets_refreshers_missed_most_first(runtime) -> None:  # type: ignore[no-untyped-def]
    emma = ConsoleChat(runtime, EMMA)
    content = runtime.relais.content
    basics = content.track("basics")
    # Emma does the whole basics track in one go; she misses "trolls" and "fake-news" first.
    done = answer_every_lesson(
        runtime, emma, datetime(2026, 11, 2, 9, 0, tzinfo=UTC), {"trolls", "fake-news"}
    )
    assert set(lesson_ids(runtime, EMMA)) == set(basics)  # and two reviews
    # She misses fake-news again at its review: it is now the one she missed most.
    with Session(runtime.engine) as session:
        row = session.exec(
            select(LessonProgress)
            .join(Member, Member.id == LessonProgress.member_id)
            .where(Member.email == EMMA, LessonProgress.lesson_id == "fake-news")
        ).one()
        row.wrong_answers = 2
        session.add(row)
        session.commit()
    # The next slot more than a month on (Tuesday 10:00 in London) brings a refresher.
    tuesday = datetime(2026, 12, 15, 10, 0, 30, tzinfo=UTC)
    assert tuesday - done > timedelta(days=30)
    assert run_scheduled(runtime, "lessons", tuesday) > 0
    text = read(emma, tuesday + timedelta(minutes=1))
    assert "Refresher:" in text and content.lesson("fake-news", "en").title in text
    # Not again on Thursday (one refresher a week at most)…
    thursday = tuesday + timedelta(days=2)
    run_scheduled(runtime, "lessons", thursday)
    assert lesson_ids(runtime, EMMA)[-1] == "fake-news"
    assert read(emma, thursday + timedelta(minutes=1)) == ""
    # …and the week after, the other lesson she missed.
    next_tuesday = tuesday + timedelta(days=7)
    run_scheduled(runtime, "lessons", next_tuesday)
    assert lesson_ids(runtime, EMMA)[-1] == "trolls"
    # The refresher is a lesson like any other: her answer is recorded.
    with time_machine.travel(next_tuesday + timedelta(minutes=5), tick=False):
        emma.inbox()
        correct = content.lesson("trolls", "en").quiz.correct_index
        reply = "\n".join(
            s.rendered.text
            for s in emma.press(emma.number_of("lesson.answer", f"trolls:{correct}"))
        )
    assert "Right!" in reply


def write_lesson(root: Path, lesson_id: str, order: int) -> None:
    for lang, title in (("en", "Live video at work"), ("fr", "La vidéo en direct au travail")):
        (root / "content" / "lessons" / f"{lesson_id}.{lang}.md").write_text(
            f"""---
title: {title}
track: basics
order: {order}
quiz:
  question: "?"
  options:
    - text: A
      correct: true
    - text: B
  explanation: "A."
---
{title}.
""",
            encoding="utf-8",
        )


def test_a_lesson_written_later_reaches_those_who_had_finished(runtime, programme_dir) -> None:  # type: ignore[no-untyped-def]
    emma = ConsoleChat(runtime, EMMA)
    done = answer_every_lesson(runtime, emma, datetime(2026, 11, 2, 9, 0, tzinfo=UTC), set())
    sent = len(lesson_ids(runtime, EMMA))
    # The next slot, two days on: nothing new, and a refresher would come too soon.
    thursday = datetime(2026, 11, 5, 10, 0, 30, tzinfo=UTC)
    assert thursday - done < timedelta(days=7)
    run_scheduled(runtime, "lessons", thursday)
    assert len(lesson_ids(runtime, EMMA)) == sent
    # The team writes a new lesson; the running bot reloads its content.
    write_lesson(programme_dir, "live-video", 170)
    run_scheduled(runtime, "content_reload", thursday + timedelta(hours=1))
    assert "live-video" in runtime.relais.content.lessons
    tuesday = datetime(2026, 11, 10, 10, 0, 30, tzinfo=UTC)
    run_scheduled(runtime, "lessons", tuesday)
    assert lesson_ids(runtime, EMMA)[-1] == "live-video"
    assert "Live video at work" in read(emma, tuesday + timedelta(minutes=1))
