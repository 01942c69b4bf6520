"""The port every chat platform adapter implements.

The core hands an adapter a recipient, a neutral Message and an ``Attempt``
(which delivery, its priority, the parts already sent, and hooks to store a
part or a DM channel as soon as the platform accepted it, and to ask whether a
promotional message may go on); the adapter renders and sends, updates or
deletes it, and answers with a SendResult the delivery worker records.
Adapters may also add HTTP routes to ``relais serve`` and run background
connections (Socket Mode).
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
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


async def _always() -> bool:
    return True


async def _ignore(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class Part:
    """One part of a message as the platform knows it (Slack ts, Teams activity id)."""

    message_id: str
    channel_id: str | None = None


@dataclass
class Attempt:
    """One try at one delivery, as the worker hands it to an adapter.

    ``parts`` are the parts of this message the platform already accepted (a
    resumed split message goes on after them; for an update or delete, the parts
    of the target message). The hooks store progress at once, in the database,
    so a crash between two parts neither loses nor repeats one.
    """

    delivery_id: int
    priority: int = 0
    promotional: bool = False
    parts: list[Part] = field(default_factory=list)
    # Called with each newly accepted part (not for the last part of a send: the result has it).
    part_sent: Callable[[int, Part], Awaitable[None]] = _ignore
    # Called when a part is gone (deleted on the platform).
    part_gone: Callable[[Part], Awaitable[None]] = _ignore
    # Called with a DM channel learned before posting into it (kept for the next attempt).
    channel_learned: Callable[[str], Awaitable[None]] = _ignore
    # False once a promotional message must stop (the programme was paused): stop between parts.
    may_continue: Callable[[], Awaitable[bool]] = _always
    started_at: float = 0.0  # wall-clock time this attempt began
    # The previous try timed out: the adapter first asks the platform what it already has.
    after_timeout: bool = False


@dataclass(frozen=True)
class SendResult:
    """What became of one operation: sent, to retry later, failed for good, or stopped.

    ``outage``: the platform or its credentials are failing (revoked token,
    unreachable); not the message's fault, so it waits without using an attempt.
    ``paused``: a promotional message stopped between parts; released as it was.
    ``throttled``: the platform said "too many" (Retry-After); no attempt used.
    """

    status: Literal["sent", "retry", "failed", "outage", "paused", "throttled"]
    message_id: str | None = None
    channel_id: str | None = None
    retry_after: float | None = None
    error: str | None = None
    # An address the adapter learned (e.g. a DM channel it opened), to keep.
    remember: dict[str, Any] = field(default_factory=dict)
    # The member's user id on this platform, when the adapter had to look it up (by e-mail).
    user_id: str | None = None
    # Every part of the message as the platform now has it, in order (for a send or update).
    parts: tuple[Part, ...] = ()
    # A throttle that concerns one conversation only: the rest of the fleet need not hold.
    local: bool = False

    @classmethod
    def sent(
        cls,
        message_id: str | None,
        channel_id: str | None = None,
        remember: dict[str, Any] | None = None,
        user_id: str | None = None,
        parts: list[Part] | tuple[Part, ...] = (),
    ) -> SendResult:
        return cls(
            "sent",
            message_id=message_id,
            channel_id=channel_id,
            remember=remember or {},
            user_id=user_id,
            parts=tuple(parts),
        )

    @classmethod
    def retry(cls, after: float, error: str) -> SendResult:
        return cls("retry", retry_after=after, error=error)

    @classmethod
    def failed(cls, error: str) -> SendResult:
        return cls("failed", error=error)

    @classmethod
    def outage(cls, after: float, error: str) -> SendResult:
        return cls("outage", retry_after=after, error=error)

    @classmethod
    def throttled(
        cls, after: float, error: str = "rate_limited", local: bool = False
    ) -> SendResult:
        return cls("throttled", retry_after=after, error=error, local=local)

    @classmethod
    def paused(cls) -> SendResult:
        return cls("paused", error="paused")


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
    async def send(self, recipient: Recipient, message: Message, attempt: Attempt) -> SendResult:
        """Render and send ``message``; never raise for a platform refusal, return it."""

    async def update(self, recipient: Recipient, message: Message, attempt: Attempt) -> SendResult:
        """Replace the message whose parts are ``attempt.parts`` with ``message``."""
        return SendResult.failed(f"{self.name} cannot update a message")

    async def delete(self, recipient: Recipient, attempt: Attempt) -> SendResult:
        """Delete every part in ``attempt.parts``."""
        return SendResult.failed(f"{self.name} cannot delete a message")

    def mount(self, app: FastAPI) -> None:  # noqa: B027  (optional hook)
        """Add the platform's HTTP endpoints to the web app, if it has any."""

    async def start(self) -> None:  # noqa: B027
        """Open long-lived connections (e.g. Socket Mode)."""

    async def settle(self) -> None:  # noqa: B027
        """Finish handling the requests already acknowledged (before the process stops)."""

    async def stop(self) -> None:  # noqa: B027
        """Close them."""

    def health(self) -> dict[str, Any]:
        return {"ok": True}

    def share_limits(self, share: float) -> None:  # noqa: B027  (no limits: nothing to share)
        """Send at ``share`` (0–1] of the platform's configured limits: the other replicas
        of the fleet send the rest (``bot.delivery.fleet``)."""

    def hold(self, seconds: float) -> None:  # noqa: B027
        """The platform told another replica 'too many': send nothing for ``seconds``."""


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
