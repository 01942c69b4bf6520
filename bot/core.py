"""The heart of Relais: events in, decisions made, messages queued.

Adapters call ``Relais.handle(event)``. The core resolves the member, makes
sure the same event is handled once (its idempotency key is stored in the same
transaction as everything the handler does), asks the permission model, runs
the handler a capability registered for the command or action, and queues
replies in the outbox. It knows no capability by name: the runtime hands it
the registry.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.clock import utcnow
from bot.config import AppConfig
from bot.content.library import ContentLibrary
from bot.db import session_scope
from bot.delivery.models import OPERATIONAL, PRIORITY_REPLY, Delivery, HandledEvent
from bot.delivery.outbox import Outgoing, enqueue_many, message_of
from bot.events import (
    ActionEvent,
    CommandEvent,
    InboundEvent,
    MessageEvent,
    Who,
    parse_command,
    record_id,
)
from bot.i18n import Tr
from bot.members import service as members
from bot.messages import Form, Message, simple
from bot.participation.models import record
from bot.permissions import Permissions
from bot.registry import Context, Registry, UserError

log = logging.getLogger("relais.core")


@dataclass
class Outcome:
    """What handling an event did; adapters use it to wake the worker or answer directly."""

    member_id: int | None = None
    duplicate: bool = False
    queued: int = 0
    direct: list[Message] = field(default_factory=list)  # for people not (yet) in the programme
    # Nobody in the programme has this platform id (nor the e-mail, if one was given):
    # an adapter that did not look the e-mail up yet may, and hand the event in again.
    stranger: bool = False


MAX_KEY = 120  # inbound keys are stored in a VARCHAR(300); platform ids can be longer


def bounded_key(platform: str, idempotency_key: str) -> str:
    """The stored key of an inbound event: long keys (a slash command's text) are hashed."""
    key = f"{platform}:{idempotency_key}"
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"{platform}:{idempotency_key[:40]}#{digest}"


class Relais:
    """The running programme: its config, its content, its database and its handlers."""

    ATTEMPTS = 3  # a handler that hit a conflict (e.g. a lesson racing its slot) runs again

    def __init__(
        self, config: AppConfig, content: ContentLibrary, engine: Engine, registry: Registry
    ) -> None:
        self.config = config
        self.content = content
        self.engine = engine
        self.registry = registry
        self.permissions = Permissions(config)

    def handle(self, event: InboundEvent) -> Outcome:
        """Handle one inbound event exactly once, whatever the platform retries.

        Only the idempotency key's own conflict means "already handled". Any
        other conflict (two writers on one row) rolls the whole event back and
        runs it again; if it keeps failing, the member gets an apology and the
        platform's retry may try again, since nothing was stored.
        """
        key = bounded_key(event.who.platform, event.idempotency_key)
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                return self._handle_once(event, key)
            except IntegrityError:
                log.warning("conflict while handling %s (attempt %d)", key, attempt)
            except Exception:
                log.exception("handler failed for %s", key)
                break
        return self._apologise(event)

    def _handle_once(self, event: InboundEvent, key: str) -> Outcome:
        with session_scope(self.engine) as session:
            member = members.find(session, event.who)
            if member is None:
                return Outcome(direct=[self._stranger(event)], stranger=True)
            if not mark_handled(session, key, member.id, event.kind):
                return Outcome(member_id=member.id, duplicate=True)
            context = Context(self, session, member, event, Tr(member.language), key=key)
            self._dispatch(context)
            member.preferred_platform = event.who.platform
            queued = self._queue_replies(session, context, key) + context.queued
            return Outcome(member_id=member.id, queued=queued)

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

    def form_of(self, who: Who, delivery: str, index: str) -> tuple[Form, str] | None:
        """The form block ``index`` of a message sent to this member, and their language.

        Platforms that open a form apart from its message (a Slack modal) find it
        here; both numbers come from a button anyone could forge, so the message
        must be one sent to the member who clicked.
        """
        delivery_id = record_id(delivery)
        if delivery_id is None or not (index.isascii() and index.isdigit() and len(index) < 4):
            return None
        position = int(index)
        with session_scope(self.engine) as session:
            member = members.find(session, who)
            row = session.get(Delivery, delivery_id)
            if member is None or row is None or row.member_id != member.id:
                return None
            try:
                message = message_of(row, session)
            except ValueError:
                return None
            block = message.blocks[position] if position < len(message.blocks) else None
            return (block, member.language) if isinstance(block, Form) else None

    def home(self, who: Who) -> Message | None:
        """The member's home view (Slack's App Home), or None for someone not in the programme."""
        if self.registry.home is None:
            return None
        with session_scope(self.engine) as session:
            member = members.find(session, who)
            if member is None:
                return None
            return self.registry.home(session, member, self.content, self.config)

    def welcome(self, who: Who, idempotency_key: str) -> Outcome:
        """Queue the member's home as a welcome message (Teams' welcome card on installation).

        Handled once per event, like any other; it opens with the crisis banner
        during a crisis, as the App Home does.
        """
        if self.registry.home is None:
            return Outcome()
        key = bounded_key(who.platform, idempotency_key)
        with session_scope(self.engine) as session:
            member = members.find(session, who)
            if member is None:
                return Outcome()
            if not mark_handled(session, key, member.id, "welcome"):
                return Outcome(member_id=member.id, duplicate=True)
            message = self.registry.home(session, member, self.content, self.config)
            queued = enqueue_many(
                session,
                [
                    Outgoing(
                        member_id=member.id or 0,
                        platform=who.platform,
                        dedupe_key=f"welcome:{key}",
                        kind="welcome",
                        message=message,
                        priority=PRIORITY_REPLY,
                        purpose=OPERATIONAL,
                    )
                ],
                utcnow(),
            )
            return Outcome(member_id=member.id, queued=len(queued))

    def _dispatch(self, context: Context) -> None:
        event, tr = context.event, context.tr
        try:
            if isinstance(event, CommandEvent):
                self.run_command(context, event)
            elif isinstance(event, ActionEvent):
                spec = self.registry.find_action(event.action_id)
                if spec is None:
                    raise UserError(tr("That button is no longer in use."))
                context.require(spec.action)
                spec.handler(context)
            elif isinstance(event, MessageEvent):
                name, args = parse_command(event.text)
                if self.registry.find_command(name):
                    self.run_command(
                        context, CommandEvent(event.who, event.idempotency_key, name, args)
                    )
                else:
                    context.reply(self._unknown(context, name))
        except UserError as problem:
            context.reply(str(problem))

    def run_command(self, context: Context, event: CommandEvent) -> None:
        """Run a command for the member in ``context`` (also used by command buttons)."""
        name = event.name or "help"
        spec = self.registry.find_command(name)
        if spec is None:
            context.reply(self._unknown(context, name))
            return
        if not spec.while_opted_out:
            self._refuse_opted_out(context)
        context.require(spec.action)
        record(context.session, "command_used", context.member.id, spec.name, event.who.platform)
        if event is not context.event:
            context.event = event
        spec.handler(context)

    def _refuse_opted_out(self, context: Context) -> None:
        if not context.member.opted_in:
            raise UserError(context.tr("You have left the programme. Type “optin” to come back."))

    def _unknown(self, context: Context, name: str) -> Message:
        tr = context.tr
        intro = tr("I don't know the command “{name}”.", name=name) if name else tr("Hello!")
        if self.registry.help is None:
            return simple(intro)
        return self.registry.help(context, intro)

    def _queue_replies(self, session: Session, context: Context, key: str) -> int:
        if not context.replies:
            return 0
        platform = context.event.who.platform
        items = [
            Outgoing(
                member_id=context.member.id or 0,
                platform=platform,
                dedupe_key=f"reply:{key}:{index}",
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


def mark_handled(session: Session, key: str, member_id: int | None, kind: str) -> bool:
    """Store the event's key in the caller's transaction; False when it was already there.

    ON CONFLICT DO NOTHING on the key alone: a concurrent copy of the same event
    waits for the first to commit, then finds its key and stops. The inserted
    key is read back with RETURNING: SQLAlchemy does not keep an INSERT's
    rowcount on PostgreSQL (it reads -1, which would make every event new).
    """
    table = HandledEvent.__table__  # type: ignore[attr-defined]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted = session.connection().execute(
        insert(table)
        .values(key=key, member_id=member_id, kind=kind, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.key)
    )
    return inserted.first() is not None
