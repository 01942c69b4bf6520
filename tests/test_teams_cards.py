"""Adaptive Cards from the core's messages (safe text, size limits) and Teams' limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import jsonschema
from botbuilder.schema import Activity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.teams.activities import message_text
from adapters.teams.cards import (
    CARD_BUDGET,
    parse_submit,
    render_cards,
    to_activity_payloads,
)
from adapters.teams.limits import (
    CONVERSATION_LIMITS,
    Pacer,
    classify,
    parse_retry_after,
)
from bot.messages import (
    Actions,
    Button,
    Choice,
    ContextLine,
    Divider,
    Image,
    Link,
    Message,
    Section,
)

TEAMS_LIMIT = 28 * 1024
# Room left in an activity for what botbuilder adds (conversation, from, recipient, serviceUrl).
ENVELOPE = 4 * 1024
# Microsoft's published Adaptive Cards 1.5 schema (see tests/schemas/README.md).
CARD_SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "adaptive-card-1.5.json").read_text(encoding="utf-8")
)
VALIDATOR = jsonschema.Draft6Validator(
    CARD_SCHEMA, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER
)


def as_sent(payload: dict[str, Any]) -> bytes:
    """The activity's bytes as botbuilder sends them (msrest: ``json.dumps``, non-ASCII escaped)."""
    return json.dumps(Activity().deserialize(payload).serialize()).encode("utf-8")


def check_card(card: dict[str, Any]) -> None:
    """Valid against the published schema (``msteams`` is Teams' documented extension)."""
    errors = list(VALIDATOR.iter_errors({k: v for k, v in card.items() if k != "msteams"}))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:3]]
    for node in walk(card):
        if node.get("type") == "RichTextBlock":
            assert node["inlines"], "an empty RichTextBlock"
        if node.get("type") == "TextRun":
            assert node["text"]


def walk(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += walk(value)
    elif isinstance(node, list):
        for value in node:
            found += walk(value)
    return found


def lines(card: dict[str, Any]) -> list[str]:
    return [
        "".join(run["text"] for run in element["inlines"])
        for element in card["body"]
        if element["type"] == "RichTextBlock"
    ]


def test_text_is_never_read_as_markup_or_a_mention() -> None:
    hostile = (
        "Hi <at>Everyone</at> ${secret} <b>loud</b> [click](javascript:alert(1)) "
        "**really** _quite_ `report` https://norvel.example/a. customer_complaint"
    )
    message = Message(
        text="<at>All</at>",
        blocks=[Section(title="<at>Boss</at> & co", text=hostile), ContextLine(text="*note*")],
    )
    (card,) = render_cards(message, "en")
    types = {node.get("type") for node in walk(card)}
    assert "TextBlock" not in types  # TextBlocks read Markdown; RichTextBlock/TextRun do not
    assert "entities" not in json.dumps(card)  # no mention is ever created
    assert lines(card) == [
        "<at>Boss</at> & co",
        "Hi <at>Everyone</at> ${secret} <b>loud</b> [click](javascript:alert(1)) really quite "
        "report https://norvel.example/a. customer_complaint",
        "note",
    ]
    runs = {
        run["text"]: run for node in walk(card) if node.get("type") == "TextRun" for run in [node]
    }
    assert runs["really"]["weight"] == "Bolder" and runs["quite"]["italic"] is True
    assert runs["report"]["fontType"] == "Monospace"
    assert runs["https://norvel.example/a"]["selectAction"] == {
        "type": "Action.OpenUrl",
        "url": "https://norvel.example/a",
    }
    actions = [node for node in walk(card) if str(node.get("type", "")).startswith("Action.")]
    assert [a["url"] for a in actions] == ["https://norvel.example/a"]  # never javascript:


def test_buttons_links_images_and_quiz() -> None:
    message = Message(
        text="Lesson",
        blocks=[
            Section(title="Title", text="- one\n- two\n\n## Part\nBody"),
            Image(url="https://norvel.example/i.png", alt="An image"),
            Image(url="http://insecure.example/i.png", alt="Plain http"),
            Link(url="https://norvel.example/more", label="Learn more"),
            Divider(),
            Choice(
                question="Which?",
                options=[
                    Button(label="A long answer " * 3, action_id="lesson.answer", value="l:0"),
                    Button(label="B", action_id="lesson.answer", value="l:1"),
                ],
            ),
            Actions(
                buttons=[
                    Button(label="Go", action_id="command", value="lesson", style="primary"),
                    Button(label="Stop", action_id="command", value="optout", style="danger"),
                    Button(label="Site", action_id="x", url="https://norvel.example/"),
                ]
            ),
        ],
    )
    (card,) = render_cards(message, "fr")
    assert card["version"] == "1.5" and card["fallbackText"] == "Lesson"
    assert lines(card)[:5] == ["Title", "• one", "• two", "Part", "Body"]
    images = [e for e in card["body"] if e["type"] == "Image"]
    assert [i["url"] for i in images] == ["https://norvel.example/i.png"]  # Teams needs https
    choice = next(e for e in card["body"] if e["type"] == "Input.ChoiceSet")
    assert choice["style"] == "expanded" and choice["wrap"] is True and choice["isRequired"]
    assert [c["value"] for c in choice["choices"]] == ["l:0", "l:1"]
    assert choice["errorMessage"] == "Choisissez une réponse."
    question = next(e for e in card["body"] if e.get("inlines", [{}])[0].get("text") == "Which?")
    assert question["separator"] is True  # the divider
    actions = [a for e in card["body"] if e["type"] == "ActionSet" for a in e["actions"]]
    by_title = {a["title"]: a for a in actions}
    assert by_title["Plain http"]["type"] == "Action.OpenUrl"
    assert by_title["Learn more"]["url"] == "https://norvel.example/more"
    assert by_title["Go"] == {
        "type": "Action.Submit",
        "title": "Go",
        "data": {"relais_action": "command", "relais_value": "lesson"},
        "style": "positive",
    }
    assert by_title["Stop"]["style"] == "destructive"
    assert by_title["Site"] == {
        "type": "Action.OpenUrl",
        "title": "Site",
        "url": "https://norvel.example/",
    }
    answer = by_title["Répondre"]
    # What Teams posts back: the button's data merged with the chosen input.
    submitted = parse_submit({**answer["data"], choice["id"]: "l:1"})
    assert submitted is not None and (submitted.action_id, submitted.value) == (
        "lesson.answer",
        "l:1",
    )


def test_a_large_message_is_split_under_the_teams_limit_in_order() -> None:
    paragraphs = [f"Paragraph {index}: " + "é" * 400 for index in range(200)]
    message = Message(
        text="Big", blocks=[Section(title=f"S{i}", text=p) for i, p in enumerate(paragraphs)]
    )
    payloads = to_activity_payloads(message, "en")
    assert len(payloads) > 2
    for payload in payloads:
        size = len(json.dumps(payload, ensure_ascii=False).encode("utf-8"))
        assert size < TEAMS_LIMIT
    shown = [line for p in payloads for line in lines(p["attachments"][0]["content"])]
    assert shown == [item for i, p in enumerate(paragraphs) for item in (f"S{i}", p)]


def test_one_huge_paragraph_is_cut_with_a_note() -> None:
    (card,) = render_cards(Message(text="x", blocks=[Section(text="word " * 30_000)]), "en")
    assert len(json.dumps(card, ensure_ascii=False).encode("utf-8")) <= CARD_BUDGET
    assert lines(card)[-1] == "(Shortened: this message was too long for Teams.)"
    assert lines(card)[0].startswith("word word") and lines(card)[0].endswith("…")


def test_submissions_back_to_core_actions() -> None:
    execute = {
        "action": {
            "type": "Action.Execute",
            "data": {"relais_action": "report.ack", "relais_value": "12"},
        }
    }
    assert parse_submit(execute) == parse_submit(
        {"relais_action": "report.ack", "relais_value": "12"}
    )
    assert parse_submit({"relais_action": "report.ack", "relais_value": 12}).value == "12"
    # Inputs Relais did not put on the card are not passed on: the core makes no forms.
    extra = parse_submit({"relais_action": "report.ack", "relais_form": "f", "url": "https://x"})
    assert extra == parse_submit({"relais_action": "report.ack"})
    for foreign in (None, "text", {"verb": "x"}, {"relais_action": ""}, [1]):
        assert parse_submit(foreign) is None


def test_typed_text_loses_the_bot_mention_only() -> None:
    activity = Activity().deserialize(
        {
            "type": "message",
            "text": "<at>Relais</at> report https://x.example/p <at>Léa Petit</at> a&amp;b",
            "recipient": {"id": "28:bot"},
            "entities": [
                {"type": "mention", "mentioned": {"id": "28:bot"}, "text": "<at>Relais</at>"}
            ],
        }
    )
    assert message_text(activity) == "report https://x.example/p Léa Petit a&amp;b"
    activity.text_format = "xml"
    activity.text = "<p><at>Relais</at> lesson&nbsp;now</p>"
    assert message_text(activity) == "lesson now"


def test_retry_after_and_refusals() -> None:
    assert parse_retry_after("3") == 3.0 and parse_retry_after(None) is None
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (parse_retry_after(soon) or 0) <= 31
    assert parse_retry_after("soon") is None
    throttled = classify(429, "3")
    assert throttled.status == "retry" and 3.0 <= (throttled.retry_after or 0) <= 3.5
    for status in (412, 502, 504):
        busy = classify(status, None)
        assert busy.status == "retry" and busy.retry_after is None  # the worker's backoff
    assert classify(403, None).status == "failed" and "removed the app" in classify(404, None).error
    assert classify(401, None).status == "retry"  # wrong credentials: an operator fixes them
    assert classify(400, None).status == "failed"


def test_pacer_keeps_each_conversation_under_its_limits() -> None:
    now = [1000.0]
    pacer = Pacer(clock=lambda: now[0])
    keys = {"conversation:a": CONVERSATION_LIMITS}
    waits = [pacer.reserve(keys) for _ in range(9)]
    assert waits[:7] == [0.0] * 7  # 7 a second
    assert waits[7] == 1.0  # the 8th waits for the 1-second window
    assert waits[8] == 2.0  # and 8 in 2 seconds
    assert pacer.delay({"conversation:b": CONVERSATION_LIMITS}) == 0.0  # others are free
    pacer.pause("conversation:b", 5.0)
    assert pacer.delay({"conversation:b": CONVERSATION_LIMITS}) == 5.0
    now[0] += 3600
    assert pacer.delay(keys) == 0.0


async def test_an_unreachable_connector_means_retry_later() -> None:
    import socket

    from adapters.teams.auth import TeamsCredentials
    from adapters.teams.platform import TeamsPlatform
    from bot.messages import simple
    from bot.platforms import Attempt, Recipient

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    platform = TeamsPlatform(None, TeamsCredentials(app_id=None, insecure=True))  # type: ignore[arg-type]
    reference = {
        "serviceUrl": f"http://127.0.0.1:{port}/",
        "channelId": "msteams",
        "conversation": {"id": "a:x", "conversationType": "personal"},
        "user": {"id": "29:x"},
        "bot": {"id": "28:b"},
    }
    target = Recipient(1, "x@example.com", "X", "en", reference=reference)
    result = await platform.send(target, simple("Hello"), Attempt(1))
    # An unreachable platform is an outage: the row waits without using an attempt.
    assert result.status == "outage" and "cannot reach Teams" in (result.error or "")
    assert result.error == "cannot reach Teams: ClientRequestError"


# --- any message: valid cards, activities within Teams' limit as sent ---------------

text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "😀" * 9000,  # 4 bytes in UTF-8, 12 as sent
            "é" * 20000,
            "**" + "🎉 " * 3000 + "**",
            "<at>All</at> [x](javascript:alert(1)) ${x}",
            "line\n\n" * 400,
        ]
    ),
)
button = st.builds(
    Button,
    label=text,
    action_id=st.sampled_from(["lesson.answer", "command", "report.ack"]),
    value=st.text(max_size=40),
    style=st.sampled_from(["default", "primary", "danger"]),
)
links = st.sampled_from(["https://norvel.example/a?b=c", "http://x.example/p", "ftp://x", ""])
block = st.one_of(
    st.builds(Section, text=text, title=st.none() | text),
    st.builds(Actions, buttons=st.lists(button, max_size=6)),
    st.builds(Choice, question=text, options=st.lists(button, min_size=1, max_size=6)),
    st.builds(Link, url=links, label=text),
    st.builds(Image, url=links, alt=text),
    st.builds(ContextLine, text=text),
    st.just(Divider()),
)
message = st.builds(Message, text=text, blocks=st.lists(block, max_size=12))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message)
def test_any_message_gives_valid_cards_within_the_limit_as_sent(message: Message) -> None:
    payloads = to_activity_payloads(message, "en")
    assert payloads
    for payload in payloads:
        assert len(as_sent(payload)) <= TEAMS_LIMIT - ENVELOPE
        check_card(payload["attachments"][0]["content"])


def test_a_report_written_in_emoji_is_split_by_its_size_as_sent() -> None:
    emoji = "😀" * 20_000
    payloads = to_activity_payloads(Message(text=emoji, blocks=[Section(text=emoji)]), "en")
    for payload in payloads:
        assert len(as_sent(payload)) <= TEAMS_LIMIT - ENVELOPE


def test_an_empty_context_line_is_left_out() -> None:
    (card,) = render_cards(
        Message(text="x", blocks=[Section(text="a"), ContextLine(text=""), ContextLine(text=" ")]),
        "en",
    )
    assert lines(card) == ["a"]
    check_card(card)
