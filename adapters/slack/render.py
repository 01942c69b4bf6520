"""Block Kit rendering of the core's neutral messages.

Every piece of text from content or from people is escaped (``&``, ``<``,
``>``), so nobody can inject ``<!channel>``, a mention or a disguised link; the
only ``<…>`` sequences in the output are the links this module writes itself.
Slack's limits are kept: 50 blocks per message (longer messages are split),
3,000 characters per section text, 75 per button label, 150 per header,
3,000 per image or button URL. Text is cut or split only between escaped
entities (never ``&l`` | ``t;``), empty context lines are left out, and a
link is written whole or, when it cannot fit, shown as escaped plain text:
never a truncated URL.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.messages import (
    MAX_URL,
    Actions,
    Attachment,
    Button,
    Choice,
    ContextLine,
    Divider,
    Form,
    FormField,
    Image,
    Link,
    Message,
    People,
    Person,
    Section,
    clip,
)

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_BUTTON_LABEL = 75
MAX_BUTTONS = 25
MAX_FALLBACK = 3000
MAX_VALUE = 2000
MAX_ACTION_ID = 255
MAX_CONTEXT = 2000
MAX_BLOCK_URL = 3000  # image_url, a button's url
MAX_LINK_LABEL = 300
ACTION_SEPARATOR = "#"  # Slack wants unique action ids in a block: "lesson.answer#2"
# A form is a modal: the message carries a button that opens it (a modal needs the
# trigger id of a click). Its value says where the form is: "<delivery id>:<block index>".
FORM_OPEN = "relais.form"
FORM_CALLBACK = "relais_form"
MAX_MODAL_TITLE = 24
MAX_INPUT_LABEL = 2000
MAX_PLACEHOLDER = 150
MAX_OPTION_TEXT = 75
MAX_OPTIONS = 100
MAX_CHECKBOXES = 10  # more options than this: a multi-select menu
MAX_INPUT_LENGTH = 3000
MAX_METADATA = 3000

_BOLD = re.compile(r"\*\*(.+?)\*\*")
# A Slack user id as Slack writes it (U… or W…): only such an id is ever put in a mention.
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
PLATFORM = "slack"


def escape(text: str) -> str:
    """Slack's three control characters, escaped as its documentation asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> str:
    """Content Markdown to Slack mrkdwn (**bold** -> *bold*), escaped."""
    return _BOLD.sub(r"*\1*", escape(text))


def _entity_safe(text: str, end: int) -> int:
    """``end``, or the start of the escaped entity (``&amp;``, ``&lt;``, ``&gt;``) it would cut."""
    amp = text.rfind("&", max(0, end - 4), end)
    if amp != -1 and ";" not in text[amp:end]:
        return amp
    return end


def clip_escaped(text: str, limit: int) -> str:
    """Escaped text within ``limit`` characters, cut between entities."""
    if len(text) <= limit:
        return text
    return text[: _entity_safe(text, limit - 1)] + "…"


def _chunks(text: str, limit: int) -> list[str]:
    """Escaped text in pieces of at most ``limit`` characters, never inside an entity."""
    chunks, start = [], 0
    while start < len(text):
        end = start + limit
        if end < len(text):
            end = _entity_safe(text, end)
        chunks.append(text[start:end])
        start = end
    return chunks


def _link(url: str, label: str) -> str | None:
    """Slack's ``<url|label>``, or None when the URL is too long to be written whole."""
    # A URL cannot carry '|' or '>' inside Slack's link syntax.
    safe_url = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    if not safe_url or len(safe_url) > MAX_URL + MAX_URL // 4 or any(c.isspace() for c in url):
        return None
    # The whole link stays in one section (3,000 characters).
    room = MAX_SECTION - len(safe_url) - 3
    text = clip_escaped(escape(clip(label, MAX_LINK_LABEL)).replace("|", "¦"), room)
    return f"<{safe_url}|{text}>"


def _sections(text: str) -> list[dict[str, Any]]:
    """One or more section blocks, each within Slack's 3,000-character limit."""
    chunks = _chunks(text, MAX_SECTION) or [" "]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in chunks]


def _plain_sections(text: str, titled: bool = False) -> list[dict[str, Any]]:
    """What a person wrote, as plain_text sections: Slack formats and links nothing in them.

    Blank text under a title adds nothing; without a title a blank section stands in,
    since Slack refuses a message without blocks' text."""
    chunks = [text[i : i + MAX_SECTION] for i in range(0, len(text), MAX_SECTION)]
    return [
        {"type": "section", "text": {"type": "plain_text", "text": chunk, "emoji": False}}
        for chunk in chunks
        if chunk.strip()
    ] or ([] if titled else _sections(" "))


def action_id(button: Button, index: int) -> str:
    return clip(f"{button.action_id}{ACTION_SEPARATOR}{index}", MAX_ACTION_ID)


def parse_action_id(value: str) -> str:
    """The core's action id from a rendered one ("lesson.answer#2" -> "lesson.answer")."""
    return value.rsplit(ACTION_SEPARATOR, 1)[0]


def _button(button: Button, index: int, label: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {
            "type": "plain_text",
            "text": clip(label or button.label, MAX_BUTTON_LABEL) or "·",
            "emoji": True,
        },
        "action_id": action_id(button, index),
    }
    if button.url:
        element["url"] = button.url  # only URLs Slack accepts reach here (see _actions)
    else:
        element["value"] = clip(button.value, MAX_VALUE)
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    return element


def _fits(button: Button) -> bool:
    return not button.url or 0 < len(button.url) <= MAX_BLOCK_URL


def _actions(buttons: list[Button], labels: list[str] | None = None) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if labels is None:
        buttons = [button for button in buttons if _fits(button)]  # a URL Slack would refuse
    for start in range(0, len(buttons), MAX_BUTTONS):
        elements = [
            _button(button, start + offset, labels[start + offset] if labels else None)
            for offset, button in enumerate(buttons[start : start + MAX_BUTTONS])
        ]
        blocks.append({"type": "actions", "elements": elements})
    return blocks


def blocks_of(message: Message, delivery_id: int | None = None) -> list[dict[str, Any]]:
    """All blocks of a message, before splitting into Slack messages."""
    blocks: list[dict[str, Any]] = []
    for index, block in enumerate(message.blocks):
        if isinstance(block, Form):
            # A message not sent through the outbox has no stored form to open.
            if delivery_id is not None:
                blocks += _sections(f"*{escape(block.title)}*")
                opener = Button(
                    label=block.title, action_id=FORM_OPEN, value=f"{delivery_id}:{index}"
                )
                blocks += _actions([opener.model_copy(update={"style": "primary"})])
        elif isinstance(block, Section) and block.plain:
            if block.title:
                blocks += _sections(f"*{escape(block.title)}*")
            blocks += _plain_sections(block.text, titled=bool(block.title))
        elif isinstance(block, Section):
            title = f"*{escape(block.title)}*\n" if block.title else ""
            blocks += _sections(title + mrkdwn(block.text))
        elif isinstance(block, Choice):
            blocks += _sections(f"*{escape(block.question)}*")
            long = any(len(option.label) > MAX_BUTTON_LABEL for option in block.options)
            if long:
                # Long answers read better as a numbered list with short buttons.
                listing = "\n".join(
                    f"*{n}.* {escape(o.label)}" for n, o in enumerate(block.options, 1)
                )
                blocks += _sections(listing)
                blocks += _actions(
                    block.options, [str(n) for n in range(1, len(block.options) + 1)]
                )
            else:
                blocks += _actions(block.options)
        elif isinstance(block, Actions):
            if block.buttons:
                blocks += _actions(block.buttons)
        elif isinstance(block, Link):
            link = _link(block.url, block.label)
            blocks += _sections(link or escape(f"{block.label}: {block.url}"))
        elif isinstance(block, Image):
            if 0 < len(block.url) <= MAX_BLOCK_URL and block.url.startswith(
                ("https://", "http://")
            ):
                blocks.append(
                    {
                        "type": "image",
                        "image_url": block.url,
                        "alt_text": clip(block.alt.strip() or " ", 2000),
                    }
                )
            elif block.url.strip():
                blocks += _sections(escape(f"{block.alt}: {block.url}"))
        elif isinstance(block, Attachment):
            pass  # uploaded with files_upload_v2 after the message (SlackPlatform.send)
        elif isinstance(block, ContextLine):
            if block.text.strip():
                text = clip_escaped(mrkdwn(block.text), MAX_CONTEXT)
                blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
        elif isinstance(block, Divider):
            blocks.append({"type": "divider"})
        elif isinstance(block, People):
            title = f"*{escape(block.title)}*\n" if block.title else ""
            lines = "\n".join(_person(person) for person in block.people)
            blocks += _sections(title + lines)
    return blocks


def _person(person: Person) -> str:
    """One line: a mention Slack renders as the person's name (a click opens their profile),
    or their escaped name and e-mail when their Slack id is not known."""
    user_id = person.ids.get(PLATFORM, "")
    if _USER_ID.match(user_id):
        who = f"<@{user_id}>"
    else:
        who = escape(f"{person.name} ({person.email})" if person.email else person.name)
    return f"• {who}" + (f" — {mrkdwn(person.note)}" if person.note else "")


def render(message: Message, delivery_id: int | None = None) -> list[dict[str, Any]]:
    """The message as one or more chat.postMessage payloads (text + at most 50 blocks each).

    ``delivery_id``: the outbox row it is sent for, so a form's button can find the form.
    """
    blocks = blocks_of(message, delivery_id)
    fallback = clip_escaped(escape(message.text), MAX_FALLBACK) or " "
    if not blocks:
        return [{"text": fallback}]
    return [
        {"text": fallback, "blocks": blocks[start : start + MAX_BLOCKS]}
        for start in range(0, len(blocks), MAX_BLOCKS)
    ]


def home_view(message: Message) -> dict[str, Any]:
    """An App Home view (a Home tab allows up to 100 blocks)."""
    return {"type": "home", "blocks": blocks_of(message)[:100]}


def _option(value: str, label: str) -> dict[str, Any]:
    return {
        "text": {"type": "plain_text", "text": clip(label, MAX_OPTION_TEXT) or "·"},
        "value": clip(value, 150),
    }


def _input(field: FormField) -> dict[str, Any]:
    """One form field as an input block (block id and action id are the field's name)."""
    element: dict[str, Any]
    if field.kind in ("choice", "choices"):
        options = [_option(o.value, o.label) for o in field.options[:MAX_OPTIONS]]
        chosen = [o for o in options if o["value"] in field.value.split(",")]
        if field.kind == "choice":
            element = {"type": "static_select", "options": options}
            if chosen:
                element["initial_option"] = chosen[0]
        else:
            many = len(options) > MAX_CHECKBOXES
            element = {"type": "multi_static_select" if many else "checkboxes", "options": options}
            if chosen:
                element["initial_options"] = chosen
    else:
        element = {
            "type": "plain_text_input",
            "multiline": field.kind in ("multiline", "variants"),
            "max_length": min(field.max_length or MAX_INPUT_LENGTH, MAX_INPUT_LENGTH),
        }
        if field.value:
            element["initial_value"] = clip(field.value, element["max_length"])
    element["action_id"] = field.name
    block: dict[str, Any] = {
        "type": "input",
        "block_id": field.name,
        "label": {"type": "plain_text", "text": clip(field.label, MAX_INPUT_LABEL) or "·"},
        "element": element,
        "optional": not field.required,
    }
    if field.hint:
        block["hint"] = {"type": "plain_text", "text": clip(field.hint, MAX_INPUT_LABEL)}
    return block


def modal_view(form: Form, close_label: str) -> dict[str, Any]:
    """The form as a modal (views.open); its submission names the core action and value."""
    metadata = json.dumps({"action": form.action_id, "value": form.value})
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "private_metadata": metadata[:MAX_METADATA],
        "title": {"type": "plain_text", "text": clip(form.title, MAX_MODAL_TITLE)},
        "submit": {"type": "plain_text", "text": clip(form.submit_label, MAX_MODAL_TITLE)},
        "close": {"type": "plain_text", "text": clip(close_label, MAX_MODAL_TITLE)},
        "blocks": [_input(field) for field in form.fields][:MAX_BLOCKS],
    }


def form_values(view: dict[str, Any]) -> tuple[str, str, dict[str, str]] | None:
    """(action id, value, fields) of a submitted modal, or None if it is not Relais's form."""
    try:
        metadata = json.loads(view.get("private_metadata") or "")
    except ValueError:
        return None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("action"), str):
        return None
    state = (view.get("state") or {}).get("values") or {}
    fields: dict[str, str] = {}
    if not isinstance(state, dict):
        return None
    for block_id, actions in state.items():
        if not isinstance(actions, dict):
            continue
        for name, element in actions.items():
            if not isinstance(element, dict) or name != block_id:
                continue
            kind = element.get("type")
            if kind == "static_select":
                option = element.get("selected_option") or {}
                fields[name] = str(option.get("value", "")) if isinstance(option, dict) else ""
            elif kind in ("checkboxes", "multi_static_select"):
                chosen = element.get("selected_options") or []
                fields[name] = ",".join(
                    str(o.get("value", "")) for o in chosen if isinstance(o, dict)
                )
            else:
                value = element.get("value")
                fields[name] = value if isinstance(value, str) else ""
    value = metadata.get("value")
    return metadata["action"], value if isinstance(value, str) else "", fields
