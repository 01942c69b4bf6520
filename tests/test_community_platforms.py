"""Relays' community through the real Slack endpoint (signed requests, a modal, mentions)
and Teams (botbuilder against the stand-in connector: cards, mentions, card inputs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from adapters.console.chat import ConsoleChat
from adapters.slack.render import parse_action_id
from adapters.teams.cards import ACTION_KEY, FIELD_PREFIX, VALUE_KEY
from bot.clock import utcnow
from bot.community.models import APPROVED, COMING, NOT_COMING, Meeting, MeetingInvite, Practice
from bot.db import session_scope
from bot.delivery.models import Delivery
from bot.members import service as members
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from tests.conftest import run_scheduled
from tests.test_community import TIP, TIP_LINK
from tests.test_posts_platforms import open_and_submit
from tests.test_slack import SlackWorld, all_text, buttons, slack  # noqa: F401  (the fixture)
from tests.test_teams import (  # noqa: F401  (the fixtures)
    EMMA,
    KARIM,
    TeamsWorld,
    activity,
    connector,
    personal,
    runs,
    teams,
)
from tests.test_teams_cards import check_card, walk

THOMAS_TEAMS = "a1b2c3d4-0000-4000-8000-0000000071a1"  # Thomas's Entra object id


def next_week() -> str:
    """A date and time to come, whatever day the tests run."""
    day = (datetime.now(UTC) + timedelta(days=8)).date()
    return f"{day.isoformat()} 17:30 Europe/Paris"


def link(runtime, email: str, platform: str, user_id: str) -> None:  # type: ignore[no-untyped-def]
    """What an adapter learns when the member writes from that platform."""
    with session_scope(runtime.engine) as session:
        member = members.by_email(session, email)
        assert member is not None
        members.link_platform_id(session, member.id or 0, platform, user_id)


def events(runtime, kind: str) -> list[ParticipationEvent]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return list(
            session.exec(select(ParticipationEvent).where(ParticipationEvent.kind == kind)).all()
        )


# --- Slack ---------------------------------------------------------------------------------


def test_relays_in_slack_mention_whoever_slack_knows(slack: SlackWorld) -> None:  # noqa: F811
    # Thomas wrote to the bot once: Relais knows his Slack id.
    assert slack.command("U0THOMAS1", "help").status_code == 200
    assert slack.command("U0EMMA001", "relays").status_code == 200
    reply = slack.wait_for(
        lambda: [m for m in slack.dms("U0EMMA001") if "Who's who" in all_text(m)], "who's who"
    )[0]
    text = "\n".join(b["text"]["text"] for b in reply["blocks"] if b["type"] == "section")
    assert "*Relays of Sales — turn to them first*\n• <@U0THOMAS1>" in text
    # Amélie has never used Slack with Relais: her name and e-mail, escaped, no mention.
    assert "• Amélie Garnier (amelie.garnier@example.com)" in text
    assert "<@" not in text.replace("<@U0THOMAS1>", "")
    assert "Karim" not in text  # an ambassador does not see the other departments' relays
    slack.settled()


def test_a_good_practice_shared_in_a_slack_modal_approved_and_found_useful(
    slack: SlackWorld,  # noqa: F811
) -> None:
    slack.standin.users["U0HUGO001"] = "hugo.lambert@example.com"
    assert slack.command("U0HUGO001", "help").status_code == 200  # Hugo is on Slack too
    assert slack.command("U0KARIM01", "practice").status_code == 200
    # A link that is not one: the DM says what is wrong and offers the form again.
    open_and_submit(slack, "U0KARIM01", {"text": TIP, "link": "intranet/tips"})
    slack.wait_for(
        lambda: [m for m in slack.dms("U0KARIM01") if "pas un lien web" in all_text(m)],
        "the problem",
    )
    view = open_and_submit(slack, "U0KARIM01", {"text": TIP, "link": TIP_LINK})
    text_input = next(b for b in view["blocks"] if b["block_id"] == "text")
    assert text_input["element"]["initial_value"] == TIP
    slack.wait_for(
        lambda: [m for m in slack.dms("U0KARIM01") if "envoyée à 2 personnes" in all_text(m)],
        "the thanks",
    )
    asked = slack.wait_for(
        lambda: [m for m in slack.dms("U0HUGO001") if "shares a good practice" in all_text(m)],
        "the approval request",
    )[0]
    approve = next(
        b
        for b in buttons(asked)
        if parse_action_id(b["action_id"]) == "practice.approve" and b["value"].endswith(":relays")
    )
    assert slack.click("U0HUGO001", approve, asked["ts"], "1700000100.1").status_code == 200
    # The click is answered at once; the fan-out is left to the `practices` job.
    slack.wait_for(
        lambda: [
            m
            for m in slack.dms("U0HUGO001")
            if "Approved: the good practice is being sent to 6 relays." in all_text(m)
        ],
        "the coordinator's answer",
    )
    with Session(slack.runtime.engine) as session:
        assert not session.exec(select(Delivery).where(Delivery.kind == "practice")).all()
    assert run_scheduled(slack.runtime, "practices", utcnow()) == 6
    got = slack.wait_for(
        lambda: [
            m for m in slack.dms("U0THOMAS1") if "Bonne pratique de Service client" in all_text(m)
        ],
        "the practice at Thomas",
    )[0]
    assert TIP_LINK in all_text(got)
    useful = next(b for b in buttons(got) if parse_action_id(b["action_id"]) == "practice.useful")
    assert slack.click("U0THOMAS1", useful, got["ts"], "1700000200.1").status_code == 200
    assert slack.click("U0THOMAS1", useful, got["ts"], "1700000300.1").status_code == 200
    slack.wait_for(
        lambda: [m for m in slack.dms("U0THOMAS1") if "déjà dit" in all_text(m)], "the second"
    )
    with Session(slack.runtime.engine) as session:
        [practice] = session.exec(select(Practice)).all()
        assert practice.status == APPROVED and practice.audience == "relays"
    assert len(events(slack.runtime, "practice_useful")) == 1
    # Emma (an ambassador) got nothing.
    slack.settled()
    assert not [m for m in slack.dms("U0EMMA001") if "pratique" in all_text(m)]


def test_a_round_table_answered_with_slack_buttons(slack: SlackWorld) -> None:  # noqa: F811
    slack.standin.users["U0HUGO001"] = "hugo.lambert@example.com"
    typed = f"meeting {next_week()} https://meet.example.com/relays Round table"
    assert slack.command("U0HUGO001", typed).status_code == 200
    slack.wait_for(
        lambda: [m for m in slack.dms("U0HUGO001") if "Announced to 7 relays" in all_text(m)],
        "the announcement",
    )
    invited = slack.wait_for(
        lambda: [m for m in slack.dms("U0KARIM01") if "table ronde" in all_text(m)],
        "Karim's invitation (found in Slack by his e-mail)",
    )[0]
    assert "à 17:30 (Europe/Paris)" in all_text(invited)
    coming = next(b for b in buttons(invited) if parse_action_id(b["action_id"]) == "meeting.yes")
    assert slack.click("U0KARIM01", coming, invited["ts"], "1700000400.1").status_code == 200
    slack.wait_for(
        lambda: [m for m in slack.dms("U0KARIM01") if "vous viendrez" in all_text(m)], "noted"
    )
    with Session(slack.runtime.engine) as session:
        karim = session.exec(select(Member).where(Member.email == "karim.benali@example.com")).one()
        invite = session.exec(
            select(MeetingInvite).where(MeetingInvite.member_id == karim.id)
        ).one()
    assert invite.answer == COMING
    assert slack.command("U0HUGO001", "meeting status").status_code == 200
    status = slack.wait_for(
        lambda: [m for m in slack.dms("U0HUGO001") if "Coming (1)" in all_text(m)], "status"
    )[0]
    assert "Karim Benali" in all_text(status)
    slack.settled()


# --- Teams ---------------------------------------------------------------------------------


def test_relays_in_teams_mention_whoever_teams_knows(teams: TeamsWorld) -> None:  # noqa: F811
    link(teams.runtime, "thomas.girard@example.com", "teams", THOMAS_TEAMS)
    assert teams.post(activity(teams.connector, EMMA, text="relays")).status_code == 201
    card = teams.wait_for(
        lambda: [c for c in teams.connector.cards_to(personal(EMMA)) if "Who's who" in runs(c)],
        "who's who",
    )[0]
    check_card(card)
    entities = card["msteams"]["entities"]
    assert entities == [
        {
            "type": "mention",
            "text": "<at>Thomas Girard</at>",
            "mentioned": {"id": THOMAS_TEAMS, "name": "Thomas Girard"},
        }
    ]
    mentions = [n["text"] for n in walk(card) if n.get("type") == "TextBlock"]
    assert "• <at>Thomas Girard</at>" in mentions
    # Someone Teams does not know yet: name and e-mail as plain text, never a mention.
    assert "• Amélie Garnier (amelie.garnier@example.com)" in runs(card)
    teams.settled()


def test_a_practice_form_and_a_round_table_answer_in_teams(teams: TeamsWorld) -> None:  # noqa: F811
    assert teams.post(activity(teams.connector, KARIM, text="practice")).status_code == 201
    card = teams.wait_for(
        lambda: [
            c
            for c in teams.connector.cards_to(personal(KARIM))
            if any(e["type"].startswith("Input.") for e in c["body"])
        ],
        "the form",
    )[0]
    check_card(card)
    inputs = {e["id"]: e for e in card["body"] if e["type"].startswith("Input.")}
    assert inputs[f"{FIELD_PREFIX}text"]["isMultiline"] is True
    submit = next(
        a
        for e in card["body"]
        if e["type"] == "ActionSet"
        for a in e["actions"]
        if a["type"] == "Action.Submit"
    )
    value = {**submit["data"], f"{FIELD_PREFIX}text": TIP, f"{FIELD_PREFIX}link": TIP_LINK}
    assert teams.post(activity(teams.connector, KARIM, value=value)).status_code == 201
    teams.wait_for(
        lambda: [c for c in teams.connector.cards_to(personal(KARIM)) if "envoyée à 2" in runs(c)],
        "the thanks",
    )
    assert len(teams.rows(Practice)) == 1
    # Hugo announces a round table from the console; Karim answers on Teams.
    hugo = ConsoleChat(teams.runtime, "hugo.lambert@example.com")
    hugo.type(f"meeting {next_week()} https://meet.example.com/relays Round table")
    [meeting] = teams.rows(Meeting)
    invited = teams.wait_for(
        lambda: [c for c in teams.connector.cards_to(personal(KARIM)) if "table ronde" in runs(c)],
        "the invitation",
    )[0]
    check_card(invited)
    assert "17:30 (Europe/Paris)" in runs(invited)
    answers = {
        a["data"][ACTION_KEY]: a["data"]
        for n in walk(invited)
        if n.get("type") == "ActionSet"
        for a in n["actions"]
        if a["type"] == "Action.Submit"
    }
    assert answers["meeting.no"][VALUE_KEY] == str(meeting.id)
    assert (
        teams.post(activity(teams.connector, KARIM, value=answers["meeting.no"])).status_code == 201
    )
    teams.wait_for(
        lambda: [
            c for c in teams.connector.cards_to(personal(KARIM)) if "pourrez pas venir" in runs(c)
        ],
        "noted",
    )
    karim = teams.member("karim.benali@example.com")
    [invite] = teams.rows(MeetingInvite, MeetingInvite.member_id == karim.id)
    assert invite.answer == NOT_COMING
    assert [e.platform for e in events(teams.runtime, "meeting_answered")] == ["teams"]
    teams.settled()
    assert json.dumps(invited)  # the card as sent is plain JSON


def test_the_slack_app_home_shows_who_to_turn_to_first(slack: SlackWorld) -> None:  # noqa: F811
    assert slack.command("U0THOMAS1", "help").status_code == 200  # Slack knows Thomas now
    slack.event(
        {"type": "app_home_opened", "user": "U0EMMA001", "tab": "home", "channel": "D0EMMA001"},
        "Ev0200",
    )
    view = slack.wait_for(lambda: slack.standin.called("views.publish"), "views.publish")[0]
    sections = [b["text"]["text"] for b in view["view"]["blocks"] if b["type"] == "section"]
    assert "*Your contacts in the programme*\n• <@U0THOMAS1>" in sections


def test_the_teams_welcome_card_shows_who_to_turn_to_first(teams: TeamsWorld) -> None:  # noqa: F811
    link(teams.runtime, "thomas.girard@example.com", "teams", THOMAS_TEAMS)
    installed = activity(teams.connector, EMMA, kind="installationUpdate", action="add")
    assert teams.post(installed).status_code == 201
    welcome = teams.wait_for(lambda: teams.connector.cards_to(personal(EMMA)), "welcome card")[0]
    check_card(welcome)
    assert "Hello Emma!" in runs(welcome) and "Your contacts in the programme" in runs(welcome)
    assert welcome["msteams"]["entities"][0]["mentioned"]["id"] == THOMAS_TEAMS
    teams.settled()


# --- people as each platform renders them ------------------------------------------------------


def test_a_person_is_never_a_way_to_inject_a_mention_or_markup() -> None:
    from adapters.slack.render import render
    from adapters.teams.cards import render_cards
    from bot.messages import Message, People, Person

    people = People(
        title="Relays",
        people=[
            Person(name="<!channel> *Eve*", email="eve@example.com", ids={"slack": "U0EVE0001"}),
            Person(name="Mallory", email="m@example.com", ids={"slack": "U0M|<!here>"}),
            Person(
                name="Trent</at> <at>Boss",
                email="t@example.com",
                note="**legal**",
                ids={"teams": "29:1trent"},
            ),
            Person(name="Oscar", email="o@example.com", ids={"teams": "not an id"}),
        ],
    )
    message = Message(text="Relays", blocks=[people])
    [slack_message] = render(message)
    text = slack_message["blocks"][0]["text"]["text"]
    assert "• <@U0EVE0001>" in text  # a well-formed Slack id: a mention, not the name
    assert "• Mallory (m@example.com)" in text and "<!here>" not in text
    assert "&lt;!channel&gt;" not in text  # Eve is shown by her id only
    [card] = render_cards(message, "en")
    check_card(card)
    blocks = [n["text"] for n in walk(card) if n.get("type") == "TextBlock"]
    assert blocks == ["• <at>Trent/at atBoss</at>"]  # the name cannot close or open a tag
    assert card["msteams"]["entities"] == [
        {
            "type": "mention",
            "text": "<at>Trent/at atBoss</at>",
            "mentioned": {"id": "29:1trent", "name": "Trent/at atBoss"},
        }
    ]
    assert "• Oscar (o@example.com)" in runs(card)  # an id Teams would not take: plain text
    assert "**legal**" in runs(card)  # a note is never read as Markdown
