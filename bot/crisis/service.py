"""Crisis mode, callable from chat handlers, the scheduler and the CLI alike.

Declaring a crisis is one transaction: the crisis row (a unique index keeps a
single active crisis), the stored pause of promotional deliveries, one alert
per person and their outbox rows on the priority lane. Because the pause is
written in the same transaction, a crisis cannot exist without the pause, and
the pause takes effect for every replica the moment the declaration commits.
Ending it is the mirror image. Every step is written to the timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_time
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from bot import notify
from bot.clock import as_utc, local, utcnow
from bot.config import AppConfig
from bot.content.library import ContentLibrary
from bot.content.schema import Playbook
from bot.crisis.models import ACTIVE, DRILLING, ENDED, Crisis, CrisisAlert, CrisisStep
from bot.delivery.models import (
    OPERATIONAL,
    PENDING,
    PRIORITY_URGENT,
    PROMOTIONAL_PAUSE,
    Delivery,
    DeliveryPause,
)
from bot.delivery.outbox import enqueue_many
from bot.i18n import Tr, format_day
from bot.members.models import Member
from bot.messages import Actions, Button, ContextLine, Divider, Message, Section, command_button
from bot.participation.models import record
from bot.permissions import Reach, departments_in

ACK_ACTION = "crisis.ack"
DECLARE_ACTION = "crisis.declare"  # value: a playbook id (the cases capability proposes it)
CELL_ROLES = ("coordinator", "relay", "manager")  # after crisis_cell:<function>, in this order
AMBASSADOR = "ambassador"
NAMES_SHOWN = 15  # people not yet read, named on a department's board


class CrisisRefused(Exception):
    """What cannot be done, already translated for whoever asked."""


# --- reading ---------------------------------------------------------------------------


def active(session: Session) -> Crisis | None:
    return session.execute(select(Crisis).where(Crisis.status == ACTIVE)).scalars().first()


def playbook_of(content: ContentLibrary, playbook_id: str, lang: str) -> Playbook | None:
    return content.playbook(playbook_id, lang)


def title_of(content: ContentLibrary, crisis: Crisis, lang: str) -> str:
    """The crisis' name in a reader's language (the playbook's title, else the stored one)."""
    playbook = playbook_of(content, crisis.playbook, lang)
    return playbook.title if playbook else crisis.title


def who(member: Member | None) -> str:
    """Who did something, in the timeline: a member's name and e-mail, or the operator."""
    return f"{member.name} <{member.email}>" if member else "operator"


def step(
    session: Session,
    crisis: Crisis,
    kind: str,
    at: datetime,
    member: Member | None = None,
    actor: str | None = None,
    detail: str = "",
    **data: Any,
) -> None:
    session.add(
        CrisisStep(
            crisis_id=crisis.id or 0,
            at=at,
            kind=kind,
            member_id=member.id if member else None,
            actor=(actor if actor is not None else who(member))[:320],
            department=data.pop("department", None) or (member.department if member else None),
            role=data.pop("role", None),
            detail=detail[:4000],
            data=data,
        )
    )


def _time(moment: datetime, zone: str, tr: Tr) -> str:
    return format_time(local(moment, zone), format="short", locale=tr.lang)


# --- who is alerted ----------------------------------------------------------------------


@dataclass
class Person:
    """A member the crisis reaches, with what they are in the crisis plan."""

    member: Any  # a Member, or a row with its columns
    role: str
    targets: list[str] = field(default_factory=list)

    @property
    def in_cell(self) -> bool:
        return self.role != AMBASSADOR


def _targets(member: Any, config: AppConfig) -> list[str]:
    """What the member is in a playbook's ``notify`` words, crisis-cell functions first."""
    roles = set(member.roles or ()) | config.roles_of(member.email)
    found = []
    if "crisis_cell" in roles:
        functions = [
            p.function for p in config.people.crisis_cell if p.email.lower() == member.email.lower()
        ]
        found += [f"crisis_cell:{f}" for f in functions] or ["crisis_cell"]
    for role in CELL_ROLES:
        if role in roles:
            found.append(f"{role}s")
    return found


def _notified(target: str, notify_list: list[str]) -> bool:
    return target in notify_list or (
        target.startswith("crisis_cell") and "crisis_cell" in notify_list
    )


def people(session: Session, config: AppConfig, playbook: Playbook) -> list[Person]:
    """Everyone the crisis reaches: the people the playbook notifies, then every ambassador."""
    columns = (
        Member.id,
        Member.email,
        Member.name,
        Member.department,
        Member.language,
        Member.time_zone,
        Member.roles,
        Member.opted_in,
        Member.preferred_platform,
    )
    rows = session.execute(
        select(*columns).where(Member.left_at.is_(None)).order_by(Member.id)  # type: ignore[union-attr]
    ).all()
    cell, ambassadors = [], []
    for row in rows:
        targets = [t for t in _targets(row, config) if _notified(t, playbook.notify)]
        if targets:
            first = targets[0]
            role = first if first.startswith("crisis_cell") else first.removesuffix("s")
            cell.append(Person(row, role, targets))
        elif row.opted_in:
            ambassadors.append(Person(row, AMBASSADOR))
    return cell + ambassadors


# --- messages ----------------------------------------------------------------------------


def _bullets(items: Iterable[str]) -> str:
    return "\n".join(f"• {item}" for item in items)


def alert_message(
    crisis: Crisis,
    playbook: Playbook,
    tr: Tr,
    zone: str,
    person: Person | None,
    declared_by: str,
    reminder: bool = False,
) -> Message:
    """The alert: holding statement and do/don't for all; the role and the plan for the cell.

    A drill's alert says EXERCISE in its title, its first line and its fallback text.
    """
    drill = crisis.drill
    if drill:
        title = exercise(
            tr,
            tr("Reminder: exercise in progress, {title}", title=playbook.title)
            if reminder
            else tr("Crisis exercise: {title}", title=playbook.title),
        )
    else:
        title = "🚨 " + (
            tr("Reminder: crisis in progress, {title}", title=playbook.title)
            if reminder
            else tr("Crisis declared: {title}", title=playbook.title)
        )
    blocks: list[Any] = []
    if drill:
        blocks.append(
            Section(
                title=title,
                text=tr(
                    "This is an exercise: nothing has happened. Act as you would in a real "
                    "crisis, and say you have read it."
                ),
            )
        )
    blocks.append(Section(title=None if drill else title, text=playbook.scenario))
    if crisis.note:
        blocks.append(Section(text=crisis.note, plain=True))
    roles = playbook.role_of(person.targets) if person and person.in_cell else []
    if roles:
        blocks.append(Section(title=tr("Your role"), text="\n\n".join(roles)))
    blocks += [
        Section(title=tr("The official statement"), text=playbook.holding_statement.strip()),
        Section(title=tr("What to do"), text=_bullets(playbook.ambassadors.do)),
        Section(title=tr("What not to do"), text=_bullets(playbook.ambassadors.dont)),
    ]
    if person and person.in_cell:
        if playbook.do:
            blocks.append(Section(title=tr("The crisis cell: to do"), text=_bullets(playbook.do)))
        if playbook.dont:
            blocks.append(
                Section(title=tr("The crisis cell: to avoid"), text=_bullets(playbook.dont))
            )
        if playbook.body:
            blocks.append(Section(title=tr("The plan"), text=playbook.body))
    blocks.append(
        ContextLine(
            text=tr(
                "An exercise started by {name} at {time}. Nothing is paused: this is not a real "
                "crisis.",
                name=declared_by,
                time=_time(crisis.declared_at, zone, tr),
            )
            if drill
            else tr(
                "Declared by {name} at {time}. Promotional messages are paused until the crisis "
                "ends.",
                name=declared_by,
                time=_time(crisis.declared_at, zone, tr),
            )
        )
    )
    buttons = [
        Button(
            label=tr("I have read it"),
            action_id=ACK_ACTION,
            value=str(crisis.id),
            style="primary",
        )
    ]
    if person and person.in_cell:
        buttons.append(
            command_button(tr("Who has read it"), "crisis drill status" if drill else "crisis")
        )
    blocks.append(Actions(buttons=buttons))
    return Message(text=title, blocks=blocks)


def exercise(tr: Tr, text: str) -> str:
    """A drill's words, marked so nobody takes them for a real crisis."""
    return "🧪 " + tr("EXERCISE") + " — " + text


def ended_message(crisis: Crisis, title: str, tr: Tr) -> Message:
    text = tr("The crisis is over: {title}.", title=title)
    blocks: list[Any] = [Section(title="✅ " + text, text=crisis.summary)]
    blocks.append(
        ContextLine(text=tr("Thank you. The programme's usual messages resume from now on."))
    )
    return Message(text="✅ " + text, blocks=blocks)


def banner(session: Session, member: Member, content: ContentLibrary) -> list[Any]:
    """The crisis banner of a member's home (Slack App Home, Teams welcome card): or nothing."""
    crisis = active(session)
    if crisis is None:
        return []
    tr = Tr(member.language)
    playbook = playbook_of(content, crisis.playbook, member.language)
    title = playbook.title if playbook else crisis.title
    blocks: list[Any] = [
        Section(
            title="🚨 " + tr("Crisis in progress: {title}", title=title),
            text=(playbook.holding_statement.strip() if playbook else "")
            or tr("Follow the crisis cell's instructions."),
        ),
    ]
    alert = _alert(session, crisis.id or 0, member.id or 0)
    if alert is not None and alert.acknowledged_at is None:
        blocks.append(
            Actions(
                buttons=[
                    Button(
                        label=tr("I have read it"),
                        action_id=ACK_ACTION,
                        value=str(crisis.id),
                        style="primary",
                    ),
                    command_button(tr("What to do"), "crisis"),
                ]
            )
        )
    else:
        blocks.append(Actions(buttons=[command_button(tr("What to do"), "crisis")]))
    blocks.append(Divider())
    return blocks


# --- declare -----------------------------------------------------------------------------


@dataclass
class Declared:
    crisis: Crisis
    cell: int
    ambassadors: int


def _pause(session: Session, crisis: Crisis) -> None:
    """The stored pause of promotional deliveries, in the declaration's own transaction."""
    dialect = session.get_bind().dialect.name
    table = DeliveryPause.__table__  # type: ignore[attr-defined]
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table).values(
        scope=PROMOTIONAL_PAUSE,
        reason=f"crisis {crisis.id}: {crisis.title}"[:300],
        paused_at=utcnow(),
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["scope"]))


def _resume(session: Session) -> None:
    session.execute(delete(DeliveryPause).where(DeliveryPause.scope == PROMOTIONAL_PAUSE))  # type: ignore[arg-type]


def declare(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    tr: Tr,
    *,
    playbook_id: str,
    note: str = "",
    by: Member | None,
    via: str,
    now: datetime | None = None,
) -> Declared:
    """Declare a crisis: pause promotion, alert the cell with their roles, tell every ambassador."""
    now = now or utcnow()
    current = active(session)
    if current is not None:
        raise CrisisRefused(
            tr(
                "A crisis is already in progress: {title} (number {id}), declared on {date}. "
                "Only one crisis at a time: end it first with “crisis end SUMMARY”.",
                title=title_of(content, current, tr.lang),
                id=current.id,
                date=format_day(as_utc(current.declared_at).date(), tr.lang, "long"),
            )
        )
    playbook = playbook_of(content, playbook_id, config.languages.default)
    if playbook is None:
        raise CrisisRefused(
            tr(
                "No playbook has the id “{id}”. The playbooks: {ids}.",
                id=playbook_id,
                ids=", ".join(sorted(content.playbooks)) or "—",
            )
        )
    crisis = Crisis(
        playbook=playbook_id,
        title=playbook.title[:300],
        note=note.strip()[:2000],
        declared_by_id=by.id if by else None,
        declared_via=via,
        declared_at=now,
    )
    session.add(crisis)
    session.flush()  # a second active crisis breaks the unique index here
    _pause(session, crisis)
    step(session, crisis, "declared", now, by, detail=crisis.note, playbook=playbook_id, via=via)
    step(session, crisis, "promotion_paused", now, actor="Relais")
    reached = people(session, config, playbook)
    return alert(session, config, content, tr, crisis, playbook, reached, by=by, via=via, now=now)


def alert(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    tr: Tr,
    crisis: Crisis,
    playbook: Playbook,
    reached: list[Person],
    *,
    by: Member | None,
    via: str,
    now: datetime,
) -> Declared:
    """Alert everyone ``reached`` for a crisis just declared or a drill just started
    (``crisis.drill``): the cell with their roles, every ambassador with the statement, in
    their own language and zone; then the timeline's steps and the participation event.

    A drill's messages say EXERCISE (``alert_message``) and go out under the drill's own
    kinds and event; pausing promotion is the declaration's, before this, and a drill's never.
    """
    drill = crisis.drill
    declared_by = by.name if by else tr("the programme's operator")
    alerts, outgoing = [], []
    messages: dict[tuple[Any, ...], Message] = {}  # one per language, zone and role, not per person
    for person in reached:
        row = person.member
        lang = row.language
        shape = (lang, row.time_zone, person.role, tuple(person.targets))
        if shape not in messages:
            messages[shape] = alert_message(
                crisis,
                playbook_of(content, crisis.playbook, lang) or playbook,
                Tr(lang),
                row.time_zone,
                person,
                declared_by,
            )
        alerts.append(
            {
                "crisis_id": crisis.id,
                "member_id": row.id,
                "role": person.role,
                "department": row.department,
                "alerted_at": now,
                "reminders": 0,
            }
        )
        outgoing.append(
            notify.to_member(
                row,
                config,
                messages[shape],
                key=f"crisis:{crisis.id}:alert",
                kind="drill_alert" if drill else "crisis_alert",
                purpose=OPERATIONAL,
                subject=str(crisis.id),
                priority=PRIORITY_URGENT,
            )
        )
    # The people the playbook names first: the priority lane sends in id order.
    enqueue_many(session, outgoing, now)
    if alerts:
        session.execute(insert(CrisisAlert), alerts)
    cell = [p for p in reached if p.in_cell]
    for person in cell:
        step(
            session,
            crisis,
            "alerted",
            now,
            actor=f"{person.member.name} <{person.member.email}>",
            department=person.member.department,
            role=person.role,
            member_id=person.member.id,
        )
    ambassadors = len(reached) - len(cell)
    step(
        session,
        crisis,
        "statement_sent",
        now,
        actor="Relais",
        detail="" if drill else str(ambassadors),
        count=ambassadors,
        cell=len(cell),
    )
    record(
        session,
        "drill_started" if drill else "crisis_declared",
        by.id if by else None,
        str(crisis.id),
        via,
        playbook=crisis.playbook,
        cell=len(cell),
        ambassadors=ambassadors,
    )
    return Declared(crisis, len(cell), ambassadors)


# --- acknowledge -------------------------------------------------------------------------


def _alert(session: Session, crisis_id: int, member_id: int) -> CrisisAlert | None:
    return (
        session.execute(
            select(CrisisAlert).where(
                CrisisAlert.crisis_id == crisis_id, CrisisAlert.member_id == member_id
            )
        )
        .scalars()
        .first()
    )


def acknowledge(
    session: Session, member: Member, crisis_id: int, platform: str, tr: Tr, now: datetime
) -> str:
    """ "I have read it": recorded once, with the member's department and role; returns the reply."""
    crisis = session.get(Crisis, crisis_id)
    if crisis is None:
        raise CrisisRefused(tr("That crisis no longer exists."))
    alert = _alert(session, crisis_id, member.id or 0)
    if alert is None:
        raise CrisisRefused(tr("This crisis alert was not sent to you: nothing to acknowledge."))
    taken = session.execute(
        update(CrisisAlert)
        .where(CrisisAlert.id == alert.id, CrisisAlert.acknowledged_at.is_(None))  # type: ignore[union-attr]
        .values(acknowledged_at=now)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(alert)
    if not taken:
        return tr(
            "You already said you had read it, at {time}. Thank you!",
            time=_time(alert.acknowledged_at or now, member.time_zone, tr),
        )
    minutes = int((now - as_utc(alert.alerted_at)).total_seconds() // 60)
    record(
        session,
        "drill_alert_acknowledged" if crisis.drill else "crisis_alert_acknowledged",
        member.id,
        str(crisis_id),
        platform,
        department=alert.department,
        role=alert.role,
        minutes=minutes,
    )
    step(
        session,
        crisis,
        "acknowledged",
        now,
        member,
        department=alert.department,
        role=alert.role,
        minutes=minutes,
    )
    if crisis.drill:
        return exercise(
            tr,
            tr("Thank you, noted: this exercise is over already.")
            if crisis.status == ENDED
            else tr(
                "Thank you, noted. In a real crisis you would now share only the official "
                "statement, word for word, and report any worrying post."
            ),
        )
    if crisis.status == ENDED:
        return tr("Thank you. This crisis is over already.")
    return tr(
        "Thank you, noted. Share only the official statement, word for word, and report any "
        "worrying post instead of replying to it."
    )


# --- end ---------------------------------------------------------------------------------


def end(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    tr: Tr,
    *,
    summary: str,
    by: Member | None,
    via: str,
    now: datetime | None = None,
) -> tuple[Crisis, int]:
    """End the active crisis: resume promotion, tell everyone alerted; returns it and that count."""
    now = now or utcnow()
    summary = summary.strip()
    crisis = active(session)
    if crisis is None:
        raise CrisisRefused(tr("No crisis is in progress."))
    if not summary:
        raise CrisisRefused(
            tr(
                "Say in a few words how the crisis ended, for everyone who was alerted: "
                "crisis end SUMMARY"
            )
        )
    if not close(session, crisis, ACTIVE, by, via, now, summary=summary[:4000]):
        raise CrisisRefused(tr("No crisis is in progress."))
    session.refresh(crisis)
    _resume(session)
    # Reminders not sent yet have nothing more to say.
    session.execute(
        update(Delivery)
        .where(
            Delivery.status == PENDING,
            Delivery.kind == "crisis_reminder",
            Delivery.subject == str(crisis.id),
        )
        .values(status="cancelled", error="the crisis ended")
    )
    step(session, crisis, "ended", now, by, detail=crisis.summary, via=via)
    step(session, crisis, "promotion_resumed", now, actor="Relais")

    def message(member: Member) -> Message:
        playbook = playbook_of(content, crisis.playbook, member.language)
        return ended_message(
            crisis, playbook.title if playbook else crisis.title, Tr(member.language)
        )

    told = tell_alerted(session, config, crisis, message, now)
    step(session, crisis, "told_ended", now, actor="Relais", detail=str(told), count=told)
    record(session, "crisis_ended", by.id if by else None, str(crisis.id), via, told=told)
    return crisis, told


def close(
    session: Session,
    crisis: Crisis,
    running: str,
    by: Member | None,
    via: str,
    now: datetime,
    **values: Any,
) -> bool:
    """Mark a crisis (or a drill) ended, if it is still ``running``: False if it is not."""
    return bool(
        session.execute(
            update(Crisis)
            .where(Crisis.id == crisis.id, Crisis.status == running)  # type: ignore[arg-type]
            .values(
                status=ENDED,
                ended_at=now,
                ended_by_id=by.id if by else None,
                ended_via=via,
                **values,
            )
        ).rowcount  # type: ignore[attr-defined]
    )


def tell_alerted(
    session: Session,
    config: AppConfig,
    crisis: Crisis,
    message: Callable[[Member], Message],
    now: datetime,
) -> int:
    """Tell everyone a crisis (or a drill) alerted, still a member, that it is over: urgent,
    once each; how many are told."""
    alerted = session.execute(
        select(Member)
        .join(CrisisAlert, CrisisAlert.member_id == Member.id)
        .where(CrisisAlert.crisis_id == crisis.id, Member.left_at.is_(None))  # type: ignore[union-attr]
        .order_by(Member.id)
    ).scalars()
    outgoing = [
        notify.to_member(
            member,
            config,
            message(member),
            key=f"crisis:{crisis.id}:end",
            kind="drill_end" if crisis.drill else "crisis_end",
            purpose=OPERATIONAL,
            subject=str(crisis.id),
            priority=PRIORITY_URGENT,
        )
        for member in alerted
    ]
    return len(enqueue_many(session, outgoing, now))


# --- reminders ---------------------------------------------------------------------------


def remind(session: Session, config: AppConfig, content: ContentLibrary, now: datetime) -> int:
    """Remind those who have not said "I have read it", as often as the playbook says:
    for the crisis in progress and for a drill running (each its own)."""
    found = 0
    for crisis in (active(session), running_drill(session)):
        if crisis is not None:
            found += remind_for(session, config, content, crisis, now)
    return found


def running_drill(session: Session) -> Crisis | None:
    return session.execute(select(Crisis).where(Crisis.status == DRILLING)).scalars().first()


def remind_for(
    session: Session, config: AppConfig, content: ContentLibrary, crisis: Crisis, now: datetime
) -> int:
    playbook = playbook_of(content, crisis.playbook, config.languages.default)
    if playbook is None or playbook.reminders == 0:
        return 0
    every = timedelta(minutes=playbook.remind_after_minutes)
    due = session.execute(
        select(CrisisAlert, Member)
        .join(Member, Member.id == CrisisAlert.member_id)
        .where(
            CrisisAlert.crisis_id == crisis.id,
            CrisisAlert.acknowledged_at.is_(None),  # type: ignore[union-attr]
            CrisisAlert.reminders < playbook.reminders,
            func.coalesce(CrisisAlert.reminded_at, CrisisAlert.alerted_at) <= now - every,
            Member.left_at.is_(None),  # type: ignore[union-attr]
        )
        .order_by(CrisisAlert.id)
    ).all()
    quiet = config.time.quiet_hours
    # Ambassadors are not woken at night by a reminder (the alert itself went at once);
    # the people the playbook names are, it is their job. Skipped ones stay due.
    due = [
        (alert, member)
        for alert, member in due
        if alert.role != AMBASSADOR
        or not (
            quiet
            and quiet.contains(local(now, member.time_zone).time().replace(second=0, microsecond=0))
        )
    ]
    if not due:
        return 0
    declarer = session.get(Member, crisis.declared_by_id) if crisis.declared_by_id else None
    outgoing, ids = [], []
    for alert, member in due:
        tr = Tr(member.language)
        person = Person(member, alert.role, _targets(member, config))
        message = alert_message(
            crisis,
            playbook_of(content, crisis.playbook, member.language) or playbook,
            tr,
            member.time_zone,
            person,
            declarer.name if declarer else tr("the programme's operator"),
            reminder=True,
        )
        outgoing.append(
            notify.to_member(
                member,
                config,
                message,
                key=f"crisis:{crisis.id}:reminder:{alert.reminders + 1}",
                kind="drill_reminder" if crisis.drill else "crisis_reminder",
                purpose=OPERATIONAL,
                subject=str(crisis.id),
                priority=PRIORITY_URGENT,
            )
        )
        ids.append(alert.id)
    queued = len(enqueue_many(session, outgoing, now))
    session.execute(
        update(CrisisAlert)
        .where(CrisisAlert.id.in_(ids))  # type: ignore[union-attr]
        .values(reminders=CrisisAlert.reminders + 1, reminded_at=now)
    )
    step(
        session,
        crisis,
        "reminded",
        now,
        actor="Relais",
        detail=str(queued),
        count=queued,
    )
    return queued


# --- the acknowledgement board -----------------------------------------------------------


@dataclass
class DepartmentLine:
    department: str | None
    name: str
    alerted: int
    read: int
    waiting: list[str] = field(default_factory=list)  # names of those not read yet

    @property
    def percent(self) -> int:
        return round(100 * self.read / self.alerted) if self.alerted else 0


@dataclass
class Board:
    crisis: Crisis
    title: str
    lines: list[DepartmentLine]
    cell: list[tuple[str, str, bool]]  # (name, role, read) of the crisis cell and coordinators

    @property
    def alerted(self) -> int:
        return sum(line.alerted for line in self.lines)

    @property
    def read(self) -> int:
        return sum(line.read for line in self.lines)


def board(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    crisis: Crisis,
    reach: Reach,
    lang: str,
) -> Board:
    """Who has read the alert, per department, within what the reader covers."""
    shown = None if reach.programme else {d.id for d in departments_in(reach, config)}
    counts = session.execute(
        select(
            CrisisAlert.department,
            func.count(),
            func.count(CrisisAlert.acknowledged_at),
        )
        .where(CrisisAlert.crisis_id == crisis.id)
        .group_by(CrisisAlert.department)
    ).all()
    lines = []
    for department_id, alerted, read in counts:
        if shown is not None and department_id not in shown:
            continue
        department = config.department(department_id)
        name = (
            department.name.get(lang) or department.id
            if department
            else (department_id or Tr(lang)("no department"))
        )
        lines.append(DepartmentLine(department_id, name, int(alerted), int(read)))
    lines.sort(key=lambda line: (line.percent, line.name))
    # Names of those not read yet: useful to a relay who nudges their own department.
    if shown is not None:
        for line in lines:
            line.waiting = list(
                session.execute(
                    select(Member.name)
                    .join(CrisisAlert, CrisisAlert.member_id == Member.id)
                    .where(
                        CrisisAlert.crisis_id == crisis.id,
                        CrisisAlert.department == line.department,
                        CrisisAlert.acknowledged_at.is_(None),  # type: ignore[union-attr]
                    )
                    .order_by(Member.name)
                    .limit(NAMES_SHOWN + 1)
                ).scalars()
            )
    cell = [
        (name, role, acknowledged is not None)
        for name, role, acknowledged in session.execute(
            select(Member.name, CrisisAlert.role, CrisisAlert.acknowledged_at)
            .join(Member, Member.id == CrisisAlert.member_id)
            .where(CrisisAlert.crisis_id == crisis.id, CrisisAlert.role != AMBASSADOR)
            .order_by(CrisisAlert.role, Member.name)
        ).all()
    ]
    return Board(crisis, title_of(content, crisis, lang), lines, cell if reach.programme else [])


def board_message(found: Board, tr: Tr, zone: str) -> Message:
    crisis = found.crisis
    title = tr("Who has read the crisis alert: {title}", title=found.title)
    title = exercise(tr, title) if crisis.drill else "🚨 " + title
    blocks: list[Any] = [
        Section(
            title=title,
            text=tr.plural(
                "{read} of {alerted} person has read it.",
                "{read} of {alerted} people have read it.",
                found.alerted,
                read=found.read,
                alerted=found.alerted,
            ),
        )
    ]
    if found.lines:
        rows = []
        for line in found.lines:
            rows.append(
                tr(
                    "*{department}*: {read}/{alerted} ({percent}%)",
                    department=line.name,
                    read=line.read,
                    alerted=line.alerted,
                    percent=line.percent,
                )
            )
            if line.waiting:
                names = ", ".join(line.waiting[:NAMES_SHOWN])
                if len(line.waiting) > NAMES_SHOWN:
                    names += " …"
                rows.append("    " + tr("Not read yet: {names}", names=names))
        blocks.append(Section(title=tr("By department"), text="\n".join(rows)))
    else:
        blocks.append(Section(text=tr("Nobody in your departments was alerted.")))
    if found.cell:
        blocks.append(
            Section(
                title=tr("The crisis cell and the people the playbook names"),
                text="\n".join(
                    f"{'✅' if read else '⏳'} {name} ({role})" for name, role, read in found.cell
                ),
            )
        )
    blocks.append(
        ContextLine(
            text=tr(
                "Exercise started at {time}. Type “crisis drill status” again for the latest "
                "figures.",
                time=_time(crisis.declared_at, zone, tr),
            )
            if crisis.drill
            else tr(
                "Declared at {time}. Type “crisis status” again for the latest figures.",
                time=_time(crisis.declared_at, zone, tr),
            )
        )
    )
    refresh = "crisis drill status" if crisis.drill else "crisis"
    blocks.append(Actions(buttons=[command_button(tr("Refresh"), refresh)]))
    return Message(text=title, blocks=blocks)
