"""Plain-text rendering of the core's messages, for a terminal."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bot.messages import (
    Actions,
    Attachment,
    Button,
    Choice,
    ContextLine,
    Divider,
    Form,
    Image,
    Link,
    Message,
    People,
    Section,
)


@dataclass
class Rendered:
    """A message as lines of text, with its buttons numbered from ``first``.

    A conversation numbers buttons continuously (the first message's buttons
    are [1] [2], the next message's [3] [4]…), so a number typed at the prompt
    always means the same button, however many messages came since.
    """

    lines: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    first: int = 1
    # The forms of the message, by the number of the button that starts filling them in.
    forms: dict[int, Form] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def numbered(self) -> dict[int, Button]:
        """Each button of this message under the number shown next to it."""
        return {self.first + index: button for index, button in enumerate(self.buttons)}

    def number_of(self, action_id: str, value: str | None = None) -> int:
        """The number shown for the button with this action (and value); KeyError if none."""
        for number, button in self.numbered.items():
            if button.action_id == action_id and (value is None or button.value == value):
                return number
        raise KeyError(f"no button {action_id}={value} in this message")


# The button that starts a form's prompts (handled by the conversation, not the core).
FORM_FILL = "console.form"


def files_dir() -> Path:
    """Where the console keeps the files it is sent (RELAIS_FILES_DIR, else the temp folder)."""
    return Path(os.environ.get("RELAIS_FILES_DIR") or Path(tempfile.gettempdir()) / "relais-files")


def save_attachment(block: Attachment) -> Path:
    """Write the file once (its name carries a hash of its content) and return its path."""
    content = block.content()
    stem, _, suffix = Path(block.name).name.rpartition(".")
    digest = hashlib.sha256(content).hexdigest()[:10]
    path = files_dir() / f"{stem or suffix}-{digest}.{suffix if stem else 'bin'}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return path


def _button_line(buttons: list[Button], start: int) -> str:
    return "   ".join(f"[{start + index}] {button.label}" for index, button in enumerate(buttons))


def render(message: Message, first: int = 1) -> Rendered:
    """Every block becomes text; buttons become [n] choices typed by number, from ``first``."""
    out = Rendered(first=first)
    for block in message.blocks:
        if isinstance(block, Section):
            if block.title:
                out.lines.append(f"== {block.title} ==")
            if block.text:
                out.lines.extend(block.text.splitlines())
        elif isinstance(block, Choice):
            out.lines.append(f"? {block.question}")
            for button in block.options:
                out.buttons.append(button)
                out.lines.append(f"  [{first + len(out.buttons) - 1}] {button.label}")
        elif isinstance(block, Actions):
            clickable = [b for b in block.buttons if not b.url]
            if clickable:
                out.lines.append(_button_line(clickable, first + len(out.buttons)))
            out.buttons.extend(clickable)
            out.lines.extend(f"  {b.label}: {b.url}" for b in block.buttons if b.url)
        elif isinstance(block, Link):
            out.lines.append(f"→ {block.label}: {block.url}")
        elif isinstance(block, Image):
            out.lines.append(f"[image: {block.alt}] {block.url}")
        elif isinstance(block, Attachment):
            out.lines.append(f"[{block.alt}] {save_attachment(block)}")
        elif isinstance(block, ContextLine):
            out.lines.append(f"  ({block.text})")
        elif isinstance(block, Divider):
            out.lines.append("—" * 20)
        elif isinstance(block, People):
            if block.title:
                out.lines.append(f"== {block.title} ==")
            for person in block.people:
                who = f"{person.name} <{person.email}>" if person.email else person.name
                out.lines.append(f"• {who}" + (f" — {person.note}" if person.note else ""))
        elif isinstance(block, Form):
            out.lines.append(f"== {block.title} ==")
            out.lines.extend(f"  • {entry.label}" for entry in block.fields)
            number = first + len(out.buttons)
            out.buttons.append(Button(label=block.title, action_id=FORM_FILL, style="primary"))
            out.forms[number] = block
            out.lines.append(_button_line([out.buttons[-1]], number))
    if not out.lines:
        out.lines.append(message.text)
    return out
