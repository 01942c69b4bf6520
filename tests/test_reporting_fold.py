"""`relais stats fold` through the CLI: the rollups built from the raw events of a database that
had none, counted again for a period after they went wrong, idempotent, on SQLite and PostgreSQL.

Every figure is checked against the same figure counted here straight from the raw events.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.clock import utcnow
from bot.members.models import Member
from bot.participation.models import ParticipationEvent, record
from bot.reporting import measures, periods, rollup
from bot.reporting.models import ReportingActive, ReportingCount

ZONE = "Europe/Paris"
ACTIVE = {"lesson_answered", "share_clicked", "share_declared", "charter_acknowledged"}
NETWORKS = ("linkedin", "x", "facebook")


def cli(url: str, config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        list(args),
        env={"RELAIS_DATABASE_URL": url, "RELAIS_LANG": "en", "RELAIS_CONFIG": str(config)},
    )
    return result.exit_code, result.output


def ten_weeks_of_events(runtime) -> int:  # type: ignore[no-untyped-def]
    """Events of every folded kind (and one that is not) over ten weeks; the last two minutes old."""
    rng = random.Random(7)
    now = utcnow()
    with Session(runtime.engine) as session:
        people = [m.id for m in session.exec(select(Member)).all()]
        count = 0
        for _ in range(1500):
            kind = rng.choice(
                [
                    "lesson_delivered",
                    "lesson_answered",
                    "lesson_answered",
                    "post_delivered",
                    "share_clicked",
                    "share_declared",
                    "command_used",
                    "charter_acknowledged",
                ]
            )
            data: dict = {}
            if kind == "lesson_answered":
                data = {"correct": rng.random() < 0.6, "review": rng.random() < 0.2}
            elif kind == "share_clicked":
                data = {"network": rng.choice(NETWORKS)}
            event = record(session, kind, rng.choice(people), "x", "console", **data)
            event.occurred_at = now - timedelta(minutes=rng.randrange(20, 70 * 24 * 60))
            count += 1
        # Younger than the job's five minutes: left to the tail, read live, counted once.
        for member in people[:3]:
            young = record(session, "lesson_answered", member, "y", "console", correct=True)
            young.occurred_at = now - timedelta(minutes=2)
            count += 1
        session.commit()
    return count


def from_raw_events(runtime, period: periods.Period) -> dict[str, dict[str, float | int | None]]:  # type: ignore[no-untyped-def]
    """Department -> figures of ``period``, counted here from every raw event, one by one."""
    tz = ZoneInfo(ZONE)
    tallies: dict[str, Counter[str]] = defaultdict(Counter)
    active: dict[str, set[int]] = defaultdict(set)
    with Session(runtime.engine) as session:
        department = {m.id: m.department or "" for m in session.exec(select(Member)).all()}
        for event in session.exec(select(ParticipationEvent)).all():
            day = event.occurred_at.astimezone(tz).date()
            if not period.start <= day < period.end:
                continue
            place = department[event.member_id]
            tally = tallies[place]
            tally[event.kind] += 1
            if event.kind == "lesson_answered" and not event.data.get("review"):
                tally["first"] += 1
                tally["right"] += bool(event.data.get("correct"))
            if event.kind in ACTIVE:
                active[place].add(event.member_id)  # type: ignore[arg-type]
    return {
        place: {
            "active": len(active[place]),
            "lessons_delivered": tally["lesson_delivered"],
            "lessons_answered": tally["lesson_answered"],
            "right_first_try": tally["right"] / tally["first"] if tally["first"] else None,
            "posts_delivered": tally["post_delivered"],
            "share_clicks": tally["share_clicked"],
            "shares_declared": tally["share_declared"],
        }
        for place, tally in tallies.items()
    }


def check_every_period(runtime, grains=("week", "month")) -> int:  # type: ignore[no-untyped-def]
    """The reports of the last ten weeks and three months match the raw events; how many checked."""
    checked = 0
    for grain, back in (("week", 11), ("month", 3)):
        if grain not in grains:
            continue
        period = periods.current(grain, utcnow(), ZONE)
        for _ in range(back):
            expected = from_raw_events(runtime, period)
            with Session(runtime.engine) as session:
                report = measures.build(session, runtime.config, period)
            for place, figures in expected.items():
                found = report.figures([place])
                for key, value in figures.items():
                    assert found[key][0] == value, (period, place, key, found[key][0], value)
                    checked += 1
            period = period.previous
    return checked


def snapshot(runtime) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        counts = sorted(
            (r.grain, r.start, r.department, r.location, r.kind, r.detail, r.events)
            for r in session.exec(select(ReportingCount)).all()
        )
        active = sorted(
            (r.grain, r.start, r.member_id, r.department)
            for r in session.exec(select(ReportingActive)).all()
        )
    return counts, active


def test_stats_fold_builds_repairs_and_rebuilds_the_rollups_from_the_raw_events(
    runtime, database_url: str, programme_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    config = programme_dir / "app.yaml"
    written = ten_weeks_of_events(runtime)

    # A database that never had rollups: everything but the youngest events is folded.
    code, output = cli(database_url, config, "stats", "fold")
    assert code == 0, output
    assert f"{written - 3:,} new events folded into the rollups." in output
    assert "3 events younger than 5 minutes are read live" in output
    with Session(runtime.engine) as session:
        assert rollup.pending(runtime.engine) == 3
        assert session.exec(select(ReportingCount)).first() is not None
    assert check_every_period(runtime) > 100
    folded = snapshot(runtime)

    # Again: nothing new, nothing changes.
    code, output = cli(database_url, config, "stats", "fold")
    assert code == 0 and "0 new events folded" in output, output
    assert snapshot(runtime) == folded

    # The rollups of last month go wrong (a bug, a hand edit): counting it again repairs them.
    last_month = periods.last_complete("month", utcnow(), ZONE)
    with Session(runtime.engine) as session:
        session.execute(
            update(ReportingCount)
            .where(ReportingCount.start >= last_month.start)  # type: ignore[arg-type]
            .values(events=ReportingCount.events + 100)
        )
        session.execute(
            ReportingActive.__table__.delete().where(ReportingActive.grain == "week")  # type: ignore[attr-defined]
        )
        session.commit()
    assert snapshot(runtime) != folded
    with pytest.raises(AssertionError):
        check_every_period(runtime)  # the figures read the wrong rollups
    code, output = cli(database_url, config, "stats", "fold", "last-month")
    assert code == 0, output
    assert "Counted again from" in output and "1 month" in output and "1 quarter" in output
    with Session(runtime.engine) as session:
        weeks = {
            r.start
            for r in session.exec(select(ReportingActive).where(ReportingActive.grain == "week"))
        }
    # The weeks touching last month are back; older weeks wait for a wider fold.
    assert periods.start_of("week", last_month.start) in weeks
    code, output = cli(database_url, config, "stats", "fold", "--all")
    assert code == 0, output
    assert snapshot(runtime) == folded
    code, output = cli(database_url, config, "stats", "fold", "--all")
    assert code == 0 and snapshot(runtime) == folded, output

    # Someone moved to another department: a fold over their days counts them there.
    with Session(runtime.engine) as session:
        emma = session.exec(select(Member).where(Member.email == "emma.wilson@example.com")).one()
        emma.department = "hr"
        session.add(emma)
        session.commit()
    start = (utcnow() - timedelta(days=80)).date()
    code, output = cli(database_url, config, "stats", "fold", "--from", start.isoformat())
    assert code == 0, output
    assert check_every_period(runtime) > 100


def test_stats_fold_says_what_is_wrong_with_its_arguments(
    runtime, database_url: str, programme_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    config = programme_dir / "app.yaml"
    with Session(runtime.engine) as session:
        old = record(session, "lesson_delivered", None, "x", "console")
        old.occurred_at = utcnow() - timedelta(days=3)
        session.commit()
    waiting = rollup.pending(runtime.engine)
    assert waiting >= 1
    for args, said in (
        (["yesterday"], "“yesterday” is not a period"),
        (["--from", "2026-13-01"], "--from: “2026-13-01” is not a day"),
        (["--to", "2026-01-01"], "--to needs --from"),
        (["--from", "2026-03-01", "--to", "2026-02-01"], "is before --from"),
        (["last-week", "--all"], "Give one of"),
    ):
        code, output = cli(database_url, config, "stats", "fold", *args)
        assert code == 1 and said in output, (args, output)
    # A refused command folds nothing.
    assert rollup.pending(runtime.engine) == waiting
