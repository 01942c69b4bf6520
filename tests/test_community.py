"""Relays' community through the console, the scheduler's real wiring and the command line.

Who's who for each role and organisation model (and the crisis cell in a crisis),
good practices shared by a relay, approved by the central team and found useful
once per member, round tables announced with the time in each member's zone,
answered, reminded the day before in each zone, and attendance recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.clock import utcnow
from bot.community.models import APPROVED, COMING, REJECTED, Meeting, MeetingInvite, Practice
from bot.db import session_scope
from bot.delivery.models import PROMOTIONAL, Delivery
from bot.delivery.outbox import pause_promotional, resume_promotional
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from tests.conftest import run_scheduled

HUGO = "hugo.lambert@example.com"  # coordinator, communication, English
CLAIRE = "claire.dubois@example.com"  # coordinator and relay of communication, French
EMMA = "emma.wilson@example.com"  # ambassador, sales, London, English
KARIM = "karim.benali@example.com"  # relay, customer service, Lyon, French
LEA = "lea.petit@example.com"  # relay, customer service, Montréal, French
THOMAS = "thomas.girard@example.com"  # relay of sales, hub of business, French
JULIEN = "julien.roux@example.com"  # manager of sales, hr, legal; not an ambassador
NOAH = "noah.bernard@example.com"  # ambassador, hr
SOPHIE = "sophie.laurent@example.com"  # manager, crisis cell (comms)

# A Monday morning before the round table of Tuesday 1 December 2026, 17:30 in Paris.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MEETING_AT = "2026-12-01 17:30 Europe/Paris"  # 16:30 UTC; 11:30 in Montréal


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def member_id(runtime, email: str) -> int:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return session.exec(select(Member.id).where(Member.email == email)).one()  # type: ignore[return-value]


def events(runtime, kind: str) -> list[ParticipationEvent]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return list(
            session.exec(select(ParticipationEvent).where(ParticipationEvent.kind == kind)).all()
        )


def click(person, action_id: str, value: str) -> str:  # type: ignore[no-untyped-def]
    """A click on a button the person was never shown (a forged or copied one)."""
    import uuid

    from bot.events import ActionEvent

    return texts(
        person._handle(ActionEvent(person.who, uuid.uuid4().hex, action_id=action_id, value=value))
    )


def headings(shown: str) -> list[str]:
    return [line.strip("= ") for line in shown.splitlines() if line.startswith("== ")]


# --- who's who -----------------------------------------------------------------------------


def test_relays_for_each_role(chat) -> None:  # type: ignore[no-untyped-def]
    emma = texts(chat(EMMA).type("relays"))
    assert headings(emma) == [
        "Who's who",
        "Relays of Sales — turn to them first",
        "Backup relays of Sales",
        "Hub of Business",
        "Central team (coordinators)",
    ]
    assert "• Thomas Girard <thomas.girard@example.com>" in emma
    assert "Amélie Garnier" in emma and "Hugo Lambert" in emma
    # An ambassador does not see the other departments' relays.
    assert "other departments" not in emma and "Karim Benali" not in emma
    # A relay does (in French), like a coordinator.
    karim = chat(KARIM)
    shown = texts(karim.type("relays"))
    assert headings(shown)[:2] == [
        "Qui est qui",
        "Relais de Service client — à contacter en premier",
    ]
    assert "Les relais des autres services\u202f:" in shown
    assert "Relais de Ventes" in headings(shown) and "Relais de Juridique" in headings(shown)
    hugo = texts(chat(HUGO).type("relays"))
    assert "Relays of Customer service" in headings(hugo)
    assert "Léa Petit <lea.petit@example.com>" in hugo
    # A manager who is not an ambassador still learns who the relays of their department are.
    julien = chat(JULIEN)
    julien.type("lang en")
    shown = texts(julien.type("relays"))
    assert "Relays of Sales — turn to them first" in headings(shown)
    assert "The other departments' relays:" not in shown


def test_the_crisis_cell_with_its_functions_during_a_crisis(chat) -> None:  # type: ignore[no-untyped-def]
    emma = chat(EMMA)
    assert "Crisis cell" not in texts(emma.type("relays"))
    hugo = chat(HUGO)
    assert "Crisis declared" in texts(hugo.type("crisis declare storm-power-outage"))
    emma.inbox()  # the crisis alert
    shown = texts(emma.type("relays"))
    assert headings(shown)[1] == "🚨 Crisis cell — Storm and widespread power cut"
    assert (
        "• Sophie Laurent <sophie.laurent@example.com> — comms: You adapt and publish the "
        "holding statement" in shown
    )
    assert (
        "• Marc Fontaine <marc.fontaine@example.com> — customer service: You open a dedicated"
        in shown
    )
    # Legal is in the cell but has no role in this playbook: the function alone.
    assert "• Nathalie Blanc <nathalie.blanc@example.com> — legal\n" in shown
    # The crisis cell is on the home too, with the member's first contacts.
    from bot.db import session_scope as scope
    from bot.programme.home import home_message

    runtime = hugo.runtime
    with scope(runtime.engine) as session:
        member = session.get(Member, member_id(runtime, EMMA))
        home = home_message(session, member, runtime.relais.content, runtime.config)  # type: ignore[arg-type]
    titles = [getattr(block, "title", None) for block in home.blocks]
    assert "🚨 Crisis cell — Storm and widespread power cut" in titles
    assert "Your contacts in the programme" in titles


def programme_with(programme_dir: Path, model: str) -> None:
    path = programme_dir / "app.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("organisation_model: hub_and_spoke", f"organisation_model: {model}"),
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    ("model", "first"),
    [
        ("centralized", "Central team (coordinators)"),
        ("organic", "Relays of Sales"),
        ("hub_and_spoke", "Relays of Sales"),
        ("dandelion", "Hub of Business"),
        ("honeycomb", "Relays of Sales"),
    ],
)
def test_relays_in_each_organisation_model(runtime_factory, programme_dir, model, first) -> None:  # type: ignore[no-untyped-def]
    from adapters.console.chat import ConsoleChat

    programme_with(programme_dir, model)
    runtime = runtime_factory()
    assert runtime.config.programme.organisation_model == model
    emma = texts(ConsoleChat(runtime, EMMA).type("relays"))
    # The organisation model decides who to turn to first: that group comes first.
    assert headings(emma)[1] == f"{first} — turn to them first"
    assert sum("turn to them first" in line for line in headings(emma)) == 1
    assert {"Relays of Sales", "Hub of Business", "Central team (coordinators)"} <= {
        h.removesuffix(" — turn to them first") for h in headings(emma)
    }
    assert "The other departments' relays:" not in emma
    # In every model, a relay sees the other departments' relays.
    thomas = ConsoleChat(runtime, THOMAS)
    thomas.type("lang en")
    shown = texts(thomas.type("relays"))
    assert "The other departments' relays:" in shown and "Relays of Customer service" in shown


def test_a_member_without_a_department_is_sent_to_the_central_team(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        noah = session.exec(select(Member).where(Member.email == NOAH)).one()
        noah.department = None
        noah.language = "en"
        session.add(noah)
    shown = texts(chat(NOAH).type("relays"))
    assert "You are in no department yet: the central team is your contact." in shown
    assert headings(shown) == ["Who's who", "Central team (coordinators) — turn to them first"]


# --- good practices ------------------------------------------------------------------------


def fill(person, answers: list[str]) -> str:  # type: ignore[no-untyped-def]
    """Press the latest form button and answer each prompt; return what came back."""
    from adapters.console.render import FORM_FILL

    shown = [texts(person.press(person.number_of(FORM_FILL)))]
    for answer in answers:
        shown.append(texts(person.type(answer)))
    return "\n".join(shown)


TIP = "Answer an angry customer within the hour, even just to say you are looking into it."
TIP_LINK = "https://intranet.example.com/tips/answer-fast"


def test_a_good_practice_from_form_to_approval_to_useful(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    karim, hugo, thomas, emma = chat(KARIM), chat(HUGO), chat(THOMAS), chat(EMMA)
    # An ambassador may not share one.
    refused = texts(emma.type("practice"))
    assert "Sorry, you may not share a good practice with the other relays." in refused
    # Karim opens the form; a link that is not one is refused and the form comes back.
    assert "Partager une bonne pratique" in texts(karim.type("practice"))
    shown = fill(karim, [TIP, "", "intranet/tips"])
    assert "Votre bonne pratique n’a pas été envoyée" in shown
    assert "«\u202fintranet/tips\u202f» n’est pas un lien web" in shown
    with Session(runtime.engine) as session:
        assert session.exec(select(Practice)).all() == []
    # The form again holds the text; Enter keeps it.
    shown = fill(karim, ["", TIP_LINK])
    assert (
        "Merci\u202f! Votre bonne pratique a été envoyée à 2 personnes de l’équipe centrale"
        in shown
    )
    [practice] = Session(runtime.engine).exec(select(Practice)).all()
    assert practice.department == "customer-service" and practice.text == TIP
    assert len(events(runtime, "practice_shared")) == 1
    # The central team is asked; a relay cannot approve (not theirs: the permission model).
    asked = texts(hugo.inbox())
    assert "Karim Benali shares a good practice." in asked
    assert "== Good practice from Customer service ==" in asked
    refused = click(thomas, "practice.approve", f"{practice.id}:relays")
    assert "Vous ne pouvez pas approuver les bonnes pratiques." in refused
    # Hugo approves it for the relays.
    shown = texts(hugo.press(hugo.number_of("practice.approve", f"{practice.id}:relays")))
    assert "Approved: the good practice is being sent to 6 relays." in shown
    # A second click (Claire, also central team) finds it decided.
    claire = chat(CLAIRE)
    claire.inbox()
    shown = texts(claire.press(claire.number_of("practice.approve", f"{practice.id}:everyone")))
    assert "Une décision a déjà été prise sur cette bonne pratique." in shown
    # The `practices` job sends it: Thomas (relay) receives it in French; Emma does not.
    assert run_scheduled(runtime, "practices", utcnow()) == 6
    got = texts(thomas.inbox())
    assert "== Bonne pratique de Service client ==" in got and TIP in got
    assert f"→ Ouvrir le lien: {TIP_LINK}" in got and "(Partagée par Karim Benali)" in got
    assert "Good practice" not in texts(emma.inbox())
    assert "Votre bonne pratique est approuvée et en cours d’envoi à 6 relais." in texts(
        karim.inbox()
    )
    # "Useful", counted once per member.
    useful = thomas.number_of("practice.useful", str(practice.id))
    assert "Merci\u202f! 1 personne a trouvé cette bonne pratique utile." in texts(
        thomas.press(useful)
    )
    assert "Vous avez déjà dit que cette bonne pratique était utile (1)." in texts(
        thomas.press(useful)
    )
    lea = chat(LEA)
    lea.inbox()
    assert "2 personnes ont trouvé" in texts(lea.press(lea.number_of("practice.useful")))
    assert len(events(runtime, "practice_useful")) == 2
    # The author sees the count.
    assert "utile à 2" in texts(karim.type("practices"))
    with Session(runtime.engine) as session:
        delivered = session.exec(select(Delivery).where(Delivery.kind == "practice")).all()
    assert {row.purpose for row in delivered} == {PROMOTIONAL}
    # The decision is in the audit log, with who took it.
    from bot.audit.models import AuditEntry

    with Session(runtime.engine) as session:
        [entry] = session.exec(
            select(AuditEntry).where(AuditEntry.action == "practice.approved")
        ).all()
    assert entry.actor == HUGO and entry.target == str(practice.id)
    assert entry.details == {"audience": "relays"}


def test_a_practice_for_everyone_waits_out_a_pause_and_a_rejected_one_goes_nowhere(
    runtime, chat
) -> None:  # type: ignore[no-untyped-def]
    thomas, hugo, emma = chat(THOMAS), chat(HUGO), chat(EMMA)
    shown = texts(thomas.type(f"practice Post the photo of the team, not the logo {TIP_LINK}"))
    assert "envoyée à 2 personnes" in shown
    hugo.inbox()
    first = Session(runtime.engine).exec(select(Practice)).one()
    # Promotion is paused (a crisis): the approved practice waits in the outbox.
    pause_promotional(runtime.engine, "test")
    shown = texts(hugo.press(hugo.number_of("practice.approve", f"{first.id}:everyone")))
    assert "Approved: the good practice is being sent to 14 people." in shown
    assert run_scheduled(runtime, "practices", utcnow()) == 14
    assert "Good practice from Sales" not in texts(emma.inbox())
    resume_promotional(runtime.engine)
    assert "== Good practice from Sales ==" in texts(emma.inbox())
    # A rejected practice: the author is told, nobody else gets it.
    shown = texts(
        thomas.type(f"practice Never answer a troll at night, wait until morning {TIP_LINK}")
    )
    thomas.inbox()
    hugo.inbox()
    second = max(Session(runtime.engine).exec(select(Practice)).all(), key=lambda p: p.id or 0)
    assert "You rejected this good practice" in texts(
        hugo.press(hugo.number_of("practice.reject", str(second.id)))
    )
    with Session(runtime.engine) as session:
        assert session.get(Practice, second.id).status == REJECTED  # type: ignore[union-attr]
        assert session.get(Practice, first.id).status == APPROVED  # type: ignore[union-attr]
    assert "n’a pas été approuvée" in texts(thomas.inbox())
    assert "troll" not in texts(emma.inbox())


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("practice short https://intranet.example.com/x", "au moins 10 caractères"),
        ("practice " + "x" * 501 + " https://intranet.example.com/x", "500 caractères au plus"),
        ("practice A good tip without any link at all", "Mettez le lien en dernier"),
    ],
)
def test_bad_practices_are_explained(chat, typed, expected) -> None:  # type: ignore[no-untyped-def]
    shown = texts(chat(KARIM).type(typed))
    assert expected in shown


# --- round tables --------------------------------------------------------------------------


def test_a_round_table_answered_reminded_in_each_zone_and_attended(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False):
        hugo, karim, lea, thomas = chat(HUGO), chat(KARIM), chat(LEA), chat(THOMAS)
        # A relay may not announce one.
        assert "Vous ne pouvez pas annoncer des réunions de relais." in texts(
            karim.type(f"meeting {MEETING_AT} https://meet.example.com/relays Table ronde")
        )
        shown = texts(
            hugo.type(f"meeting {MEETING_AT} https://meet.example.com/relays Round table")
        )
        assert (
            "Announced to 7 relays: Round table, Tuesday, December 1, 2026 at 5:30\u202fPM "
            "(Europe/Paris)." in shown
        )
        # Each relay reads the time in their own zone and language.
        invited = texts(karim.inbox())
        assert "Hugo Lambert invite les relais à une table ronde" in invited
        assert "mardi 1er décembre 2026 à 17:30 (Europe/Paris)" in invited
        assert "→ Rejoindre la réunion: https://meet.example.com/relays" in invited
        got = texts(lea.inbox())
        assert "mardi 1er décembre 2026 à 11:30 (America/Montreal)" in got
        meeting = Session(runtime.engine).exec(select(Meeting)).one()
        assert "C’est noté\u202f: vous viendrez." in texts(
            lea.press(lea.number_of("meeting.yes", str(meeting.id)))
        )
        thomas.inbox()
        assert "vous ne pourrez pas venir" in texts(
            thomas.press(thomas.number_of("meeting.no", str(meeting.id)))
        )
        status = texts(hugo.type("meeting status"))
        assert "Coming (1)" in status and "• Léa Petit" in status
        assert "Can't come (1)" in status and "• Thomas Girard" in status
        assert "No answer yet (5)" in status and "• Karim Benali" in status
        assert len(events(runtime, "meeting_answered")) == 2
        # Someone not invited (an ambassador) cannot answer.
        emma = chat(EMMA)
        assert "You are not invited to this meeting." in click(emma, "meeting.yes", str(meeting.id))

    # The day before, 10:00 in each member's zone: Paris at 09:00 UTC, Montréal at 15:00 UTC.
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    assert run_scheduled(runtime, "meeting_reminders", monday + timedelta(hours=8, minutes=55)) == 0
    in_paris = run_scheduled(runtime, "meeting_reminders", monday + timedelta(hours=9))
    # Paris relays who said they would come or did not answer (Thomas said no; Léa is in Montréal).
    assert in_paris == 5
    assert run_scheduled(runtime, "meeting_reminders", monday + timedelta(hours=9, minutes=5)) == 0
    assert (
        run_scheduled(runtime, "meeting_reminders", monday + timedelta(hours=14, minutes=55)) == 0
    )
    assert run_scheduled(runtime, "meeting_reminders", monday + timedelta(hours=15)) == 1
    with time_machine.travel(monday + timedelta(hours=15, minutes=1), tick=False):
        reminded = texts(karim.inbox())
        assert "Demain\u202f: la table ronde des relais. Viendrez-vous\u202f?" in reminded
        assert karim.number_of("meeting.yes", str(meeting.id))
        got = texts(lea.inbox())
        assert "Demain\u202f: la table ronde des relais." in got and "Viendrez-vous" not in got
        assert "11:30 (America/Montreal)" in got
        assert "Rappel" not in texts(thomas.inbox()) and "Demain" not in texts(thomas.inbox())

    # After the meeting, whoever said "I'll come" is taken to have come.
    after = datetime(2026, 12, 1, 16, 30, tzinfo=UTC) + timedelta(hours=3, minutes=5)
    run_scheduled(runtime, "meeting_reminders", after)
    attended = events(runtime, "meeting_attended")
    assert [e.member_id for e in attended] == [member_id(runtime, LEA)]
    # The coordinator corrects it: Karim came, Léa did not after all.
    with time_machine.travel(after + timedelta(minutes=10), tick=False):
        from adapters.console.render import FORM_FILL

        hugo.type("meeting attendance")
        options = texts(hugo.press(hugo.number_of(FORM_FILL)))
        names = [
            line.split(". ", 1)[1]
            for line in options.splitlines()
            if line.startswith("  ") and ". " in line
        ]
        number = names.index("Karim Benali") + 1
        shown = texts(hugo.type(str(number)))
        assert "Noted: 1 relay came to “Round table”." in shown
    attended = events(runtime, "meeting_attended")
    assert [e.member_id for e in attended] == [member_id(runtime, KARIM)]
    with Session(runtime.engine) as session:
        invites = {i.member_id: i for i in session.exec(select(MeetingInvite)).all()}
    assert invites[member_id(runtime, KARIM)].attended is True
    assert invites[member_id(runtime, LEA)].attended is False
    assert invites[member_id(runtime, LEA)].answer == COMING


def test_a_meeting_announced_after_reminder_time_sends_no_reminder(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    # Announced on Monday at 12:00 UTC for Tuesday: Paris' reminder time (09:00 UTC) is past.
    with time_machine.travel(datetime(2026, 11, 30, 12, 0, tzinfo=UTC), tick=False):
        shown = texts(chat(HUGO).type(f"meeting {MEETING_AT} https://meet.example.com/r Late"))
        assert "Announced to 7 relays" in shown
    assert (
        run_scheduled(runtime, "meeting_reminders", datetime(2026, 11, 30, 12, 5, tzinfo=UTC)) == 0
    )
    # Montréal's reminder time (15:00 UTC) comes after the announcement: Léa is reminded.
    assert (
        run_scheduled(runtime, "meeting_reminders", datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) == 1
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (
            "meeting 2026-13-01 17:30 Europe/Paris https://meet.example.com/r T",
            "“2026-13-01” is not a date",
        ),
        ("meeting 2026-12-01 5pm Europe/Paris https://meet.example.com/r T", "“5pm” is not a time"),
        (
            "meeting 2026-12-01 17:30 Mars/Olympus https://meet.example.com/r T",
            "“Mars/Olympus” is not a time zone",
        ),
        ("meeting 2026-12-01 17:30 Europe/Paris meet.example.com T", "is not a web link"),
        ("meeting 2026-11-01 17:30 Europe/Paris https://meet.example.com/r T", "already past"),
        ("meeting 2026-12-01 17:30", "Write “meeting DATE TIME ZONE LINK TITLE”"),
        ("meeting status 999", "There is no meeting 999."),
    ],
)
def test_bad_meetings_are_explained(chat, typed, expected) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False):
        assert expected in texts(chat(HUGO).type(typed))


def test_a_meeting_form_in_the_console(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False):
        hugo = chat(HUGO)
        assert "Announce a round table" in texts(hugo.type("meeting"))
        # Title, date, time, zone (Enter keeps Hugo's zone), link.
        shown = fill(hugo, ["Round table", "2026-12-01", "17:30", "", "https://meet.example.com/r"])
        assert "Announced to 7 relays: Round table" in shown
        assert Session(runtime.engine).exec(select(Meeting)).one().zone == "Europe/Paris"


def relais(url: str, programme_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [*args, "--config", str(programme_dir / "app.yaml")],
        env={"RELAIS_DATABASE_URL": url, "RELAIS_LANG": "en"},
    )
    return result.exit_code, result.output


def test_relais_meeting_announce_and_status(runtime, chat, database_url, programme_dir) -> None:  # type: ignore[no-untyped-def]
    code, output = relais(
        database_url,
        programme_dir,
        "meeting",
        "announce",
        "2030-12-03",
        "17:30",
        "Europe/Paris",
        "https://meet.example.com/relays",
        "Round table",
    )
    assert code == 0, output
    assert "Meeting 1 announced to 7 relays: Round table, Tuesday, December 3, 2030" in output
    karim = chat(KARIM)
    assert "La coordination invite les relais" not in (got := texts(karim.inbox()))
    assert "L’équipe centrale invite les relais à une table ronde" in got
    karim.press(karim.number_of("meeting.yes"))
    code, output = relais(database_url, programme_dir, "meeting", "status")
    assert code == 0 and "Coming (1)\n  Karim Benali <karim.benali@example.com>" in output
    code, output = relais(
        database_url,
        programme_dir,
        "meeting",
        "announce",
        "2030-12-03",
        "25:00",
        "Europe/Paris",
        "https://meet.example.com/relays",
        "Round table",
    )
    assert code == 1 and "“25:00” is not a time" in output
    with Session(runtime.engine) as session:
        assert len(session.exec(select(Meeting)).all()) == 1
        # The seven invitations of the first meeting, nothing for the refused one.
        assert len(session.exec(select(Delivery).where(Delivery.kind == "meeting")).all()) == 7


def test_a_monday_meeting_is_recalled_on_the_last_working_day_before(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    # Monday 7 December 2026, 09:00 in Paris: 03:00 that Monday in Montréal.
    with time_machine.travel(NOW, tick=False):
        hugo = chat(HUGO)
        shown = texts(
            hugo.type("meeting 2026-12-07 09:00 Europe/Paris https://meet.example.com/r Monday")
        )
        assert "Announced to 7 relays" in shown
    friday = datetime(2026, 12, 4, tzinfo=UTC)
    # On Friday (the last working day before) at 10:00 in each zone; nothing on the weekend.
    assert run_scheduled(runtime, "meeting_reminders", friday - timedelta(hours=15)) == 0
    assert run_scheduled(runtime, "meeting_reminders", friday + timedelta(hours=8, minutes=55)) == 0
    assert run_scheduled(runtime, "meeting_reminders", friday + timedelta(hours=9)) == 6
    assert run_scheduled(runtime, "meeting_reminders", friday + timedelta(hours=15)) == 1
    sunday = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    assert run_scheduled(runtime, "meeting_reminders", sunday) == 0
    with time_machine.travel(friday + timedelta(hours=15, minutes=1), tick=False):
        got = texts(chat(LEA).inbox())
        karim = texts(chat(KARIM).inbox())
    assert (
        "À venir le lundi 7 décembre 2026\u202f: la table ronde des relais. Viendrez-vous\u202f?"
        in got
    )
    assert "lundi 7 décembre 2026 à 03:00 (America/Montreal)" in got
    assert "lundi 7 décembre 2026 à 09:00 (Europe/Paris)" in karim


def test_a_relay_named_in_the_csv_is_in_the_whos_who_and_invited(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        noah = session.exec(select(Member).where(Member.email == NOAH)).one()
        noah.roles = ["ambassador", "relay"]
        noah.language = "en"
        session.add(noah)
    shown = texts(chat(NOAH).type("relays"))
    assert "Relays of Human resources — turn to them first" in headings(shown)
    assert "• Amélie Garnier <amelie.garnier@example.com>\n• Noah Bernard" in shown
    # A CSV relay sees the other departments' relays, and others see them in HR's.
    assert "The other departments' relays:" in shown
    assert "Noah Bernard" in texts(chat(HUGO).type("relays"))
    with time_machine.travel(NOW, tick=False):
        shown = texts(chat(HUGO).type(f"meeting {MEETING_AT} https://meet.example.com/r T"))
    assert "Announced to 8 relays" in shown
