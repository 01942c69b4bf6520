"""Charter sign-off: a new version is a draft until app.yaml's signatories approve it in chat.

Through the console (and the scheduler's real wiring), Slack (signed requests to the
real endpoint, slack_sdk against the stand-in) and Teams (botbuilder against the
stand-in connector), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlmodel import Session, select

from adapters.console.chat import ConsoleChat
from adapters.slack.render import parse_action_id
from bot.charter.models import (
    APPROVED,
    CHANGES_REQUESTED,
    PUBLISHED,
    CharterRelease,
    CharterSignOff,
)
from bot.delivery.models import Delivery
from bot.members.models import Member
from tests.conftest import run_scheduled
from tests.test_posts_approval import fill
from tests.test_slack import SlackWorld, buttons, slack  # noqa: F401  (the fixture)
from tests.test_teams import (  # noqa: F401  (the fixtures)
    TeamsWorld,
    activity,
    connector,
    personal,
    runs,
    teams,
)
from tests.test_teams_cards import check_card

EMMA = "emma.wilson@example.com"  # ambassador, London
JULIEN = "julien.roux@example.com"  # manager of HR: signs for managers:hr
NATHALIE = "nathalie.blanc@example.com"  # legal reviewer: signs for legal_reviewers
CLAIRE = "claire.dubois@example.com"  # coordinator
SIGN_OFF = "\ncharter:\n  sign_off: [managers:hr, legal_reviewers]\n"

MONDAY = datetime(2026, 11, 30, 8, 30, 30, tzinfo=UTC)  # 09:30 in Paris: charter reminders
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def require_sign_off(programme_dir: Path, only_v1: bool = True) -> Path:
    """Turn sign-off on; keep version 2 aside (returned) to add it later."""
    config = programme_dir / "app.yaml"
    config.write_text(config.read_text(encoding="utf-8") + SIGN_OFF, encoding="utf-8")
    aside = programme_dir.parent / "aside"
    aside.mkdir(exist_ok=True)
    if only_v1:
        for path in (programme_dir / "content" / "charter").glob("v2.*.md"):
            shutil.move(str(path), aside / path.name)
    return aside


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def at(moment: datetime, chat: ConsoleChat, typed: str) -> str:
    with time_machine.travel(moment, tick=False):
        return texts(chat.type(typed))


def inbox(moment: datetime, chat: ConsoleChat) -> str:
    with time_machine.travel(moment, tick=False):
        return texts(chat.inbox())


def sign_offs(runtime) -> list[CharterSignOff]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return list(session.exec(select(CharterSignOff).order_by(CharterSignOff.id)).all())


def release(runtime, version: int) -> CharterRelease | None:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return session.get(CharterRelease, version)


def reminders(runtime) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return list(
            session.execute(
                select(Member.email, Delivery.subject)
                .join(Member, Member.id == Delivery.member_id)
                .where(Delivery.kind == "charter_reminder")
            ).all()
        )


@pytest.fixture
def signing(programme_dir: Path, runtime_factory, database_url):  # type: ignore[no-untyped-def]
    aside = require_sign_off(programme_dir)
    return runtime_factory(database_url), aside


def test_a_first_charter_waits_for_every_signature_before_members_see_it(signing) -> None:  # type: ignore[no-untyped-def]
    runtime, _ = signing
    emma, julien = ConsoleChat(runtime, EMMA), ConsoleChat(runtime, JULIEN)
    nathalie, claire = ConsoleChat(runtime, NATHALIE), ConsoleChat(runtime, CLAIRE)
    # Version 1 is a draft: members have no charter yet, and no acceptance request goes out.
    assert "The programme has no charter yet." in at(NOW, emma, "charter")
    assert run_scheduled(runtime, "charter_reminders", MONDAY) == 0
    assert "you may not read a charter draft" in at(NOW, emma, "charter draft")
    # The scheduled review asks the two signatories, once.
    assert run_scheduled(runtime, "charter_sign_off", NOW) == 2
    assert run_scheduled(runtime, "charter_sign_off", NOW + timedelta(minutes=1)) == 0
    asked = inbox(NOW + timedelta(minutes=2), julien)
    assert "La version 1 de la charte est un projet qui attend votre validation" in asked
    assert "un ou une manager de Ressources humaines" in asked
    # Julien approves: the draft still waits for legal.
    approve = julien.number_of("charter.approve")
    said = texts(julien.press(approve))
    assert "Vous avez approuvé la version 1. Elle attend encore" in said
    assert "un relecteur ou une relectrice juridique" in said
    assert "Vous avez déjà approuvé la version 1" in texts(julien.press(approve))
    assert "The programme has no charter yet." in at(NOW, emma, "charter")
    # Nathalie asks for changes, with a note; the coordinators read it.
    inbox(NOW + timedelta(minutes=3), nathalie)
    nathalie.press(nathalie.number_of("charter.changes"))
    said = fill(nathalie, {"note": "Citez l'article sur les données personnelles."})
    assert "Vous avez demandé des modifications à la version 1" in said
    told = inbox(NOW + timedelta(minutes=4), claire)
    assert "Nathalie Blanc demande des modifications" in told
    assert "Citez l'article sur les données personnelles." in told
    draft = at(NOW + timedelta(minutes=5), claire, "charte brouillon")
    assert "✅ un ou une manager de Ressources humaines" in draft
    assert "a demandé des modifications" in draft and "Approuver" not in draft  # not hers
    assert run_scheduled(runtime, "charter_sign_off", NOW + timedelta(minutes=5)) == 0
    # She approves after all (same text): every signature is in, version 1 is published.
    said = texts(nathalie.press(nathalie.number_of("charter.approve")))
    assert "Toutes les validations sont là" in said
    assert release(runtime, 1).status == PUBLISHED  # type: ignore[union-attr]
    assert [(s.email, s.decision) for s in sign_offs(runtime)] == [
        (JULIEN, APPROVED),
        (NATHALIE, CHANGES_REQUESTED),
        (NATHALIE, APPROVED),
    ]
    shown = at(NOW + timedelta(minutes=6), emma, "charter")
    assert "Version 1" in shown and "I have read and accept the charter" in shown
    assert "Signed off by Julien Roux on" in shown and "Nathalie Blanc on" in shown
    assert "est validée et publiée" in inbox(NOW + timedelta(minutes=7), claire)
    status = at(NOW + timedelta(minutes=7), claire, "charte suivi")
    assert "Validée par Julien Roux le" in status and "Nathalie Blanc le" in status
    # Now members are asked to accept it on the schedule.
    assert run_scheduled(runtime, "charter_reminders", MONDAY) > 0
    assert ("karim.benali@example.com", "v1") in reminders(runtime)  # 09:30 in Paris
    # A click on a published version's old button changes nothing.
    assert "déjà publiée" in texts(julien.press(approve))


def test_a_new_version_stays_a_draft_while_the_old_one_stays_in_force(signing) -> None:  # type: ignore[no-untyped-def]
    runtime, aside = signing
    programme = Path(runtime.config_file).parent
    emma, julien, nathalie = (ConsoleChat(runtime, e) for e in (EMMA, JULIEN, NATHALIE))
    run_scheduled(runtime, "charter_sign_off", NOW)
    for signer in (julien, nathalie):
        inbox(NOW + timedelta(minutes=1), signer)
        signer.press(signer.number_of("charter.approve"))
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        emma.type("charter")
        emma.press(emma.number_of("charter.accept", "1"))
    # The team writes version 2; the running bot reloads it and asks the signatories.
    for path in aside.glob("v2.*.md"):
        shutil.copy(path, programme / "content" / "charter" / path.name)
    later = NOW + timedelta(hours=1)
    run_scheduled(runtime, "content_reload", later)
    assert run_scheduled(runtime, "charter_sign_off", later) == 2
    asked = inbox(later + timedelta(minutes=1), julien)
    assert "La version 2 de la charte est un projet" in asked
    assert "Ce qui a changé" in asked  # the signatories see what changed since version 1
    old_button = julien.number_of("charter.approve")
    # Members still have version 1, accepted: no reminder goes out for the draft.
    shown = at(later, emma, "charter")
    assert "Version 1" in shown and "You accepted this version" in shown
    run_scheduled(runtime, "charter_reminders", MONDAY)
    assert {subject for _, subject in reminders(runtime)} == {"v1"}  # to those who have not
    # The draft's text changes: the signatories are asked again, an old button no longer counts.
    path = programme / "content" / "charter" / "v2.en.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Use generative AI with care", "Use AI with care"),
        encoding="utf-8",
    )
    edited = later + timedelta(hours=1)
    run_scheduled(runtime, "content_reload", edited)
    assert "a changé depuis ce message" in texts(julien.press(old_button))
    assert run_scheduled(runtime, "charter_sign_off", edited) == 2
    for signer in (julien, nathalie):
        inbox(edited + timedelta(minutes=1), signer)
        signer.press(signer.number_of("charter.approve"))
    assert release(runtime, 2).status == PUBLISHED  # type: ignore[union-attr]
    # Published: members are asked to accept version 2, with what changed.
    london = datetime(2026, 12, 7, 9, 30, 30, tzinfo=UTC)  # Monday 09:30 in London
    assert run_scheduled(runtime, "charter_reminders", london) > 0
    assert (EMMA, "v2") in reminders(runtime)
    reminder = inbox(london + timedelta(minutes=1), emma)
    assert "The charter has a new version (2)" in reminder and "What changed:" in reminder


def test_versions_members_accepted_stay_in_force_when_sign_off_is_turned_on(
    programme_dir: Path, runtime_factory, database_url
) -> None:  # type: ignore[no-untyped-def]
    runtime = runtime_factory(database_url)
    emma = ConsoleChat(runtime, EMMA)
    # Without sign-off, as before: version 2 is the charter, and the review records it.
    emma.type("charter")
    emma.press(emma.number_of("charter.accept", "2"))
    assert run_scheduled(runtime, "charter_sign_off", NOW) == 0
    assert release(runtime, 2).status == PUBLISHED  # type: ignore[union-attr]
    said = texts(ConsoleChat(runtime, CLAIRE).type("charter draft"))
    assert "n’ont pas besoin de validation" in said  # Claire reads French
    runtime.engine.dispose()
    # Sign-off is turned on later: version 2 stays in force, nobody is asked to sign it.
    require_sign_off(programme_dir, only_v1=False)
    again = runtime_factory(database_url, members=False)
    assert "You accepted this version" in texts(ConsoleChat(again, EMMA).type("charter"))
    assert run_scheduled(again, "charter_sign_off", NOW) == 0
    said = texts(ConsoleChat(again, CLAIRE).type("charte brouillon"))
    assert "Aucun projet de charte n’attend de validation" in said


# --- Slack and Teams -----------------------------------------------------------------


@pytest.fixture
def sign_off_on(programme_dir: Path) -> Path:
    """Asked for before ``slack``/``teams``: their runtime is built on this app.yaml."""
    return require_sign_off(programme_dir)


def test_signatories_approve_in_slack(sign_off_on: Path, slack: SlackWorld) -> None:  # noqa: F811
    slack.standin.users["U0JULIEN1"] = JULIEN
    slack.standin.users["U0NATHAL1"] = NATHALIE
    runtime = slack.runtime
    assert run_scheduled(runtime, "charter_sign_off", datetime.now(UTC)) == 2

    def request_to(user: str) -> dict:  # type: ignore[type-arg]
        return slack.wait_for(
            lambda: next((m for m in slack.dms(user) if "charter.approve" in json.dumps(m)), None),
            f"the sign-off request to {user}",
        )

    for user, stamp in (("U0JULIEN1", "1700000100.1"), ("U0NATHAL1", "1700000200.1")):
        message = request_to(user)
        assert "votre validation" in json.dumps(message, ensure_ascii=False)
        labels = [b["text"]["text"] for b in buttons(message)]
        assert labels == ["Lire le projet", "Approuver", "Demander des modifications"]
        approve = next(
            b for b in buttons(message) if parse_action_id(b["action_id"]) == "charter.approve"
        )
        assert slack.click(user, approve, message["ts"], stamp).status_code == 200
        # A retry of the same click is recorded once.
        assert (
            slack.click(
                user, approve, message["ts"], stamp, **{"X-Slack-Retry-Num": "1"}
            ).status_code
            == 200
        )
    slack.wait_for(lambda: release(runtime, 1).status == PUBLISHED, "publication")  # type: ignore[union-attr]
    assert [s.platform for s in sign_offs(runtime)] == ["slack", "slack"]
    slack.wait_for(
        lambda: [
            m
            for m in slack.dms("U0NATHAL1")
            if "Toutes les validations" in json.dumps(m, ensure_ascii=False)
        ],
        "the confirmation",
    )
    slack.settled()


NATHALIE_TEAMS = {
    "id": "29:1nathalie",
    "name": "Nathalie Blanc",
    "aadObjectId": "a1b2c3d4-0000-4000-8000-00000000na01",
    "email": NATHALIE,
}


def test_a_signatory_asks_for_changes_then_approves_in_teams(
    sign_off_on: Path,
    teams: TeamsWorld,  # noqa: F811
) -> None:
    teams.connector.members[NATHALIE_TEAMS["id"]] = NATHALIE_TEAMS
    runtime = teams.runtime
    # Nathalie talks to the bot once (Teams needs it to write to her first); Julien is on the console.
    assert teams.post(activity(teams.connector, NATHALIE_TEAMS, text="aide")).status_code == 201
    assert run_scheduled(runtime, "charter_sign_off", datetime.now(UTC)) == 2
    card = teams.wait_for(
        lambda: next(
            (
                c
                for c in teams.connector.cards_to(personal(NATHALIE_TEAMS))
                if "charter.approve" in json.dumps(c)
            ),
            None,
        ),
        "the sign-off request",
    )
    check_card(card)
    actions = {
        a["title"]: a
        for e in card["body"]
        if e["type"] == "ActionSet"
        for a in e["actions"]
        if a["type"] == "Action.Submit"
    }
    # Request changes opens a card with a note; submitted, it is recorded with the note.
    changes = actions["Demander des modifications"]["data"]
    assert teams.post(activity(teams.connector, NATHALIE_TEAMS, value=changes)).status_code == 201
    form = teams.wait_for(
        lambda: next(
            (
                c
                for c in teams.connector.cards_to(personal(NATHALIE_TEAMS))
                if any(e["type"].startswith("Input.") for e in c["body"])
            ),
            None,
        ),
        "the note form",
    )
    check_card(form)
    submit = next(
        a
        for e in form["body"]
        if e["type"] == "ActionSet"
        for a in e["actions"]
        if a["type"] == "Action.Submit"
    )
    note = next(e["id"] for e in form["body"] if e["type"].startswith("Input."))
    value = {**submit["data"], note: "Ajoutez la base légale."}
    assert teams.post(activity(teams.connector, NATHALIE_TEAMS, value=value)).status_code == 201
    teams.wait_for(
        lambda: [
            c
            for c in teams.connector.cards_to(personal(NATHALIE_TEAMS))
            if "Vous avez demandé des modifications" in runs(c)
        ],
        "the acknowledgement",
    )
    [changed] = sign_offs(runtime)
    assert (changed.decision, changed.note, changed.platform) == (
        CHANGES_REQUESTED,
        "Ajoutez la base légale.",
        "teams",
    )
    # Julien approves on the console, then Nathalie approves on Teams: published.
    julien = ConsoleChat(runtime, JULIEN)
    teams.wait_for(lambda: julien.inbox() or julien.buttons, "Julien's request")
    julien.press(julien.number_of("charter.approve"))
    approve = actions["Approuver"]["data"]
    assert teams.post(activity(teams.connector, NATHALIE_TEAMS, value=approve)).status_code == 201
    teams.wait_for(lambda: release(runtime, 1).status == PUBLISHED, "publication")  # type: ignore[union-attr]
    published = teams.wait_for(
        lambda: [
            c
            for c in teams.connector.cards_to(personal(NATHALIE_TEAMS))
            if "Toutes les validations sont là" in runs(c)
        ],
        "the confirmation",
    )[0]
    check_card(published)
    teams.settled()
