"""Running a capability's scheduled job once for the programme, and remembering it.

Every run of a programme job (not a per-process one) happens under a lock —
on PostgreSQL a transaction-level advisory lock held for the whole run, so
two replicas never run the same job at once; on SQLite the single process and
APScheduler's ``max_instances=1`` give the same guarantee. Each slot a job
serves (a zone's 10:00 lesson slot, a five-minute reminder round) is recorded
in ``slotrun`` when done: running the same minute again is one cheap query,
not a walk over every member.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel

from bot import metrics
from bot.clock import utcnow
from bot.config import AppConfig
from bot.content.library import ContentLibrary

if TYPE_CHECKING:
    from bot.registry import Job
    from bot.runtime import Runtime

NO_ZONE = ""  # the slot of a job that does not run per time zone


class SlotRun(SQLModel, table=True):
    """A slot a job has done: (job, zone, slot) is unique, so it is done once."""

    job: str = Field(primary_key=True, max_length=64)
    zone: str = Field(primary_key=True, max_length=64)
    slot: str = Field(primary_key=True, max_length=32)
    queued: int = 0
    done_at: datetime = Field(default_factory=utcnow, index=True)


def lock_key(job_id: str) -> int:
    """A stable signed 64-bit key for the job's advisory lock."""
    return zlib.crc32(f"relais:job:{job_id}".encode()) - 2**31


@contextmanager
def job_lock(engine: Engine, job_id: str) -> Iterator[bool]:
    """Yield True when this process may run the job now (False: a replica is running it)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.begin() as connection:
        acquired = connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key(job_id)}
        ).scalar()
        yield bool(acquired)
        # The lock goes with the transaction when the block ends.


@dataclass
class JobRun:
    """One run of a job: what it may read, the clock, and its record of slots done."""

    job: Job
    runtime: Runtime
    now: datetime

    @property
    def engine(self) -> Engine:
        return self.runtime.engine

    @property
    def config(self) -> AppConfig:
        return self.runtime.relais.config

    @property
    def content(self) -> ContentLibrary:
        return self.runtime.relais.content

    def done(self, slots: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (zone, slot) pairs this job has already done."""
        wanted = list(slots)
        if not wanted:
            return set()
        table = SlotRun.__table__  # type: ignore[attr-defined]
        matches = or_(*(and_(table.c.zone == z, table.c.slot == s) for z, s in wanted))
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(table.c.zone, table.c.slot).where(table.c.job == self.job.id, matches)
            )
            return {(row[0], row[1]) for row in rows}

    def record(self, zone: str, slot: str, queued: int) -> None:
        """Remember that this slot is done (a second record of it is ignored)."""
        table = SlotRun.__table__  # type: ignore[attr-defined]
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.engine.begin() as connection:
            connection.execute(
                insert(table)
                .values(job=self.job.id, zone=zone, slot=slot, queued=queued, done_at=utcnow())
                .on_conflict_do_nothing()
            )

    def interval_slot(self) -> str:
        """The name of the current round of an interval job ('2026-11-24T10:05')."""
        step = int(self.job.every.total_seconds())
        epoch = int(self.now.timestamp())
        start = datetime.fromtimestamp(epoch - epoch % max(step, 1), UTC)
        return start.strftime("%Y-%m-%dT%H:%M:%S")


def run_job(job: Job, runtime: Runtime, now: datetime | None = None) -> int:
    """Run ``job`` once, as the scheduler does; return how many messages it queued.

    Per-process jobs just run. Programme jobs run under the job's lock; a job
    that serves no time-zone schedule is recorded per round of its interval, so
    a round another replica already did is skipped (unless it opts out with
    ``rounds=False``: a job every few seconds whose work is its own guard).
    Each run is counted in ``relais_scheduler_runs`` by outcome.
    """
    try:
        queued, outcome = _run_job(job, runtime, now)
    except Exception:
        metrics.job_ran(job.id, "failed")
        raise
    metrics.job_ran(job.id, outcome)
    return queued


def _run_job(job: Job, runtime: Runtime, now: datetime | None) -> tuple[int, str]:
    run = JobRun(job, runtime, now or utcnow())
    if job.per_process:
        return job.run(run), "ran"
    with job_lock(runtime.engine, job.id) as acquired:
        if not acquired:
            return 0, "skipped"
        if job.serves is not None:
            return job.run(run), "ran"  # records each zone's slot itself
        if not job.rounds:
            return job.run(run), "ran"  # guards its own work; nothing recorded per round
        round_ = (NO_ZONE, run.interval_slot())
        if run.done([round_]):
            return 0, "skipped"
        queued = job.run(run)
        run.record(*round_, queued)
        return queued, "ran"


def chunk_by_chunk(
    engine: Engine,
    model: Any,
    row_id: int,
    queue_chunk: Callable[[Session, Any], int],
    chunks: int | None = None,
) -> int:
    """Fan out the pending work of one row (an approved practice, a "remind now"), each
    chunk in its own transaction with the row's mark, until it is done (``queued_at`` set)
    or ``chunks`` chunks ran; return how many messages were queued (``recipients`` grew).

    ``queue_chunk(session, row)`` queues the next members after the row's mark, moves the
    mark and returns how many members it read (0: nothing was left). The mark and the
    chunk's outbox rows commit together: a process killed in the middle loses nothing (the
    next run goes on from the mark); the rows' dedupe keys double nobody if a mark is lost.
    """
    from bot.db import session_scope

    total = done = 0
    while chunks is None or done < chunks:
        with session_scope(engine) as session:
            row = session.get(model, row_id)
            if row is None:
                return total
            before = row.recipients
            read = queue_chunk(session, row)
            total += row.recipients - before
            if read == 0 or row.queued_at is not None:
                return total
        done += 1
    return total
