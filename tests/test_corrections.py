"""One test per defect the core corrections fixed, each through the real entry point."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, update
from sqlmodel import Session, select

from adapters.console.chat import ConsoleChat
from bot.delivery.models import Delivery, HandledEvent
from bot.events import ActionEvent, CommandEvent, MessageEvent, Who
from bot.jobs import SlotRun
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from bot.registry import Context
from bot.response import service as response_service
from bot.response.models import Case, CaseStep, MentionReport
from bot.training import schedule as training_schedule
from bot.training.models import LessonProgress
from tests.conftest import pin_triage, run_scheduled

KARIM = "karim.benali@example.com"  # relay of customer-service (Paris)
LEA = "lea.petit@example.com"  # relay of customer-service (Montréal)
LIAM = "liam.tremblay@example.com"  # ambassador in customer-service (Montréal, English)
EMMA = "emma.wilson@example.com"  # ambassador in sales (London, English)
THOMAS = "thomas.girard@example.com"  # relay of sales, hub of business
INES = "ines.moreau@example.com"  # hub of residential (customer-service is in it)

YOURS = "Thank you, the report is yours."
ALREADY = "already took this report in charge"
SORRY = "Sorry, something went wrong on our side."


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def member_id(runtime, email: str) -> int:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return session.exec(select(Member.id).where(Member.email == email)).one()


def open_report(runtime, chat, url: str = "https://x.example.com/status/1") -> int:  # type: ignore[no-untyped-def]
    """A case for customer service (Liam's report of a complaint); returns the case's id."""
    chat(LIAM).type(f"report {url} a customer is furious about {url.rsplit('/', 1)[-1]}")
    with Session(runtime.engine) as session:
        return session.exec(select(MentionReport.case_id).where(MentionReport.url == url)).one()


@pytest.fixture(autouse=True)
def _complaints(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_triage(monkeypatch, "complaint")  # customer service's relays: Karim and Léa


# Two relays clicking Acknowledge at the same moment.


def test_two_relays_acknowledging_at_once_only_one_takes_it(
    runtime, chat, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    karim, lea = chat(KARIM), chat(LEA)
    karim.type("lang en")
    lea.type("lang en")
    report_id = open_report(runtime, chat)
    karim.inbox()
    lea.inbox()
    if runtime.engine.dialect.name == "postgresql":
        # Make the race certain: both have read the open report before either writes.
        # (On SQLite the database lock already runs one event after the other.)
        both_read = threading.Barrier(2, timeout=20)
        read = response_service.case_target

        def case_target_then_wait(session, entry):  # type: ignore[no-untyped-def]
            target = read(session, entry)
            both_read.wait()
            return target

        monkeypatch.setattr(response_service, "case_target", case_target_then_wait)
    start = threading.Barrier(2, timeout=20)
    outcomes = []

    def click(email: str) -> None:
        event = ActionEvent(
            Who("console", email=email),
            f"ack-{email}",
            action_id="case.ack",
            value=str(report_id),
        )
        start.wait()
        outcomes.append(runtime.relais.handle(event))

    threads = [threading.Thread(target=click, args=(email,)) for email in (KARIM, LEA)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 2 and not [o for o in outcomes if o.direct or o.duplicate]
    answers = [texts(karim.inbox()), texts(lea.inbox())]
    assert sum(YOURS in answer for answer in answers) == 1, answers
    assert sum(ALREADY in answer for answer in answers) == 1, answers
    with Session(runtime.engine) as session:
        taken = session.exec(
            select(ParticipationEvent).where(ParticipationEvent.kind == "report_acknowledged")
        ).all()
        case = session.get(Case, report_id)
        assert case is not None
        steps = session.exec(
            select(CaseStep.kind).where(
                CaseStep.case_id == case.id, CaseStep.kind == "acknowledged"
            )
        ).all()
    assert len(taken) == 1 and taken[0].member_id == case.owner_id and len(steps) == 1
    winner = KARIM if YOURS in answers[0] else LEA
    assert case.owner_id == member_id(runtime, winner) and case.status == "acknowledged"


# Inbound keys longer than the column.


def test_a_long_slack_command_is_handled_once(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    liam = chat(LIAM)
    comment = "they say our heat pumps explode " * 63  # about 2,000 characters
    args = f"https://x.example.com/status/2 {comment}".strip()
    key = f"command:1234567.890.abcdef:report {args}"  # as the Slack adapter builds it
    assert len(key) > 2000
    event = CommandEvent(Who("console", email=LIAM), key, name="report", args=args)
    first = runtime.relais.handle(event)
    assert not first.duplicate and not first.direct and first.queued
    answer = texts(liam.inbox())
    assert "went to 2 people of the response team" in answer and SORRY not in answer
    again = runtime.relais.handle(event)
    assert again.duplicate and not again.queued
    with Session(runtime.engine) as session:
        assert session.exec(select(func.count()).select_from(MentionReport)).one() == 1
        longest = session.exec(select(func.max(func.length(HandledEvent.key)))).one()
    assert longest <= 300


# Only the idempotency key's own conflict is a duplicate.


def conflicting_command(runtime, conflicts: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Register `flaky`: its first ``conflicts`` runs insert a row that is already there."""
    with Session(runtime.engine) as session:
        session.add(SlotRun(job="test", zone="", slot="taken"))
        session.commit()
    runs: list[int] = []

    @runtime.relais.registry.command("flaky", "a command that hits a conflict")
    def flaky(ctx: Context) -> None:
        runs.append(1)
        if len(runs) <= conflicts:
            ctx.session.add(SlotRun(job="test", zone="", slot="taken"))
            ctx.session.flush()
        ctx.reply(f"flaky ran {len(runs)} time(s)")

    return runs


def test_a_conflict_in_a_handler_is_retried_not_taken_for_a_duplicate(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    runs = conflicting_command(runtime, conflicts=1)
    emma = chat(EMMA)
    outcome = runtime.relais.handle(MessageEvent(emma.who, "flaky-1", text="flaky"))
    assert not outcome.duplicate and not outcome.direct
    assert "flaky ran 2 time(s)" in texts(emma.inbox())
    assert len(runs) == 2


def test_an_event_that_keeps_failing_is_not_marked_handled(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    attempts = runtime.relais.ATTEMPTS
    runs = conflicting_command(runtime, conflicts=attempts)
    emma = chat(EMMA)
    event = MessageEvent(emma.who, "flaky-2", text="flaky")
    failed = runtime.relais.handle(event)
    assert not failed.duplicate
    assert [m.text for m in failed.direct] == [
        "Sorry, something went wrong on our side. Please try again in a moment."
    ]
    assert len(runs) == attempts
    with Session(runtime.engine) as session:
        assert (
            session.exec(select(HandledEvent).where(HandledEvent.key == "console:flaky-2")).all()
            == []
        )
    retried = runtime.relais.handle(event)  # the platform's retry of the same event
    assert not retried.duplicate and not retried.direct
    assert f"flaky ran {attempts + 1} time(s)" in texts(emma.inbox())
    assert runtime.relais.handle(event).duplicate


# Reminders: the round's limit is not filled by people asleep.


def test_reminders_never_starve_the_daytime_zones(runtime, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(training_schedule, "REMINDERS_PER_ROUND", 3)
    now = datetime(2026, 11, 24, 10, 0, 30, tzinfo=UTC)  # 11:00 in Paris, 05:00 in Montréal
    night = [LEA, LIAM]
    lessons = ["welcome", "what-to-share", "network-habits"]
    rows = []
    # Six lessons left unanswered at night in Montréal, all older than the one in Paris.
    for index, (email, lesson) in enumerate(
        (email, lesson) for email in night for lesson in lessons
    ):
        rows.append((email, lesson, now - timedelta(days=3, minutes=-index)))
    rows.append((KARIM, "welcome", now - timedelta(days=2)))
    with Session(runtime.engine) as session:
        for email, lesson, delivered in rows:
            session.add(
                LessonProgress(
                    member_id=member_id(runtime, email),
                    lesson_id=lesson,
                    track="basics",
                    first_delivered_at=delivered,
                    last_delivered_at=delivered,
                )
            )
        session.commit()
    assert len(rows) - 1 > training_schedule.REMINDERS_PER_ROUND
    assert run_scheduled(runtime, "lesson_reminders", now) == 1
    with Session(runtime.engine) as session:
        reminded = set(
            session.exec(
                select(Member.email)
                .join(Delivery, Delivery.member_id == Member.id)
                .where(Delivery.kind == "lesson_reminder")
            ).all()
        )
    assert reminded == {KARIM}


# Posts expire at the end of the day in the reader's time zone.

EXPIRING = "winter-energy-guide"


def programme_with_one_post(programme_dir: Path, expires: str) -> None:
    posts = programme_dir / "content" / "posts"
    for path in posts.glob("*.md"):
        if not path.name.startswith(EXPIRING + "."):
            path.unlink()
    for path in posts.glob(EXPIRING + ".*.md"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        changed = [
            f"expires: {expires}\n" if line.startswith("expires:") else line for line in lines
        ]
        assert changed != lines, path
        path.write_text("".join(changed), encoding="utf-8")


def accept_charter(conversation: ConsoleChat) -> None:
    conversation.type("charter")
    conversation.press(conversation.number_of("charter.accept"))


def test_a_post_expires_at_midnight_in_the_readers_zone(
    programme_dir, runtime_factory, database_url
) -> None:  # type: ignore[no-untyped-def]
    programme_with_one_post(programme_dir, "2026-11-24")
    runtime = runtime_factory(database_url)
    title = runtime.relais.content.post(EXPIRING, "en").title
    lea, karim = ConsoleChat(runtime, LEA), ConsoleChat(runtime, KARIM)
    with time_machine.travel(datetime(2026, 11, 24, 12, 0, tzinfo=UTC), tick=False):
        lea.type("lang en")
        karim.type("lang en")
        accept_charter(lea)
        accept_charter(karim)
        assert title in texts(karim.type("share"))  # on the day, everyone has it
    # 20:00 on the 24th in Montréal, already the 25th in UTC and in Paris.
    with time_machine.travel(datetime(2026, 11, 25, 1, 0, tzinfo=UTC), tick=False):
        assert title in texts(lea.type("share"))
        assert "There is nothing to share right now." in texts(karim.type("share"))
    # 00:30 on the 25th in Paris, still the 24th in UTC.
    with time_machine.travel(datetime(2026, 11, 24, 23, 30, tzinfo=UTC), tick=False):
        gone = texts(karim.type("share"))
        assert title not in gone and "There is nothing to share right now." in gone
        assert title in texts(lea.type("share"))


# `reports`: what is waiting, for those who take reports in charge.


def test_a_relay_who_missed_the_notification_takes_the_report_from_reports(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    first = open_report(runtime, chat, "https://x.example.com/status/10")
    second = open_report(runtime, chat, "https://x.example.com/status/11")
    chat(KARIM).inbox()  # the notifications arrive, and go unread
    karim = chat(KARIM)  # later, on another console
    karim.type("lang en")
    # Someone else already took the first report: it is no longer waiting.
    runtime.relais.handle(
        ActionEvent(Who("console", email=LEA), "lea-ack", action_id="case.ack", value=str(first))
    )
    waiting = texts(karim.type("reports"))
    assert "Open cases, those waiting to be taken in charge first: 2." in waiting
    # The waiting one comes first, with its Acknowledge button; Léa's has none.
    assert waiting.index("status/11") < waiting.index("status/10")
    acks = [(b.action_id, b.value) for b in karim.buttons.values() if b.action_id == "case.ack"]
    assert acks == [("case.ack", str(second))]
    assert YOURS in texts(karim.press(karim.number_of("case.ack", str(second))))
    with Session(runtime.engine) as session:
        case = session.get(Case, second)
        assert case is not None and case.owner_id == member_id(runtime, KARIM)
    karim.type(f"resolve {first} answered publicly")
    karim.type(f"resolve {second} answered in DM")
    assert "No reported mention is waiting: thank you!" in texts(karim.type("reports"))


def test_reports_lists_what_the_person_covers_only(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    open_report(runtime, chat, "https://x.example.com/status/20")  # customer-service
    ines = chat(INES)  # hub of residential, which customer-service is part of
    ines.type("lang en")
    assert "https://x.example.com/status/20" in texts(ines.type("reports"))
    thomas = chat(THOMAS)  # relay of sales, hub of business
    thomas.type("lang en")
    assert "No reported mention is waiting" in texts(thomas.type("reports"))
    claire = chat("claire.dubois@example.com")  # coordinator: the whole programme
    claire.type("lang en")
    assert "https://x.example.com/status/20" in texts(claire.type("reports"))
    refused = texts(chat(EMMA).type("reports"))
    assert "Sorry, you may not see reported mentions." in refused
    assert "status/20" not in refused


def test_reports_skips_a_report_already_acknowledged(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    report_id = open_report(runtime, chat, "https://x.example.com/status/30")
    with Session(runtime.engine) as session:
        session.execute(
            update(Case)
            .where(Case.id == report_id)
            .values(
                status="resolved", owner_id=member_id(runtime, LEA), closed_at=datetime.now(UTC)
            )
        )
        session.commit()
    karim = chat(KARIM)
    karim.type("lang en")
    assert "No reported mention is waiting: thank you!" in texts(karim.type("reports"))
