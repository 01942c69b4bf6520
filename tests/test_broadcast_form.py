"""`broadcast` opens a form: the post, the audience within the member's scope, and when.

Through the console's prompts, a Slack modal (signed block_actions and view_submission to
`POST /slack/events`, the real slack_sdk against the stand-in) and a Teams card (the
Action.Submit botbuilder receives). A mistake shows the form again with what was typed.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlmodel import Session, select

from adapters.console.chat import ConsoleChat
from adapters.console.render import FORM_FILL
from adapters.slack.render import FORM_CALLBACK, FORM_OPEN, parse_action_id
from adapters.teams.cards import FIELD_PREFIX
from bot.campaigns.handlers import FORM_ACTION
from bot.campaigns.models import LOCAL, NOW, Campaign
from bot.delivery.models import Delivery
from tests.test_campaigns_slack import HUGO, USERS, any_time, world
from tests.test_campaigns_slack import slack_env as slack_env
from tests.test_slack import SlackWorld, buttons
from tests.test_teams import (  # noqa: F401  (the fixtures)
    KARIM,
    TeamsWorld,
    activity,
    connector,
    personal,
    runs,
    teams,
)
from tests.test_teams_cards import check_card

POST = "winter-energy-guide"


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def campaigns(runtime) -> list[Campaign]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return list(session.exec(select(Campaign)).all())


def fill(chat: ConsoleChat, answers: dict[str, str]) -> str:
    """Open the latest form and answer its prompts as a person types them (numbers for choices;
    Enter keeps what a field holds)."""
    shown = chat.press(chat.number_of(FORM_FILL))
    assert chat.filling is not None, texts(shown)
    out: list = []
    for _ in range(50):
        if chat.filling is None:
            return texts(out)
        entry = chat.filling.current
        assert entry is not None
        if entry.name not in answers:
            out = chat.type("")
            continue
        value = answers[entry.name]
        if entry.kind in ("choice", "choices"):
            values = [o.value for o in entry.options]
            typed = ",".join(str(values.index(v) + 1) for v in value.split(",") if v)
            out = chat.type(typed or "-")
        elif entry.kind in ("multiline", "variants"):
            for line in (value or "-").splitlines():
                chat.type(line)
            out = chat.type("")
        else:
            out = chat.type(value or "-")
    raise AssertionError("the form never ended")


# --- the console ----------------------------------------------------------------------------


def test_broadcast_opens_a_form_at_the_console_mistakes_show_it_again(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    hugo: ConsoleChat = chat(HUGO_EMAIL)
    opened = texts(hugo.type("broadcast"))
    assert "Broadcast a post" in opened
    form = hugo.forms[hugo.number_of(FORM_FILL)]
    assert form.action_id == FORM_ACTION
    fields = {entry.name: entry for entry in form.fields}
    assert POST in {option.value for option in fields["post"].options}
    offered = {option.value for option in fields["to"].options}
    # A coordinator broadcasts to the whole programme: everyone, every department and unit.
    assert {"all", "department:sales", "department:customer-service"} <= offered
    assert "business_unit:residential" in offered
    assert {o.value for o in fields["roles"].options} >= {"role:relay", "role:ambassador"}
    assert {o.value for o in fields["when"].options} == {"now", "at", "local"}
    # A time of day in the quiet hours: refused, the form comes again with what he chose.
    refused = fill(
        hugo,
        {
            "post": POST,
            "to": "department:sales,department:hr",
            "languages": "language:en",
            "when": "local",
            "moment": "23:30",
        },
    )
    assert "The campaign was not started" in refused and "quiet hours" in refused
    assert campaigns(runtime) == []
    again = {e.name: e for e in hugo.forms[hugo.number_of(FORM_FILL)].fields}
    assert again["post"].value == POST and again["to"].value == "department:sales,department:hr"
    assert again["moment"].value == "23:30" and again["when"].value == "local"
    # "At a date" without the date: said so.
    missing = fill(hugo, {"when": "at", "moment": ""})
    assert "Give the date and time" in missing
    started = fill(hugo, {"when": "local", "moment": "10:00"})
    assert "Campaign 1" in started
    (campaign,) = campaigns(runtime)
    assert campaign.post_id == POST and campaign.timing == LOCAL
    assert campaign.local_time == "10:00"
    assert campaign.audience == ["department:sales", "department:hr", "language:en"]
    # Typed arguments keep working.
    assert "Campaign 2" in texts(hugo.type(f"broadcast {POST} department:legal"))
    assert campaigns(runtime)[1].timing == NOW


def test_a_relay_is_offered_their_own_department_and_a_forged_audience_is_refused(  # type: ignore[no-untyped-def]
    runtime, chat
) -> None:
    karim: ConsoleChat = chat(KARIM["email"])  # hub and spoke: a relay, inside their department
    karim.type("broadcast")
    fields = {e.name: e for e in karim.forms[karim.number_of(FORM_FILL)].fields}
    assert [o.value for o in fields["to"].options] == ["department:customer-service"]
    # Someone who edits what the form sends (a Teams card can be replayed) gets the scope rule.
    from bot.events import ActionEvent

    shown = karim._handle(
        ActionEvent(
            karim.who,
            "forged-1",
            action_id=FORM_ACTION,
            value="",
            fields={"post": POST, "to": "all", "when": "now"},
        )
    )
    assert "que dans votre périmètre" in texts(shown)
    started = fill(karim, {"to": "department:customer-service", "roles": "role:ambassador"})
    assert "Campagne 1" in started
    assert campaigns(runtime)[0].audience == ["department:customer-service", "role:ambassador"]
    # An ambassador may not broadcast at all, form or not.
    emma: ConsoleChat = chat("emma.wilson@example.com")
    assert "you may not broadcast posts" in texts(emma.type("broadcast"))
    assert "you may not broadcast posts" in texts(
        emma._handle(
            ActionEvent(
                emma.who,
                "forged-2",
                action_id=FORM_ACTION,
                fields={"post": POST, "to": "all", "when": "now"},
            )
        )
    )
    assert len(campaigns(runtime)) == 1


HUGO_EMAIL = "hugo.lambert@example.com"


# --- Slack: a modal --------------------------------------------------------------------------


def modal_state(view: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    """What Slack puts in ``view.state.values`` when the modal's inputs hold ``answers``."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        name = block["block_id"]
        element = block["element"]
        answer = answers.get(name, "")
        kind = element["type"]
        if kind == "static_select":
            chosen = next((o for o in element["options"] if o["value"] == answer), None)
            state = {"type": kind, "selected_option": chosen}
        elif kind in ("checkboxes", "multi_static_select"):
            wanted = answer.split(",")
            state = {
                "type": kind,
                "selected_options": [o for o in element["options"] if o["value"] in wanted],
            }
        else:
            state = {"type": kind, "value": answer or None}
        values[name] = {element["action_id"]: state}
    return {"values": values}


def open_modal(slack: SlackWorld, user: str, seen: int) -> dict[str, Any]:
    """Click the form button of the user's latest message that has one; the view Slack opened."""
    message = slack.wait_for(
        lambda: next(
            (
                m
                for m in reversed(slack.dms(user)[seen:])
                if any(parse_action_id(b["action_id"]) == FORM_OPEN for b in buttons(m))
            ),
            None,
        ),
        "a message with a form",
    )
    opener = next(b for b in buttons(message) if parse_action_id(b["action_id"]) == FORM_OPEN)
    opened = len(slack.standin.called("views.open"))
    assert slack.click(user, opener, message["ts"], f"{message['ts']}1").status_code == 200
    view = slack.wait_for(lambda: slack.standin.called("views.open")[opened:], "views.open")[0][
        "view"
    ]
    assert view["callback_id"] == FORM_CALLBACK
    return view


def submit_modal(slack: SlackWorld, user: str, view: dict[str, Any], answers: dict[str, str]):  # type: ignore[no-untyped-def]
    return slack.interact(
        {
            "type": "view_submission",
            "user": {"id": user},
            "team": {"id": "T0001"},
            "view": {
                "type": "modal",
                "id": f"V{uuid.uuid4().hex[:8]}",
                "hash": uuid.uuid4().hex[:8],
                "callback_id": view["callback_id"],
                "private_metadata": view["private_metadata"],
                "state": modal_state(view, answers),
            },
        }
    )


def test_broadcast_in_a_slack_modal(
    runtime_factory, programme_dir, database_url, slack_env
) -> None:  # type: ignore[no-untyped-def]
    any_time(programme_dir)
    standin, _ = slack_env
    with world(runtime_factory, database_url, standin) as slack:
        assert slack.command(HUGO, "broadcast").status_code == 200
        view = open_modal(slack, HUGO, 0)
        inputs = {block["block_id"]: block["element"] for block in view["blocks"]}
        assert inputs["post"]["type"] == "static_select"
        assert inputs["to"]["type"] == "checkboxes"  # up to ten audiences: boxes to tick
        assert inputs["when"]["initial_option"]["value"] == "now"
        seen = len(slack.dms(HUGO))
        # An unreadable date: the DM says so and offers the form again, holding his choices.
        wrong = {"post": POST, "to": "department:sales", "when": "at", "moment": "next tuesday"}
        assert submit_modal(slack, HUGO, view, wrong).status_code == 200
        view = open_modal(slack, HUGO, seen)
        problem = next(
            m for m in slack.dms(HUGO)[seen:] if "not started" in json.dumps(m["blocks"])
        )
        assert "is not a date and time" in json.dumps(problem["blocks"])
        inputs = {block["block_id"]: block["element"] for block in view["blocks"]}
        assert [o["value"] for o in inputs["to"]["initial_options"]] == ["department:sales"]
        assert inputs["moment"]["initial_value"] == "next tuesday"
        assert campaigns(slack.runtime) == []
        good = {**wrong, "when": "now", "moment": "", "to": "department:sales,department:hr"}
        assert submit_modal(slack, HUGO, view, good).status_code == 200
        slack.settled()
        (campaign,) = campaigns(slack.runtime)
        assert campaign.audience == ["department:sales", "department:hr"]
        assert "Campaign 1" in json.dumps(slack.dms(HUGO)[-1]["blocks"])
        sales = {
            uid
            for uid, email in USERS.items()
            if email in ("thomas.girard@example.com", "emma.wilson@example.com")
        }
        for user in sales:
            assert [m for m in slack.dms(user) if "metadata" in m], user
        with Session(slack.runtime.engine) as session:
            sent = session.exec(select(Delivery).where(Delivery.campaign == str(campaign.id))).all()
        assert len(sent) == 5


# --- Teams: a card with inputs ------------------------------------------------------------------


def test_broadcast_with_a_teams_card(teams: TeamsWorld) -> None:  # noqa: F811
    assert teams.post(activity(teams.connector, KARIM, text="broadcast")).status_code == 201
    card = teams.wait_for(
        lambda: [
            c
            for c in teams.connector.cards_to(personal(KARIM))
            if any(e.get("id") == f"{FIELD_PREFIX}post" for e in c["body"])
        ],
        "the form",
    )[0]
    check_card(card)
    inputs = {e["id"]: e for e in card["body"] if e["type"].startswith("Input.")}
    assert inputs[f"{FIELD_PREFIX}to"]["isMultiSelect"] is True
    assert [c["value"] for c in inputs[f"{FIELD_PREFIX}to"]["choices"]] == [
        "department:customer-service"
    ]
    submit = next(
        a
        for e in card["body"]
        if e["type"] == "ActionSet"
        for a in e["actions"]
        if a["type"] == "Action.Submit"
    )
    # Teams posts the button's data with every input's value; multi-select values joined by commas.
    value = {
        **submit["data"],
        f"{FIELD_PREFIX}post": POST,
        f"{FIELD_PREFIX}to": "department:customer-service",
        f"{FIELD_PREFIX}languages": "language:fr,language:en",
        f"{FIELD_PREFIX}when": "local",
        f"{FIELD_PREFIX}moment": "25:00",
    }
    assert teams.post(activity(teams.connector, KARIM, value=value)).status_code == 201
    problems = teams.wait_for(
        lambda: [
            c
            for c in teams.connector.cards_to(personal(KARIM))
            if "pas été lancée" in runs(c) and "25:00" in runs(c)
        ],
        "the problems",
    )[0]
    check_card(problems)
    again = {e["id"]: e for e in problems["body"] if e["type"].startswith("Input.")}
    assert again[f"{FIELD_PREFIX}languages"]["value"] == "language:fr,language:en"
    assert again[f"{FIELD_PREFIX}moment"]["value"] == "25:00"
    assert campaigns(teams.runtime) == []
    value[f"{FIELD_PREFIX}moment"] = "10:00"
    assert teams.post(activity(teams.connector, KARIM, value=value)).status_code == 201
    teams.wait_for(lambda: campaigns(teams.runtime), "the campaign")
    (campaign,) = campaigns(teams.runtime)
    assert campaign.timing == LOCAL and campaign.local_time == "10:00"
    assert campaign.audience == [
        "department:customer-service",
        "language:fr",
        "language:en",
    ]
    teams.wait_for(
        lambda: [c for c in teams.connector.cards_to(personal(KARIM)) if "Campagne 1" in runs(c)],
        "the progress card",
    )
