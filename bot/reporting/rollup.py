"""Folding participation events into the reporting rollups, and reading the tail.

The ``reporting_rollup`` job folds events in id order up to the first one
younger than ``LAG`` (so a transaction still open when its event was recorded
has committed before the mark passes it), and advances the mark in the same
transaction as the counts. Readers add the events after the mark themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, func, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from bot.clock import as_utc, utcnow
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from bot.reporting.models import ReportingActive, ReportingCount, ReportingMark
from bot.reporting.periods import GRAINS, after, start_of

# Counted per period: the high-volume kinds.
COUNTED = (
    "lesson_delivered",
    "lesson_answered",
    "post_delivered",
    "share_clicked",
    "share_declared",
)
# Doing one of these makes a member active in the period.
ACTIVE = (
    "lesson_answered",
    "share_clicked",
    "share_declared",
    "charter_acknowledged",
    "mention_reported",
    "report_acknowledged",
    "case_opened",
    "case_acknowledged",
    "crisis_alert_acknowledged",
)
FOLDED = tuple(sorted(set(COUNTED) | set(ACTIVE)))
# The kind of the count rows that hold how many members were active in a cell and period.
ACTIVE_COUNT = "active"
MARK = "events"
LAG = timedelta(minutes=5)
BATCH = 20_000


def detail(kind: str, data: dict[str, Any]) -> str:
    """What a count is split by: first answers right or wrong (reviews apart), the network."""
    if kind == "lesson_answered":
        if data.get("review"):
            return "review"
        return "right" if data.get("correct") else "wrong"
    if kind == "share_clicked":
        return str(data.get("network") or "other")[:48]
    return ""


@dataclass(frozen=True)
class Row:
    """An event as the rollups see it: with its member's department and location."""

    id: int
    member_id: int | None
    kind: str
    data: dict[str, Any]
    occurred_at: datetime
    department: str
    location: str


def event_rows(session: Session, *where: Any, limit: int | None = None) -> Iterator[Row]:
    statement = (
        select(
            ParticipationEvent.id,
            ParticipationEvent.member_id,
            ParticipationEvent.kind,
            ParticipationEvent.data,
            ParticipationEvent.occurred_at,
            Member.department,
            Member.location,
        )
        .outerjoin(Member, Member.id == ParticipationEvent.member_id)  # type: ignore[arg-type]
        .where(*where)
        .order_by(ParticipationEvent.id)  # type: ignore[arg-type]
    )
    if limit:
        statement = statement.limit(limit)
    for row in session.execute(statement):
        yield Row(row[0], row[1], row[2], row[3] or {}, as_utc(row[4]), row[5] or "", row[6] or "")


@dataclass
class Fold:
    """Counts and active members of a batch of events, per period of every grain."""

    counts: Counter[tuple[str, date, str, str, str, str]]
    active: dict[tuple[str, date, int], tuple[str, str]]

    @classmethod
    def of(cls, rows: Iterable[Row], zone: str) -> Fold:
        tz = ZoneInfo(zone)
        counts: Counter[tuple[str, date, str, str, str, str]] = Counter()
        active: dict[tuple[str, date, int], tuple[str, str]] = {}
        for row in rows:
            day = row.occurred_at.astimezone(tz).date()
            starts = [(grain, start_of(grain, day)) for grain in GRAINS]
            if row.kind in COUNTED:
                key = detail(row.kind, row.data)
                for grain, start in starts:
                    counts[(grain, start, row.department, row.location, row.kind, key)] += 1
            if row.kind in ACTIVE and row.member_id is not None:
                for grain, start in starts:
                    active.setdefault((grain, start, row.member_id), (row.department, row.location))
        return cls(counts, active)


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# PostgreSQL: a batch's rows in one statement, as arrays (one-row inserts in a pipeline are
# many times slower, and a many-row VALUES is slow to compile).
_PG_COUNTS = text(
    """
    INSERT INTO reporting_count (grain, start, department, location, kind, detail, events)
    SELECT * FROM unnest(
        CAST(:grain AS text[]), CAST(:start AS date[]), CAST(:department AS text[]),
        CAST(:location AS text[]), CAST(:kind AS text[]), CAST(:detail AS text[]),
        CAST(:events AS integer[]))
    ON CONFLICT (grain, start, department, location, kind, detail)
    DO UPDATE SET events = reporting_count.events + excluded.events
    """
)
_PG_ACTIVE = text(
    """
    INSERT INTO reporting_active (grain, start, member_id, department, location)
    SELECT * FROM unnest(
        CAST(:grain AS text[]), CAST(:start AS date[]), CAST(:member_id AS integer[]),
        CAST(:department AS text[]), CAST(:location AS text[]))
    ON CONFLICT DO NOTHING
    """
)


def store(session: Session, fold: Fold) -> None:
    """Add a fold to the rollups (counts add up; an active member is kept once)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    counts = [
        {
            "grain": g,
            "start": s,
            "department": d,
            "location": loc,
            "kind": k,
            "detail": x,
            "events": n,
        }
        for (g, s, d, loc, k, x), n in fold.counts.items()
    ]
    active = [
        {"grain": g, "start": s, "member_id": m, "department": d, "location": loc}
        for (g, s, m), (d, loc) in fold.active.items()
    ]
    if postgres:
        for statement, rows in ((_PG_COUNTS, counts), (_PG_ACTIVE, active)):
            if rows:
                session.execute(statement, {key: [row[key] for row in rows] for key in rows[0]})
        return
    table = ReportingCount.__table__  # type: ignore[attr-defined]
    if counts:
        statement = sqlite_insert(table)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["grain", "start", "department", "location", "kind", "detail"],
                set_={"events": table.c.events + statement.excluded.events},
            ),
            counts,
        )
    if active:
        table = ReportingActive.__table__  # type: ignore[attr-defined]
        session.execute(sqlite_insert(table).on_conflict_do_nothing(), active)


def recount_active(session: Session, touched: Iterable[tuple[str, date]]) -> None:
    """Count again the active members of each (grain, start) a fold touched, per cell.

    Readers then sum a few count rows instead of counting thousands of members each time.
    """
    by_grain: dict[str, set[date]] = {}
    for grain, start in touched:
        by_grain.setdefault(grain, set()).add(start)
    counts = ReportingCount.__table__  # type: ignore[attr-defined]
    active = ReportingActive.__table__  # type: ignore[attr-defined]
    for grain, starts in by_grain.items():
        chosen = sorted(starts)
        session.execute(
            counts.delete().where(
                counts.c.grain == grain,
                counts.c.start.in_(chosen),
                counts.c.kind == ACTIVE_COUNT,
            )
        )
        session.execute(
            counts.insert().from_select(
                ["grain", "start", "department", "location", "kind", "detail", "events"],
                select(
                    active.c.grain,
                    active.c.start,
                    active.c.department,
                    active.c.location,
                    literal(ACTIVE_COUNT),
                    literal(""),
                    func.count(),
                )
                .where(active.c.grain == grain, active.c.start.in_(chosen))
                .group_by(active.c.grain, active.c.start, active.c.department, active.c.location),
            )
        )


def mark(session: Session, lock: bool = False) -> int:
    """The id of the last event folded into the rollups."""
    statement = select(ReportingMark.last_event_id).where(ReportingMark.name == MARK)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar() or 0


def pending(engine: Engine) -> int:
    """How many events the rollups have not folded yet (some may be too young to fold)."""
    with Session(engine) as session:
        last = mark(session)
        return session.execute(
            select(func.count()).where(ParticipationEvent.id > last)  # type: ignore[operator]
        ).scalar_one()


def catch_up(
    engine: Engine,
    zone: str,
    now: datetime | None = None,
    lag: timedelta = LAG,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Fold every event older than ``lag`` not folded yet; return how many events it passed.

    ``progress`` hears how many events each batch passed (the CLI's progress bar).
    """
    until = as_utc(now or utcnow()) - lag
    folded = 0
    while True:
        with Session(engine) as session, session.begin():
            last = mark(session, lock=True)
            rows = []
            # Every kind, in id order (the primary key serves it); the kinds folded are picked here.
            batch = event_rows(session, ParticipationEvent.id > last, limit=BATCH)  # type: ignore[operator]
            last_seen = last
            passed = 0
            full = False
            for count, row in enumerate(batch, 1):
                if row.occurred_at > until:
                    break
                last_seen = row.id
                passed += 1
                if row.kind in FOLDED:
                    rows.append(row)
                full = count == BATCH
            if last_seen == last:
                return folded
            fold = Fold.of(rows, zone)
            store(session, fold)
            recount_active(session, {(grain, start) for grain, start, _ in fold.active})
            insert = _insert(session)
            table = ReportingMark.__table__  # type: ignore[attr-defined]
            statement = insert(table).values(name=MARK, last_event_id=last_seen)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["name"], set_={"last_event_id": last_seen}
                )
            )
            folded += passed
        if progress:
            progress(passed)
        if not full:
            return folded


def reset(session: Session) -> None:
    """Forget the rollups (the next catch-up folds every event again)."""
    for table in (ReportingCount, ReportingActive, ReportingMark):
        session.execute(table.__table__.delete())  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild did: the periods it counted again and the events it read."""

    periods: dict[str, int]  # grain -> how many periods
    events: int  # events of those periods read again (every kind)
    first: date
    end: date  # the first day after the last period rebuilt
    mark: int  # events after this id were left to the tail and the job


def periods_touching(first: date, last: date) -> dict[str, list[date]]:
    """The start of every week, month and quarter that has a day in ``first``..``last``."""
    found: dict[str, list[date]] = {}
    for grain in GRAINS:
        start = start_of(grain, first)
        found[grain] = []
        while start <= last:
            found[grain].append(start)
            start = after(grain, start)
    return found


def rebuild(
    engine: Engine,
    zone: str,
    first: date,
    last: date,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> Rebuilt:
    """Count again, from the raw events, every period of every grain that touches ``first``..``last``.

    One transaction, the mark locked: the job waits, readers see the old counts until
    the new ones are committed, and running it again gives the same rows. Only events
    already folded (id up to the mark) are read: younger ones stay the tail the readers
    add, and the job folds them later, so nothing is counted twice.
    """
    tz = ZoneInfo(zone)
    wanted = periods_touching(first, last)
    keys = {(grain, start) for grain, starts in wanted.items() for start in starts}
    begin = min(starts[0] for starts in wanted.values())
    end = max(after(grain, starts[-1]) for grain, starts in wanted.items())
    since = datetime.combine(begin, time(0), tz).astimezone(UTC)
    until = datetime.combine(end, time(0), tz).astimezone(UTC)
    in_time = and_(
        ParticipationEvent.occurred_at >= since,  # type: ignore[operator]
        ParticipationEvent.occurred_at < until,  # type: ignore[operator]
    )
    with Session(engine) as session, session.begin():
        last_folded = mark(session, lock=True)
        if total:
            total(
                session.execute(
                    select(func.count()).where(in_time, ParticipationEvent.id <= last_folded)  # type: ignore[operator]
                ).scalar_one()
            )
        for table in (ReportingCount, ReportingActive):
            for grain, starts in wanted.items():
                session.execute(
                    table.__table__.delete().where(  # type: ignore[attr-defined]
                        table.grain == grain,
                        table.start.in_(starts),  # type: ignore[attr-defined]
                    )
                )
        read = 0
        after_id = 0
        while True:
            rows = list(
                event_rows(
                    session,
                    ParticipationEvent.id > after_id,  # type: ignore[operator]
                    ParticipationEvent.id <= last_folded,  # type: ignore[operator]
                    in_time,
                    limit=BATCH,
                )
            )
            if not rows:
                break
            after_id = rows[-1].id
            read += len(rows)
            fold = Fold.of([row for row in rows if row.kind in FOLDED], zone)
            fold.counts = Counter(
                {key: n for key, n in fold.counts.items() if (key[0], key[1]) in keys}
            )
            fold.active = {key: v for key, v in fold.active.items() if (key[0], key[1]) in keys}
            store(session, fold)
            if progress:
                progress(len(rows))
        recount_active(session, keys)
    return Rebuilt(
        {grain: len(starts) for grain, starts in wanted.items()}, read, begin, end, last_folded
    )
