"""The managers' weekly digest: last week in plain words, compared with the week before.

Sent at ``schedules.manager_digest`` in each recipient's own time zone: managers
get their departments, coordinators the whole programme as well.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bot import notify, permissions
from bot.db import session_scope
from bot.delivery.models import OPERATIONAL
from bot.delivery.outbox import enqueue_many
from bot.i18n import Tr
from bot.jobs import JobRun
from bot.members.models import Member
from bot.messages import Attachment, ContextLine, Message, Section
from bot.permissions import Permissions
from bot.reporting import measures, periods, words
from bot.reporting.chart import trend_png
from bot.slots import due_zone_slots

# Weeks the digest's chart shows.
WEEKS = 8


def digest_message(
    session: Session,
    member: Member,
    rules: Permissions,
    now: datetime,
    content: object | None = None,
    reports: dict[Any, Any] | None = None,
) -> Message | None:
    """The digest for this person, or None when the permission model gives them none.

    It covers the last whole week (Monday to Sunday in the programme's zone)
    compared with the week before. ``reports`` caches reports between readers.
    """
    config = rules.config
    actor = rules.actor(member.id, member.email, member.department, member.roles, member.opted_in)
    reach = rules.reach(actor, permissions.DIGEST)
    if reach.none:
        return None
    departments = permissions.departments_in(reach, config)
    if not reach.programme and not departments:
        return None
    tr = Tr(member.language)
    period = periods.last_complete("week", now, config.time.zone)
    cache = reports if reports is not None else {}
    key = None if reach.programme else tuple(d.id for d in departments)
    if key not in cache:
        version = measures.charter_version(content) if content is not None else None
        cache[key] = measures.build(
            session, config, period, None if key is None else list(key), charter_version=version
        )
    report = cache[key]
    target = config.escalation.deadline_minutes.normal
    blocks: list = [
        Section(
            title=tr("Your week in the programme"),
            text=tr(
                "The {period}, compared with the week before, for the people you look after.",
                period=period.label(tr),
            ),
        )
    ]
    if reach.programme:
        blocks.append(
            Section(
                title=tr("The whole programme"),
                text="\n".join(f"• {s}" for s in words.sentences(report, tr, None, target)),
            )
        )
        blocks.append(
            Section(
                title=tr("By department"),
                text="\n".join(
                    f"• *{d.name.get(tr.lang) or d.id}*: {words.headline(report, tr, [d.id])}"
                    for d in departments
                ),
            )
        )
    else:
        for department in departments:
            lines = words.sentences(report, tr, [department.id], target)
            blocks.append(
                Section(
                    title=department.name.get(tr.lang) or department.id,
                    text="\n".join(f"• {s}" for s in lines),
                )
            )
    chart_key = ("chart", key, tr.lang)
    if chart_key not in cache:
        points = measures.trend(session, period, None if key is None else list(key), WEEKS)
        opted_in = report.total(None if key is None else list(key)).opted_in
        title = tr("Active ambassadors, last {weeks} weeks", weeks=WEEKS)
        shares = ", ".join(f"{p.start.strftime('%d/%m')}: {active}" for p, active, _ in points)
        cache[chart_key] = Attachment.png(
            f"relais-digest-{period.code}.png",
            trend_png(points, opted_in, tr, title),
            alt=tr(
                "Chart: ambassadors active per week ({points}).",
                points=shares,
            ),
        )
    blocks.append(cache[chart_key])
    blocks.append(ContextLine(text=tr("Type “stats” for these figures at any time.")))
    return Message(text=tr("Your week in the programme"), blocks=blocks)


def queue_digests(run: JobRun) -> int:
    """Queue the digest of everyone the permission model gives one, at their local slot.

    Readers are the people app.yaml or the CSV make managers or coordinators;
    a zone's slot is recorded once done.
    """
    config, now = run.config, run.now
    cron = config.schedules.manager_digest
    if not cron:
        return 0
    rules = Permissions(config)
    named = {email for d in config.departments for email in d.managers} | set(
        config.people.coordinators
    )
    queued = 0
    with session_scope(run.engine) as session:
        # The minutes outside the slot read the zones only, not every member.
        maybe_reading = Member.opted_in.is_(True) | Member.email.in_(sorted(named))  # type: ignore[attr-defined]
        zones = session.exec(select(Member.time_zone).where(maybe_reading).distinct()).all()
        slots = due_zone_slots(run, cron, zones)
        if not slots:
            return 0
        due = dict(slots)
        people = session.exec(
            select(Member).where(
                maybe_reading,
                Member.time_zone.in_(sorted(due)),  # type: ignore[attr-defined]
                Member.left_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
        readers = [
            m for m in people if m.email in named or {"manager", "coordinator"} & set(m.roles)
        ]
        outgoing = []
        reports: dict = {}
        for member in readers:
            slot = due.get(member.time_zone)
            if slot is None:
                continue
            message = digest_message(session, member, rules, now, run.content, reports)
            if message is None:
                continue
            outgoing.append(
                notify.to_member(
                    member,
                    config,
                    message,
                    key="digest:" + slot,
                    kind="digest",
                    purpose=OPERATIONAL,
                )
            )
        inserted = enqueue_many(session, outgoing, now)
        queued = len(inserted)
    zone_of = {member.id: member.time_zone for member in readers}
    for zone, slot in slots:
        run.record(zone, slot, sum(1 for member_id, _ in inserted if zone_of[member_id] == zone))
    return queued
