"""The community's scheduled work: sending approved good practices, and round tables'
reminders the day before and attendance once over.

A practice approved in chat is only recorded by the click (which answers at once); the
``practices`` job, every few seconds and once for the programme (under the job's lock on
PostgreSQL), queues its recipients in chunks, each with the practice's mark in its own
transaction, as the ``campaigns`` job does for a campaign: a replica killed mid-way leaves a
fan-out the next run goes on with, and the dedupe key ``practice:<id>`` doubles nobody.
"""

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

# Chunks of service.FANOUT_CHUNK members per run at most (50,000): the next run goes on.
CHUNKS_PER_RUN = 25


def register(registry: Registry) -> None:
    registry.job("meeting_reminders", every=timedelta(minutes=5))(remind_meetings)
    # Every few seconds: its work guards itself (the mark, the dedupe key), no round recorded.
    registry.job("practices", every=timedelta(seconds=5), rounds=False)(send_practices)


def send_practices(run: JobRun) -> int:
    """Queue the recipients of practices approved (or interrupted) since the last run."""
    with session_scope(run.engine) as session:
        pending = service.practices_to_send(session)
    return sum(
        service.send_practice(run.engine, run.config, practice_id, run.now, chunks=CHUNKS_PER_RUN)
        for practice_id in pending
    )


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
