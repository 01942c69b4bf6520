"""Crisis drills: the whole crisis flow as an exercise, through the console, the scheduler's real
wiring, the command line and the maturity page; a campaign keeps going and no real case or
crisis changes. (Slack and Teams: tests/test_crisis_drill_platforms.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import time_machine
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.crisis.models import DRILLING, ENDED, Crisis, CrisisAlert
from bot.db import session_scope
from bot.delivery.models import SENT, Delivery, DeliveryPause
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from bot.reporting import access
from bot.response.models import Case, CaseStep
from bot.web import create_app
from tests.conftest import LoopbackServer, pin_triage, run_scheduled

HUGO = "hugo.lambert@example.com"  # coordinator, English
EMMA = "emma.wilson@example.com"  # ambassador, sales, London, English
SOPHIE = "sophie.laurent@example.com"  # crisis cell (comms), French
THOMAS = "thomas.girard@example.com"  # relay of sales
NOAH = "noah.bernard@example.com"  # ambassador, hr
STARTED = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # a Friday afternoon
POST = "winter-energy-guide"


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def case_state(runtime) -> tuple:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        case = session.exec(select(Case)).one()
        steps = len(session.exec(select(CaseStep)).all())
        return (case.status, case.escalation_step, case.next_escalation_at, case.owner_id, steps)


def kinds(runtime) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return [e.kind for e in session.exec(select(ParticipationEvent)).all()]


def relais(url: str, config, *args: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        app,
        list(args),
        env={"RELAIS_DATABASE_URL": url, "RELAIS_LANG": "en", "RELAIS_CONFIG": str(config)},
    )
    return result.exit_code, result.output


def test_a_drill_end_to_end_with_its_report_and_nothing_real_touched(  # type: ignore[no-untyped-def]
    runtime, chat, monkeypatch
) -> None:
    pin_triage(monkeypatch, "complaint")
    emma, hugo, sophie, thomas, noah = (
        chat(EMMA),
        chat(HUGO),
        chat(SOPHIE),
        chat(THOMAS),
        chat(NOAH),
    )
    with time_machine.travel(STARTED - timedelta(minutes=5), tick=False):
        emma.type("report https://x.example.com/status/77 a customer is furious about the outage")
        before = case_state(runtime)
        # A campaign is going to sales when the drill starts.
        assert "Campaign 1" in texts(hugo.type(f"broadcast {POST} department:sales"))
    # An ambassador may not run a drill.
    assert "you may not declare or end a crisis" in texts(
        emma.type("crisis drill storm-power-outage")
    )
    with time_machine.travel(STARTED, tick=False):
        started = texts(hugo.type("crisis drill storm-power-outage --audience department:sales"))
        assert "EXERCISE" in started and "Exercise 1 started" in started
        assert "Nothing is paused" in started
        again = texts(hugo.type("crisis drill phishing-campaign"))
        assert "An exercise is already running" in again
        with Session(runtime.engine) as session:
            drill = session.exec(select(Crisis)).one()
            assert (drill.status, drill.drill, drill.audience) == (
                DRILLING,
                True,
                ["department:sales"],
            )
            assert session.get(DeliveryPause, "promotional") is None
        # The cell gets the exercise with their role (Sophie reads French); sales ambassadors
        # the statement; hr is outside the audience.
        cell = texts(sophie.inbox())
        assert "EXERCICE" in cell and "Vous ajustez et publiez la déclaration d'attente" in cell
        assert "ceci est un exercice" in cell.lower()
        got = texts(emma.inbox())
        assert "EXERCISE — Crisis exercise: Storm and widespread power cut" in got
        assert "We know that many customers are currently without electricity" in got
        assert "Nothing is paused: this is not a real crisis." in got
        assert "Your role" not in got
        # The campaign goes on: Emma's post arrived alongside the exercise.
        assert "Winter" in got or "winter" in got.lower()
        assert "EXERCISE" not in texts(noah.inbox())
        assert "Storm" not in texts(noah.inbox())
        read = texts(emma.press(emma.number_of("crisis.ack", str(drill.id))))
        assert "EXERCISE" in read and "Thank you, noted" in read
    with time_machine.travel(STARTED + timedelta(minutes=4), tick=False):
        thomas.inbox()
        thomas.press(thomas.number_of("crisis.ack", str(drill.id)))
        board = texts(hugo.type("crisis drill status"))
        assert "EXERCISE" in board and "Who has read the crisis alert" in board
        assert "No crisis is in progress." in texts(hugo.type("crisis status"))
    # The cell's target (high: 15 minutes) passes: Hugo is told who is late; the reminders
    # (after 30 minutes) go to who has not read it, marked too.
    assert run_scheduled(runtime, "crisis_reminders", STARTED + timedelta(minutes=16)) == 1
    late = texts(hugo.inbox())
    assert "EXERCISE" in late and "have not acknowledged after 15 minutes" in late
    assert "Sophie Laurent" in late
    run_scheduled(runtime, "crisis_reminders", STARTED + timedelta(minutes=31))
    reminded = texts(sophie.inbox())
    assert "EXERCICE" in reminded and "Rappel" in reminded
    assert "EXERCISE" not in texts(emma.inbox())  # she had read it
    with time_machine.travel(STARTED + timedelta(minutes=40), tick=False):
        sophie.press(sophie.number_of("crisis.ack", str(drill.id)))
        ended = texts(hugo.type("crisis drill end"))
    assert "The exercise is over" in ended and "Exercise report: Storm" in ended
    assert "Against the playbook's targets" in ended
    assert "3 of 12 people acknowledged (25%)" in ended
    assert "Crisis cell within 15 minutes: 1 of 10." in ended  # Thomas; Sophie took 40
    assert "By department" in ended and "Sales: 2/" in ended
    assert "By role" in ended and "relays: 1/" in ended
    assert "Never acknowledged" in ended and "Julien Roux (ambassadors, Sales)" in ended
    assert "Marc Fontaine (the crisis cell · customer_service" in ended
    assert "This is the first one." in ended
    assert "EXERCISE" in texts(emma.inbox())  # told it is over
    # Nothing real changed: no crisis, no pause, the case as it was, the real figures clean.
    with Session(runtime.engine) as session:
        (drill,) = session.exec(select(Crisis)).all()
        assert (drill.status, drill.drill) == (ENDED, True)
        assert session.get(DeliveryPause, "promotional") is None
        sent = session.exec(
            select(Delivery).where(Delivery.campaign == "1", Delivery.status == SENT)
        ).all()
        assert sent
    assert case_state(runtime) == before
    events = kinds(runtime)
    assert "crisis_declared" not in events and "crisis_alert_acknowledged" not in events
    assert events.count("drill_alert_acknowledged") == 3
    assert "drill_started" in events and "drill_ended" in events

    # A second drill: everyone reads at once; the report compares with the first.
    with time_machine.travel(STARTED + timedelta(days=7), tick=False):
        hugo.type("crisis drill storm-power-outage --audience=department:sales")
        with Session(runtime.engine) as session:
            second = session.exec(select(Crisis).where(Crisis.status == DRILLING)).one()
            people = session.exec(
                select(Member.email)
                .join(CrisisAlert, CrisisAlert.member_id == Member.id)
                .where(CrisisAlert.crisis_id == second.id)
            ).all()
        known = {HUGO: hugo, EMMA: emma, SOPHIE: sophie, THOMAS: thomas}
        for email in people:
            person = known.get(email) or chat(email)
            person.inbox()
            person.press(person.number_of("crisis.ack", str(second.id)))
        report = texts(hugo.type("crisis drill end"))
    assert "Nobody: everyone acknowledged." in report
    assert "Compared with the previous exercise" in report and "Exercise 1 on" in report
    assert "(now 100%)" in report
    assert "Exercise report" in texts(hugo.type("crisis drill report 1"))
    assert "No exercise has the number 9" in texts(hugo.type("crisis drill report 9"))


def test_a_drill_from_the_command_line_and_on_the_maturity_page(  # type: ignore[no-untyped-def]
    runtime, database_url, programme_dir, monkeypatch
) -> None:
    config = programme_dir / "app.yaml"
    code, output = relais(database_url, config, "crisis", "drill", "nope")
    assert code == 1 and "No playbook has the id “nope”" in output
    code, output = relais(
        database_url, config, "crisis", "drill", "phishing-campaign", "--audience", "planet:mars"
    )
    assert code == 1 and "“planet:mars” is not an audience" in output
    code, output = relais(
        database_url,
        config,
        "crisis",
        "drill",
        "phishing-campaign",
        "--audience",
        "language:fr",
    )
    assert code == 0, output
    assert "EXERCISE" in output and "Exercise 1 started" in output
    code, output = relais(database_url, config, "crisis", "drill", "status")
    assert code == 0 and "Exercise 1: Phishing" in output and "0 of" in output
    with Session(runtime.engine) as session:
        alerts = session.exec(select(CrisisAlert)).all()
        languages = {
            member.language
            for member in session.exec(select(Member)).all()
            if member.id in {a.member_id for a in alerts if a.role == "ambassador"}
        }
    assert languages == {"fr"}
    code, output = relais(database_url, config, "crisis", "drill", "end")
    assert code == 0, output
    assert "Exercise report: Phishing" in output and "Never acknowledged" in output
    code, output = relais(database_url, config, "crisis", "drill", "end")
    assert code == 1 and "No exercise is running." in output
    code, output = relais(database_url, config, "crisis", "drill", "report", "1")
    assert code == 0 and "By role" in output

    # The maturity page shows it as the evidence of an exercised crisis plan.
    # The embedded SQLite makes its own secret; a server database needs one given.
    monkeypatch.setenv(access.SECRET_ENV, "drill-" + "s" * 40)
    with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
        monkeypatch.setenv(access.PUBLIC_URL_ENV, server.url)
        with session_scope(runtime.engine) as session:
            hugo = session.exec(select(Member).where(Member.email == HUGO)).one()
            link = access.new_link(session, hugo)
        with httpx.Client(follow_redirects=True, timeout=30) as browser:
            assert browser.get(link).status_code == 200
            page = browser.get(f"{server.url}/dashboard/maturity")
    assert page.status_code == 200
    assert "Last crisis exercise (1)" in page.text and "acknowledged" in page.text
