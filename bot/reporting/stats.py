"""Participation figures for a scope (one member, some departments, the whole programme).

Everything is read from participation events and member rows, in words a busy
manager understands: how many people took part, how many answers were right,
how many mentions were reported and how fast they were taken in charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.i18n import Tr
from bot.members.models import Member
from bot.participation.models import ParticipationEvent


@dataclass(frozen=True)
class Figures:
    members: int
    opted_in: int
    lessons_delivered: int
    lessons_answered: int
    answers_right: int
    active_members: int  # answered at least one lesson in the period
    reports: int
    reports_acknowledged: int

    @property
    def right_share(self) -> float:
        return self.answers_right / self.lessons_answered if self.lessons_answered else 0.0


def figures(
    session: Session,
    since: datetime,
    departments: list[str] | None = None,
    member_id: int | None = None,
    until: datetime | None = None,
) -> Figures:
    """Figures from ``since`` (to ``until``) for the members of ``departments`` (None: everyone) or one member."""
    until = until or utcnow() + timedelta(days=1)  # events are never in the future
    scope = select(Member.id)
    if member_id is not None:
        scope = scope.where(Member.id == member_id)
    elif departments is not None:
        scope = scope.where(Member.department.in_(departments))  # type: ignore[union-attr]
    ids = scope.scalar_subquery()
    # Head counts are of people still in the company; the events of those who left still count.
    members = session.execute(
        select(func.count()).select_from(Member).where(Member.id.in_(ids), Member.left_at.is_(None))  # type: ignore[union-attr]
    ).scalar_one()
    opted_in = session.execute(
        select(func.count())
        .select_from(Member)
        .where(Member.id.in_(ids), Member.opted_in.is_(True), Member.left_at.is_(None))  # type: ignore[union-attr,attr-defined]
    ).scalar_one()
    counts = dict(
        session.execute(
            select(ParticipationEvent.kind, func.count())
            .where(
                ParticipationEvent.member_id.in_(ids),
                ParticipationEvent.occurred_at >= since,
                ParticipationEvent.occurred_at < until,
            )  # type: ignore[union-attr,operator]
            .group_by(ParticipationEvent.kind)
        ).all()
    )
    answers = (
        session.execute(
            select(ParticipationEvent.data).where(
                ParticipationEvent.kind == "lesson_answered",
                ParticipationEvent.member_id.in_(ids),  # type: ignore[union-attr]
                ParticipationEvent.occurred_at >= since,
                ParticipationEvent.occurred_at < until,
            )
        )
        .scalars()
        .all()
    )  # type: ignore[operator]
    active = session.execute(
        select(func.count(func.distinct(ParticipationEvent.member_id))).where(
            ParticipationEvent.kind == "lesson_answered",
            ParticipationEvent.member_id.in_(ids),  # type: ignore[union-attr]
            ParticipationEvent.occurred_at >= since,
            ParticipationEvent.occurred_at < until,
        )
    ).scalar_one()  # type: ignore[operator]
    reported = select(ParticipationEvent.subject).where(
        ParticipationEvent.kind == "mention_reported", ParticipationEvent.member_id.in_(ids)
    )  # type: ignore[union-attr]
    acknowledged = session.execute(
        select(func.count())
        .select_from(ParticipationEvent)
        .where(
            ParticipationEvent.kind == "report_acknowledged",
            ParticipationEvent.occurred_at >= since,
            ParticipationEvent.occurred_at < until,  # type: ignore[operator]
            ParticipationEvent.subject.in_(reported),
        )
    ).scalar_one()  # type: ignore[union-attr]
    return Figures(
        members=members,
        opted_in=opted_in,
        lessons_delivered=counts.get("lesson_delivered", 0),
        lessons_answered=len(answers),
        answers_right=sum(1 for data in answers if data.get("correct")),
        active_members=active,
        reports=counts.get("mention_reported", 0),
        reports_acknowledged=acknowledged,
    )


def period_start(now: datetime, days: int = 7) -> datetime:
    return now - timedelta(days=days)


def _trend(now: int, before: int, tr: Tr) -> str:
    if now > before:
        return tr("up from {before} the week before", before=before)
    if now < before:
        return tr("down from {before} the week before", before=before)
    return tr("as the week before")


def in_words(this: Figures, tr: Tr, last: Figures | None = None) -> str:
    """Plain sentences a busy manager reads in ten seconds; with ``last``, compared with it."""
    if last is None:
        lessons = [
            tr.plural(
                "{active} person answered at least one lesson;",
                "{active} people answered at least one lesson;",
                this.active_members,
                active=this.active_members,
            )
            + " "
            + tr.plural(
                "{answered} answer in all, {right:.0%} of them right.",
                "{answered} answers in all, {right:.0%} of them right.",
                this.lessons_answered,
                answered=this.lessons_answered,
                right=this.right_share,
            ),
            tr.plural(
                "{delivered} lesson was sent.",
                "{delivered} lessons were sent.",
                this.lessons_delivered,
                delivered=this.lessons_delivered,
            ),
        ]
    else:
        lessons = [
            tr.plural(
                "{active} person answered at least one lesson ({trend}).",
                "{active} people answered at least one lesson ({trend}).",
                this.active_members,
                active=this.active_members,
                trend=_trend(this.active_members, last.active_members, tr),
            ),
            tr.plural(
                "{right:.0%} of the {answered} answer was right.",
                "{right:.0%} of the {answered} answers were right.",
                this.lessons_answered,
                right=this.right_share,
                answered=this.lessons_answered,
            )
            if this.lessons_answered
            else tr("Nobody answered a lesson this week."),
        ]
    lines = [
        tr.plural(
            "{opted_in} person out of {members} takes part in the programme.",
            "{opted_in} people out of {members} take part in the programme.",
            this.opted_in,
            opted_in=this.opted_in,
            members=this.members,
        ),
        *lessons,
        tr.plural(
            "{reports} worrying mention reported,",
            "{reports} worrying mentions reported,",
            this.reports,
            reports=this.reports,
        )
        + " "
        + tr.plural(
            "{acknowledged} taken in charge.",
            "{acknowledged} taken in charge.",
            this.reports_acknowledged,
            acknowledged=this.reports_acknowledged,
        ),
    ]
    return "\n".join(f"• {line}" for line in lines)
