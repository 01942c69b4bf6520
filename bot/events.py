"""Inbound events: what a member did, in words no platform owns.

An adapter turns a platform payload into one of these, with an idempotency
key derived from the platform's own id for the event, so a retried delivery of
the same click or command is handled once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Who:
    """How the platform identifies the member; the core resolves it to a Member."""

    platform: str
    user_id: str | None = None
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class InboundEvent:
    who: Who
    idempotency_key: str
    kind: ClassVar[str] = "event"


@dataclass(frozen=True)
class CommandEvent(InboundEvent):
    """``/relais lesson`` in Slack, ``lesson`` typed to the bot in Teams or the console."""

    kind: ClassVar[str] = "command"
    name: str = ""
    args: str = ""


@dataclass(frozen=True)
class ActionEvent(InboundEvent):
    """A button click, or a form submitted: the action id and value the core put on it.

    ``fields``: a submitted form's texts by field name (None for a click).
    """

    kind: ClassVar[str] = "action"
    action_id: str = ""
    value: str = ""
    fields: dict[str, str] | None = field(default=None, hash=False, compare=False)


@dataclass(frozen=True)
class MessageEvent(InboundEvent):
    """Free text sent to the bot that is not a command."""

    kind: ClassVar[str] = "message"
    text: str = ""


def parse_command(text: str) -> tuple[str, str]:
    """'lesson', 'report https://x  very rude' -> (name, rest); name lower-cased."""
    stripped = text.strip()
    if stripped.startswith("/relais"):
        stripped = stripped[len("/relais") :].strip()
    stripped = stripped.lstrip("/")
    name, _, rest = stripped.partition(" ")
    return name.lower(), rest.strip()


MAX_RECORD_ID = 2**63 - 1  # the largest id a BIGINT column holds


def record_id(value: Any) -> int | None:
    """A database id carried by a button's value, or None if it cannot be one.

    Button values come back from the platform as text anyone can forge: only
    plain ASCII digits within the 64-bit range are looked up (a larger number
    would overflow the database driver).
    """
    text = value.strip() if isinstance(value, str) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_RECORD_ID else None
