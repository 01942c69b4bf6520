"""Charter reminders: at ``schedules.charter_reminders`` in each member's time, until accepted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.charter import service
from bot.charter.models import CharterAcknowledgement
from bot.config import AppConfig
from bot.content.library import ContentLibrary
from bot.db import session_scope
from bot.delivery.models import PROMOTIONAL
from bot.delivery.outbox import Outgoing, enqueue_many
from bot.i18n import Tr
from bot.members import service as members
from bot.members.models import Member
from bot.slots import due_slot


def queue_charter_reminders(
    engine: Engine, config: AppConfig, content: ContentLibrary, now: datetime
) -> int:
    """Remind every opted-in member who has not accepted the current version; once per slot."""
    cron = config.schedules.charter_reminders
    if not cron or content.current_charter(config.languages.default) is None:
        return 0
    with Session(engine) as session:
        zones = session.exec(
            select(Member.time_zone).where(Member.opted_in.is_(True)).distinct()
        ).all()
    queued = 0
    for zone in zones:
        slot = due_slot(cron, zone, now, config)
        if slot is None:
            continue
        with session_scope(engine) as session:
            outgoing = []
            for member in session.exec(
                select(Member).where(Member.time_zone == zone, Member.opted_in.is_(True))
            ).all():
                charter = service.current(content, member.language)
                assert charter is not None
                versions = set(
                    session.exec(
                        select(CharterAcknowledgement.version).where(
                            CharterAcknowledgement.member_id == member.id
                        )
                    ).all()
                )
                if charter.version in versions:
                    continue
                message = service.reminder_message(
                    charter, Tr(member.language), new_version=bool(versions)
                )
                outgoing.append(
                    Outgoing(
                        member_id=member.id or 0,
                        platform=members.platform_for(member, config),
                        dedupe_key=f"charter-reminder:v{charter.version}:{slot}",
                        kind="charter_reminder",
                        subject=f"v{charter.version}",
                        message=message,
                        purpose=PROMOTIONAL,
                    )
                )
            queued += len(enqueue_many(session, outgoing, now))
    return queued
