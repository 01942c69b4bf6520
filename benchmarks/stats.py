"""Benchmark: reporting figures for 100,000 members and 10,000,000 participation events.

Generates a programme of 40 departments in 8 business units and 12 locations,
100,000 members (60 % accepted the current charter) and 10,000,000 events
spread over the last 52 weeks in time order (lessons, answers, posts, share
clicks per network, declared shares, commands, cases), two crises (this week's
and one five weeks ago) each alerting every ambassador opted in, the last few
minutes of events not yet folded (the tail every read adds). It folds the events
with the real rollup code, refreshes what the rollup job refreshes each minute
(head counts, recent crises' alerts), then times, with the real code:

- overview: the whole programme's report for the current week and the one before
  (what a coordinator's `stats` and the dashboard's overview read);
- department: one department's report;
- digest: a manager's digest message (two departments, the last whole week);

and, as the baseline from the same run, the straightforward query those figures
replace: counting the period's events by kind per department, straight from
the events table.

    .venv/bin/python benchmarks/stats.py [--quick] [--members N] [--events N] [--runs N]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-sqlite]

--quick: 10,000 members and 300,000 events. PostgreSQL runs when --postgres or
RELAIS_BENCH_POSTGRES_URL is given (a fresh database, dropped afterwards; with
--keep NAME the database NAME is filled on the first run and kept, so later runs
time the same data at once). Data goes in with COPY on PostgreSQL and
executemany on SQLite. The machine's load average is printed beside the figures:
on a shared machine, compare runs made under the same load.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import timed  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.crisis.models import Crisis  # noqa: E402
from bot.db import make_engine, upgrade  # noqa: E402
from bot.members.models import Member  # noqa: E402
from bot.participation.models import ParticipationEvent  # noqa: E402
from bot.permissions import Permissions  # noqa: E402
from bot.reporting import measures, periods, rollup  # noqa: E402
from bot.reporting.digest import digest_message  # noqa: E402

DEPARTMENTS = 40
UNITS = 8
LOCATIONS = [f"site-{i:02d}" for i in range(12)]
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday afternoon
SPAN = timedelta(weeks=52)
TAIL = timedelta(minutes=4)  # events this recent are not folded yet
CHARTER_VERSION = 2
# (kind, weight): what a year of a large programme records.
KINDS = [
    ("lesson_delivered", 25),
    ("lesson_answered", 18),
    ("command_used", 19),
    ("post_delivered", 16),
    ("share_clicked", 7),
    ("share_declared", 3),
    ("charter_viewed", 5),
    ("share_list_viewed", 5),
    ("charter_acknowledged", 1),
    ("case_opened", 0.3),
    ("case_acknowledged", 0.3),
    ("case_escalated", 0.1),
    ("case_resolved", 0.25),
    ("crisis_alert_acknowledged", 0.05),
]
NETWORKS = ["linkedin", "x", "facebook", "instagram"]


def programme_yaml() -> str:
    units = "\n".join(
        f"  - id: unit-{u}\n    name: {{ fr: Unité {u}, en: Unit {u} }}" for u in range(UNITS)
    )
    departments = "\n".join(
        f"  - id: dept-{d:02d}\n    business_unit: unit-{d % UNITS}\n"
        f"    name: {{ fr: Service {d}, en: Department {d} }}\n"
        f"    managers: [manager{d // 2}@example.com]"
        for d in range(DEPARTMENTS)
    )
    return f"""
programme: {{ name: Bench, organisation_model: hub_and_spoke }}
languages: {{ available: [fr, en], default: en }}
time: {{ zone: Europe/Paris }}
business_units:
{units}
departments:
{departments}
people: {{ coordinators: [coordinator@example.com] }}
schedules: {{ manager_digest: "0 9 * * mon" }}
platforms: {{ console: {{ enabled: true }} }}
"""


def member_rows(count: int, rng: random.Random) -> list[tuple]:
    created = NOW - SPAN
    rows = []
    for i in range(1, count + 1):
        email = f"member{i}@example.com"
        if i <= DEPARTMENTS // 2:
            email = f"manager{i - 1}@example.com"
        rows.append(
            (
                i,
                email,
                f"Member {i}",
                f"dept-{i % DEPARTMENTS:02d}",
                LOCATIONS[rng.randrange(len(LOCATIONS))],
                "en" if i % 3 else "fr",
                "Europe/Paris",
                "[]",
                rng.random() < 0.8,
                None,
                None,
                None,
                created,
                created,
            )
        )
    return rows


MEMBER_COLUMNS = (
    "id, email, name, department, location, language, time_zone, roles, opted_in, "
    "opted_changed_at, preferred_platform, left_at, created_at, updated_at"
)


def event_rows(count: int, members: int, rng: random.Random):  # type: ignore[no-untyped-def]
    """Events in time order over the last 52 weeks (ids ascending with time)."""
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    start = NOW - SPAN
    step = SPAN / count
    picks = rng.choices(kinds, weights, k=count)
    for i in range(count):
        kind = picks[i]
        member = rng.randrange(1, members + 1)
        data: dict = {}
        subject = None
        if kind == "lesson_answered":
            data = {"correct": rng.random() < 0.72, "review": rng.random() < 0.2}
            subject = f"lesson-{rng.randrange(60)}"
        elif kind == "share_clicked":
            data = {"network": NETWORKS[rng.randrange(4)]}
            subject = str(rng.randrange(500))
        elif kind.startswith("case_"):
            subject = str(i // 7)
            data = {"department": f"dept-{rng.randrange(DEPARTMENTS):02d}"}
            if kind == "case_acknowledged":
                data["minutes"] = rng.choice([5, 12, 20, 35, 50, 75, 130])
            if kind == "case_escalated":
                data["step"] = 1
        elif kind == "crisis_alert_acknowledged":
            subject = "crisis-1"
            data = {"department": f"dept-{member % DEPARTMENTS:02d}", "role": "ambassador"}
        yield (i + 1, member, kind, subject, "slack", json.dumps(data), start + step * i)


EVENT_COLUMNS = "id, member_id, kind, subject, platform, data, occurred_at"
# Two crises: one this week, one five weeks ago; each alerted every ambassador opted in.
CRISES = [NOW - timedelta(days=1, hours=5), NOW - timedelta(weeks=5)]


def add_crises(engine, members: list[tuple], rng: random.Random) -> int:  # type: ignore[no-untyped-def]
    """The crises and the alerts they recorded (what the crisis acknowledgement rate reads)."""
    from sqlalchemy import insert

    from bot.crisis.models import Crisis, CrisisAlert

    alerts = 0
    with Session(engine) as session, session.begin():
        for declared_at in CRISES:
            crisis = Crisis(
                playbook="bench",
                title="Bench",
                declared_via="cli",
                declared_at=declared_at,
                status="ended",
                ended_at=declared_at + timedelta(hours=6),
            )
            session.add(crisis)
            session.flush()
            rows = [
                {
                    "crisis_id": crisis.id,
                    "member_id": m[0],
                    "role": "ambassador",
                    "department": m[3],
                    "alerted_at": declared_at,
                    "acknowledged_at": declared_at + timedelta(minutes=20)
                    if rng.random() < 0.7
                    else None,
                    "reminders": 0,
                }
                for m in members
                if m[8]
            ]
            for chunk in range(0, len(rows), 10_000):
                session.execute(insert(CrisisAlert), rows[chunk : chunk + 10_000])
            alerts += len(rows)
    return alerts


def load_postgres(engine, members: list[tuple], events, acks: list[tuple]) -> None:  # type: ignore[no-untyped-def]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY member ({MEMBER_COLUMNS}) FROM STDIN") as copy:
            for row in members:
                copy.write_row(row)
        with cursor.copy(f"COPY participationevent ({EVENT_COLUMNS}) FROM STDIN") as copy:
            for row in events:
                copy.write_row(row)
        with cursor.copy(
            "COPY charteracknowledgement (member_id, version, language, platform, acknowledged_at) FROM STDIN"
        ) as copy:
            for row in acks:
                copy.write_row(row)
        for table in ("member", "participationevent", "charteracknowledgement"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        raw.commit()
        driver = raw.driver_connection
        driver.autocommit = True
        driver.execute("VACUUM ANALYZE")
    finally:
        raw.close()


def load_sqlite(engine, members: list[tuple], events, acks: list[tuple]) -> None:  # type: ignore[no-untyped-def]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        marks = ", ".join("?" * 14)
        cursor.executemany(f"INSERT INTO member ({MEMBER_COLUMNS}) VALUES ({marks})", members)
        batch: list[tuple] = []
        for row in events:
            batch.append(row)
            if len(batch) == 100_000:
                cursor.executemany(
                    f"INSERT INTO participationevent ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    batch,
                )
                batch.clear()
        if batch:
            cursor.executemany(
                f"INSERT INTO participationevent ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
        cursor.executemany(
            "INSERT INTO charteracknowledgement (member_id, version, language, platform, acknowledged_at) "
            "VALUES (?, ?, ?, ?, ?)",
            acks,
        )
        raw.commit()
        cursor.execute("ANALYZE")
    finally:
        raw.close()


class Content:
    """The little of the content library the reports read: the charter's version."""

    default_language = "en"

    def current_charter(self, lang: str):  # type: ignore[no-untyped-def]
        return ("charter", SimpleNamespace(version=CHARTER_VERSION))


def bench(name: str, url: str, args: argparse.Namespace) -> None:
    import time_machine  # the heads the job counted are fresh at NOW

    with time_machine.travel(NOW, tick=True):
        _bench(name, url, args)


def _bench(name: str, url: str, args: argparse.Namespace) -> None:
    rng = random.Random(12)
    config = parse_config(programme_yaml())
    engine = make_engine(url)
    upgrade(engine)
    members = member_rows(args.members, rng)
    acks = [
        (m[0], CHARTER_VERSION, m[5], "slack", NOW - timedelta(days=rng.randrange(1, 200)))
        for m in members
        if rng.random() < 0.6
    ]
    events = event_rows(args.events, args.members, rng)
    with Session(engine) as session:
        already = session.execute(select(func.count()).select_from(Member)).scalar_one()
    loaded = 0.0
    if not already:
        started = time.perf_counter()
        (load_postgres if name == "PostgreSQL" else load_sqlite)(engine, members, events, acks)
        loaded = time.perf_counter() - started
    started = time.perf_counter()
    passed = rollup.catch_up(engine, config.time.zone, NOW, lag=TAIL)  # a kept database resumes
    fold_seconds = time.perf_counter() - started
    with Session(engine) as session:
        folded = rollup.mark(session)
        crises = session.execute(select(func.count()).select_from(Crisis)).scalar_one()
    if not crises:
        add_crises(engine, members, rng)
        if name == "PostgreSQL":
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("VACUUM ANALYZE crisisalert")
                )
    with Session(engine) as session, session.begin():
        # What the rollup job does each minute.
        measures.refresh_heads(session, CHARTER_VERSION)
        measures.refresh_crises(session)
    if name == "PostgreSQL":
        # What autovacuum does after the fold's upserts (dead rows, planner statistics).
        with engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in (
                "reporting_count",
                "reporting_active",
                "reporting_heads",
                "reporting_crisis",
            ):
                autocommit.execute(text(f"VACUUM ANALYZE {table}"))
    with Session(engine) as session:
        total = session.execute(select(func.count()).select_from(ParticipationEvent)).scalar_one()
        tail = total - folded
        manager = session.execute(
            select(Member).where(Member.email == "manager3@example.com")
        ).scalar_one()
    print(
        f"\n{name}: {args.members:,} members, {total:,} events loaded in {loaded:.0f} s; "
        f"{passed:,} folded into rollups in this run, in {fold_seconds:.0f} s "
        f"({passed / max(fold_seconds, 1e-9):,.0f} events/s); tail not folded: {tail:,} events"
    )
    content = Content()
    rules = Permissions(config)
    week = periods.current("week", NOW, config.time.zone)

    def overview() -> None:
        with Session(engine) as session:
            measures.build(session, config, week, None, CHARTER_VERSION).figures()

    def department() -> None:
        with Session(engine) as session:
            measures.build(session, config, week, ["dept-07"], CHARTER_VERSION).figures(["dept-07"])

    def digest() -> None:
        with Session(engine) as session:
            assert digest_message(session, manager, rules, NOW, content) is not None

    def baseline() -> None:
        """The period's events counted by kind per department, straight from the events."""
        with Session(engine) as session:
            session.execute(
                select(Member.department, ParticipationEvent.kind, func.count())
                .join(Member, Member.id == ParticipationEvent.member_id)
                .where(
                    ParticipationEvent.occurred_at >= week.previous.start_utc,
                    ParticipationEvent.occurred_at < week.end_utc,
                )
                .group_by(Member.department, ParticipationEvent.kind)
            ).all()

    # As `relais serve` does once started: what is loaded stays out of full collections.
    gc.collect()
    gc.freeze()
    print(
        f"  load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    print(f"  {'query':<44} {'p50 ms':>9} {'p95 ms':>9}")
    for label, call, runs in (
        ("overview (programme, week vs week before)", overview, args.runs),
        ("department view (one department)", department, args.runs),
        ("digest (manager of two departments)", digest, args.runs),
        ("baseline: raw events by kind × department", baseline, max(3, args.runs // 10)),
    ):
        call()  # warm the caches once
        p50, p95 = timed(runs, call)
        print(f"  {label:<44} {p50:>9.1f} {p95:>9.1f}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 members, 300,000 events")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--postgres", default=os.environ.get("RELAIS_BENCH_POSTGRES_URL"))
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--keep",
        metavar="NAME",
        help="PostgreSQL: use (and keep) the database NAME; filled on the first run only",
    )
    args = parser.parse_args()
    if args.quick:
        args.members, args.events = 10_000, 300_000
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            bench("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", args)
    if args.postgres:
        name = args.keep or f"relais_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            bench("PostgreSQL", url, args)
        finally:
            if not args.keep:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
