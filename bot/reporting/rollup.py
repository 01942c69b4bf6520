"""Folding participation events into the reporting rollups, and reading the tail.

The ``reporting_rollup`` job folds events in id order up to the first one
younger than ``LAG`` (so a transaction still open when its event was recorded
has committed before the mark passes it), and advances the mark in the same
transaction as the counts. Readers add the events after the mark themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from bot.clock import as_utc, utcnow
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from bot.reporting.models import ReportingActive, ReportingCount, ReportingMark
from bot.reporting.periods import GRAINS, start_of

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


def store(session: Session, fold: Fold) -> None:
    """Add a fold to the rollups (counts add up; an active member is kept once)."""
    insert = _insert(session)
    counts = ReportingCount.__table__  # type: ignore[attr-defined]
    if fold.counts:
        rows = [
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
        statement = insert(counts)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["grain", "start", "department", "location", "kind", "detail"],
                set_={"events": counts.c.events + statement.excluded.events},
            ),
            rows,
        )
    if fold.active:
        table = ReportingActive.__table__  # type: ignore[attr-defined]
        rows = [
            {"grain": g, "start": s, "member_id": m, "department": d, "location": loc}
            for (g, s, m), (d, loc) in fold.active.items()
        ]
        session.execute(insert(table).on_conflict_do_nothing(), rows)


def mark(session: Session, lock: bool = False) -> int:
    """The id of the last event folded into the rollups."""
    statement = select(ReportingMark.last_event_id).where(ReportingMark.name == MARK)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar() or 0


def catch_up(engine: Engine, zone: str, now: datetime | None = None, lag: timedelta = LAG) -> int:
    """Fold every event older than ``lag`` not folded yet; return how many events it passed."""
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
            store(session, Fold.of(rows, zone))
            insert = _insert(session)
            table = ReportingMark.__table__  # type: ignore[attr-defined]
            statement = insert(table).values(name=MARK, last_event_id=last_seen)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["name"], set_={"last_event_id": last_seen}
                )
            )
            folded += passed
            if not full:
                return folded


def reset(session: Session) -> None:
    """Forget the rollups (the next catch-up folds every event again)."""
    for table in (ReportingCount, ReportingActive, ReportingMark):
        session.execute(table.__table__.delete())  # type: ignore[attr-defined]
