"""The heart of Relais: events in, decisions made, messages queued.

Adapters call ``Relais.handle(event)``. The core resolves the member, makes
sure the same event is handled once (its idempotency key is stored in the same
transaction as everything the handler does), runs the handler registered for
the command or action, and queues replies in the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.clock import utcnow
from bot.config import AppConfig
from bot.content.library import ContentLibrary
from bot.db import session_scope
from bot.delivery.models import OPERATIONAL, PRIORITY_REPLY
from bot.delivery.models import InboundEvent as SeenEvent
from bot.delivery.outbox import Outgoing, enqueue_many
from bot.events import (
    ActionEvent,
    CommandEvent,
    FormEvent,
    InboundEvent,
    MessageEvent,
    Who,
    parse_command,
)
from bot.i18n import Tr
from bot.members import service as members
from bot.members.models import Member
from bot.messages import Message, simple
from bot.participation.models import record

log = logging.getLogger("relais.core")


class UserError(Exception):
    """A mistake the member can fix; its message (already translated) is the reply."""


@dataclass
class Context:
    """What a handler gets: the member, their language, the session, and a way to reply."""

    relais: Relais
    session: Session
    member: Member
    event: InboundEvent
    tr: Tr
    replies: list[Message] = field(default_factory=list)
    queued: int = 0  # messages queued by the handler itself, besides its replies

    @property
    def config(self) -> AppConfig:
        return self.relais.config

    @property
    def content(self) -> ContentLibrary:
        return self.relais.content

    @property
    def roles(self) -> set[str]:
        return members.roles(self.member, self.relais.config)

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
    roles: frozenset[str] = frozenset()  # empty: anyone in the programme
    aliases: tuple[str, ...] = ()
    while_opted_out: bool = False


class Registry:
    """Commands by name and actions by id prefix, each domain registering its own."""

    def __init__(self) -> None:
        self.commands: dict[str, CommandSpec] = {}
        self._aliases: dict[str, str] = {}
        self.actions: dict[str, Handler] = {}
        self.on_message: Handler | None = None

    def command(
        self,
        name: str,
        summary: str,
        *,
        usage: str = "",
        roles: tuple[str, ...] = (),
        aliases: tuple[str, ...] = (),
        while_opted_out: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.commands[name] = CommandSpec(
                name, handler, summary, usage, frozenset(roles), aliases, while_opted_out
            )
            for alias in aliases:
                self._aliases[alias] = name
            return handler

        return register

    def action(self, action_id: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.actions[action_id] = handler
            return handler

        return register

    def find_command(self, name: str) -> CommandSpec | None:
        return self.commands.get(self._aliases.get(name, name))

    def visible_to(self, roles: set[str]) -> list[CommandSpec]:
        return [spec for spec in self.commands.values() if not spec.roles or spec.roles & roles]


@dataclass
class Outcome:
    """What handling an event did; adapters use it to wake the worker or answer directly."""

    member_id: int | None = None
    duplicate: bool = False
    queued: int = 0
    direct: list[Message] = field(default_factory=list)  # for people not (yet) in the programme


class Relais:
    """The running programme: its config, its content, its database and its handlers."""

    def __init__(
        self,
        config: AppConfig,
        content: ContentLibrary,
        engine: Engine,
        registry: Registry | None = None,
    ) -> None:
        from bot.handlers import build_registry

        self.config = config
        self.content = content
        self.engine = engine
        self.registry = registry or build_registry()

    def handle(self, event: InboundEvent) -> Outcome:
        """Handle one inbound event exactly once, whatever the platform retries."""
        key = f"{event.who.platform}:{event.idempotency_key}"
        try:
            with session_scope(self.engine) as session:
                member = members.find(session, event.who)
                if member is None:
                    return Outcome(direct=[self._stranger(event)])
                session.add(SeenEvent(key=key, member_id=member.id, kind=event.kind))
                try:
                    session.flush()
                except IntegrityError:
                    session.rollback()
                    return Outcome(member_id=member.id, duplicate=True)
                context = Context(self, session, member, event, Tr(member.language))
                self._dispatch(context)
                member.preferred_platform = event.who.platform
                queued = self._queue_replies(session, context, key) + context.queued
                return Outcome(member_id=member.id, queued=queued)
        except IntegrityError:
            # A concurrent copy of the same event won the race.
            return Outcome(duplicate=True)
        except Exception:
            log.exception("handler failed for %s", key)
            return self._apologise(event)

    def remember_address(
        self, who: Who, channel_id: str | None = None, reference: dict[str, Any] | None = None
    ) -> int | None:
        """Keep where a member is reached on a platform (e.g. a Teams conversation reference).

        Adapters call this when a member installs the bot or writes to it, so
        later sends can be proactive. Returns the member's id, or None for
        someone not in the programme.
        """
        with session_scope(self.engine) as session:
            member = members.find(session, who)
            if member is None:
                return None
            fields: dict[str, Any] = {}
            if channel_id is not None:
                fields["channel_id"] = channel_id
            if reference is not None:
                fields["reference"] = reference
            members.remember_address(session, member.id or 0, who.platform, **fields)
            return member.id

    def home(self, who: Who) -> Message | None:
        """The member's home view (Slack's App Home), or None for someone not in the programme."""
        from bot.programme.home import home_message

        with session_scope(self.engine) as session:
            member = members.find(session, who)
            if member is None:
                return None
            return home_message(session, member, self.content, self.config)

    def _dispatch(self, context: Context) -> None:
        event, tr = context.event, context.tr
        try:
            if isinstance(event, CommandEvent):
                self.run_command(context, event)
            elif isinstance(event, ActionEvent):
                handler = self._action_handler(event.action_id)
                if handler is None:
                    raise UserError(tr("That button is no longer in use."))
                handler(context)
            elif isinstance(event, MessageEvent):
                name, args = parse_command(event.text)
                if self.registry.find_command(name):
                    self.run_command(
                        context, CommandEvent(event.who, event.idempotency_key, name, args)
                    )
                elif self.registry.on_message:
                    self.registry.on_message(context)
                else:
                    context.reply(self._unknown(context, name))
            elif isinstance(event, FormEvent):
                handler = self._action_handler(event.form_id)
                if handler is None:
                    raise UserError(tr("That form is no longer in use."))
                handler(context)
        except UserError as problem:
            context.reply(str(problem))

    def run_command(self, context: Context, event: CommandEvent) -> None:
        """Run a command for the member in ``context`` (also used by command buttons)."""
        tr = context.tr
        name = event.name or "help"
        spec = self.registry.find_command(name)
        if spec is None:
            context.reply(self._unknown(context, name))
            return
        if not context.member.opted_in and not spec.while_opted_out:
            raise UserError(tr("You have left the programme. Type “optin” to come back."))
        if spec.roles and not spec.roles & context.roles:
            raise UserError(
                tr(
                    "The “{command}” command is for the programme's {roles}.",
                    command=spec.name,
                    roles=", ".join(sorted(spec.roles)),
                )
            )
        record(context.session, "command_used", context.member.id, spec.name, event.who.platform)
        if event is not context.event:
            context.event = event
        spec.handler(context)

    def _action_handler(self, action_id: str) -> Any:
        prefix = action_id.split(":", 1)[0]
        return self.registry.actions.get(action_id) or self.registry.actions.get(prefix)

    def _unknown(self, context: Context, name: str) -> Message:
        from bot.programme.handlers import help_message

        tr = context.tr
        intro = tr("I don't know the command “{name}”.", name=name) if name else tr("Hello!")
        return help_message(context, intro)

    def _queue_replies(self, session: Session, context: Context, key: str) -> int:
        if not context.replies:
            return 0
        platform = context.event.who.platform
        items = [
            Outgoing(
                member_id=context.member.id or 0,
                platform=platform,
                dedupe_key=f"reply:{key}:{index}"[:200],
                kind="reply",
                message=message,
                priority=PRIORITY_REPLY,
                purpose=OPERATIONAL,
            )
            for index, message in enumerate(context.replies)
        ]
        return len(enqueue_many(session, items, utcnow()))

    def _stranger(self, event: InboundEvent) -> Message:
        tr = Tr(self.config.languages.default)
        return simple(
            tr(
                "Hello! You are not a member of {programme} yet. Ask your programme "
                "coordinator to add you.",
                programme=self.config.programme.name,
            )
        )

    def _apologise(self, event: InboundEvent) -> Outcome:
        """Say sorry in the member's language; nothing was stored, so a retry runs again."""
        lang = self.config.languages.default
        try:
            with session_scope(self.engine) as session:
                member = members.find(session, event.who)
                lang = member.language if member else lang
        except Exception:  # the database itself may be what failed
            log.debug("could not look up the member's language", exc_info=True)
        tr = Tr(lang)
        return Outcome(
            direct=[
                simple(tr("Sorry, something went wrong on our side. Please try again in a moment."))
            ]
        )
