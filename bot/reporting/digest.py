"""The managers' weekly digest: last week in plain words, compared with the week before.

Sent at ``schedules.manager_digest`` in each recipient's own time zone: managers
get their departments, coordinators the whole programme as well.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.config import AppConfig
from bot.db import session_scope
from bot.delivery.models import OPERATIONAL
from bot.delivery.outbox import Outgoing, enqueue_many
from bot.i18n import Tr
from bot.members import service as members
from bot.members.models import Member
from bot.messages import Context as ContextLine
from bot.messages import Message, Section
from bot.reporting.stats import figures, in_words
from bot.slots import due_slot

WEEK = timedelta(days=7)


def digest_message(
    session: Session, member: Member, config: AppConfig, now: datetime
) -> Message | None:
    """The digest for this person, or None when they manage nothing and coordinate nothing."""
    roles = config.roles_of(member.email)
    managed = [d for d in config.departments if member.email in d.managers]
    if not managed and "coordinator" not in roles:
        return None
    tr = Tr(member.language)
    blocks: list = [
        Section(
            title=tr("Your week in the programme"),
            text=tr("What happened in the last seven days, for the people you look after."),
        )
    ]
    if "coordinator" in roles:
        this, last = (
            figures(session, now - WEEK, until=now),
            figures(session, now - 2 * WEEK, until=now - WEEK),
        )
        blocks.append(Section(title=tr("The whole programme"), text=in_words(this, tr, last)))
    for department in managed:
        ids = [department.id]
        this = figures(session, now - WEEK, ids, until=now)
        last = figures(session, now - 2 * WEEK, ids, until=now - WEEK)
        blocks.append(
            Section(
                title=department.name.get(tr.lang) or department.id, text=in_words(this, tr, last)
            )
        )
    blocks.append(ContextLine(text=tr("Type “stats” for these figures at any time.")))
    return Message(text=tr("Your week in the programme"), blocks=blocks)


def queue_digests(engine: Engine, config: AppConfig, now: datetime) -> int:
    """Queue each manager's and coordinator's digest at their local slot; once per slot."""
    cron = config.schedules.manager_digest
    if not cron:
        return 0
    readers = {d_email for d in config.departments for d_email in d.managers} | set(
        config.people.coordinators
    )
    queued = 0
    with session_scope(engine) as session:
        people = session.exec(select(Member).where(Member.email.in_(sorted(readers)))).all()  # type: ignore[attr-defined]
        outgoing = []
        for member in people:
            slot = due_slot(cron, member.time_zone, now, config)
            if slot is None:
                continue
            message = digest_message(session, member, config, now)
            if message is None:
                continue
            outgoing.append(
                Outgoing(
                    member_id=member.id or 0,
                    platform=members.platform_for(member, config),
                    dedupe_key="digest:" + slot,
                    kind="digest",
                    message=message,
                    purpose=OPERATIONAL,
                )
            )
        queued = len(enqueue_many(session, outgoing, now))
    return queued
