"""What capabilities plug into: commands, button actions and scheduled jobs.

Each capability (``bot/<capability>/``) registers its own chat entry points in
``handlers.register(registry)`` and its own jobs in ``schedule.register(registry)``;
``build_registry`` finds them all, so nothing is wired by hand and nothing can
be forgotten. A handler gets a ``Context``: the member, their language, the
open transaction, the permission model, and a way to reply.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot import permissions
from bot.clock import utcnow
from bot.config import AppConfig
from bot.content.library import ContentLibrary
from bot.delivery.outbox import Outgoing, enqueue_many
from bot.events import InboundEvent
from bot.i18n import Tr
from bot.members.models import Member
from bot.messages import Message, simple
from bot.permissions import Actor, Reach, Target

if TYPE_CHECKING:
    from bot.core import Relais
    from bot.jobs import JobRun


class UserError(Exception):
    """A mistake the member can fix; its message (already translated) is the reply."""


@contextmanager
def as_user_error(*errors: type[Exception], say: Callable[[Any], str] = str) -> Iterator[None]:
    """A service's refusal (one of ``errors``) raised inside, as the reply: its own words, or
    ``say(error)``."""
    try:
        yield
    except errors as error:
        raise UserError(say(error)) from None


@dataclass
class Context:
    """What a handler gets: the member, their language, the session, and a way to reply."""

    relais: Relais
    session: Session
    member: Member
    event: InboundEvent
    tr: Tr
    key: str = ""  # the event's stored idempotency key (bounded)
    replies: list[Message] = field(default_factory=list)
    queued: int = 0  # messages queued by the handler itself, besides its replies

    @property
    def config(self) -> AppConfig:
        return self.relais.config

    @property
    def content(self) -> ContentLibrary:
        return self.relais.content

    @property
    def actor(self) -> Actor:
        member = self.member
        return self.relais.permissions.actor(
            member.id, member.email, member.department, member.roles, member.opted_in
        )

    @property
    def roles(self) -> frozenset[str]:
        return self.actor.roles

    def can(self, action: str, target: Target | None = None) -> bool:
        return self.relais.permissions.allows(self.actor, action, target)

    def require(self, action: str, target: Target | None = None) -> None:
        """Refuse with a clear, translated reason when the member may not do this."""
        if not self.can(action, target):
            raise UserError(
                self.tr(
                    "Sorry, you may not {action}. Ask your programme coordinator if you should.",
                    action=self.tr(permissions.ACTIONS[action]),
                )
            )

    def reach(self, action: str) -> Reach:
        return self.relais.permissions.reach(self.actor, action)

    def reply(self, message: Message | str) -> None:
        self.replies.append(simple(message) if isinstance(message, str) else message)

    def enqueue(self, items: list[Outgoing]) -> int:
        """Queue messages for other people (or other kinds) in this event's transaction."""
        inserted = len(enqueue_many(self.session, items, utcnow()))
        self.queued += inserted
        return inserted


Handler = Callable[[Context], None]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    handler: Handler
    summary: str  # an N_() string, translated when help is shown
    usage: str = ""
    action: str = permissions.USE  # what the permission model is asked before it runs
    aliases: tuple[str, ...] = ()
    while_opted_out: bool = False
    # Offered in a platform's short list of suggested commands (Teams shows ten): a
    # command found from help or the home instead says False, to leave room for the core.
    suggest: bool = True


@dataclass(frozen=True)
class ActionSpec:
    """A button: the handler and the permission it needs (the handler narrows by target)."""

    handler: Handler
    action: str = permissions.USE


@dataclass(frozen=True)
class Job:
    """Scheduled work of a capability.

    ``every``: how often the scheduler runs it. ``serves``: the ``schedules``
    key of app.yaml it honours, if any. ``per_process``: work each replica
    does for itself (reloading its content); other jobs run once for the
    programme, under a lock, and record the slots they did.
    """

    id: str
    run: Callable[[JobRun], int]
    every: timedelta
    serves: str | None = None
    per_process: bool = False
    # Record each interval round in ``slotrun`` (a round done is skipped). A job that runs
    # every few seconds and guards its own work (conditional updates) does not need it.
    rounds: bool = True


class Registry:
    """Commands by name, actions by id prefix, jobs by id; each capability registers its own."""

    def __init__(self) -> None:
        self.commands: dict[str, CommandSpec] = {}
        self._aliases: dict[str, str] = {}
        self.actions: dict[str, ActionSpec] = {}
        self.jobs: dict[str, Job] = {}
        # Set by the capability that owns them: the help card (also the answer to an
        # unknown command) and a member's home view (Slack's App Home).
        self.help: Callable[[Context, str | None], Message] | None = None
        self.home: Callable[[Session, Member, ContentLibrary, AppConfig], Message] | None = None
        # Answers to `results <id>` for ids other capabilities own (a post's campaign
        # results): each returns True when it answered.
        self.results: list[Callable[[Context, str], bool]] = []

    def command(
        self,
        name: str,
        summary: str,
        *,
        usage: str = "",
        action: str = permissions.USE,
        aliases: tuple[str, ...] = (),
        while_opted_out: bool = False,
        suggest: bool = True,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.commands[name] = CommandSpec(
                name, handler, summary, usage, action, aliases, while_opted_out, suggest
            )
            for alias in aliases:
                self._aliases[alias] = name
            return handler

        return register

    def action(
        self, action_id: str, *, permission: str = permissions.USE
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.actions[action_id] = ActionSpec(handler, permission)
            return handler

        return register

    def job(
        self,
        job_id: str,
        *,
        every: timedelta,
        serves: str | None = None,
        per_process: bool = False,
        rounds: bool = True,
    ) -> Callable[[Callable[[JobRun], int]], Callable[[JobRun], int]]:
        def register(run: Callable[[JobRun], int]) -> Callable[[JobRun], int]:
            self.jobs[job_id] = Job(job_id, run, every, serves, per_process, rounds)
            return run

        return register

    def find_command(self, name: str) -> CommandSpec | None:
        return self.commands.get(self._aliases.get(name, name))

    def find_action(self, action_id: str) -> ActionSpec | None:
        prefix = action_id.split(":", 1)[0]
        return self.actions.get(action_id) or self.actions.get(prefix)

    def visible_to(self, actor: Actor, rules: permissions.Permissions) -> list[CommandSpec]:
        """The commands this person may run, in the order they were registered."""
        return [spec for spec in self.commands.values() if rules.allows(actor, spec.action)]


# The capability listed first in help; the others follow in alphabetical order.
FIRST = ("programme",)


def capability_modules() -> list[Any]:
    """Every ``bot/<capability>/handlers.py`` and ``schedule.py`` with a ``register``."""
    import bot

    names = sorted(
        (module.name for module in pkgutil.iter_modules(bot.__path__) if module.ispkg),
        key=lambda name: (name not in FIRST, name),
    )
    found = []
    for name in names:
        for part in ("handlers", "schedule"):
            qualified = f"bot.{name}.{part}"
            try:
                module = importlib.import_module(qualified)
            except ModuleNotFoundError as exc:
                if exc.name == qualified:
                    continue
                raise
            if callable(getattr(module, "register", None)):
                found.append(module)
    return found


def build_registry() -> Registry:
    """The registry of every capability in ``bot/``: their commands, actions and jobs."""
    registry = Registry()
    for module in capability_modules():
        module.register(registry)
    return registry
