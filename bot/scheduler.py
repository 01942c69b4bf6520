"""Scheduled jobs (APScheduler 3): they only ever write outbox rows.

The outbox, not APScheduler, is where a pending send lives, so the job store
is in memory and rebuilt from app.yaml at each start; a job that runs twice
or on two replicas queues nothing twice (dedupe keys).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete

from bot.charter.schedule import queue_charter_reminders
from bot.clock import utcnow
from bot.db import session_scope
from bot.delivery.models import InboundEvent
from bot.reporting.digest import queue_digests
from bot.runtime import Runtime
from bot.training.schedule import queue_due_lessons, queue_reminders

log = logging.getLogger("relais.scheduler")

INBOUND_KEYS_KEPT = timedelta(days=7)  # platforms retry within minutes; a week is plenty


class ProgrammeScheduler:
    """Runs the programme's jobs in a background thread and wakes the worker."""

    def __init__(self, runtime: Runtime, wake: Callable[[], None]) -> None:
        self.runtime = runtime
        self.wake = wake
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )
        self.scheduler.add_job(
            self.lessons,
            "interval",
            seconds=60,
            id="lessons",
            next_run_time=utcnow() + timedelta(seconds=2),
        )
        self.scheduler.add_job(self.reminders, "interval", minutes=5, id="lesson_reminders")
        self.scheduler.add_job(
            self.charter_reminders, "interval", seconds=60, id="charter_reminders"
        )
        self.scheduler.add_job(self.reload_content, "interval", seconds=10, id="content_reload")
        self.scheduler.add_job(self.prune, "interval", hours=6, id="prune_inbound_keys")

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def lessons(self) -> None:
        relais = self.runtime.relais
        queued = queue_due_lessons(relais.engine, relais.config, relais.content, utcnow())
        if queued:
            log.info("queued %d scheduled lesson(s)", queued)
            self.wake()

    def reminders(self) -> None:
        relais = self.runtime.relais
        if queue_reminders(relais.engine, relais.config, relais.content, utcnow()):
            self.wake()

    def charter_reminders(self) -> None:
        relais = self.runtime.relais
        if queue_charter_reminders(relais.engine, relais.config, relais.content, utcnow()):
            self.wake()

    def digests(self) -> None:
        relais = self.runtime.relais
        if queue_digests(relais.engine, relais.config, utcnow()):
            self.wake()

    def reload_content(self) -> None:
        library = self.runtime.watcher.check()
        if library is not None:
            self.runtime.relais.content = library

    def prune(self) -> None:
        with session_scope(self.runtime.engine) as session:
            session.execute(
                delete(InboundEvent).where(InboundEvent.received_at < utcnow() - INBOUND_KEYS_KEPT)
            )  # type: ignore[arg-type]
