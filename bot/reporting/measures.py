"""The programme's measures, defined once: chat, digest, dashboard and CSV all read them here.

Each measure has a one-sentence definition shown beside it. Figures are kept
per (department, location) cell for a period and the one before; a department,
a business unit, a location or the whole programme is a sum of cells (a member
belongs to exactly one cell, so even distinct counts add up).

Sources: member rows (head counts), charter acknowledgements of the current
version, the rollups plus the tail of events not folded yet (lessons, posts,
shares, active members), participation events of the rarer kinds read
directly through the (kind, occurred_at) index (cases, mentions), and the
crisis alerts Relais recorded for each person it alerted.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any

from sqlalchemy import ARRAY, Integer, and_, any_, case, cast, func, select
from sqlmodel import Session

from bot.charter.models import CharterAcknowledgement
from bot.clock import as_utc, utcnow
from bot.config import AppConfig
from bot.crisis.models import Crisis, CrisisAlert
from bot.i18n import N_, Tr
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from bot.reporting import rollup
from bot.reporting.models import (
    ReportingActive,
    ReportingCount,
    ReportingCrisis,
    ReportingHeads,
)
from bot.reporting.periods import Period


@dataclass(frozen=True)
class Measure:
    key: str
    label: str  # N_()
    definition: str  # N_(): one sentence, shown beside the figure
    unit: str = "count"  # count, share, minutes
    compared: bool = True  # has a figure for the previous period


MEASURES: tuple[Measure, ...] = (
    Measure(
        "opted_in",
        N_("Ambassadors opted in"),
        N_("People still in the company who have opted in to the programme, today."),
        compared=False,
    ),
    Measure(
        "active",
        N_("Active ambassadors"),
        N_(
            "People who did something themselves in the period: answered a lesson, clicked or "
            "declared a share, accepted the charter, reported a mention, acknowledged a case "
            "or a crisis alert."
        ),
    ),
    Measure(
        "active_share",
        N_("Share of ambassadors active"),
        N_("Active ambassadors out of the ambassadors opted in today."),
        unit="share",
    ),
    Measure(
        "lessons_delivered",
        N_("Lessons delivered"),
        N_("Lessons (and reviews) Relais sent in the period."),
    ),
    Measure(
        "lessons_answered",
        N_("Lessons answered"),
        N_("Answers to a lesson's question in the period, reviews included."),
    ),
    Measure(
        "right_first_try",
        N_("Right at first try"),
        N_("Of the first answers to a lesson's question in the period, the share that were right."),
        unit="share",
    ),
    Measure(
        "posts_delivered",
        N_("Posts delivered"),
        N_("Approved posts Relais delivered to ambassadors in the period."),
    ),
    Measure(
        "share_clicks",
        N_("Share link clicks"),
        N_(
            "Clicks on the share links of approved posts, per network: a click opens the "
            "network's share page, it is not a publication and says nothing of an audience."
        ),
    ),
    Measure(
        "shares_declared",
        N_("Shares declared"),
        N_(
            "Posts ambassadors said they shared; Relais cannot see the networks, so this is "
            "what people declared, not a measured audience."
        ),
    ),
    Measure(
        "charter_accepted",
        N_("Charter accepted (current version)"),
        N_(
            "People still in the company who accepted the current version of the charter, "
            "out of the ambassadors opted in, today."
        ),
        unit="share",
        compared=False,
    ),
    Measure(
        "mentions_reported",
        N_("Mentions reported"),
        N_("Worrying mentions ambassadors reported in the period."),
    ),
    Measure(
        "cases_received",
        N_("Cases received"),
        N_("Cases opened in the period for the department the case was routed to."),
    ),
    Measure(
        "ack_median",
        N_("Median time to acknowledge"),
        N_("Half of the cases acknowledged in the period were taken in charge within this time."),
        unit="minutes",
    ),
    Measure(
        "cases_escalated",
        N_("Cases escalated"),
        N_(
            "Cases that went past their first step (nobody acknowledged them in time) in the period."
        ),
    ),
    Measure(
        "cases_resolved",
        N_("Cases resolved"),
        N_("Cases closed as resolved in the period."),
    ),
    Measure(
        "crisis_ack_rate",
        N_("Crisis alerts acknowledged"),
        N_(
            "For the crises declared in the period, the share of the people Relais alerted "
            "who said they had read the alert."
        ),
        unit="share",
    ),
)
BY_KEY = {measure.key: measure for measure in MEASURES}


@dataclass
class Tally:
    """Additive raw figures of one cell (or a sum of cells) for one period."""

    members: int = 0
    opted_in: int = 0
    active: int = 0
    lessons_delivered: int = 0
    first_right: int = 0
    first_wrong: int = 0
    reviews: int = 0
    posts_delivered: int = 0
    clicks: Counter[str] = field(default_factory=Counter)
    shares_declared: int = 0
    charter_accepted: int = 0
    mentions_reported: int = 0
    cases_received: int = 0
    ack_minutes: list[float] = field(default_factory=list)
    ack_late: int = 0
    cases_escalated: int = 0
    cases_resolved: int = 0
    crisis_alerted: int = 0
    crisis_acks: int = 0

    def __add__(self, other: Tally) -> Tally:
        total = Tally()
        total.add(self)
        total.add(other)
        return total

    def add(self, other: Tally) -> None:
        """Add ``other``'s figures to these, in place (summing hundreds of cells stays cheap)."""
        for name in _ADDED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.clicks:
            self.clicks.update(other.clicks)
        if other.ack_minutes:
            self.ack_minutes.extend(other.ack_minutes)

    @property
    def lessons_answered(self) -> int:
        return self.first_right + self.first_wrong + self.reviews

    @property
    def first_answers(self) -> int:
        return self.first_right + self.first_wrong


_ADDED = tuple(item.name for item in fields(Tally) if item.name not in ("clicks", "ack_minutes"))


def value(tally: Tally, key: str) -> float | int | None:
    """The figure of measure ``key`` for ``tally``; None when it has no meaning (nothing to divide)."""
    if key == "active_share":
        return tally.active / tally.opted_in if tally.opted_in else None
    if key == "lessons_answered":
        return tally.lessons_answered
    if key == "right_first_try":
        return tally.first_right / tally.first_answers if tally.first_answers else None
    if key == "share_clicks":
        return sum(tally.clicks.values())
    if key == "charter_accepted":
        return min(1.0, tally.charter_accepted / tally.opted_in) if tally.opted_in else None
    if key == "ack_median":
        return statistics.median(tally.ack_minutes) if tally.ack_minutes else None
    if key == "crisis_ack_rate":
        return tally.crisis_acks / tally.crisis_alerted if tally.crisis_alerted else None
    return getattr(tally, key)


def formatted(key: str, figure: float | int | None, tr: Tr) -> str:
    """A figure written for people: 12, 30 %, 1 h 05, or an em dash when there is none."""
    if figure is None:
        return "—"
    unit = BY_KEY[key].unit
    if unit == "share":
        return tr("{value:.0%}", value=figure)
    if unit == "minutes":
        return duration(figure, tr)
    return str(int(figure))


def duration(minutes: float, tr: Tr) -> str:
    whole = round(minutes)
    if whole < 60:
        return tr.plural("{n} minute", "{n} minutes", whole, n=whole)
    hours, rest = divmod(whole, 60)
    if not rest:
        return tr("{hours} h", hours=hours)
    return tr("{hours} h {minutes:02d}", hours=hours, minutes=rest)


Cell = tuple[str, str]  # (department, location); "" when unknown


@dataclass
class Report:
    """The figures of every cell for a period and the period before."""

    period: Period
    now: dict[Cell, Tally]
    before: dict[Cell, Tally]
    charter_version: int | None = None

    def total(
        self,
        departments: Iterable[str] | None = None,
        location: str | None = None,
        before: bool = False,
    ) -> Tally:
        """The sum over the cells of ``departments`` (None: all) and ``location`` (None: all)."""
        wanted = None if departments is None else set(departments)
        cells = self.before if before else self.now
        result = Tally()
        for (department, place), tally in cells.items():
            if wanted is not None and department not in wanted:
                continue
            if location is not None and place != location:
                continue
            result.add(tally)
        return result

    def figures(
        self, departments: Iterable[str] | None = None, location: str | None = None
    ) -> dict[str, tuple[Any, Any]]:
        """Measure key -> (this period, the period before) for a scope."""
        departments = None if departments is None else list(departments)
        now = self.total(departments, location)
        before = self.total(departments, location, before=True)
        # Head counts are today's: the share active before is read against them too.
        before.members, before.opted_in = now.members, now.opted_in
        return {
            m.key: (value(now, m.key), value(before, m.key) if m.compared else None)
            for m in MEASURES
        }

    def locations(self) -> list[str]:
        return sorted({place for _, place in self.now if place})

    def networks(self, departments: Iterable[str] | None = None) -> Counter[str]:
        return self.total(departments).clicks


def _cell(cells: dict[Cell, Tally], department: str | None, location: str | None) -> Tally:
    key = (department or "", location or "")
    tally = cells.get(key)
    if tally is None:
        tally = cells[key] = Tally()
    return tally


def _add_counts(
    cells: dict[Cell, Tally], department: str, location: str, kind: str, detail: str, n: int
) -> None:
    tally = _cell(cells, department, location)
    if kind == "lesson_delivered":
        tally.lessons_delivered += n
    elif kind == "lesson_answered":
        if detail == "review":
            tally.reviews += n
        elif detail == "right":
            tally.first_right += n
        else:
            tally.first_wrong += n
    elif kind == "post_delivered":
        tally.posts_delivered += n
    elif kind == "share_clicked":
        tally.clicks[detail] += n
    elif kind == "share_declared":
        tally.shares_declared += n
    elif kind == rollup.ACTIVE_COUNT:
        tally.active += n


def _in(column: Any, departments: list[str] | None) -> Any:
    return column.in_(departments) if departments is not None else True


# Read straight from the events (a period holds few of them).
CASES = (
    "mention_reported",
    "case_opened",
    "case_acknowledged",
    "case_escalated",
    "case_resolved",
)
# What the dashboard's timeline lists.
RARE = (*CASES, "crisis_declared", "crisis_alert_acknowledged")


# The whole programme reads the heads the rollup job refreshed, when they are this fresh.
HEADS_FRESH = timedelta(minutes=3)


def live_heads(
    session: Session,
    departments: list[str] | None,
    charter_version: int | None,
    member_id: int | None = None,
) -> list[tuple[str | None, str | None, int, int, int]]:
    """(department, location, members, opted in, accepted the current charter), counted now."""
    accepted = and_(
        CharterAcknowledgement.member_id == Member.id,
        CharterAcknowledgement.version == (charter_version or -1),
    )
    statement = (
        select(
            Member.department,
            Member.location,
            func.count(),
            func.count(case((Member.opted_in.is_(True), 1))),  # type: ignore[attr-defined]
            func.count(CharterAcknowledgement.id),
        )
        .outerjoin(CharterAcknowledgement, accepted)
        .where(Member.left_at.is_(None))  # type: ignore[union-attr]
        .group_by(Member.department, Member.location)
    )
    if member_id is not None:
        statement = statement.where(Member.id == member_id)
    elif departments is not None:
        statement = statement.where(_in(Member.department, departments))
    return [tuple(row) for row in session.execute(statement)]  # type: ignore[misc]


def heads(
    session: Session,
    departments: list[str] | None,
    charter_version: int | None,
    member_id: int | None = None,
) -> list[tuple[str | None, str | None, int, int, int]]:
    if member_id is None:
        # The job rewrites every row at once: one row says how fresh the snapshot is.
        snapshot = session.execute(
            select(ReportingHeads.computed_at, ReportingHeads.charter_version).limit(1)
        ).first()
        if (
            snapshot is not None
            and snapshot[1] == charter_version
            and as_utc(snapshot[0]) >= utcnow() - HEADS_FRESH
        ):
            statement = select(
                ReportingHeads.department,
                ReportingHeads.location,
                ReportingHeads.members,
                ReportingHeads.opted_in,
                ReportingHeads.charter_accepted,
            )
            if departments is not None:
                statement = statement.where(
                    _in(ReportingHeads.department, [d or "" for d in departments])
                )
            return [tuple(row) for row in session.execute(statement)]  # type: ignore[misc]
    return live_heads(session, departments, charter_version, member_id)


def refresh_heads(session: Session, charter_version: int | None) -> None:
    """Count every department × location's heads again (the rollup job, every minute)."""
    now = utcnow()
    rows = live_heads(session, None, charter_version)
    session.execute(ReportingHeads.__table__.delete())  # type: ignore[attr-defined]
    if rows:
        session.execute(
            ReportingHeads.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "department": department or "",
                    "location": location or "",
                    "members": members,
                    "opted_in": opted,
                    "charter_version": charter_version,
                    "charter_accepted": accepted,
                    "computed_at": now,
                }
                for department, location, members, opted, accepted in rows
            ],
        )


# A crisis ended this long ago gets no more acknowledgements worth counting: its snapshot is final.
CRISIS_SETTLED = timedelta(days=1)

CrisisRow = tuple[int, str | None, str | None, int, int]


def live_crisis_alerts(
    session: Session,
    crisis_ids: list[int],
    departments: list[str] | None,
    member_id: int | None = None,
) -> list[CrisisRow]:
    """(crisis, department, location, alerted, acknowledged), counted now from the alerts."""
    if not crisis_ids:
        return []
    statement = (
        select(
            CrisisAlert.crisis_id,
            CrisisAlert.department,
            Member.location,
            func.count(),
            func.count(CrisisAlert.acknowledged_at),
        )
        .join(Member, Member.id == CrisisAlert.member_id)  # type: ignore[arg-type]
        .where(CrisisAlert.crisis_id.in_(crisis_ids))  # type: ignore[attr-defined]
        .group_by(CrisisAlert.crisis_id, CrisisAlert.department, Member.location)
    )
    if member_id is not None:
        statement = statement.where(CrisisAlert.member_id == member_id)
    elif departments is not None:
        statement = statement.where(_in(CrisisAlert.department, departments))
    return [tuple(row) for row in session.execute(statement)]  # type: ignore[misc]


def crisis_alerts(
    session: Session,
    crisis_ids: list[int],
    departments: list[str] | None,
    member_id: int | None = None,
) -> list[CrisisRow]:
    """The same figures, from the job's snapshot where it is fresh or final, live elsewhere."""
    if not crisis_ids or member_id is not None:
        return live_crisis_alerts(session, crisis_ids, departments, member_id)
    now = utcnow()
    found: list[CrisisRow] = []
    usable = set()
    for crisis_id, computed_at, ended_at in session.execute(
        select(ReportingCrisis.crisis_id, func.min(ReportingCrisis.computed_at), Crisis.ended_at)
        .join(Crisis, Crisis.id == ReportingCrisis.crisis_id)  # type: ignore[arg-type]
        .where(ReportingCrisis.crisis_id.in_(crisis_ids))  # type: ignore[attr-defined]
        .group_by(ReportingCrisis.crisis_id, Crisis.ended_at)
    ):
        computed_at = as_utc(computed_at)
        settled = ended_at is not None and computed_at >= as_utc(ended_at) + CRISIS_SETTLED
        if settled or computed_at >= now - HEADS_FRESH:
            usable.add(crisis_id)
    if usable:
        statement = select(
            ReportingCrisis.crisis_id,
            ReportingCrisis.department,
            ReportingCrisis.location,
            ReportingCrisis.alerted,
            ReportingCrisis.acknowledged,
        ).where(ReportingCrisis.crisis_id.in_(sorted(usable)))  # type: ignore[attr-defined]
        if departments is not None:
            statement = statement.where(
                _in(ReportingCrisis.department, [d or "" for d in departments])
            )
        found += [tuple(row) for row in session.execute(statement)]  # type: ignore[misc]
    rest = [crisis_id for crisis_id in crisis_ids if crisis_id not in usable]
    return found + live_crisis_alerts(session, rest, departments)


def refresh_crises(session: Session) -> None:
    """Count again the alerts of every crisis still collecting acknowledgements (the job)."""
    now = utcnow()
    done = select(ReportingCrisis.crisis_id)
    open_ = [
        crisis_id
        for (crisis_id,) in session.execute(
            select(Crisis.id).where(
                (Crisis.ended_at.is_(None))  # type: ignore[union-attr]
                | (Crisis.ended_at >= now - CRISIS_SETTLED)  # type: ignore[operator]
                | Crisis.id.not_in(done)  # type: ignore[union-attr]
            )
        )
    ]
    if not open_:
        return
    rows = live_crisis_alerts(session, open_, None)
    table = ReportingCrisis.__table__  # type: ignore[attr-defined]
    session.execute(table.delete().where(table.c.crisis_id.in_(open_)))
    if rows:
        session.execute(
            table.insert(),
            [
                {
                    "crisis_id": crisis_id,
                    "department": department or "",
                    "location": location or "",
                    "alerted": alerted,
                    "acknowledged": read,
                    "computed_at": now,
                }
                for crisis_id, department, location, alerted, read in rows
            ],
        )


def places_of(session: Session, ids: set[int]) -> dict[int, tuple[str | None, str | None]]:
    """Member id -> (department, location), read by primary key in chunks."""
    found: dict[int, tuple[str | None, str | None]] = {}
    chosen = sorted(ids)
    if chosen and session.get_bind().dialect.name == "postgresql":
        # One array parameter: thousands of separate ones cost more to send than to look up.
        for member, department, location in session.execute(
            select(Member.id, Member.department, Member.location).where(
                Member.id == any_(cast(chosen, ARRAY(Integer)))  # type: ignore[arg-type]
            )
        ):
            found[member] = (department, location)
        return found
    for chunk in range(0, len(chosen), 1000):
        for member, department, location in session.execute(
            select(Member.id, Member.department, Member.location).where(
                Member.id.in_(chosen[chunk : chunk + 1000])  # type: ignore[union-attr]
            )
        ):
            found[member] = (department, location)
    return found


def build(
    session: Session,
    config: AppConfig,
    period: Period,
    departments: Iterable[str] | None = None,
    charter_version: int | None = None,
    member_id: int | None = None,
) -> Report:
    """The report of ``period`` (and the one before) for ``departments`` (None: all) or one member."""
    wanted = None if departments is None else sorted(set(departments))
    if wanted is not None and "" in wanted:
        wanted.append(None)  # type: ignore[arg-type]
    previous = period.previous
    now: dict[Cell, Tally] = {}
    before: dict[Cell, Tally] = {}
    target = ((period, now), (previous, before))

    # Head counts and charter acceptance, today.
    for department, location, members, opted, accepted in heads(
        session, wanted, charter_version, member_id
    ):
        for cells in (now, before):
            tally = _cell(cells, department, location)
            tally.members += members
            tally.opted_in += opted
            tally.charter_accepted += accepted

    if member_id is None:
        # The rollups, for both periods, in one read (active members are count rows too).
        counts = (
            select(
                ReportingCount.start,
                ReportingCount.department,
                ReportingCount.location,
                ReportingCount.kind,
                ReportingCount.detail,
                func.sum(ReportingCount.events),
            )
            .where(
                ReportingCount.grain == period.grain,
                ReportingCount.start.in_([period.start, previous.start]),  # type: ignore[attr-defined]
                _in(ReportingCount.department, wanted),
            )
            .group_by(
                ReportingCount.start,
                ReportingCount.department,
                ReportingCount.location,
                ReportingCount.kind,
                ReportingCount.detail,
            )
        )
        for start, department, location, kind, detail, n in session.execute(counts):
            cells = now if start == period.start else before
            _add_counts(cells, department, location, kind, detail, int(n))
        # The tail: events not folded yet, read by id (the primary key serves it) and
        # picked here, so no index on kind or time tempts the planner into a long scan.
        mark = rollup.mark(session)
        tail_where: list[Any] = [ParticipationEvent.id > mark]  # type: ignore[operator]
    else:
        tail_where = [ParticipationEvent.member_id == member_id]
    tail = [
        row
        for row in rollup.event_rows(session, *tail_where)
        if row.kind in rollup.FOLDED and previous.start_utc <= row.occurred_at < period.end_utc
    ]
    if wanted is not None and member_id is None:
        tail = [
            row
            for row in tail
            if row.department in wanted or (None in wanted and not row.department)
        ]
    for which, cells in target:
        rows = [row for row in tail if which.contains(row.occurred_at)]
        fold = rollup.Fold.of(rows, period.zone)
        for (grain, start, department, location, kind, detail), n in fold.counts.items():
            if grain == which.grain and start == which.start:
                _add_counts(cells, department, location, kind, detail, n)
        fresh = {
            member: where
            for (grain, start, member), where in fold.active.items()
            if grain == which.grain and start == which.start
        }
        if fresh and member_id is None:
            known = set()
            ids = sorted(fresh)
            for chunk in range(0, len(ids), 1000):
                known |= set(
                    session.execute(
                        select(ReportingActive.member_id).where(
                            ReportingActive.grain == which.grain,
                            ReportingActive.start == which.start,
                            ReportingActive.member_id.in_(ids[chunk : chunk + 1000]),  # type: ignore[attr-defined]
                        )
                    ).scalars()
                )
            fresh = {member: where for member, where in fresh.items() if member not in known}
        for department, location in fresh.values():
            _cell(cells, department, location).active += 1

    # The rarer kinds, straight from the events.
    # The events first, then their members by id: a join would hash the whole member table
    # for a few thousand events.
    rare = session.execute(
        select(
            ParticipationEvent.kind,
            ParticipationEvent.subject,
            ParticipationEvent.member_id,
            ParticipationEvent.data,
            ParticipationEvent.occurred_at,
        ).where(
            ParticipationEvent.kind.in_(CASES),  # type: ignore[attr-defined]
            ParticipationEvent.occurred_at >= previous.start_utc,  # type: ignore[operator]
            ParticipationEvent.occurred_at < period.end_utc,  # type: ignore[operator]
        )
    ).all()

    def needs_member(kind: str, data: Any) -> bool:
        """Whether the event's member's department or location matters for this scope."""
        routed = (data or {}).get("department")
        return (
            kind == "mention_reported"
            or not isinstance(routed, str)
            or wanted is None
            or (routed in wanted)
        )

    places = places_of(
        session, {row[2] for row in rare if row[2] is not None and needs_member(row[0], row[3])}
    )
    target_minutes = config.escalation.deadline_minutes.normal
    escalated: set[tuple[bool, str | None]] = set()
    for kind, subject, member, data, occurred_at in rare:
        department, location = places.get(member, (None, None))
        data = data or {}
        current = period.contains(as_utc(occurred_at))
        cells = now if current else before
        if member_id is not None and member != member_id:
            continue
        if kind == "mention_reported":
            if wanted is None or department in wanted:
                _cell(cells, department, location).mentions_reported += 1
            continue
        # Cases belong to the department they were routed to (the data names it).
        place = data.get("department") if isinstance(data.get("department"), str) else department
        if wanted is not None and place not in wanted:
            continue
        cell_location = location if place == department else ""
        tally = _cell(cells, place, cell_location)
        if kind == "case_opened":
            tally.cases_received += 1
        elif kind == "case_acknowledged":
            minutes = data.get("minutes")
            if isinstance(minutes, int | float) and not isinstance(minutes, bool):
                tally.ack_minutes.append(float(minutes))
                tally.ack_late += minutes > target_minutes
        elif kind == "case_escalated":
            if (current, subject) not in escalated:
                escalated.add((current, subject))
                tally.cases_escalated += 1
        elif kind == "case_resolved":
            tally.cases_resolved += 1

    # Crisis alerts: the people each crisis declared in either period alerted, and who read it.
    declared = {
        crisis_id: when
        for crisis_id, when in session.execute(
            select(Crisis.id, Crisis.declared_at).where(
                Crisis.declared_at >= previous.start_utc,  # type: ignore[operator]
                Crisis.declared_at < period.end_utc,  # type: ignore[operator]
            )
        )
    }
    for crisis_id, department, location, alerted, read in crisis_alerts(
        session, list(declared), wanted, member_id
    ):
        cells = now if period.contains(as_utc(declared[crisis_id])) else before
        tally = _cell(cells, department, location)
        tally.crisis_alerted += alerted
        tally.crisis_acks += read
    return Report(period, now, before, charter_version=charter_version)


def charter_version(content: Any) -> int | None:
    """The current charter's version number (the highest), or None without a charter."""
    found = content.current_charter(content.default_language)
    return found[1].version if found else None


def trend(
    session: Session,
    last: Period,
    departments: Iterable[str] | None = None,
    count: int = 8,
) -> list[tuple[Period, int, int]]:
    """(period, active ambassadors, lessons answered) for ``count`` periods ending with ``last``.

    One grouped read of the rollups plus the tail: cheap enough for every digest.
    """
    wanted = None if departments is None else sorted(set(departments))
    chosen = [last]
    while len(chosen) < count:
        chosen.insert(0, chosen[0].previous)
    starts = [p.start for p in chosen]
    active: Counter[Any] = Counter()
    answered: Counter[Any] = Counter()
    for start, kind, n in session.execute(
        select(ReportingCount.start, ReportingCount.kind, func.sum(ReportingCount.events))
        .where(
            ReportingCount.grain == last.grain,
            ReportingCount.start.in_(starts),  # type: ignore[attr-defined]
            ReportingCount.kind.in_(("lesson_answered", rollup.ACTIVE_COUNT)),  # type: ignore[attr-defined]
            _in(ReportingCount.department, wanted),
        )
        .group_by(ReportingCount.start, ReportingCount.kind)
    ):
        (active if kind == rollup.ACTIVE_COUNT else answered)[start] += int(n)
    mark = rollup.mark(session)
    tail = [
        row
        for row in rollup.event_rows(session, ParticipationEvent.id > mark)  # type: ignore[operator]
        if row.kind in rollup.FOLDED
        and chosen[0].start_utc <= row.occurred_at < last.end_utc
        and (wanted is None or row.department in wanted)
    ]
    fold = rollup.Fold.of(tail, last.zone)
    for (grain, start, _d, _l, kind, _x), n in fold.counts.items():
        if grain == last.grain and kind == "lesson_answered":
            answered[start] += n
    fresh = [(start, member) for (grain, start, member) in fold.active if grain == last.grain]
    if fresh:
        known = set(
            session.execute(
                select(ReportingActive.start, ReportingActive.member_id).where(
                    ReportingActive.grain == last.grain,
                    ReportingActive.member_id.in_(sorted({m for _, m in fresh})),  # type: ignore[attr-defined]
                    ReportingActive.start.in_(starts),  # type: ignore[attr-defined]
                )
            ).all()
        )
        for start, member in fresh:
            if (start, member) not in known:
                active[start] += 1
    return [(p, active[p.start], answered[p.start]) for p in chosen]
