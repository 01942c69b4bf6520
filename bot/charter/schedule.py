"""Charter reminders: at ``schedules.charter_reminders`` in each member's time, until accepted."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot import notify
from bot.charter import service
from bot.charter.models import CharterAcknowledgement
from bot.db import session_scope
from bot.delivery.models import PROMOTIONAL
from bot.delivery.outbox import enqueue_many
from bot.i18n import Tr
from bot.jobs import JobRun
from bot.members import service as members
from bot.members.models import Member
from bot.registry import Registry
from bot.slots import due_zone_slots


def register(registry: Registry) -> None:
    registry.job("charter_reminders", every=timedelta(minutes=1), serves="charter_reminders")(
        queue_charter_reminders
    )


def queue_charter_reminders(run: JobRun) -> int:
    """Remind every opted-in member who has not accepted the current version; once per slot."""
    config, content, engine, now = run.config, run.content, run.engine, run.now
    cron = config.schedules.charter_reminders
    if not cron or content.current_charter(config.languages.default) is None:
        return 0
    queued = 0
    for zone, slot in due_zone_slots(run, cron, members.active_zones(engine)):
        with session_scope(engine) as session:
            outgoing = []
            for member in session.exec(
                select(Member).where(
                    Member.time_zone == zone,
                    Member.opted_in.is_(True),
                    Member.left_at.is_(None),
                )
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
                    charter,
                    Tr(member.language),
                    new_version=bool(versions),
                    what_changed=service.what_changed(content, charter, member.language),
                )
                outgoing.append(
                    notify.to_member(
                        member,
                        config,
                        message,
                        key=f"charter-reminder:v{charter.version}:{slot}",
                        kind="charter_reminder",
                        subject=f"v{charter.version}",
                        purpose=PROMOTIONAL,
                    )
                )
            done = len(enqueue_many(session, outgoing, now))
        run.record(zone, slot, done)
        queued += done
    return queued
