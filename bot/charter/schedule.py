"""Charter reminders (at ``schedules.charter_reminders`` in each member's time, until accepted),
and the sign-off of new versions: asking the signatories, publishing, keeping every replica told."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot import notify
from bot.charter import service, signoff
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
    registry.job("charter_sign_off", every=timedelta(minutes=1))(review_versions)
    registry.job("charter_gate", every=timedelta(seconds=10), per_process=True)(refresh_gate)
    # A coordinator's "remind now": its work guards itself (the mark, the dedupe key).
    registry.job("charter_remind_now", every=timedelta(seconds=5), rounds=False)(
        send_requested_reminders
    )


# Chunks of service.REMIND_CHUNK members per run at most (50,000): the next run goes on.
CHUNKS_PER_RUN = 25


def send_requested_reminders(run: JobRun) -> int:
    """Queue the reminders coordinators asked for in chat since the last run (or that a
    killed process left half queued), chunk by chunk from each request's mark."""
    with session_scope(run.engine) as session:
        pending = service.pending_reminder_requests(session)
    return sum(
        service.send_reminders(
            run.engine, run.config, run.content, request_id, run.now, chunks=CHUNKS_PER_RUN
        )
        for request_id in pending
    )


def review_versions(run: JobRun) -> int:
    """Record each charter version's state; ask the signatories about a new draft text."""
    with session_scope(run.engine) as session:
        outgoing = signoff.review(session, run.config, run.content, run.now)
        queued = len(enqueue_many(session, outgoing, run.now))
        session.flush()
        signoff.refresh_gate(session, run.content, run.config)
    return queued


def refresh_gate(run: JobRun) -> int:
    """Each replica learns which versions are published (a sign-off given on another one)."""
    if signoff.required(run.config):
        with session_scope(run.engine) as session:
            signoff.refresh_gate(session, run.content, run.config)
    return 0


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
            in_zone = (
                Member.time_zone == zone,
                Member.opted_in.is_(True),  # type: ignore[attr-defined]
                Member.left_at.is_(None),  # type: ignore[union-attr]
            )
            # Two queries a zone, not one per member: who is there, and what they accepted.
            accepted: dict[int, set[int]] = {}
            for member_id, version in session.execute(
                select(CharterAcknowledgement.member_id, CharterAcknowledgement.version)
                .join(Member, Member.id == CharterAcknowledgement.member_id)  # type: ignore[arg-type]
                .where(*in_zone)
            ):
                accepted.setdefault(member_id, set()).add(version)
            # One message per language and case, shared by everyone it goes to.
            messages: dict[tuple[str, bool], Any] = {}
            for member in session.exec(select(Member).where(*in_zone)).all():
                charter = service.current(content, member.language)
                assert charter is not None
                versions = accepted.get(member.id or 0, set())
                if charter.version in versions:
                    continue
                wording = (member.language, bool(versions))
                message = messages.get(wording)
                if message is None:
                    message = messages[wording] = service.reminder_message(
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
