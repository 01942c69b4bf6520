"""Benchmark: due lessons for 100,000 members across 20 time zones, on SQLite and PostgreSQL.

For each zone it runs the real lesson job at that zone's Tuesday 10:00 (so every
member is due exactly once), then runs every slot again to measure the
idempotent re-run, and prints members per second. Also times the CSV import of
the same members.

    .venv/bin/python benchmarks/lesson_schedule.py [--members 100000]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

PostgreSQL runs when --postgres or RELAIS_BENCH_POSTGRES_URL is given; a fresh
database is created on that server and dropped afterwards.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import throwaway_database  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db import make_engine, upgrade  # noqa: E402
from bot.delivery.models import Delivery  # noqa: E402
from bot.jobs import run_job  # noqa: E402
from bot.members.importer import import_members  # noqa: E402
from bot.runtime import build_runtime  # noqa: E402

ZONES = [
    "Pacific/Honolulu",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/Montreal",
    "America/Sao_Paulo",
    "Atlantic/Azores",
    "Europe/London",
    "Europe/Paris",
    "Europe/Athens",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
]


def write_csv(path: Path, count: int, departments: list[str]) -> None:
    rng = random.Random(42)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "department", "language", "time_zone", "roles"])
        for n in range(count):
            writer.writerow(
                [
                    f"member{n}@bench.example.com",
                    f"Member {n}",
                    rng.choice(departments),
                    rng.choice(["fr", "en"]),
                    ZONES[n % len(ZONES)],
                    "ambassador;relay" if n % 50 == 0 else "ambassador",
                ]
            )


def slot_instant(zone: str, day: int = 24) -> datetime:
    """Tuesday 24 November 2026 (or another day of that month), 10:00:30 in ``zone``."""
    return datetime(2026, 11, day, 10, 0, 30, tzinfo=ZoneInfo(zone))


def run(label: str, url: str, csv_path: Path, count: int) -> None:
    config = load_config(ROOT / "app.yaml")
    engine = make_engine(url)
    upgrade(engine)

    started = time.perf_counter()
    report = import_members(engine, csv_path, config)
    imported = time.perf_counter() - started
    assert report.created == count, report

    # The real job, as the scheduler runs it (slots recorded, under the job's lock).
    runtime = build_runtime(ROOT / "app.yaml", url, auto_upgrade=True)
    job = runtime.relais.registry.jobs["lessons"]
    started = time.perf_counter()
    queued = sum(run_job(job, runtime, slot_instant(zone)) for zone in ZONES)
    first = time.perf_counter() - started

    started = time.perf_counter()
    again = sum(run_job(job, runtime, slot_instant(zone)) for zone in ZONES)
    second = time.perf_counter() - started

    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(Delivery)).scalar_one()
    assert queued == count == rows and again == 0, (queued, again, rows)

    # Thursday's slot: everyone has a lesson behind them; relays get their own track's first.
    started = time.perf_counter()
    second_slot = sum(run_job(job, runtime, slot_instant(zone, 26)) for zone in ZONES)
    thursday = time.perf_counter() - started
    assert second_slot == count, second_slot
    print(
        f"{label:<10} import {count:>7} members: {imported:6.1f} s = {count / imported:8.0f} members/s"
    )
    print(
        f"{label:<10} due lessons + outbox rows: {first:6.1f} s = {count / first:8.0f} members/s ({rows} rows)"
    )
    print(
        f"{label:<10} same slots again (no-op):  {second:6.1f} s = {count / second:8.0f} members/s (0 new rows)"
    )
    print(
        f"{label:<10} next slot (2nd lesson):    {thursday:6.1f} s = {count / thursday:8.0f} members/s"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("RELAIS_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    config = load_config(ROOT / "app.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "members.csv"
        write_csv(csv_path, args.members, [d.id for d in config.departments])
        print(f"{args.members} members in {len(ZONES)} time zones; Python {sys.version.split()[0]}")
        run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", csv_path, args.members)
        if args.postgres:
            with throwaway_database(args.postgres) as url:
                run("postgresql", url, csv_path, args.members)
        else:
            print("postgresql skipped: pass --postgres URL or set RELAIS_BENCH_POSTGRES_URL")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
