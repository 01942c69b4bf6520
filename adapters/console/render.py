"""Plain-text rendering of the core's messages, for a terminal."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.messages import Actions, Button, Choice, Context, Divider, Image, Link, Message, Section


@dataclass
class Rendered:
    """A message as lines of text, with its buttons numbered from 1."""

    lines: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _button_line(buttons: list[Button], start: int) -> str:
    return "   ".join(f"[{start + index}] {button.label}" for index, button in enumerate(buttons))


def render(message: Message) -> Rendered:
    """Every block becomes text; buttons become [n] choices typed by number."""
    out = Rendered()
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
                out.lines.append(f"  [{len(out.buttons)}] {button.label}")
        elif isinstance(block, Actions):
            clickable = [b for b in block.buttons if not b.url]
            out.lines.append(_button_line(clickable, len(out.buttons) + 1))
            out.buttons.extend(clickable)
            out.lines.extend(f"  {b.label}: {b.url}" for b in block.buttons if b.url)
        elif isinstance(block, Link):
            out.lines.append(f"→ {block.label}: {block.url}")
        elif isinstance(block, Image):
            out.lines.append(f"[image: {block.alt}] {block.url}")
        elif isinstance(block, Context):
            out.lines.append(f"  ({block.text})")
        elif isinstance(block, Divider):
            out.lines.append("—" * 20)
    if not out.lines:
        out.lines.append(message.text)
    return out
