"""Round tables' scheduled work: the reminder the day before, and attendance once over."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import local
from bot.community import messages, service
from bot.db import session_scope
from bot.delivery.models import OPERATIONAL
from bot.delivery.outbox import enqueue_many
from bot.i18n import Tr
from bot.jobs import JobRun
from bot.notify import to_member
from bot.registry import Registry


def register(registry: Registry) -> None:
    registry.job("meeting_reminders", every=timedelta(minutes=5))(remind_meetings)


def remind_meetings(run: JobRun) -> int:
    """Every five minutes: remind whoever's reminder time has come (once each: the outbox's
    dedupe key), and settle the attendance of meetings that are over."""
    config = run.config
    with session_scope(run.engine) as session:
        service.settle_attendance(session, run.now)
        items = [
            to_member(
                member,
                config,
                messages.reminder(
                    meeting,
                    member,
                    invite.answer,
                    Tr(member.language),
                    tomorrow=service.reminder_day(meeting, member.time_zone, config)
                    == local(meeting.starts_at, member.time_zone).date() - timedelta(days=1),
                ),
                key=f"meeting:{meeting.id}:reminder",
                kind="meeting_reminder",
                subject=f"meeting:{meeting.id}",
                purpose=OPERATIONAL,
            )
            for meeting, member, invite in service.due_reminders(session, config, run.now)
        ]
        return len(enqueue_many(session, items, run.now)) if items else 0
