"""Inbound events: what a member did, in words no platform owns.

An adapter turns a platform payload into one of these, with an idempotency
key derived from the platform's own id for the event, so a retried delivery of
the same click or command is handled once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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

    @property
    def kind(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class CommandEvent(InboundEvent):
    """``/relais lesson`` in Slack, ``lesson`` typed to the bot in Teams or the console."""

    name: str = ""
    args: str = ""

    @property
    def kind(self) -> str:
        return "command"


@dataclass(frozen=True)
class ActionEvent(InboundEvent):
    """A button click: the action id and value the core put on the button."""

    action_id: str = ""
    value: str = ""
    message_ref: str | None = None  # the platform id of the message the button was on

    @property
    def kind(self) -> str:
        return "action"


@dataclass(frozen=True)
class MessageEvent(InboundEvent):
    """Free text sent to the bot that is not a command."""

    text: str = ""

    @property
    def kind(self) -> str:
        return "message"


@dataclass(frozen=True)
class FormEvent(InboundEvent):
    """A submitted form (a Slack modal, an Adaptive Card with inputs)."""

    form_id: str = ""
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "form"


def parse_command(text: str) -> tuple[str, str]:
    """'lesson', 'report https://x  very rude' -> (name, rest); name lower-cased."""
    stripped = text.strip()
    if stripped.startswith("/relais"):
        stripped = stripped[len("/relais") :].strip()
    stripped = stripped.lstrip("/")
    name, _, rest = stripped.partition(" ")
    return name.lower(), rest.strip()
