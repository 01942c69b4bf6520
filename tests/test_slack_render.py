"""Block Kit rendering: any content and any user text stays valid and can never mention anyone."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.render import MAX_BLOCKS, parse_action_id, render
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

# Text that tries hard: Slack control sequences, mentions, disguised links, long strings, any Unicode.
nasty = st.one_of(
    st.text(max_size=400),
    st.sampled_from(
        [
            "<!channel>",
            "<!here>",
            "<@U123>",
            "<#C123>",
            "<https://evil.example|bank>",
            "&lt;!channel&gt;",
            "**bold** <b>",
            "a" * 5000,
            "<",
            ">",
            "&",
            "",
            " ",
            "<" * 3100,  # escaped, the 3,000-character cut lands inside an entity
            "x" + "&" * 1500,
            "**" + "<b>" * 900 + "**",
        ]
    ),
    st.lists(
        st.sampled_from(["<!everyone>", "<@W1>", "text", "&amp;", "|", "\n"]), max_size=30
    ).map("".join),
)
LONG_URL = "https://norvel.example/report?" + "q=a&b=c|" * 249  # 2,000 characters
urls = st.sampled_from(
    [
        "https://norvel.example/a?b=c&d=<e>",
        "https://x.example.com/p|q",
        "http://127.0.0.1/x>y",
        "https://norvel.example/" + "a" * 1977,  # 2,000 characters: kept whole
        LONG_URL,
        "https://norvel.example/" + "b" * 5000,  # too long for any link
        "",
    ]
)
buttons = st.builds(
    Button,
    label=nasty,
    action_id=st.sampled_from(["lesson.answer", "command", "report.ack"]),
    value=nasty,
    style=st.sampled_from(["default", "primary", "danger"]),
)
blocks = st.one_of(
    st.builds(Section, text=nasty, title=st.none() | nasty),
    st.builds(Actions, buttons=st.lists(buttons, max_size=30)),
    st.builds(Choice, question=nasty, options=st.lists(buttons, min_size=1, max_size=8)),
    st.builds(Link, url=urls, label=nasty),
    st.builds(Image, url=urls, alt=nasty),
    st.builds(ContextLine, text=nasty),
    st.just(Divider()),
)
messages = st.builds(Message, text=nasty, blocks=st.lists(blocks, max_size=80))

OUR_LINK = re.compile(r"<https?://[^|<>\s]*\|[^<>]*>")
ENTITY = re.compile(r"&(?:amp|lt|gt);")


def texts(node: Any) -> list[str]:
    """Every string Slack parses as mrkdwn (plain_text objects are shown literally)."""
    if isinstance(node, dict):
        if node.get("type") == "plain_text":
            return []
        found = []
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(texts(value))
        return found
    if isinstance(node, list):
        return [text for item in node for text in texts(item)]
    return []


def check_block(block: dict[str, Any]) -> None:
    kind = block["type"]
    assert kind in {"section", "actions", "context", "divider", "image"}
    if kind == "section":
        assert block["text"]["type"] == "mrkdwn" and 1 <= len(block["text"]["text"]) <= 3000
    elif kind == "actions":
        assert 1 <= len(block["elements"]) <= 25
        ids = [element["action_id"] for element in block["elements"]]
        assert len(ids) == len(set(ids))  # unique within the block
        for element in block["elements"]:
            assert element["type"] == "button" and 1 <= len(element["text"]["text"]) <= 75
            assert len(element["action_id"]) <= 255 and len(element.get("value", "")) <= 2000
    elif kind == "context":
        assert 1 <= len(block["elements"]) <= 10
        assert all(e["text"].strip() and len(e["text"]) <= 2000 for e in block["elements"])
    elif kind == "image":
        assert 1 <= len(block["image_url"]) <= 3000 and 1 <= len(block["alt_text"]) <= 2000
        assert block["image_url"].startswith(("https://", "http://"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_any_message_renders_to_valid_block_kit_without_mentions(message: Message) -> None:
    payloads = render(message)
    assert payloads
    for payload in payloads:
        assert 1 <= len(payload["text"]) <= 3000
        assert len(payload.get("blocks", [])) <= MAX_BLOCKS
        for block in payload.get("blocks", []):
            check_block(block)
        for text in texts(payload):
            # The only '<' left are links we wrote; their labels cannot hold control characters.
            without_links = OUR_LINK.sub("", text)
            assert "<" not in without_links and ">" not in without_links, text
            # Every '&' starts a whole entity: no cut ever falls inside one.
            assert "&" not in ENTITY.sub("", without_links), text[-20:]
            for link in OUR_LINK.findall(text):
                assert not link.startswith(("<!", "<@", "<#"))
                assert "…|" not in link  # a URL is never cut
    sections = [
        block["text"]["text"]
        for payload in payloads
        for block in payload.get("blocks", [])
        if block["type"] == "section"
    ]
    for block in message.blocks:
        if isinstance(block, Link) and block.url and len(block.url) <= 2000:
            # A link the programme keeps (reports: up to 2,000 characters) is written whole.
            safe = block.url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
            assert any(text.startswith(f"<{safe}|") for text in sections), block.url[:80]


@given(buttons)
def test_action_ids_round_trip(button: Button) -> None:
    payload = render(Message(text="x", blocks=[Actions(buttons=[button])]))
    element = payload[0]["blocks"][0]["elements"][0]
    assert parse_action_id(element["action_id"]) == button.action_id


def test_long_messages_are_split_not_refused() -> None:
    many = Message(text="t", blocks=[Section(text=f"part {n}") for n in range(120)])
    payloads = render(many)
    assert [len(p["blocks"]) for p in payloads] == [50, 50, 20]


def test_long_quiz_answers_become_a_numbered_list() -> None:
    long_option = "a very long answer " * 10
    message = Message(
        text="q",
        blocks=[
            Choice(
                question="Q?",
                options=[
                    Button(label=long_option, action_id="lesson.answer", value="l:0"),
                    Button(label="short", action_id="lesson.answer", value="l:1"),
                ],
            )
        ],
    )
    blocks = render(message)[0]["blocks"]
    assert "*1.* a very long answer" in blocks[1]["text"]["text"]
    assert [e["text"]["text"] for e in blocks[2]["elements"]] == ["1", "2"]


def test_a_long_text_is_split_between_entities_not_inside_one() -> None:
    text = "x" + "<" * 3100  # escaped: 'x' then '&lt;' 3,100 times; 3,000 falls inside one
    sections = render(Message(text="t", blocks=[Section(text=text)]))[0]["blocks"]
    joined = "".join(section["text"]["text"] for section in sections)
    assert joined == "x" + "&lt;" * 3100
    assert all(
        ENTITY.sub("", section["text"]["text"]) == "x"[: i == 0]
        for i, section in enumerate(sections)
    )


def test_a_link_too_long_to_write_whole_is_plain_text() -> None:
    url = "https://norvel.example/" + "b" * 5000
    blocks = render(Message(text="t", blocks=[Link(url=url, label="<see>")]))[0]["blocks"]
    joined = "".join(block["text"]["text"] for block in blocks)
    assert joined == f"&lt;see&gt;: {url}" and "<" not in joined


def test_empty_context_lines_and_images_are_left_out() -> None:
    message = Message(
        text="t",
        blocks=[
            ContextLine(text=""),
            ContextLine(text="  "),
            Image(url="", alt="x"),
            Section(text="ok"),
        ],
    )
    assert [block["type"] for block in render(message)[0]["blocks"]] == ["section"]
