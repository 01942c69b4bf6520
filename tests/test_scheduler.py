"""The scheduler's real wiring: every app.yaml schedule has its job, jobs run, slots run once."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import create_engine, event, text
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.config import Schedules
from bot.delivery.models import Delivery
from bot.jobs import SlotRun, lock_key
from bot.members.models import Member
from bot.scheduler import ProgrammeScheduler
from tests.conftest import run_scheduled

MONDAY_NINE = datetime(2026, 11, 23, 8, 0, 30, tzinfo=UTC)  # Monday 09:00 in Paris
PARIS_TEN = datetime(2026, 11, 24, 9, 0, 30, tzinfo=UTC)  # Tuesday 10:00 in Paris (a lesson slot)
MANAGERS = {
    "sophie.laurent@example.com",
    "marc.fontaine@example.com",
    "julien.roux@example.com",
}


def test_every_schedule_is_served_by_exactly_one_scheduled_job(runtime_factory) -> None:  # type: ignore[no-untyped-def]
    runtime = runtime_factory()
    scheduler = ProgrammeScheduler(runtime, wake=lambda: None)
    jobs = runtime.relais.registry.jobs
    scheduled = {job.id for job in scheduler.scheduler.get_jobs()}
    for key in Schedules.model_fields:
        serving = [job.id for job in jobs.values() if job.serves == key]
        assert len(serving) == 1, f"schedules.{key} is served by {serving}"
        assert serving[0] in scheduled, f"the job serving schedules.{key} is not scheduled"
    assert {job.serves for job in jobs.values()} - {None} <= set(Schedules.model_fields)
    assert scheduled == set(jobs)


def digest_readers(runtime) -> set[str]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return set(
            session.exec(
                select(Member.email)
                .join(Delivery, Delivery.member_id == Member.id)
                .where(Delivery.kind == "digest")
            ).all()
        )


def test_the_running_scheduler_sends_the_managers_digest(runtime) -> None:  # type: ignore[no-untyped-def]
    woken = []
    with time_machine.travel(MONDAY_NINE, tick=True):
        scheduler = ProgrammeScheduler(runtime, wake=lambda: woken.append(True))
        scheduler.start()
        try:
            scheduler.scheduler.modify_job("manager_digest", next_run_time=utcnow())
            deadline = time.monotonic() + 20
            while not digest_readers(runtime) >= MANAGERS and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            scheduler.scheduler.shutdown(wait=True)
    assert digest_readers(runtime) >= MANAGERS
    assert woken  # the job told the worker there was something to send


def slot_runs(runtime, job: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        rows = session.exec(select(SlotRun.zone, SlotRun.slot).where(SlotRun.job == job)).all()
    return sorted((zone, slot) for zone, slot in rows)


def test_a_lesson_slot_run_twice_is_recorded_once_and_reads_no_member_again(runtime) -> None:  # type: ignore[no-untyped-def]
    assert run_scheduled(runtime, "lessons", PARIS_TEN) > 0
    assert slot_runs(runtime, "lessons") == [("Europe/Paris", "2026-11-24T10:00")]
    queued, statements = queries_of(runtime, "lessons", PARIS_TEN + timedelta(seconds=40))
    assert queued == 0
    assert any("slotrun" in s for s in statements)  # the counter saw the run's queries
    assert not [s for s in statements if "lessonprogress" in s or "delivery" in s]
    assert reads_members(statements) == []  # the zones' list only, not the members
    assert slot_runs(runtime, "lessons") == [("Europe/Paris", "2026-11-24T10:00")]
    # Montréal's own 10:00 is a slot of its own zone, recorded once too.
    montreal_ten = datetime(2026, 11, 24, 15, 0, 30, tzinfo=UTC)
    assert run_scheduled(runtime, "lessons", montreal_ten) > 0
    assert run_scheduled(runtime, "lessons", montreal_ten) == 0
    assert slot_runs(runtime, "lessons") == [
        ("America/Montreal", "2026-11-24T10:00"),
        ("Europe/Paris", "2026-11-24T10:00"),
    ]


@pytest.mark.postgres
def test_a_job_another_replica_holds_queues_nothing(runtime_factory, postgres_url) -> None:  # type: ignore[no-untyped-def]
    runtime = runtime_factory(postgres_url)
    other = create_engine(postgres_url)
    try:
        with other.connect() as replica:
            replica.execute(text("SELECT pg_advisory_lock(:key)"), {"key": lock_key("lessons")})
            assert run_scheduled(runtime, "lessons", PARIS_TEN) == 0
            assert slot_runs(runtime, "lessons") == []
            replica.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key("lessons")})
            assert run_scheduled(runtime, "lessons", PARIS_TEN) > 0
            assert slot_runs(runtime, "lessons") == [("Europe/Paris", "2026-11-24T10:00")]
    finally:
        other.dispose()


def queries_of(runtime, job_id: str, now: datetime) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    """Run the job at ``now``; return what it queued and the SQL it sent."""
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.lower().split()))

    event.listen(runtime.engine, "before_cursor_execute", seen)
    try:
        return run_scheduled(runtime, job_id, now), statements
    finally:
        event.remove(runtime.engine, "before_cursor_execute", seen)


def reads_members(statements: list[str]) -> list[str]:
    """Queries that read members themselves (their time zones alone do not count)."""
    return [
        s
        for s in statements
        if re.search(r"\b(from|join) member\b", s)
        and not s.startswith("select distinct member.time_zone from member")
    ]


def test_the_digest_job_reads_no_member_outside_its_slot(runtime) -> None:  # type: ignore[no-untyped-def]
    queued, statements = queries_of(runtime, "manager_digest", PARIS_TEN)  # a Tuesday
    assert queued == 0 and statements  # it ran, and found nothing due
    assert reads_members(statements) == []
    queued, statements = queries_of(runtime, "manager_digest", MONDAY_NINE)
    assert queued > 0 and reads_members(statements)  # the slot itself reads its readers
    queued, statements = queries_of(runtime, "manager_digest", MONDAY_NINE + timedelta(minutes=1))
    assert queued == 0 and reads_members(statements) == []
