"""The outbound message: what the core says, before any platform renders it.

A message is a list of blocks (sections, buttons, a single-choice question,
links, images, a file such as a chart, context lines). Adapters render it natively (Block Kit,
Adaptive Cards, plain text) and may degrade what their platform lacks. It is
plain data, stored as JSON in the outbox.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ButtonStyle = Literal["default", "primary", "danger"]
# The longest link Relais keeps (a reported mention, a post's page, an image): every
# adapter renders a link this long whole, never cut.
MAX_URL = 2000
# The largest attachment a message carries (base64 characters), stored in the outbox with it.
MAX_ATTACHMENT = 400_000


class _Block(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Section(_Block):
    """A titled or untitled paragraph; ``text`` is light Markdown (bold, italics, lists).

    ``plain``: the text is what a person wrote (a report, a note) and is shown as
    typed: no Markdown, no link hidden behind a label, nothing a platform interprets.
    """

    type: Literal["section"] = "section"
    text: str
    title: str | None = None
    plain: bool = False


class Button(_Block):
    """A button; a click comes back as an ActionEvent with the same action id and value."""

    type: Literal["button"] = "button"
    label: str
    action_id: str
    value: str = ""
    style: ButtonStyle = "default"
    url: str | None = None  # a link button opens this instead of calling back


class Actions(_Block):
    """A row of buttons."""

    type: Literal["actions"] = "actions"
    buttons: list[Button]


class Choice(_Block):
    """A single-choice question: one button per option, rendered under the question."""

    type: Literal["choice"] = "choice"
    question: str
    options: list[Button]


class Link(_Block):
    type: Literal["link"] = "link"
    url: str
    label: str


class Image(_Block):
    type: Literal["image"] = "image"
    url: str
    alt: str


class Attachment(_Block):
    """A file sent with the message (a chart, a data export): Slack uploads it, Teams attaches it inline,
    the console saves it and shows where. ``data`` is the file, base64-encoded."""

    type: Literal["attachment"] = "attachment"
    name: str  # the file's name, e.g. digest-2026-W47.png
    media_type: Literal["image/png", "application/json"] = "image/png"
    data: str = Field(max_length=MAX_ATTACHMENT)
    alt: str  # what the file shows, for screen readers and platforms that cannot show it

    def content(self) -> bytes:
        return base64.b64decode(self.data)

    @classmethod
    def png(cls, name: str, content: bytes, alt: str) -> Attachment:
        return cls(name=name, data=base64.b64encode(content).decode("ascii"), alt=alt)

    @classmethod
    def json_file(cls, name: str, content: bytes, alt: str) -> Attachment:
        """A JSON document (a member's data export)."""
        return cls(
            name=name,
            media_type="application/json",
            data=base64.b64encode(content).decode("ascii"),
            alt=alt,
        )


class ContextLine(_Block):
    """A small, secondary line (dates, hints, who approved a post)."""

    type: Literal["context"] = "context"
    text: str


class Divider(_Block):
    type: Literal["divider"] = "divider"


class Person(_Block):
    """Someone to reach: their name, e-mail, what they are (``note``) and their id on each
    platform, so an adapter that can mention people (Slack, Teams) does; others show the name."""

    name: str
    email: str = ""
    note: str = ""
    ids: dict[str, str] = Field(default_factory=dict)  # platform -> that platform's user id


class People(_Block):
    """A titled list of people (a department's relays, the central team)."""

    type: Literal["people"] = "people"
    title: str | None = None
    people: list[Person]


FieldKind = Literal["text", "multiline", "variants", "choice", "choices"]
# In a "variants" field, several texts are separated by a line holding only this.
VARIANT_SEPARATOR = "---"


class Option(_Block):
    value: str
    label: str


class FormField(_Block):
    """One input of a form. ``value`` is what it starts with (a resubmitted form keeps
    what was typed); for ``choices`` it is the chosen values joined by commas.

    Kinds: ``text`` (one line), ``multiline``, ``variants`` (several texts, one per
    paragraph separated by a ``---`` line), ``choice`` (one option), ``choices`` (any).
    """

    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = False
    options: list[Option] = Field(default_factory=list)
    value: str = ""
    hint: str | None = None
    max_length: int | None = None


class Form(_Block):
    """A form the member fills in: a Slack modal, an Adaptive Card's inputs, console prompts.

    Submitted, it comes back as an ActionEvent with ``action_id``, ``value`` and
    ``fields`` (every field's text by name; ``choices`` joined by commas).
    """

    type: Literal["form"] = "form"
    title: str
    action_id: str
    value: str = ""
    submit_label: str
    fields: list[FormField]


Block = Annotated[
    Section | Actions | Choice | Link | Image | Attachment | ContextLine | Divider | Form | People,
    Field(discriminator="type"),
]


class Message(BaseModel):
    """A whole message; ``text`` is the plain fallback (notifications, screen readers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    blocks: list[Block] = Field(default_factory=list)

    def to_payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=False)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Message:
        return cls.model_validate(payload)


COMMAND_ACTION = "command"  # a button that runs a command, as if the member had typed it


def command_button(label: str, command: str, style: ButtonStyle = "default") -> Button:
    """A shortcut button for a command (“Next lesson” runs `lesson`)."""
    return Button(label=label, action_id=COMMAND_ACTION, value=command, style=style)


def split_variants(text: str) -> list[str]:
    """The texts of a "variants" field: paragraphs between ``---`` lines, trimmed, none empty."""
    chunks: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.strip() == VARIANT_SEPARATOR:
            chunks.append([])
        else:
            chunks[-1].append(line)
    return [joined for chunk in chunks if (joined := "\n".join(chunk).strip())]


def join_variants(texts: list[str]) -> str:
    return f"\n{VARIANT_SEPARATOR}\n".join(texts)


def clip(text: str, limit: int, *, trim: bool = False) -> str:
    """``text`` within ``limit`` characters: cut, ending with "…", when longer (``trim``: with
    no space left before the "…")."""
    if len(text) <= limit:
        return text
    kept = text[: limit - 1]
    return (kept.rstrip() if trim else kept) + "…"


def simple(text: str) -> Message:
    """A one-paragraph message."""
    return Message(text=text, blocks=[Section(text=text)])
