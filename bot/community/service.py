"""Relays' community: who's who, good practices shared between relays, round tables.

The logic lives here, callable from chat handlers, the CLI and scheduled jobs alike:

- *who's who*: a member's department relays and backups, their business unit's
  hub, the central team and, during a crisis, the crisis cell with its functions;
  in the order the organisation model says to turn to them (its escalation path).
- *good practices*: a relay shares a short text and a link, the central team
  approves it for the other relays or for everyone; "useful" is counted once
  per member.
- *round tables*: a coordinator announces a relays' meeting; each relay answers,
  is reminded the day before in their own zone, and attendance is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_time
from sqlalchemy import String, cast, delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.clock import as_utc, local, utcnow
from bot.community.models import (
    APPROVED,
    COMING,
    NOT_COMING,
    SUBMITTED,
    TO_EVERYONE,
    TO_RELAYS,
    Meeting,
    MeetingInvite,
    Practice,
    PracticeReaction,
)
from bot.config import WEEKDAYS, AppConfig
from bot.content.library import ContentLibrary
from bot.crisis import service as crisis_service
from bot.i18n import Tr, format_day
from bot.members.models import Address, Member
from bot.messages import MAX_URL, Person
from bot.participation.models import ParticipationEvent, record
from bot.permissions import PRACTICE_APPROVE, Permissions

# An approved practice is queued by the ``practices`` job, this many recipients a transaction.
FANOUT_CHUNK = 2000
MAX_PRACTICE = 500  # characters of a practice's text: a tip, not an article
MIN_PRACTICE = 10
MAX_TITLE = 200
# The reminder of a round table reaches each relay the day before, at this hour of their own
# day (or when their quiet hours end, if this hour falls in them).
REMIND_AT = time(10, 0)
# Attendance is taken from the answers this long after a meeting started, unless a
# coordinator marked it by then.
SETTLE_AFTER = timedelta(hours=3)
# How far ahead the reminder job looks: a reminder can come up to two days before a meeting
# for someone many hours ahead of the meeting's zone.
LOOK_AHEAD = timedelta(days=3)

# Participation events.
PRACTICE_SHARED = "practice_shared"
PRACTICE_USEFUL = "practice_useful"
MEETING_ANSWERED = "meeting_answered"
MEETING_ATTENDED = "meeting_attended"


class CommunityError(Exception):
    """What cannot be done; ``key`` says which case, the handler words it in the reader's language."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


# --- people ------------------------------------------------------------------------------

_RELAY_ROLE = '%"relay"%'
_COORDINATOR_ROLE = '%"coordinator"%'


def _csv_role(role_pattern: str) -> Any:
    """Members given a role in the HR CSV (``roles`` is JSON: its text holds the quoted role)."""
    return cast(Member.roles, String).like(role_pattern)


def _active() -> Any:
    return Member.left_at.is_(None)  # type: ignore[union-attr]


def relay_emails(config: AppConfig) -> set[str]:
    """Everyone app.yaml names as a relay: department relays and business-unit hubs."""
    found = {email for department in config.departments for email in department.relays}
    return found | {email for unit in config.business_units for email in unit.hubs}


def relays(session: Session, config: AppConfig) -> list[Member]:
    """Every relay in the programme (app.yaml's and the CSV's), opted in and still here."""
    return list(
        session.exec(
            select(Member)
            .where(
                _active(),
                Member.opted_in,
                or_(
                    Member.email.in_(sorted(relay_emails(config))),  # type: ignore[attr-defined]
                    _csv_role(_RELAY_ROLE),
                ),
            )
            .order_by(Member.id)  # type: ignore[arg-type]
        ).all()
    )


def coordinators(session: Session, config: AppConfig) -> list[Member]:
    """The central team: app.yaml's coordinators and the CSV's."""
    return list(
        session.exec(
            select(Member)
            .where(
                _active(),
                or_(
                    Member.email.in_(config.people.coordinators),  # type: ignore[attr-defined]
                    _csv_role(_COORDINATOR_ROLE),
                ),
            )
            .order_by(Member.id)  # type: ignore[arg-type]
        ).all()
    )


def _csv_relays_by_department(
    session: Session, departments: list[str] | None = None
) -> dict[str, list[str]]:
    """Relays the CSV names, by department: of ``departments`` only (an indexed look-up, for
    the home opened many times a day), or of every department (a scan, for `relays`)."""
    query = select(Member.email, Member.department).where(_active(), _csv_role(_RELAY_ROLE))
    if departments is not None:
        query = query.where(Member.department.in_(departments))  # type: ignore[union-attr]
    rows = session.execute(query).all()
    found: dict[str, list[str]] = {}
    for email, department in rows:
        if department:
            found.setdefault(department, []).append(email)
    return found


def _unique(emails: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for email in emails:
        if email.lower() not in seen:
            seen.append(email.lower())
    return seen


@dataclass
class Group:
    """One heading of the who's who: who they are (``key``) and the people in it."""

    key: str  # department, backups, hub, central, crisis, or relays:<department id>
    emails: list[str]
    notes: dict[str, str] = field(default_factory=dict)  # a person's function, by e-mail
    department: str | None = None  # for relays:<department>


@dataclass
class WhoIsWho:
    """What `relays` shows a member, before it is worded."""

    groups: list[Group]
    first: str  # the key of the group the organisation model says to turn to first
    people: dict[str, Person]  # by e-mail, with their platform ids
    crisis_title: str | None = None


def first_contact(config: AppConfig) -> str:
    """Which group to turn to first, from the organisation model's escalation path."""
    path = config.programme.effective("escalation_path")
    step = path[0] if path else "central_team"
    return {"business_unit_hubs": "hub", "central_team": "central"}.get(step, "department")


def who_is_who(
    session: Session,
    member: Member,
    config: AppConfig,
    content: ContentLibrary,
    *,
    others: bool,
    home: bool = False,
) -> WhoIsWho:
    """The member's people, in the order the organisation model says to turn to them.

    ``others``: also every other department's relays (a relay or the central team).
    ``home``: only what the home shows (the first contacts, the crisis cell): the central
    team is looked up only when it is the first contact.
    """
    department = config.department(member.department)
    csv_relays = _csv_relays_by_department(
        session, None if others else ([department.id] if department else [])
    )
    groups: list[Group] = []
    if department is not None:
        mine = _unique([*department.relays, *csv_relays.get(department.id, [])])
        groups.append(Group("department", mine, department=department.id))
        backups = [e for e in _unique(department.backup_relays) if e not in mine]
        if backups:
            groups.append(Group("backups", backups, department=department.id))
        unit = next((u for u in config.business_units if u.id == department.business_unit), None)
        if unit is not None and unit.hubs:
            groups.append(Group("hub", _unique(unit.hubs), department=department.id))
    first = first_contact(config)
    if first not in [g.key for g in groups]:
        first = "central"  # no department, or no hub for it
    if not home or first == "central":
        groups.append(
            Group(
                "central",
                [m.email for m in coordinators(session, config)] or config.people.coordinators,
            )
        )
    groups.sort(key=lambda g: g.key != first)  # stable: the rest keep their order
    crisis_title = None
    crisis = crisis_service.active(session)
    if crisis is not None and config.people.crisis_cell:
        playbook = crisis_service.playbook_of(content, crisis.playbook, member.language)
        crisis_title = playbook.title if playbook else crisis.title
        cell = Group("crisis", _unique(p.email for p in config.people.crisis_cell))
        for person in config.people.crisis_cell:
            function = person.function.replace("_", " ")
            role = playbook.role_of([f"crisis_cell:{person.function}"]) if playbook else []
            note = function + (f": {role[0]}" if role else "")
            cell.notes[person.email] = (
                f"{cell.notes[person.email]}; {note}" if person.email in cell.notes else note
            )
        groups.insert(0, cell)
    if others:
        for other in config.departments:
            if department is not None and other.id == department.id:
                continue
            emails = _unique([*other.relays, *csv_relays.get(other.id, [])])
            if emails:
                groups.append(Group(f"relays:{other.id}", emails, department=other.id))
    every = {email for group in groups for email in group.emails}
    return WhoIsWho(groups, first, people_of(session, every), crisis_title)


def people_of(session: Session, emails: Iterable[str]) -> dict[str, Person]:
    """Each e-mail as a Person: their name (or the e-mail, if not imported yet) and platform ids."""
    wanted = sorted({e.lower() for e in emails})
    found: dict[str, Person] = {}
    if not wanted:
        return found
    members = session.exec(select(Member).where(Member.email.in_(wanted), _active())).all()  # type: ignore[attr-defined]
    ids: dict[int, dict[str, str]] = {}
    if members:
        for address in session.exec(
            select(Address).where(
                Address.member_id.in_([m.id for m in members]),  # type: ignore[attr-defined]
                Address.user_id.is_not(None),  # type: ignore[union-attr]
            )
        ).all():
            ids.setdefault(address.member_id, {})[address.platform] = address.user_id or ""
    for m in members:
        found[m.email] = Person(name=m.name, email=m.email, ids=ids.get(m.id or 0, {}))
    for email in wanted:
        found.setdefault(email, Person(name=email, email=""))
    return found


# --- good practices ----------------------------------------------------------------------


def read_practice(text: str, link: str) -> tuple[str, str]:
    """A practice's text and link, checked; CommunityError says what is wrong."""
    text, link = " ".join(text.split()), link.strip()
    if len(text) < MIN_PRACTICE:
        raise CommunityError("text_short", minimum=MIN_PRACTICE)
    if len(text) > MAX_PRACTICE:
        raise CommunityError("text_long", maximum=MAX_PRACTICE, length=len(text))
    if (
        not link.lower().startswith(("https://", "http://"))
        or len(link) > MAX_URL
        or any(c.isspace() for c in link)
        or len(link) < 12
    ):
        raise CommunityError("bad_link", link=link[:100])
    return text, link


def share_practice(
    session: Session, author: Member, text: str, link: str, platform: str
) -> Practice:
    """Store a practice for approval (its text and link already checked)."""
    practice = Practice(
        author_id=author.id or 0, department=author.department, text=text, link=link
    )
    session.add(practice)
    session.flush()
    record(session, PRACTICE_SHARED, author.id, f"practice:{practice.id}", platform)
    return practice


def practice_approvers(session: Session, config: AppConfig, rules: Permissions) -> list[Member]:
    """Whoever may approve good practices (the central team), still here."""
    return [
        m
        for m in coordinators(session, config)
        if rules.allows(
            rules.actor(m.id, m.email, m.department, m.roles, m.opted_in), PRACTICE_APPROVE
        )
    ]


def decide_practice(
    session: Session, practice_id: int, decider: Member, decision: str, audience: str | None
) -> Practice:
    """Approve (for ``audience``) or reject a practice still waiting; once only, whoever clicks."""
    practice = session.get(Practice, practice_id)
    if practice is None:
        raise CommunityError("unknown_practice", id=practice_id)
    if decision == APPROVED and audience not in (TO_RELAYS, TO_EVERYONE):
        raise CommunityError("unknown_practice", id=practice_id)
    now = utcnow()
    changed = session.execute(
        update(Practice)
        .where(Practice.id == practice_id, Practice.status == SUBMITTED)  # type: ignore[arg-type]
        .values(
            status=decision,
            audience=audience if decision == APPROVED else None,
            decided_by_id=decider.id,
            decided_at=now,
        )
    ).rowcount
    if not changed:
        raise CommunityError("decided")
    session.refresh(practice)
    return practice


def _recipients_filter(practice: Practice, config: AppConfig) -> list[Any]:
    """Who receives an approved practice: the other relays, or every member of the programme
    (opted in, still here), never its author."""
    found = [_active(), Member.opted_in, Member.id != practice.author_id]
    if practice.audience != TO_EVERYONE:
        found.append(
            or_(
                Member.email.in_(sorted(relay_emails(config))),  # type: ignore[attr-defined]
                _csv_role(_RELAY_ROLE),
            )
        )
    return found


def practice_recipients(
    session: Session,
    practice: Practice,
    config: AppConfig,
    after: int = 0,
    limit: int | None = None,
) -> list[Member]:
    """The recipients of an approved practice, in member id order: those after ``after``,
    ``limit`` at most (a chunk of the fan-out)."""
    query = (
        select(Member)
        .where(*_recipients_filter(practice, config), Member.id > after)  # type: ignore[operator]
        .order_by(Member.id)  # type: ignore[arg-type]
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def count_recipients(session: Session, practice: Practice, config: AppConfig) -> int:
    """How many an approved practice goes to (one count: what the click tells at once)."""
    return int(
        session.execute(
            select(func.count()).select_from(Member).where(*_recipients_filter(practice, config))
        ).scalar_one()
    )


def practices_to_send(session: Session) -> list[int]:
    """Approved practices whose fan-out is not finished (just approved, or interrupted)."""
    return list(
        session.exec(
            select(Practice.id)
            .where(Practice.status == APPROVED, Practice.queued_at.is_(None))  # type: ignore[union-attr]
            .order_by(Practice.id)  # type: ignore[arg-type]
        ).all()
    )  # type: ignore[arg-type]


def queue_practice_chunk(
    session: Session,
    config: AppConfig,
    practice: Practice,
    now: datetime,
    limit: int | None = None,
) -> int:
    """Queue the next recipients of an approved practice and move its mark, in the caller's
    transaction; return how many members were read (0: everyone is queued)."""
    from bot.community.messages import practice_deliveries
    from bot.delivery.outbox import enqueue_many

    limit = limit or FANOUT_CHUNK
    if practice.status != APPROVED or practice.queued_at is not None:
        return 0
    batch = practice_recipients(session, practice, config, practice.queued_after, limit)
    if batch:
        author = session.get(Member, practice.author_id)
        items = practice_deliveries(practice, author, config, batch)
        practice.recipients += len(enqueue_many(session, items, now))
        practice.queued_after = batch[-1].id or 0
    if len(batch) < limit:
        practice.queued_at = now
    session.add(practice)
    return len(batch)


def send_practice(
    engine: Any, config: AppConfig, practice_id: int, now: datetime, chunks: int | None = None
) -> int:
    """Queue an approved practice's recipients chunk by chunk, each chunk in its own transaction
    with the practice's mark (``bot.jobs.chunk_by_chunk``); return how many were queued."""
    from bot.jobs import chunk_by_chunk

    return chunk_by_chunk(
        engine,
        Practice,
        practice_id,
        lambda session, practice: queue_practice_chunk(session, config, practice, now),
        chunks,
    )


def mark_useful(
    session: Session, practice_id: int, member: Member, platform: str
) -> tuple[bool, int]:
    """Count the member's "useful" once; return whether it was new, and the practice's count."""
    practice = session.get(Practice, practice_id)
    if practice is None or practice.status != APPROVED:
        raise CommunityError("unknown_practice", id=practice_id)
    if practice.author_id == member.id:
        raise CommunityError("own_practice")
    new = False
    exists = session.exec(
        select(PracticeReaction.id).where(
            PracticeReaction.practice_id == practice_id, PracticeReaction.member_id == member.id
        )
    ).first()
    if exists is None:
        try:
            with session.begin_nested():
                session.add(PracticeReaction(practice_id=practice_id, member_id=member.id or 0))
            new = True
        except IntegrityError:  # a double click on two replicas: counted once
            new = False
    if new:
        record(session, PRACTICE_USEFUL, member.id, f"practice:{practice_id}", platform)
    return new, useful_count(session, practice_id)


def useful_count(session: Session, practice_id: int) -> int:
    return int(
        session.execute(
            select(func.count()).where(PracticeReaction.practice_id == practice_id)  # type: ignore[arg-type]
        ).scalar_one()
    )


def practices_by(session: Session, author_id: int) -> list[tuple[Practice, int]]:
    """The member's practices, newest first, with their "useful" counts."""
    rows = session.exec(
        select(Practice)
        .where(Practice.author_id == author_id)
        .order_by(Practice.id.desc())  # type: ignore[union-attr]
        .limit(10)
    ).all()
    return [(p, useful_count(session, p.id or 0)) for p in rows]


def pending_practices(session: Session) -> list[Practice]:
    return list(
        session.exec(
            select(Practice)
            .where(Practice.status == SUBMITTED)
            .order_by(Practice.id)  # type: ignore[arg-type]
            .limit(10)
        ).all()
    )


# --- round tables ------------------------------------------------------------------------


def read_meeting(
    day: str, clock: str, zone: str, link: str, title: str
) -> tuple[datetime, str, str, str]:
    """A meeting's start (UTC), zone, link and title, checked; CommunityError says what is wrong."""
    try:
        when_day = date.fromisoformat(day.strip())
    except ValueError:
        raise CommunityError("bad_date", value=day[:40]) from None
    try:
        hours, minutes = clock.strip().split(":")
        when_time = time(int(hours), int(minutes))
    except ValueError:
        raise CommunityError("bad_time", value=clock[:40]) from None
    try:
        tz = ZoneInfo(zone.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise CommunityError("bad_zone", value=zone[:64]) from None
    link = link.strip()
    if (
        not link.lower().startswith(("https://", "http://"))
        or len(link) > MAX_URL
        or len(link) < 12
    ):
        raise CommunityError("bad_link", link=link[:100])
    title = " ".join(title.split())
    if not title:
        raise CommunityError("no_title")
    if len(title) > MAX_TITLE:
        raise CommunityError("title_long", maximum=MAX_TITLE)
    starts = datetime.combine(when_day, when_time, tz).astimezone(UTC)
    return starts, zone.strip(), link, title


def announce(
    session: Session,
    config: AppConfig,
    by: Member | None,
    title: str,
    starts_at: datetime,
    zone: str,
    link: str,
    now: datetime | None = None,
) -> tuple[Meeting, list[Member]]:
    """Store a round table and invite every relay (but whoever announces it)."""
    now = now or utcnow()
    if as_utc(starts_at) <= now:
        raise CommunityError("in_the_past")
    meeting = Meeting(
        title=title,
        starts_at=starts_at,
        zone=zone,
        link=link,
        announced_by_id=by.id if by else None,
        created_at=now,
    )
    session.add(meeting)
    session.flush()
    invited = [m for m in relays(session, config) if by is None or m.id != by.id]
    for member in invited:
        session.add(MeetingInvite(meeting_id=meeting.id or 0, member_id=member.id or 0))
    session.flush()
    return meeting, invited


def find_meeting(session: Session, meeting_id: int | None) -> Meeting:
    """A meeting by id, or the next one (else the latest) when no id is given."""
    if meeting_id is not None:
        found = session.get(Meeting, meeting_id)
        if found is None:
            raise CommunityError("unknown_meeting", id=meeting_id)
        return found
    now = utcnow()
    upcoming = session.exec(
        select(Meeting).where(Meeting.starts_at >= now - SETTLE_AFTER).order_by(Meeting.starts_at)  # type: ignore[arg-type]
    ).first()
    if upcoming is None:
        upcoming = session.exec(select(Meeting).order_by(Meeting.starts_at.desc())).first()  # type: ignore[attr-defined]
    if upcoming is None:
        raise CommunityError("no_meeting")
    return upcoming


def answer(
    session: Session, meeting_id: int, member: Member, reply: str, platform: str, now: datetime
) -> Meeting:
    """Record a relay's "I'll come" / "I can't" (changeable until the meeting starts)."""
    meeting = session.get(Meeting, meeting_id)
    invite = session.exec(
        select(MeetingInvite).where(
            MeetingInvite.meeting_id == meeting_id, MeetingInvite.member_id == member.id
        )
    ).first()
    if meeting is None or invite is None:
        raise CommunityError("not_invited")
    if as_utc(meeting.starts_at) <= now:
        raise CommunityError("started")
    invite.answer = COMING if reply == COMING else NOT_COMING
    invite.answered_at = now
    session.add(invite)
    record(
        session,
        MEETING_ANSWERED,
        member.id,
        f"meeting:{meeting_id}",
        platform,
        answer=invite.answer,
    )
    return meeting


@dataclass
class Answers:
    """Who said what about a round table (and who came, once known)."""

    meeting: Meeting
    coming: list[Member]
    not_coming: list[Member]
    silent: list[Member]
    attended: list[Member]


def answers(session: Session, meeting: Meeting) -> Answers:
    rows = session.exec(
        select(MeetingInvite, Member)
        .join(Member, Member.id == MeetingInvite.member_id)  # type: ignore[arg-type]
        .where(MeetingInvite.meeting_id == meeting.id)
        .order_by(Member.name)  # type: ignore[arg-type]
    ).all()
    found = Answers(meeting, [], [], [], [])
    for invite, member in rows:
        {COMING: found.coming, NOT_COMING: found.not_coming}.get(
            invite.answer or "", found.silent
        ).append(member)
        if invite.attended:
            found.attended.append(member)
    return found


def mark_attendance(session: Session, meeting: Meeting, came: set[int], now: datetime) -> int:
    """A coordinator says who came: attendance events follow (and replace the answers' guess)."""
    if as_utc(meeting.starts_at) > now:
        raise CommunityError("not_started")
    invites = session.exec(
        select(MeetingInvite).where(MeetingInvite.meeting_id == meeting.id)
    ).all()
    subject = f"meeting:{meeting.id}"
    for invite in invites:
        attended = invite.member_id in came
        if attended and not invite.attended:
            record(session, MEETING_ATTENDED, invite.member_id, subject, None, by="coordinator")
        elif not attended and invite.attended:
            session.execute(
                delete(ParticipationEvent).where(
                    ParticipationEvent.kind == MEETING_ATTENDED,  # type: ignore[arg-type]
                    ParticipationEvent.member_id == invite.member_id,  # type: ignore[arg-type]
                    ParticipationEvent.subject == subject,  # type: ignore[arg-type]
                )
            )
        invite.attended = attended
        session.add(invite)
    meeting.attendance_by, meeting.attendance_at = "coordinator", now
    session.add(meeting)
    return sum(1 for invite in invites if invite.member_id in came)


def settle_attendance(session: Session, now: datetime) -> int:
    """Meetings over without a coordinator's list: whoever said "I'll come" came."""
    meetings = session.exec(
        select(Meeting).where(
            Meeting.attendance_by.is_(None),  # type: ignore[union-attr]
            Meeting.starts_at <= now - SETTLE_AFTER,  # type: ignore[operator]
        )
    ).all()
    settled = 0
    for meeting in meetings:
        changed = session.execute(
            update(Meeting)
            .where(Meeting.id == meeting.id, Meeting.attendance_by.is_(None))  # type: ignore[arg-type, union-attr]
            .values(attendance_by="answers", attendance_at=now)
        ).rowcount
        if not changed:
            continue
        for invite in session.exec(
            select(MeetingInvite).where(
                MeetingInvite.meeting_id == meeting.id, MeetingInvite.answer == COMING
            )
        ).all():
            invite.attended = True
            session.add(invite)
            record(
                session,
                MEETING_ATTENDED,
                invite.member_id,
                f"meeting:{meeting.id}",
                None,
                by="answer",
            )
            settled += 1
    return settled


def reminder_day(meeting: Meeting, zone: str, config: AppConfig) -> date:
    """The day a member is reminded, in their zone: the day before the meeting's date there,
    or the last working day before it (a Monday meeting is recalled on Friday, not Sunday)."""
    meeting_day = local(meeting.starts_at, zone).date()
    day = meeting_day - timedelta(days=1)
    for _ in range(7):
        if WEEKDAYS[day.weekday()] in config.time.working_days:
            return day
        day -= timedelta(days=1)
    return meeting_day - timedelta(days=1)  # no working day at all: the day before


def reminder_time(meeting: Meeting, zone: str, config: AppConfig) -> datetime:
    """When a member is reminded: on their reminder day at REMIND_AT of their own clock
    (or when their quiet hours end, if REMIND_AT falls in them), as UTC."""
    at = REMIND_AT
    quiet = config.time.quiet_hours
    if quiet is not None and quiet.contains(at):
        at = quiet.end
    day = reminder_day(meeting, zone, config)
    return datetime.combine(day, at, ZoneInfo(zone)).astimezone(UTC)


def due_reminders(
    session: Session, config: AppConfig, now: datetime
) -> list[tuple[Meeting, Member, MeetingInvite]]:
    """Invited relays to remind now: those who said they would come and those who did not answer,
    once their reminder time has come, before the meeting; not when the meeting was announced
    after that time (the announcement itself was the reminder)."""
    meetings = session.exec(
        select(Meeting).where(
            Meeting.starts_at > now,  # type: ignore[operator]
            Meeting.starts_at <= now + LOOK_AHEAD,  # type: ignore[operator]
        )
    ).all()
    due = []
    for meeting in meetings:
        rows = session.exec(
            select(MeetingInvite, Member)
            .join(Member, Member.id == MeetingInvite.member_id)  # type: ignore[arg-type]
            .where(
                MeetingInvite.meeting_id == meeting.id,
                or_(MeetingInvite.answer.is_(None), MeetingInvite.answer == COMING),  # type: ignore[union-attr]
                _active(),
                Member.opted_in,
            )
        ).all()
        for invite, member in rows:
            at = reminder_time(meeting, member.time_zone, config)
            if at <= now and as_utc(meeting.created_at) < at:
                due.append((meeting, member, invite))
    return due


def when_for(meeting: Meeting, zone: str, tr: Tr) -> str:
    """The meeting's date and time in the reader's zone: 'Tuesday 1 December 2026, 17:00 (Europe/Paris)'."""
    moment = local(meeting.starts_at, zone)
    day = format_day(moment.date(), tr.lang, "full")
    hour = format_time(moment, format="short", locale=tr.lang)
    return tr("{day} at {time} ({zone})", day=day, time=hour, zone=zone)
