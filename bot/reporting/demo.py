"""`relais demo seed`: invented participation for the demo programme, clearly labelled.

Every event it writes has the platform ``demo`` and ``"demo": true`` in its
data, its charter acceptances the platform ``demo``, its crisis (and the alerts
it recorded) was declared "via demo"; seeding again replaces them. It refuses a database holding anyone outside example.com (the domain
reserved for examples): a real programme's figures are never mixed with
invented ones.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, func
from sqlmodel import Session, select

from bot.charter.models import CharterAcknowledgement
from bot.clock import utcnow
from bot.config import AppConfig
from bot.crisis.models import ENDED, Crisis, CrisisAlert, CrisisStep
from bot.i18n import Tr, cli_language
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from bot.reporting import measures, rollup

DEMO = "demo"
DOMAIN = "@example.com"
NETWORKS = ("linkedin", "linkedin", "x", "facebook")


class NotTheDemo(Exception):
    """The database holds a real programme (or none): the message says which."""


def seed(
    engine: Engine,
    config: AppConfig,
    weeks: int,
    charter_version: int | None,
    now: datetime | None = None,
) -> int:
    """Write ``weeks`` weeks of invented participation; return how many events."""
    tr = Tr(cli_language())
    now = now or utcnow()
    rng = random.Random(2026)
    with Session(engine) as session:
        people = session.exec(select(Member).where(Member.left_at.is_(None))).all()  # type: ignore[union-attr]
        if not people:
            raise NotTheDemo(
                tr(
                    "No members yet: import the demo members first (relais members import demo/members.csv)."
                )
            )
        real = session.execute(
            select(func.count()).select_from(Member).where(~Member.email.endswith(DOMAIN))  # type: ignore[attr-defined]
        ).scalar_one()
        if real:
            raise NotTheDemo(
                tr(
                    "This database holds {count} members outside example.com: it is a real "
                    "programme, and invented figures are never mixed with real ones.",
                    count=real,
                )
            )
        session.execute(delete(ParticipationEvent).where(ParticipationEvent.platform == DEMO))  # type: ignore[arg-type]
        session.execute(
            delete(CharterAcknowledgement).where(CharterAcknowledgement.platform == DEMO)
        )  # type: ignore[arg-type]
        invented = select(Crisis.id).where(Crisis.declared_via == DEMO)
        session.execute(delete(CrisisAlert).where(CrisisAlert.crisis_id.in_(invented)))  # type: ignore[attr-defined]
        session.execute(delete(CrisisStep).where(CrisisStep.crisis_id.in_(invented)))  # type: ignore[attr-defined]
        session.execute(delete(Crisis).where(Crisis.declared_via == DEMO))  # type: ignore[arg-type]
        rollup.reset(session)
        events: list[ParticipationEvent] = []

        def add(
            kind: str,
            member: Member | None,
            at: datetime,
            subject: str | None = None,
            **data: object,
        ) -> None:
            events.append(
                ParticipationEvent(
                    kind=kind,
                    member_id=member.id if member else None,
                    subject=subject,
                    platform=DEMO,
                    data={**data, "demo": True},
                    occurred_at=at,
                )
            )

        zone = ZoneInfo(config.time.zone)
        today = now.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday())
        relays = {d.id: d.relays for d in config.departments}
        by_email = {m.email: m for m in people}
        case_number = 0
        for back in range(weeks, 0, -1):
            start = monday - timedelta(weeks=back)
            progress = (weeks - back + 1) / weeks  # the programme warms up over the weeks
            for member in people:
                if not member.opted_in:
                    continue
                for day in (1, 3):  # Tuesday and Thursday, 10:00 in the programme's zone
                    at = datetime.combine(start + timedelta(days=day), time(10), zone)
                    lesson = f"demo-lesson-{back}-{day}"
                    add("lesson_delivered", member, at, lesson)
                    if rng.random() < 0.35 + 0.4 * progress:
                        review = rng.random() < 0.15
                        add(
                            "lesson_answered",
                            member,
                            at + timedelta(minutes=rng.randrange(5, 240)),
                            lesson,
                            correct=rng.random() < 0.6 + 0.2 * progress,
                            review=review,
                        )
                post_at = datetime.combine(start + timedelta(days=2), time(11), zone)
                add("post_delivered", member, post_at, f"demo-post-{back}", campaign="demo")
                if rng.random() < 0.2 + 0.3 * progress:
                    add(
                        "share_clicked",
                        member,
                        post_at + timedelta(hours=rng.randrange(1, 30)),
                        f"demo-post-{back}",
                        network=rng.choice(NETWORKS),
                    )
                    if rng.random() < 0.5:
                        add(
                            "share_declared",
                            member,
                            post_at + timedelta(hours=30),
                            f"demo-post-{back}",
                        )
            for _ in range(rng.randrange(1, 4)):
                case_number += 1
                route = rng.choice(config.escalation.routing) if config.escalation.routing else None
                department = route.department if route else (people[0].department or "")
                opened = datetime.combine(
                    start + timedelta(days=rng.randrange(0, 5)), time(14), zone
                )
                reporter = rng.choice(people)
                case = f"demo-case-{case_number}"
                add(
                    "case_opened",
                    reporter,
                    opened,
                    case,
                    department=department,
                    category=route.category if route else "other",
                    severity="medium",
                )
                minutes = rng.choice((8, 15, 25, 40, 55, 70, 130))
                taker = by_email.get((relays.get(department) or [""])[0])
                add(
                    "case_acknowledged",
                    taker,
                    opened + timedelta(minutes=minutes),
                    case,
                    department=department,
                    minutes=minutes,
                )
                if minutes > config.escalation.deadline_minutes.normal:
                    add(
                        "case_escalated",
                        None,
                        opened + timedelta(minutes=config.escalation.deadline_minutes.normal),
                        case,
                        department=department,
                        step=1,
                    )
                add("case_resolved", taker, opened + timedelta(days=1), case, department=department)
        if weeks >= 3:
            crisis_at = datetime.combine(monday - timedelta(weeks=2, days=-2), time(9), zone)
            coordinator = (
                by_email.get(config.people.coordinators[0]) if config.people.coordinators else None
            )
            crisis = Crisis(
                playbook=DEMO,
                title="Demo crisis (invented)",
                status=ENDED,
                declared_by_id=coordinator.id if coordinator else None,
                declared_via=DEMO,
                declared_at=crisis_at,
                ended_via=DEMO,
                ended_at=crisis_at + timedelta(hours=6),
            )
            session.add(crisis)
            session.flush()
            subject = str(crisis.id)
            add("crisis_declared", coordinator, crisis_at, subject)
            for member in people:
                if not member.opted_in:
                    continue
                read = None
                if rng.random() < 0.8:
                    read = crisis_at + timedelta(minutes=rng.randrange(3, 50))
                    add(
                        "crisis_alert_acknowledged",
                        member,
                        read,
                        subject,
                        department=member.department,
                        role="ambassador",
                    )
                session.add(
                    CrisisAlert(
                        crisis_id=crisis.id or 0,
                        member_id=member.id or 0,
                        role="ambassador",
                        department=member.department,
                        alerted_at=crisis_at,
                        acknowledged_at=read,
                    )
                )
            add("crisis_ended", coordinator, crisis_at + timedelta(hours=6), subject)
        session.add_all(events)
        version = charter_version
        for member in people:
            if (
                member.opted_in
                and rng.random() < 0.7
                and (
                    version
                    and not session.exec(
                        select(CharterAcknowledgement).where(
                            CharterAcknowledgement.member_id == member.id,
                            CharterAcknowledgement.version == version,
                        )
                    ).first()
                )
            ):
                session.add(
                    CharterAcknowledgement(
                        member_id=member.id or 0,
                        version=version,
                        language=member.language,
                        platform=DEMO,
                        acknowledged_at=datetime.combine(
                            monday - timedelta(weeks=rng.randrange(0, weeks)), time(12), zone
                        ),
                    )
                )
        session.commit()
    rollup.catch_up(engine, config.time.zone, now, lag=timedelta(0))
    with Session(engine) as session, session.begin():
        measures.refresh_heads(session, charter_version)
    return len(events)
