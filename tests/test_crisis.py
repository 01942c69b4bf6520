"""Crisis mode through the console, the scheduler and the command line.

Declared: promotion stops (the stored pause), the people the playbook names are
alerted with their roles, every ambassador gets the holding statement with
"I have read it"; the board counts per department within the reader's reach;
reminders go to who has not read it; ended: promotion resumes, everyone alerted
is told, and the timeline exports as Markdown and CSV.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.crisis.models import ACTIVE, ENDED, Crisis, CrisisAlert, CrisisStep
from bot.db import session_scope
from bot.delivery.models import PENDING, SENT, Delivery, DeliveryPause
from bot.delivery.outbox import Outgoing, enqueue
from bot.members.models import Member
from bot.messages import simple
from bot.participation.models import ParticipationEvent
from tests.conftest import run_scheduled

HUGO = "hugo.lambert@example.com"  # coordinator, communication, English
EMMA = "emma.wilson@example.com"  # ambassador, sales, London, English
SOPHIE = "sophie.laurent@example.com"  # manager, crisis cell (comms), French
THOMAS = "thomas.girard@example.com"  # relay of sales, hub of the business unit
NOAH = "noah.bernard@example.com"  # ambassador, hr
DECLARED_AT = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # a Friday afternoon, in the past


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def member_id(runtime, email: str) -> int:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return session.exec(select(Member.id).where(Member.email == email)).one()  # type: ignore[return-value]


def queue_for(runtime, email: str, key: str, purpose: str) -> int:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        enqueue(
            session,
            Outgoing(
                member_id=member_id(runtime, email),
                platform="console",
                dedupe_key=key,
                kind="lesson" if purpose == "promotional" else "reply",
                message=simple(key),
                purpose=purpose,
            ),
        )
    with Session(runtime.engine) as session:
        return session.exec(select(Delivery.id).where(Delivery.dedupe_key == key)).one()  # type: ignore[return-value]


def status_of(runtime, delivery_id: int) -> str:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return session.get(Delivery, delivery_id).status  # type: ignore[union-attr]


def relais(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, list(args), env={"RELAIS_DATABASE_URL": url, "RELAIS_LANG": "en"}
    )
    return result.exit_code, result.output


def test_a_crisis_through_the_console_from_declaration_to_export(
    runtime, chat, database_url, programme_dir
) -> None:  # type: ignore[no-untyped-def]
    emma, hugo, sophie, thomas = chat(EMMA), chat(HUGO), chat(SOPHIE), chat(THOMAS)
    # An ambassador may not declare a crisis: refused, nothing stored, nothing paused.
    refused = texts(emma.type("crisis declare storm-power-outage"))
    assert "you may not declare or end a crisis" in refused
    with Session(runtime.engine) as session:
        assert session.exec(select(Crisis)).all() == []
        assert session.get(DeliveryPause, "promotional") is None

    lesson = queue_for(runtime, EMMA, "lesson-before", "promotional")  # queued, not yet sent
    with time_machine.travel(DECLARED_AT, tick=False):
        reply = texts(hugo.type("crisis declare storm-power-outage 40,000 customers without power"))
    assert "Crisis declared: Storm and widespread power cut" in reply
    assert "Promotional messages are paused" in reply
    with Session(runtime.engine) as session:
        crisis = session.exec(select(Crisis)).one()
        assert (crisis.status, crisis.playbook) == (ACTIVE, "storm-power-outage")
        assert crisis.note == "40,000 customers without power"
        assert session.get(DeliveryPause, "promotional") is not None
        declared = session.exec(
            select(ParticipationEvent).where(ParticipationEvent.kind == "crisis_declared")
        ).one()
        assert declared.member_id == member_id(runtime, HUGO)

    # A second declaration says so, and changes nothing.
    again = texts(hugo.type("crisis declare phishing-campaign"))
    assert "A crisis is already in progress: Storm and widespread power cut" in again
    with Session(runtime.engine) as session:
        assert len(session.exec(select(Crisis)).all()) == 1

    # Every ambassador gets the statement and their do/don't, in their language.
    received = texts(emma.inbox())
    assert "Crisis declared: Storm and widespread power cut" in received
    assert "We know that many customers are currently without electricity" in received
    assert "Don't announce a time for the power to come back" in received
    assert "[" in received and "I have read it" in received
    assert "Your role" not in received
    assert status_of(runtime, lesson) == PENDING  # the queued lesson waits out the crisis
    # The crisis cell member is alerted with her role from the playbook (in French).
    cell = texts(sophie.inbox())
    assert "Vous ajustez et publiez la déclaration d'attente" in cell
    assert "Laisser partir une publication promotionnelle" in cell  # the cell's own don'ts

    with time_machine.travel(DECLARED_AT + timedelta(minutes=7), tick=False):
        thanks = texts(emma.press(emma.number_of("crisis.ack")))
    assert "Thank you, noted" in thanks
    assert "already said" in texts(emma.press(emma.number_of("crisis.ack")))
    with Session(runtime.engine) as session:
        read = session.exec(
            select(ParticipationEvent).where(ParticipationEvent.kind == "crisis_alert_acknowledged")
        ).all()
        assert len(read) == 1 and read[0].subject == str(crisis.id)
        assert read[0].data["department"] == "sales" and read[0].data["role"] == "ambassador"
        assert read[0].data["minutes"] == 7

    # The board: a hub sees their business unit only; a coordinator sees every department.
    hub_board = texts(thomas.type("crisis status"))
    assert "Ventes" in hub_board and "1/3" in hub_board and "Juridique" in hub_board
    assert "Communication" not in hub_board and "Service client" not in hub_board
    assert "Julien Roux" in hub_board  # not read yet, named for the hub to nudge
    everyone = texts(hugo.type("crisis status"))
    assert "1 of 15 people have read it." in everyone
    assert "Customer service" in everyone and "Sophie Laurent (crisis_cell:comms)" in everyone
    assert "you may not follow who has read the crisis alerts" in texts(emma.type("crisis status"))
    # An ambassador who lost the message types `crisis`: the statement again.
    assert "We know that many customers" in texts(emma.type("crisis"))

    # The operational still goes during the crisis; the promotional does not.
    reply_row = queue_for(runtime, EMMA, "a-reply", "operational")
    emma.inbox()
    assert status_of(runtime, reply_row) == SENT and status_of(runtime, lesson) == PENDING

    assert "Say in a few words how the crisis ended" in texts(hugo.type("crisis end"))
    assert "you may not declare or end a crisis" in texts(emma.type("crisis end over"))
    with time_machine.travel(DECLARED_AT + timedelta(hours=3), tick=False):
        ended = texts(hugo.type("crisis end Power is back everywhere."))
    assert "The crisis is over: Storm and widespread power cut" in ended
    assert f"relais crisis export {crisis.id}" in ended
    told = texts(emma.inbox())
    assert "The crisis is over" in told and "Power is back everywhere." in told
    assert status_of(runtime, lesson) == SENT  # promotion resumed
    with Session(runtime.engine) as session:
        assert session.get(Crisis, crisis.id).status == ENDED  # type: ignore[union-attr]
        assert session.get(DeliveryPause, "promotional") is None
        assert session.exec(
            select(ParticipationEvent).where(ParticipationEvent.kind == "crisis_ended")
        ).one()
    assert "No crisis is in progress." in texts(hugo.type("crisis end again"))

    # The post-mortem: Markdown and CSV from the command line.
    code, markdown = relais(database_url, "crisis", "export", str(crisis.id))
    assert code == 0, markdown
    assert "# Crisis 1: Tempête et coupure de courant massive" in markdown
    assert (
        "- Declared: 2026-11-20 14:00:00 UTC, Hugo Lambert <hugo.lambert@example.com>" in markdown
    )
    assert "- Ended: 2026-11-20 17:00:00 UTC, Hugo Lambert" in markdown
    assert "- Summary: Power is back everywhere." in markdown
    assert "| Sales | 3 | 1 | 2 | 7 |" in markdown  # alerted, read, not read, median minutes
    assert (
        "| 2026-11-20 14:07:00 | Emma Wilson <emma.wilson@example.com> | read the alert | sales "
        "| ambassador |  |" in markdown
    )
    assert "sent the statement to 5 ambassadors" in markdown
    assert "| crisis_alert | sent |" in markdown
    out = programme_dir / "timeline.csv"
    code, said = relais(
        database_url, "crisis", "export", str(crisis.id), "--format", "csv", "--output", str(out)
    )
    assert code == 0 and "Written" in said
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    steps = [row["step"] for row in rows]
    assert steps[:2] == ["declared", "promotion_paused"]
    assert steps[-3:] == ["ended", "promotion_resumed", "told_ended"]
    read_rows = [row for row in rows if row["step"] == "acknowledged"]
    assert [(r["who"], r["department"], r["role"], r["time_utc"]) for r in read_rows] == [
        ("Emma Wilson <emma.wilson@example.com>", "sales", "ambassador", "2026-11-20 14:07:00")
    ]
    assert sum(1 for row in rows if row["step"] == "alerted") == 10  # the people the playbook names
    assert (
        relais(database_url, "crisis", "export", "99")[1].strip() == "No crisis has the number 99."
    )


def test_reminders_go_to_who_has_not_read_it_as_the_playbook_says(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    hugo, emma = chat(HUGO), chat(EMMA)
    with time_machine.travel(DECLARED_AT, tick=False):
        hugo.type("crisis declare phishing-campaign")  # remind after 30 min, twice
        emma.inbox()
        emma.press(emma.number_of("crisis.ack"))
    with Session(runtime.engine) as session:
        alerted = len(session.exec(select(CrisisAlert)).all())
    assert run_scheduled(runtime, "crisis_reminders", DECLARED_AT + timedelta(minutes=29)) == 0
    first = run_scheduled(
        runtime, "crisis_reminders", DECLARED_AT + timedelta(minutes=30, seconds=5)
    )
    assert first == alerted - 1  # everyone but Emma
    assert run_scheduled(runtime, "crisis_reminders", DECLARED_AT + timedelta(minutes=45)) == 0
    second = run_scheduled(runtime, "crisis_reminders", DECLARED_AT + timedelta(minutes=61))
    assert second == alerted - 1
    assert run_scheduled(runtime, "crisis_reminders", DECLARED_AT + timedelta(minutes=95)) == 0
    with Session(runtime.engine) as session:
        noah = member_id(runtime, NOAH)
        reminders = session.exec(
            select(Delivery).where(Delivery.member_id == noah, Delivery.kind == "crisis_reminder")
        ).all()
        assert len(reminders) == 2
        assert all(r.purpose == "operational" and r.priority >= 100 for r in reminders)
        emma_id = member_id(runtime, EMMA)
        assert not session.exec(
            select(Delivery).where(
                Delivery.member_id == emma_id, Delivery.kind == "crisis_reminder"
            )
        ).all()
        assert len(session.exec(select(CrisisStep).where(CrisisStep.kind == "reminded")).all()) == 2
    noah_chat = chat(NOAH)
    assert "Rappel : crise en cours" in texts(noah_chat.inbox()).replace("\u202f", " ")


def test_the_command_line_declares_shows_the_board_and_ends(runtime, database_url) -> None:  # type: ignore[no-untyped-def]
    code, said = relais(database_url, "crisis", "end", "--summary", "nothing")
    assert code == 1 and "No crisis is in progress." in said
    code, said = relais(database_url, "crisis", "declare", "no-such-playbook")
    assert code == 1 and "No playbook has the id “no-such-playbook”" in said
    code, said = relais(
        database_url, "crisis", "declare", "customer-data-leak", "--note", "file on a forum"
    )
    assert code == 0, said
    assert "Crisis 1 declared: Suspected customer data leak" in said
    code, said = relais(database_url, "crisis", "declare", "phishing-campaign")
    assert code == 1 and "A crisis is already in progress" in said
    code, said = relais(database_url, "crisis", "status")
    assert code == 0 and "0 of 15 people have read it." in said and "Legal: 0/1 (0%)" in said
    with Session(runtime.engine) as session:
        crisis = session.exec(select(Crisis)).one()
        assert crisis.declared_by_id is None and crisis.declared_via == "cli"
        assert session.get(DeliveryPause, "promotional") is not None
    code, said = relais(database_url, "crisis", "end", "--summary", "No data leaked.")
    assert code == 0 and "Crisis 1 ended" in said and "15 people are told" in said
    with Session(runtime.engine) as session:
        assert session.get(DeliveryPause, "promotional") is None
        ends = session.exec(select(Delivery).where(Delivery.kind == "crisis_end")).all()
        assert len(ends) == 15


def test_ambassadors_are_not_reminded_in_their_quiet_hours_the_cell_is(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    late = datetime(2026, 11, 19, 21, 0, tzinfo=UTC)  # 22:00 in Paris, 16:00 in Montréal
    with time_machine.travel(late, tick=False):
        chat(HUGO).type("crisis declare phishing-campaign")
    assert run_scheduled(runtime, "crisis_reminders", late + timedelta(minutes=31)) > 0
    with Session(runtime.engine) as session:
        reminded = {
            email
            for (email,) in session.execute(
                select(Member.email)
                .join(Delivery, Delivery.member_id == Member.id)
                .where(Delivery.kind == "crisis_reminder")
            ).all()
        }
    assert "liam.tremblay@example.com" in reminded  # an ambassador in Montréal, daytime
    assert SOPHIE in reminded  # the crisis cell, at night too
    assert NOAH not in reminded  # an ambassador in Paris, at night
    # In the morning, Noah is reminded after all.
    morning = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # 09:00 in Paris
    run_scheduled(runtime, "crisis_reminders", morning)
    with Session(runtime.engine) as session:
        noah = member_id(runtime, NOAH)
        assert session.exec(
            select(Delivery).where(Delivery.member_id == noah, Delivery.kind == "crisis_reminder")
        ).all()
