"""The port every chat platform adapter implements.

The core hands an adapter a recipient and a neutral Message; the adapter
renders and sends it, and answers with a SendResult the delivery worker
records. Adapters may also add HTTP routes to ``relais serve`` and run
background connections (Socket Mode).
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from bot.messages import Message

if TYPE_CHECKING:
    from fastapi import FastAPI


@dataclass(frozen=True)
class Recipient:
    """Everything an adapter may need to reach one member."""

    member_id: int
    email: str
    name: str
    language: str
    user_id: str | None = None  # the member's id on this platform, when known
    channel_id: str | None = None  # remembered from an earlier send or conversation
    reference: dict[str, Any] | None = None  # e.g. a Teams conversation reference


@dataclass(frozen=True)
class SendResult:
    """What became of one send: sent, to retry later, or failed for good."""

    status: Literal["sent", "retry", "failed"]
    message_id: str | None = None
    channel_id: str | None = None
    retry_after: float | None = None
    error: str | None = None
    # An address the adapter learned (e.g. a DM channel it opened), to keep.
    remember: dict[str, Any] = field(default_factory=dict)
    # The member's user id on this platform, when the adapter had to look it up (by e-mail).
    user_id: str | None = None

    @classmethod
    def sent(
        cls,
        message_id: str | None,
        channel_id: str | None = None,
        remember: dict[str, Any] | None = None,
        user_id: str | None = None,
    ) -> SendResult:
        return cls(
            "sent",
            message_id=message_id,
            channel_id=channel_id,
            remember=remember or {},
            user_id=user_id,
        )

    @classmethod
    def retry(cls, after: float, error: str) -> SendResult:
        return cls("retry", retry_after=after, error=error)

    @classmethod
    def failed(cls, error: str) -> SendResult:
        return cls("failed", error=error)


class Platform(ABC):
    """One chat platform, as the core sees it."""

    name: str
    _wake: Callable[[], None] | None = None

    def bind(self, wake: Callable[[], None]) -> None:
        """Called by the runtime: ``wake()`` tells the delivery worker replies were queued."""
        self._wake = wake

    def wake(self) -> None:
        """Ask the worker to send what was just queued (call from the event loop)."""
        if self._wake is not None:
            self._wake()

    @abstractmethod
    async def send(self, recipient: Recipient, message: Message, delivery_id: int) -> SendResult:
        """Render and send ``message``; never raise for a platform refusal, return it."""

    def mount(self, app: FastAPI) -> None:  # noqa: B027  (optional hook)
        """Add the platform's HTTP endpoints to the web app, if it has any."""

    async def start(self) -> None:  # noqa: B027
        """Open long-lived connections (e.g. Socket Mode)."""

    async def stop(self) -> None:  # noqa: B027
        """Close them."""

    def health(self) -> dict[str, Any]:
        return {"ok": True}


@dataclass(frozen=True)
class IdColumn:
    """A members-CSV column holding people's ids on one platform, checked by its adapter."""

    platform: str
    column: str
    # The adapter's check: None when the value is a valid id, else what is wrong (translated).
    check: Callable[[str, str | None], str | None]


@cache
def id_columns() -> tuple[IdColumn, ...]:
    """Every adapter's CSV id column (``CSV_ID_COLUMN`` and ``check_user_id`` in its package).

    Adapters are found by name under ``adapters/``, as the runtime finds them:
    the core knows no platform, and a new adapter brings its own column.
    """
    import adapters

    found = []
    for module in sorted(pkgutil.iter_modules(adapters.__path__), key=lambda m: m.name):
        package = importlib.import_module(f"adapters.{module.name}")
        column = getattr(package, "CSV_ID_COLUMN", None)
        if column:
            found.append(IdColumn(module.name, column, package.check_user_id))
    return tuple(found)
