"""Proposing and approving posts through the real Slack endpoint (a modal) and Teams (a card)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from adapters.console.chat import ConsoleChat
from adapters.slack.render import FORM_CALLBACK, FORM_OPEN, parse_action_id
from adapters.teams.cards import FIELD_PREFIX
from bot.db import session_scope
from bot.posts.models import APPROVED, SUBMITTED, Post
from tests.test_posts_approval import GOOD
from tests.test_slack import SlackWorld, buttons, slack  # noqa: F401  (the fixture)
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


def chat_posts(runtime) -> list[Post]:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        return list(session.exec(select(Post).where(Post.source == "chat")).all())


# --- Slack: the form is a modal --------------------------------------------------------


def modal_state(view: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    """What Slack puts in ``view.state.values`` when the modal's fields hold ``answers``."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        name = block["block_id"]
        element = block["element"]
        answer = answers.get(name)
        if element["type"] == "static_select":
            chosen = next((o for o in element["options"] if o["value"] == answer), None)
            state = {"type": "static_select", "selected_option": chosen}
        else:
            state = {"type": element["type"], "value": answer}
        values[name] = {element["action_id"]: state}
    return {"values": values}


def open_and_submit(slack: SlackWorld, user: str, answers: dict[str, str]) -> dict[str, Any]:  # noqa: F811
    """Click the latest form button in the user's DM, then submit the modal Slack opened."""
    message = slack.wait_for(
        lambda: next(
            (
                m
                for m in reversed(slack.dms(user))
                if any(parse_action_id(b["action_id"]) == FORM_OPEN for b in buttons(m))
            ),
            None,
        ),
        "a message with a form",
    )
    opener = next(b for b in buttons(message) if parse_action_id(b["action_id"]) == FORM_OPEN)
    opened = len(slack.standin.called("views.open"))
    assert slack.click(user, opener, message["ts"], f"{message['ts']}1").status_code == 200
    call = slack.wait_for(lambda: slack.standin.called("views.open")[opened:], "views.open")[0]
    view = call["view"]
    assert view["type"] == "modal" and view["callback_id"] == FORM_CALLBACK
    assert len(view["title"]["text"]) <= 24
    payload = {
        "type": "view_submission",
        "user": {"id": user},
        "team": {"id": "T0001"},
        "view": {
            "type": "modal",
            "id": f"V{opened}",
            "hash": f"h{opened}",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": modal_state(view, answers),
        },
    }
    response = slack.interact(payload)
    assert response.status_code == 200
    return view


def test_a_relay_proposes_in_a_slack_modal_and_a_coordinator_approves_in_slack(
    slack: SlackWorld,  # noqa: F811
) -> None:
    slack.standin.users["U0HUGO001"] = "hugo.lambert@example.com"
    assert slack.command("U0KARIM01", "submit").status_code == 200
    # A mistake first: the modal closes, the DM says what is wrong and offers the form again.
    view = open_and_submit(slack, "U0KARIM01", {**GOOD, "link": "nope", "language": "fr"})
    names = [block["block_id"] for block in view["blocks"]]
    assert names[:3] == ["title", "link", "language"]
    wrong = slack.wait_for(
        lambda: [
            m
            for m in slack.dms("U0KARIM01")
            if "pas été envoyée" in json.dumps(m, ensure_ascii=False)
        ],
        "the problems",
    )[0]
    assert "«\u202fnope\u202f» n’est pas un lien web" in json.dumps(wrong, ensure_ascii=False)
    assert chat_posts(slack.runtime) == []
    # The form again holds what Karim typed.
    view = open_and_submit(slack, "U0KARIM01", GOOD)
    link = next(b for b in view["blocks"] if b["block_id"] == "link")
    assert link["element"]["initial_value"] == "nope"
    slack.wait_for(
        lambda: [
            m
            for m in slack.dms("U0KARIM01")
            if "a été envoyée à 2" in json.dumps(m, ensure_ascii=False)
        ],
        "the thanks",
    )
    [post] = chat_posts(slack.runtime)
    assert post.status == SUBMITTED
    # Hugo gets it in Slack and approves with the button; Karim is told in French.
    asked = slack.wait_for(
        lambda: [m for m in slack.dms("U0HUGO001") if "proposes a post" in json.dumps(m)],
        "the approval request",
    )[0]
    approve = next(b for b in buttons(asked) if parse_action_id(b["action_id"]) == "post.approve")
    assert slack.click("U0HUGO001", approve, asked["ts"], "1700000100.1").status_code == 200
    slack.wait_for(
        lambda: [
            m
            for m in slack.dms("U0KARIM01")
            if "est approuvée" in json.dumps(m, ensure_ascii=False)
        ],
        "the outcome",
    )
    assert chat_posts(slack.runtime)[0].status == APPROVED
    slack.settled()


def test_a_forged_form_button_opens_nothing(slack: SlackWorld) -> None:  # noqa: F811
    slack.standin.users["U0HUGO001"] = "hugo.lambert@example.com"
    assert slack.command("U0KARIM01", "submit").status_code == 200
    message = slack.wait_for(lambda: slack.dms("U0KARIM01"), "the form")[0]
    opener = next(b for b in buttons(message) if parse_action_id(b["action_id"]) == FORM_OPEN)
    # Hugo clicks a copy of Karim's button: the form is Karim's, nothing opens.
    assert slack.click("U0HUGO001", opener, message["ts"], "1700000200.1").status_code == 200
    for value in ("x:1", "99999999999999999999:0", "1:999"):
        forged = {**opener, "value": value}
        assert slack.click("U0KARIM01", forged, message["ts"], "1700000300.1").status_code == 200
    slack.settled()
    assert slack.standin.called("views.open") == []
    # A view submission without a view is refused before Bolt.
    for view in ("x", {"state": {}}, {"type": "modal", "state": []}):
        response = slack.interact(
            {"type": "view_submission", "user": {"id": "U0KARIM01"}, "view": view}
        )
        assert response.status_code == 400


# --- Teams: the form is an Adaptive Card with inputs ------------------------------------------


def test_a_relay_proposes_with_a_teams_card_and_is_told_the_outcome(teams: TeamsWorld) -> None:  # noqa: F811
    assert teams.post(activity(teams.connector, KARIM, text="submit")).status_code == 201
    card = teams.wait_for(lambda: teams.connector.cards_to(personal(KARIM)), "the form")[0]
    check_card(card)
    inputs = {e["id"]: e for e in card["body"] if e["type"].startswith("Input.")}
    assert inputs[f"{FIELD_PREFIX}title"]["isRequired"] is True
    assert inputs[f"{FIELD_PREFIX}linkedin"]["isMultiline"] is True
    assert [c["value"] for c in inputs[f"{FIELD_PREFIX}language"]["choices"]] == ["fr", "en"]
    submit = next(
        a
        for e in card["body"]
        if e["type"] == "ActionSet"
        for a in e["actions"]
        if a["type"] == "Action.Submit"
    )
    # Teams posts the button's data merged with every input's value (and an unknown key).
    value = {
        **submit["data"],
        **{f"{FIELD_PREFIX}{name}": text for name, text in GOOD.items()},
        f"{FIELD_PREFIX}x": "Norvel opens a training centre",  # says nothing of the author's job
        "injected": "ignored",
    }
    assert teams.post(activity(teams.connector, KARIM, value=value)).status_code == 201
    problems = teams.wait_for(
        lambda: [
            c for c in teams.connector.cards_to(personal(KARIM)) if "pas été envoyée" in runs(c)
        ],
        "the problems",
    )[0]
    check_card(problems)
    assert "X, version 1" in runs(problems)
    again = {e["id"]: e for e in problems["body"] if e["type"].startswith("Input.")}
    assert again[f"{FIELD_PREFIX}x"]["value"] == "Norvel opens a training centre"
    value[f"{FIELD_PREFIX}x"] = GOOD["x"]
    assert teams.post(activity(teams.connector, KARIM, value=value)).status_code == 201
    teams.wait_for(lambda: len(chat_posts(teams.runtime)) == 1, "the post")
    [post] = chat_posts(teams.runtime)
    assert post.status == SUBMITTED and post.department == "customer-service"
    # Hugo (on the console here) asks for changes; Karim reads the note on Teams.
    hugo = ConsoleChat(teams.runtime, "hugo.lambert@example.com")
    # The server's own worker may be sending it to the console at this moment: wait for it.
    teams.wait_for(
        lambda: [s for s in hugo.inbox() if "proposes a post" in s.rendered.text],
        "the approval request on Hugo's console",
    )
    hugo.press(hugo.number_of("post.changes", post.id))
    from tests.test_posts_approval import fill

    fill(hugo, {"note": "Mention the opening date, please."})
    told = teams.wait_for(
        lambda: [
            c for c in teams.connector.cards_to(personal(KARIM)) if "modifications" in runs(c)
        ],
        "the outcome",
    )[0]
    check_card(told)
    assert "Mention the opening date, please." in runs(told)
