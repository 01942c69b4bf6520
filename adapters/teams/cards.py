"""The core's neutral messages as Adaptive Cards 1.5, and card clicks back as core events.

Safety by construction: every piece of text (content, names, what a member
typed) goes into a ``TextRun`` of a ``RichTextBlock``, which Teams never reads
as Markdown, HTML or a mention; the core's light Markdown (``**bold**`` or
``*bold*``, ``_italic_``, ```code```, ``[label](https://…)``, bullet lines) is
turned into TextRun styles here, not passed through. Buttons are
``Action.Submit`` whose data says which core action to run::

    {"relais_action": "<action id>", "relais_value": "<value>"}

A single-choice question (a quiz) is an expanded ``Input.ChoiceSet`` whose
answer is submitted under ``relais_value_<n>``, so long answers wrap instead of
being cut off on a button. Teams refuses messages above about 28 KB: a card
that would be larger is split into several activities, and a single paragraph
too long for one card is cut with a note. Sizes are counted as the activity is
sent: botbuilder (msrest) serializes with ``json.dumps``, which escapes every
non-ASCII character (``é`` is 6 bytes, an emoji 12), so that is how they are
counted here. An empty line of text (a blank context line) is left out: an
empty ``RichTextBlock`` is not a valid element.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import Tr
from bot.messages import (
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

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
ACTION_KEY = "relais_action"
VALUE_KEY = "relais_value"
FORM_KEY = "relais_form"
# A form's inputs are named "relais_field_<name>"; its submit button carries FORM_KEY="form".
FIELD_PREFIX = "relais_field_"
FORM_MARK = "form"
MAX_INPUT_LENGTH = 8_000
# Teams refuses a message above ~28 KB (the whole activity, as sent). Cards are kept
# under this many bytes of JSON as sent, which leaves room for the activity around them.
CARD_BUDGET = 24_000
MAX_TEXT = 8_000  # one paragraph longer than this is cut (with a note)
MAX_BUTTON_LABEL = 120
SAFE_SCHEMES = ("https://", "http://", "mailto:")

_INLINE = re.compile(
    r"(?P<link>\[(?P<label>[^\]\n]+)\]\((?P<url>[^)\s]+)\))"
    r"|(?P<code>`(?P<code_text>[^`\n]+)`)"
    r"|(?P<bold2>\*\*(?P<bold2_text>(?!\s).+?(?<!\s))\*\*)"
    r"|(?P<bold1>(?<![\w*])\*(?P<bold1_text>(?![\s*]).*?(?<![\s*]))\*(?![\w*]))"
    r"|(?P<italic>(?<![\w_])_(?P<italic_text>(?![\s_]).*?(?<![\s_]))_(?![\w_]))"
    r"|(?P<url_bare>https?://[^\s<>()]+[^\s<>().,;:!?»\"'])"
)
_BULLET = re.compile(r"^\s*(?:[-*•])\s+")
# A Teams id Relais keeps for a person (Entra object id, or a Bot Framework "29:" id):
# only such an id is ever put in a mention.
_TEAMS_ID = re.compile(r"^(?:29:[A-Za-z0-9_\-]{1,200}|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27})$")
# What a mention's name may not carry: Teams reads a TextBlock as Markdown and <at>…</at> tags.
_UNSAFE_NAME = re.compile(r"[<>*_\[\]()`#~|\\]")
PLATFORM = "teams"
_HEADING = re.compile(r"^\s*#{1,6}\s+")


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def _safe_url(url: str) -> bool:
    return url.lower().startswith(SAFE_SCHEMES) and not any(c in url for c in "\n\r\t ")


def inline_runs(text: str, **base: Any) -> list[dict[str, Any]]:
    """One line of the core's light Markdown as TextRuns (never interpreted by Teams)."""
    runs: list[dict[str, Any]] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            runs.append(_run(text[position : match.start()], **base))
        if match.group("link"):
            label, url = match.group("label"), match.group("url")
            if _safe_url(url):
                runs.append(
                    _run(
                        label,
                        **base,
                        color="Accent",
                        underline=True,
                        selectAction={"type": "Action.OpenUrl", "url": url},
                    )
                )
            else:
                runs.append(_run(match.group(0), **base))
        elif match.group("code"):
            runs.append(_run(match.group("code_text"), **base, fontType="Monospace"))
        elif match.group("bold2") or match.group("bold1"):
            inner = match.group("bold2_text") or match.group("bold1_text")
            runs.append(_run(inner, **{**base, "weight": "Bolder"}))
        elif match.group("italic"):
            runs.append(_run(match.group("italic_text"), **base, italic=True))
        else:
            url = match.group("url_bare")
            runs.append(
                _run(
                    url,
                    **base,
                    color="Accent",
                    selectAction={"type": "Action.OpenUrl", "url": url},
                )
            )
        position = match.end()
    if position < len(text):
        runs.append(_run(text[position:], **base))
    return [run for run in runs if run["text"]]


def _rich(runs: list[dict[str, Any]], **props: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": runs, **props}


def sent_size(value: Any) -> int:
    """Bytes of ``value`` as botbuilder sends it: ``json.dumps`` escapes non-ASCII."""
    return len(json.dumps(value).encode("ascii"))


def _shown(elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The elements without empty text blocks (a RichTextBlock needs at least one run)."""
    return [e for e in elements if e.get("type") != "RichTextBlock" or e.get("inlines")]


def text_elements(text: str, **base: Any) -> list[dict[str, Any]]:
    """A block of light Markdown as RichTextBlocks: one per line, a gap between paragraphs."""
    elements: list[dict[str, Any]] = []
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    for index, paragraph in enumerate(paragraphs):
        for line_index, line in enumerate(paragraph.splitlines()):
            if not line.strip():
                continue
            style = dict(base)
            if _HEADING.match(line):
                line = _HEADING.sub("", line)
                style["weight"] = "Bolder"
            elif _BULLET.match(line):
                line = "• " + _BULLET.sub("", line)
            runs = inline_runs(line.rstrip(), **style)
            if not runs:
                continue
            spacing = "None" if line_index else ("Default" if index else "None")
            elements.append(_rich(runs, spacing=spacing))
    return elements


def plain_elements(text: str) -> list[dict[str, Any]]:
    """What a person wrote, one TextRun per line, as typed: no Markdown, no links."""
    return [
        _rich([_run(line.rstrip())], spacing="None")
        for line in text.strip().splitlines()
        if line.strip()
    ]


@dataclass
class _Unit:
    """Card elements that must stay together (a question and its answers)."""

    elements: list[dict[str, Any]] = field(default_factory=list)
    # The people mentioned in these elements (``msteams.entities`` of the card they go in).
    mentions: list[dict[str, Any]] = field(default_factory=list)

    def size(self) -> int:
        return sent_size(self.elements) + (sent_size(self.mentions) if self.mentions else 0)


def _submit(button: Button) -> dict[str, Any]:
    if button.url and _safe_url(button.url):
        return {"type": "Action.OpenUrl", "title": _label(button.label), "url": button.url}
    action: dict[str, Any] = {
        "type": "Action.Submit",
        "title": _label(button.label),
        "data": {ACTION_KEY: button.action_id, VALUE_KEY: button.value},
    }
    if button.style == "primary":
        action["style"] = "positive"
    elif button.style == "danger":
        action["style"] = "destructive"
    return action


def _label(text: str) -> str:
    return clip(" ".join(text.split()), MAX_BUTTON_LABEL)


def _choice(block: Choice, tr: Tr, index: int) -> list[dict[str, Any]]:
    elements = [_rich(inline_runs(block.question, weight="Bolder"), spacing="Medium")]
    action_ids = {option.action_id for option in block.options}
    if len(action_ids) == 1 and all(not option.url for option in block.options):
        # One action for every option (a quiz): radio buttons that wrap long answers.
        elements.append(
            {
                "type": "Input.ChoiceSet",
                "id": f"{VALUE_KEY}_{index}",  # unique in the card; the answer's value
                "style": "expanded",
                "wrap": True,
                "isRequired": True,
                "errorMessage": tr("Choose an answer."),
                "choices": [
                    {"title": _label(option.label), "value": option.value}
                    for option in block.options
                ],
            }
        )
        elements.append(
            {
                "type": "ActionSet",
                "actions": [
                    {
                        "type": "Action.Submit",
                        "title": tr("Answer"),
                        "style": "positive",
                        "data": {ACTION_KEY: action_ids.pop(), FORM_KEY: f"choice-{index}"},
                    }
                ],
            }
        )
    else:
        # Different actions: one button per line, so each label stays readable.
        elements.extend(
            {"type": "ActionSet", "actions": [_submit(option)]} for option in block.options
        )
    return elements


def _input(field: FormField, tr: Tr) -> dict[str, Any]:
    """One form field as an Adaptive Card input, labelled, validated by Teams where it can."""
    element: dict[str, Any]
    if field.kind in ("choice", "choices"):
        element = {
            "type": "Input.ChoiceSet",
            "choices": [{"title": _label(o.label), "value": o.value} for o in field.options],
            "style": "compact" if field.kind == "choice" else "expanded",
            "wrap": True,
        }
        if field.kind == "choices":
            element["isMultiSelect"] = True
    else:
        element = {
            "type": "Input.Text",
            "isMultiline": field.kind in ("multiline", "variants"),
            "maxLength": min(field.max_length or MAX_INPUT_LENGTH, MAX_INPUT_LENGTH),
        }
        if field.hint:
            element["placeholder"] = field.hint[:300]
    element["id"] = f"{FIELD_PREFIX}{field.name}"
    element["label"] = field.label
    if field.value:
        element["value"] = field.value
    if field.required:
        element["isRequired"] = True
        element["errorMessage"] = tr("This field is required.")
    return element


def _form(block: Form, tr: Tr) -> list[dict[str, Any]]:
    elements: list[dict[str, Any]] = [
        _rich(inline_runs(block.title, weight="Bolder", size="Medium"), spacing="Medium")
    ]
    for entry in block.fields:
        elements.append(_input(entry, tr))
        if entry.hint and entry.kind in ("choice", "choices", "variants"):
            elements.append(_rich([_run(entry.hint, isSubtle=True, size="Small")], spacing="None"))
    elements.append(
        {
            "type": "ActionSet",
            "actions": [
                {
                    "type": "Action.Submit",
                    "title": _label(block.submit_label),
                    "style": "positive",
                    "data": {
                        ACTION_KEY: block.action_id,
                        VALUE_KEY: block.value,
                        FORM_KEY: FORM_MARK,
                    },
                }
            ],
        }
    )
    return elements


def _person(person: Person, taken: dict[str, str]) -> _Unit:
    """One person: a Teams mention when their Teams id is known (a TextBlock holding only
    ``<at>name</at>``, the name stripped of Markdown), else their name and e-mail as text;
    the note below, as plain runs. ``taken``: mention texts already used, by the id they name."""
    teams_id = person.ids.get(PLATFORM, "")
    name = " ".join(_UNSAFE_NAME.sub("", person.name).split())
    tag = f"<at>{name}</at>"
    elements: list[dict[str, Any]] = []
    mentions: list[dict[str, Any]] = []
    if _TEAMS_ID.match(teams_id) and name and taken.get(tag, teams_id) == teams_id:
        taken[tag] = teams_id
        elements.append({"type": "TextBlock", "text": f"• {tag}", "wrap": True, "spacing": "Small"})
        mentions.append(
            {"type": "mention", "text": tag, "mentioned": {"id": teams_id, "name": name}}
        )
    else:
        who = f"{person.name} ({person.email})" if person.email else person.name
        elements.append(_rich([_run(f"• {who}")], spacing="Small"))
    if person.note:
        elements.append(_rich([_run(person.note, isSubtle=True)], spacing="None"))
    return _Unit(elements, mentions)


def _units(message: Message, tr: Tr) -> list[_Unit]:
    units: list[_Unit] = []
    separate = False
    taken: dict[str, str] = {}
    for index, block in enumerate(message.blocks):
        elements: list[dict[str, Any]] = []
        if isinstance(block, People):
            people = [_person(person, taken) for person in block.people]
            if block.title:
                heading = _rich(
                    inline_runs(block.title, weight="Bolder", size="Medium"), spacing="Medium"
                )
                people.insert(0, _Unit(_shown([heading])))
            people = [unit for unit in people if unit.elements]
            if people and separate:
                people[0].elements[0]["separator"] = True
                separate = False
            units.extend(people)
            continue
        if isinstance(block, Section):
            heading = (
                [_rich(inline_runs(block.title, weight="Bolder", size="Medium"), spacing="Medium")]
                if block.title
                else []
            )
            body = plain_elements(block.text) if block.plain else text_elements(block.text)
            # The title stays with the first line; a long section may then be
            # split between cards, line by line.
            first, rest = _shown(heading) + body[:1], body[1:]
            if first:
                if separate:
                    first[0]["separator"] = True
                    separate = False
                units.append(_Unit(first))
                units.extend(_Unit([element]) for element in rest)
            continue
        if isinstance(block, Choice):
            elements = _choice(block, tr, index)
        elif isinstance(block, Form):
            elements = _form(block, tr)
        elif isinstance(block, Actions):
            if block.buttons:
                elements = [
                    {"type": "ActionSet", "actions": [_submit(button) for button in block.buttons]}
                ]
        elif isinstance(block, Link):
            if _safe_url(block.url):
                elements = [
                    {
                        "type": "ActionSet",
                        "actions": [
                            {
                                "type": "Action.OpenUrl",
                                "title": _label(block.label),
                                "url": block.url,
                            }
                        ],
                    }
                ]
            else:
                elements = [_rich([_run(f"{block.label}: {block.url}")])]
        elif isinstance(block, Image):
            if block.url.lower().startswith("https://"):
                elements = [
                    {"type": "Image", "url": block.url, "altText": block.alt, "size": "Stretch"}
                ]
            else:  # Teams shows only https images: offer the link instead
                if _safe_url(block.url):
                    elements = [
                        {
                            "type": "ActionSet",
                            "actions": [
                                {
                                    "type": "Action.OpenUrl",
                                    "title": _label(block.alt),
                                    "url": block.url,
                                }
                            ],
                        }
                    ]
        elif isinstance(block, ContextLine):
            if block.text.strip():
                elements = [
                    _rich(inline_runs(block.text, isSubtle=True, size="Small"), spacing="Small")
                ]
        elif isinstance(block, Divider):
            separate = True
            continue
        elements = _shown(elements)
        if elements:
            if separate:
                elements[0]["separator"] = True
                separate = False
            units.append(_Unit(elements))
    return units


def _card(
    elements: list[dict[str, Any]], fallback: str, mentions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    msteams: dict[str, Any] = {"width": "Full"}
    if mentions:
        msteams["entities"] = mentions
    return {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "fallbackText": fallback,
        "msteams": msteams,
        "body": elements,
    }


def card_size(card: dict[str, Any]) -> int:
    return sent_size(card)


def _shorten(unit: _Unit, budget: int, tr: Tr) -> _Unit:
    """A unit too large for any card: cut its text and say so."""
    note = tr("(Shortened: this message was too long for Teams.)")
    elements = json.loads(json.dumps(unit.elements))
    for element in elements:
        for run in element.get("inlines", []):
            if len(run["text"]) > MAX_TEXT:
                run["text"] = run["text"][:MAX_TEXT] + "…"
    shortened = _Unit(elements, unit.mentions)
    while shortened.size() > budget - 400:
        runs = [run for element in shortened.elements for run in element.get("inlines", [])]
        longest = max(runs, key=lambda run: len(run["text"]), default=None)
        if longest is None or len(longest["text"]) < 20:
            return _Unit([_rich([_run(note, isSubtle=True)])])
        longest["text"] = longest["text"][: len(longest["text"]) // 2] + "…"
    shortened.elements.append(_rich([_run(note, isSubtle=True, size="Small")], spacing="Small"))
    return shortened


def render_cards(message: Message, lang: str, budget: int = CARD_BUDGET) -> list[dict[str, Any]]:
    """The message as one Adaptive Card, or several when it would be too large for Teams."""
    tr = Tr(lang)
    fallback = message.text[:500]
    empty = card_size(_card([], fallback))
    units = _units(message, tr)
    if not units:
        units = [_Unit(text_elements(message.text) or [_rich([_run(message.text or " ")])])]
    cards: list[list[dict[str, Any]]] = [[]]
    mentions: list[list[dict[str, Any]]] = [[]]
    used = empty
    for unit in units:
        size = unit.size() + 1
        if empty + size > budget:
            unit = _shorten(unit, budget - empty, tr)
            size = unit.size() + 1
        if cards[-1] and used + size > budget:
            cards.append([])
            mentions.append([])
            used = empty
            if unit.elements and unit.elements[0].get("separator"):
                unit.elements[0].pop("separator")
        cards[-1].extend(unit.elements)
        mentions[-1].extend(m for m in unit.mentions if m not in mentions[-1])
        used += size
    return [
        _card(elements, fallback, mentioned)
        for elements, mentioned in zip(cards, mentions, strict=True)
        if elements
    ]


def to_activity_payloads(message: Message, lang: str) -> list[dict[str, Any]]:
    """Bot Framework activities (as dicts) carrying the message's cards, in order."""
    summary = message.text[:250]
    budget = CARD_BUDGET - sent_size(summary)  # the summary travels in the same activity
    payloads = [
        {
            "type": "message",
            "summary": summary,
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}],
        }
        for card in render_cards(message, lang, budget)
    ]
    # A file (a chart) goes inline, as a data URL, in an activity of its own after the cards.
    for block in message.blocks:
        if isinstance(block, Attachment):
            payloads.append(
                {
                    "type": "message",
                    "summary": block.alt[:250],
                    "attachments": [
                        {
                            "contentType": block.media_type,
                            "contentUrl": f"data:{block.media_type};base64,{block.data}",
                            "name": block.name,
                        }
                    ],
                }
            )
    return payloads


@dataclass(frozen=True)
class Submitted:
    """What a card click asked for: a core action (a button, a quiz answer) and its value."""

    action_id: str
    value: str = ""
    fields: dict[str, str] | None = None  # a form's inputs by field name


def parse_submit(value: Any) -> Submitted | None:
    """An Action.Submit / Action.Execute payload back to the core's action and value."""
    if not isinstance(value, dict):
        return None
    data = value
    action = value.get("action")
    if isinstance(action, dict) and isinstance(action.get("data"), dict):  # Action.Execute
        data = action["data"]
    action_id = data.get(ACTION_KEY)
    if not isinstance(action_id, str) or not action_id:
        return None
    form = data.get(FORM_KEY)
    if form == FORM_MARK:
        raw_value = data.get(VALUE_KEY, "")
        fields = {
            key.removeprefix(FIELD_PREFIX): item if isinstance(item, str) else ""
            for key, item in data.items()
            if isinstance(key, str) and key.startswith(FIELD_PREFIX)
        }
        return Submitted(action_id, raw_value if isinstance(raw_value, str) else "", fields)
    chosen: str | None = None
    if isinstance(form, str) and form.startswith("choice-"):
        chosen = f"{VALUE_KEY}_{form.removeprefix('choice-')}"
    if chosen is not None and chosen in data:
        raw = data[chosen]  # the option picked in a single-choice question
    else:
        chosen, raw = None, data.get(VALUE_KEY, "")
    value_text = raw if isinstance(raw, str) else json.dumps(raw)
    return Submitted(action_id, value_text)
