"""Crisis drills: the whole crisis flow as an exercise, and the report that follows.

A drill runs what a crisis runs (the cell alerted with their roles, the holding
statement with "I have read it" to every ambassador of its audience, reminders,
an escalation to whoever started it when the cell is late, the acknowledgement
board) with every message marked EXERCISE. It is a crisis row of its own
(``drill``, status "drilling"): it writes no pause, so promotion goes on, and
nothing that reads the crisis in progress or the cases sees it. Ended, it gives
a report: who acknowledged, how fast per department and per role, who never
did, against the playbook's targets and the previous drill.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from bot import notify
from bot.clock import as_utc, utcnow
from bot.config import AppConfig, Audience
from bot.content.library import ContentLibrary
from bot.content.schema import Playbook
from bot.crisis import service
from bot.crisis.models import DRILLING, ENDED, Crisis, CrisisAlert, CrisisStep
from bot.crisis.service import AMBASSADOR, CrisisRefused, exercise, step
from bot.delivery.models import OPERATIONAL, PENDING, PRIORITY_URGENT, Delivery
from bot.delivery.outbox import enqueue_many
from bot.i18n import N_, Tr, format_day
from bot.members import service as members
from bot.members.models import Member
from bot.messages import ContextLine, Message, Section
from bot.participation.models import record

REMINDER_KIND = "drill_reminder"  # the alert itself: service.alert
ESCALATION_KIND = "drill_escalation"  # the end's: service.tell_alerted
NAMES_SHOWN = 30  # people who never acknowledged, named in the report
ROLE_NAMES = {
    "coordinator": N_("coordinators"),
    "relay": N_("relays"),
    "manager": N_("managers"),
    "ambassador": N_("ambassadors"),
    "crisis_cell": N_("the crisis cell"),
}


# --- starting -------------------------------------------------------------------------------


def parse_audience(words: list[str], config: AppConfig, tr: Tr) -> Audience:
    """``department:sales language:fr`` (campaign words) as the drill's audience."""
    from bot.campaigns import service as campaigns  # the same words as a campaign's audience

    try:
        return campaigns.parse_targets(words, config, tr)
    except campaigns.CampaignError as problem:
        raise CrisisRefused(str(problem)) from None


def start(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    tr: Tr,
    *,
    playbook_id: str,
    audience: list[str],
    by: Member | None,
    via: str,
    now: datetime | None = None,
) -> service.Declared:
    """Start a drill: alert the cell with their roles and the audience with the statement."""
    now = now or utcnow()
    current = service.running_drill(session)
    if current is not None:
        raise CrisisRefused(
            tr(
                "An exercise is already running: {title} (number {id}). End it first with "
                "“crisis drill end”.",
                title=service.title_of(content, current, tr.lang),
                id=current.id,
            )
        )
    playbook = service.playbook_of(content, playbook_id, config.languages.default)
    if playbook is None:
        raise CrisisRefused(
            tr(
                "No playbook has the id “{id}”. The playbooks: {ids}.",
                id=playbook_id,
                ids=", ".join(sorted(content.playbooks)) or "—",
            )
        )
    words = [word.strip() for word in audience if word.strip()] or ["all"]
    wanted = parse_audience(words, config, tr)
    drill = Crisis(
        playbook=playbook_id,
        title=playbook.title[:300],
        status=DRILLING,
        drill=True,
        audience=[w for w in words if w != "all"],
        declared_by_id=by.id if by else None,
        declared_via=via,
        declared_at=now,
    )
    session.add(drill)
    session.flush()  # a second drill running breaks its unique index here
    step(session, drill, "drill_started", now, by, playbook=playbook_id, via=via)
    reached = [
        person
        for person in service.people(session, config, playbook)
        if person.in_cell or members.in_audience(person.member, wanted, config)
    ]
    return service.alert(
        session, config, content, tr, drill, playbook, reached, by=by, via=via, now=now
    )


# --- the escalation: the cell late ------------------------------------------------------------


def cell_target(config: AppConfig, playbook: Playbook | None) -> int:
    """Minutes the cell has to acknowledge: the escalation deadline of the playbook's severity."""
    severity = playbook.severity if playbook else "critical"
    return config.escalation.deadline_minutes.minutes(severity)


def everyone_target(playbook: Playbook | None) -> int:
    """Minutes everyone has to read it: before the playbook's first reminder."""
    return playbook.remind_after_minutes if playbook else 30


def escalate(session: Session, config: AppConfig, content: ContentLibrary, now: datetime) -> int:
    """Once the cell's target has passed, tell whoever started the drill (else the central
    team) who in the cell has not acknowledged yet: the drill's escalation, once."""
    drill = service.running_drill(session)
    if drill is None:
        return 0
    playbook = service.playbook_of(content, drill.playbook, config.languages.default)
    minutes = cell_target(config, playbook)
    if as_utc(drill.declared_at) + timedelta(minutes=minutes) > now:
        return 0
    done = session.execute(
        select(CrisisStep.id).where(
            CrisisStep.crisis_id == drill.id, CrisisStep.kind == "escalated"
        )
    ).first()
    if done is not None:
        return 0
    late = list(
        session.execute(
            select(Member.name, CrisisAlert.role)
            .join(Member, Member.id == CrisisAlert.member_id)
            .where(
                CrisisAlert.crisis_id == drill.id,
                CrisisAlert.role != AMBASSADOR,
                CrisisAlert.acknowledged_at.is_(None),  # type: ignore[union-attr]
            )
            .order_by(Member.name)
        ).all()
    )
    step(session, drill, "escalated", now, actor="Relais", count=len(late), minutes=minutes)
    if not late:
        return 0
    if drill.declared_by_id:
        told = [m for m in [session.get(Member, drill.declared_by_id)] if m is not None]
    else:
        told = central_team(session, config)
    outgoing = []
    for member in told:
        tr = Tr(member.language)
        title = exercise(
            tr,
            tr.plural(
                "{count} person of the crisis cell has not acknowledged after {minutes} minutes",
                "{count} people of the crisis cell have not acknowledged after {minutes} minutes",
                len(late),
                count=len(late),
                minutes=minutes,
            ),
        )
        names = "\n".join(f"• {name} ({role_label(role, tr)})" for name, role in late)
        outgoing.append(
            notify.to_member(
                member,
                config,
                Message(
                    text=title,
                    blocks=[
                        Section(title=title, text=names),
                        ContextLine(
                            text=tr(
                                "In a real crisis, call them now. Type “crisis drill status” "
                                "for the board."
                            )
                        ),
                    ],
                ),
                key=f"crisis:{drill.id}:escalated",
                kind=ESCALATION_KIND,
                purpose=OPERATIONAL,
                subject=str(drill.id),
                priority=PRIORITY_URGENT,
            )
        )
    return len(enqueue_many(session, outgoing, now))


def central_team(session: Session, config: AppConfig) -> list[Member]:
    from bot.response.service import active_members

    return active_members(session, config.people.coordinators)


def role_label(role: str, tr: Tr) -> str:
    """A crisis role in words: "crisis_cell:legal" is the cell's legal function."""
    group, _, function = role.partition(":")
    name = tr(ROLE_NAMES[group]) if group in ROLE_NAMES else group
    return f"{name} · {function}" if function else name


# --- ending and the report -----------------------------------------------------------------


def end(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    tr: Tr,
    *,
    by: Member | None,
    via: str,
    now: datetime | None = None,
) -> tuple[Crisis, int]:
    """End the running drill: reminders stop, everyone alerted is told; returns it and that count."""
    now = now or utcnow()
    drill = service.running_drill(session)
    if drill is None:
        raise CrisisRefused(tr("No exercise is running."))
    if not service.close(session, drill, DRILLING, by, via, now):
        raise CrisisRefused(tr("No exercise is running."))
    session.refresh(drill)
    session.execute(
        update(Delivery)
        .where(
            Delivery.status == PENDING,
            Delivery.kind.in_((REMINDER_KIND, ESCALATION_KIND)),  # type: ignore[attr-defined]
            Delivery.subject == str(drill.id),
        )
        .values(status="cancelled", error="the exercise ended")
    )
    step(session, drill, "drill_ended", now, by, via=via)

    def message(member: Member) -> Message:
        tr = Tr(member.language)
        text = exercise(
            tr,
            tr(
                "The exercise is over: {title}. Thank you for taking part; nothing happened.",
                title=service.title_of(content, drill, member.language),
            ),
        )
        return Message(text=text, blocks=[Section(text=text)])

    told = service.tell_alerted(session, config, drill, message, now)
    found = report(session, config, content, drill)
    record(
        session,
        "drill_ended",
        by.id if by else None,
        str(drill.id),
        via,
        told=told,
        alerted=found.alerted,
        acknowledged=found.acknowledged,
    )
    return drill, told


@dataclass
class Group:
    """Acknowledgements of a department or a role."""

    key: str
    alerted: int = 0
    minutes: list[float] = field(default_factory=list)  # of those who acknowledged

    @property
    def acknowledged(self) -> int:
        return len(self.minutes)

    @property
    def median(self) -> float | None:
        return statistics.median(self.minutes) if self.minutes else None


@dataclass
class Report:
    drill: Crisis
    alerted: int
    acknowledged: int
    median: float | None
    departments: list[Group]
    roles: list[Group]
    never: list[tuple[str, str, str | None]]  # (name, role, department)
    cell_target: int
    everyone_target: int
    cell_alerted: int
    cell_in_time: int
    everyone_in_time: int
    previous: Report | None = None

    @property
    def share(self) -> float:
        return self.acknowledged / self.alerted if self.alerted else 0.0


def report(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    drill: Crisis,
    with_previous: bool = True,
) -> Report:
    """Who acknowledged the drill, how fast per department and role, who never did."""
    playbook = service.playbook_of(content, drill.playbook, config.languages.default)
    rows = session.execute(
        select(
            Member.name,
            CrisisAlert.role,
            CrisisAlert.department,
            CrisisAlert.alerted_at,
            CrisisAlert.acknowledged_at,
        )
        .join(Member, Member.id == CrisisAlert.member_id)
        .where(CrisisAlert.crisis_id == drill.id)
        .order_by(CrisisAlert.role == AMBASSADOR, Member.name)  # type: ignore[arg-type]
    ).all()
    departments: dict[str, Group] = {}
    roles: dict[str, Group] = {}
    never: list[tuple[str, str, str | None]] = []
    everything: list[float] = []
    cell_limit, everyone_limit = cell_target(config, playbook), everyone_target(playbook)
    cell_alerted = cell_in_time = everyone_in_time = 0
    for name, role, department, alerted_at, acknowledged_at in rows:
        group_role = role.partition(":")[0]
        for groups, key in ((departments, department or ""), (roles, group_role)):
            groups.setdefault(key, Group(key)).alerted += 1
        in_cell = role != AMBASSADOR
        cell_alerted += in_cell
        if acknowledged_at is None:
            never.append((name, role, department))
            continue
        minutes = (as_utc(acknowledged_at) - as_utc(alerted_at)).total_seconds() / 60
        departments[department or ""].minutes.append(minutes)
        roles[group_role].minutes.append(minutes)
        everything.append(minutes)
        everyone_in_time += minutes <= everyone_limit
        cell_in_time += in_cell and minutes <= cell_limit
    previous = None
    if with_previous:
        before = (
            session.execute(
                select(Crisis)
                .where(
                    Crisis.drill.is_(True),  # type: ignore[attr-defined]
                    Crisis.status == ENDED,
                    Crisis.id < (drill.id or 0),  # type: ignore[operator]
                )
                .order_by(Crisis.id.desc())  # type: ignore[union-attr]
            )
            .scalars()
            .first()
        )
        if before is not None:
            previous = report(session, config, content, before, with_previous=False)
    return Report(
        drill=drill,
        alerted=len(rows),
        acknowledged=len(everything),
        median=statistics.median(everything) if everything else None,
        departments=sorted(departments.values(), key=lambda g: g.key),
        roles=sorted(roles.values(), key=lambda g: (g.key == AMBASSADOR, g.key)),
        never=never,
        cell_target=cell_limit,
        everyone_target=everyone_limit,
        cell_alerted=cell_alerted,
        cell_in_time=cell_in_time,
        everyone_in_time=everyone_in_time,
        previous=previous,
    )


def last_ended(session: Session) -> Crisis | None:
    """The latest drill that ended: the maturity page's evidence of an exercised process."""
    return (
        session.execute(
            select(Crisis)
            .where(Crisis.drill.is_(True), Crisis.status == ENDED)  # type: ignore[attr-defined]
            .order_by(Crisis.ended_at.desc())  # type: ignore[union-attr]
        )
        .scalars()
        .first()
    )


def _minutes(value: float | None, tr: Tr) -> str:
    if value is None:
        return "—"
    return tr("{minutes} min", minutes=f"{value:.1f}" if value < 10 else f"{value:.0f}")


def _group_line(group: Group, label: str, tr: Tr) -> str:
    return tr(
        "{label}: {acknowledged}/{alerted}, median {median}",
        label=label,
        acknowledged=group.acknowledged,
        alerted=group.alerted,
        median=_minutes(group.median, tr),
    )


def _department_name(config: AppConfig, department: str, tr: Tr) -> str:
    found = config.department(department or None)
    if found is None:
        return department or tr("no department")
    return found.name.get(tr.lang) or found.id


def report_lines(found: Report, config: AppConfig, tr: Tr, title: str) -> list[tuple[str, str]]:
    """The report as (heading, text) pairs: the same words in chat and on the command line."""
    drill = found.drill
    ended = as_utc(drill.ended_at) if drill.ended_at else None
    took = (
        tr("{minutes} min", minutes=int((ended - as_utc(drill.declared_at)).total_seconds() // 60))
        if ended
        else tr("still running")
    )
    summary = tr(
        "{acknowledged} of {alerted} people acknowledged ({share:.0%}); median {median}. "
        "Started on {date}, lasted {took}.",
        acknowledged=found.acknowledged,
        alerted=found.alerted,
        share=found.share,
        median=_minutes(found.median, tr),
        date=format_day(as_utc(drill.declared_at).date(), tr.lang, "long"),
        took=took,
    )
    targets = "\n".join(
        [
            tr(
                "Crisis cell within {minutes} minutes: {done} of {alerted}.",
                minutes=found.cell_target,
                done=found.cell_in_time,
                alerted=found.cell_alerted,
            ),
            tr(
                "Everyone within {minutes} minutes (before the first reminder): {done} of "
                "{alerted} ({share:.0%}).",
                minutes=found.everyone_target,
                done=found.everyone_in_time,
                alerted=found.alerted,
                share=found.everyone_in_time / found.alerted if found.alerted else 0.0,
            ),
        ]
    )
    lines = [
        (exercise(tr, tr("Exercise report: {title}", title=title)), summary),
        (tr("Against the playbook's targets"), targets),
        (
            tr("By department"),
            "\n".join(
                _group_line(g, _department_name(config, g.key, tr), tr) for g in found.departments
            )
            or "—",
        ),
        (
            tr("By role"),
            "\n".join(_group_line(g, role_label(g.key, tr), tr) for g in found.roles) or "—",
        ),
    ]
    if found.never:
        names = [
            f"{name} ({role_label(role, tr)}, {_department_name(config, department or '', tr)})"
            for name, role, department in found.never[:NAMES_SHOWN]
        ]
        if len(found.never) > NAMES_SHOWN:
            names.append(tr("and {count} more", count=len(found.never) - NAMES_SHOWN))
        lines.append((tr("Never acknowledged"), "\n".join(names)))
    else:
        lines.append((tr("Never acknowledged"), tr("Nobody: everyone acknowledged.")))
    before = found.previous
    if before is None:
        lines.append((tr("Compared with the previous exercise"), tr("This is the first one.")))
    else:
        lines.append(
            (
                tr("Compared with the previous exercise"),
                tr(
                    "Exercise {id} on {date}: {share:.0%} acknowledged (now {now:.0%}); "
                    "median {median} (now {now_median}); crisis cell in time {cell} of "
                    "{cell_alerted} (now {now_cell} of {now_cell_alerted}).",
                    id=before.drill.id,
                    date=format_day(as_utc(before.drill.declared_at).date(), tr.lang, "long"),
                    share=before.share,
                    now=found.share,
                    median=_minutes(before.median, tr),
                    now_median=_minutes(found.median, tr),
                    cell=before.cell_in_time,
                    cell_alerted=before.cell_alerted,
                    now_cell=found.cell_in_time,
                    now_cell_alerted=found.cell_alerted,
                ),
            )
        )
    return lines


def report_message(found: Report, config: AppConfig, tr: Tr, title: str) -> Message:
    lines = report_lines(found, config, tr, title)
    blocks: list[Any] = [Section(title=heading, text=text) for heading, text in lines]
    blocks.append(
        ContextLine(
            text=tr("The timeline of this exercise: relais crisis export {id}", id=found.drill.id)
        )
    )
    return Message(text=lines[0][0], blocks=blocks)


def find(session: Session, drill_id: int | None) -> Crisis | None:
    """A drill by number, or the latest one (running or ended)."""
    query = select(Crisis).where(Crisis.drill.is_(True))  # type: ignore[attr-defined]
    if drill_id is not None:
        query = query.where(Crisis.id == drill_id)
    return session.execute(query.order_by(Crisis.id.desc())).scalars().first()  # type: ignore[union-attr]


def board(
    session: Session, config: AppConfig, content: ContentLibrary, reach: Any, lang: str
) -> service.Board | None:
    """The running drill's acknowledgement board, or None when no drill runs."""
    drill = service.running_drill(session)
    if drill is None:
        return None
    return service.board(session, config, content, drill, reach, lang)
