"""The scheduler (APScheduler 3): runs every job the capabilities registered.

Jobs only ever write outbox rows. The outbox, not APScheduler, is where a
pending send lives, so the job store is in memory and built from the registry
at each start: a capability that registers a job gets it run, and a job that
serves an ``app.yaml`` schedule is tested to be wired (tests/test_scheduler.py).
Programme jobs run under a lock and record the slots they did (``bot.jobs``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.clock import utcnow
from bot.jobs import run_job
from bot.registry import Job
from bot.runtime import Runtime

log = logging.getLogger("relais.scheduler")

FIRST_RUN_AFTER = timedelta(seconds=2)  # let the web server come up first


class ProgrammeScheduler:
    """Runs the registered jobs in a background thread and wakes the worker."""

    def __init__(self, runtime: Runtime, wake: Callable[[], None]) -> None:
        self.runtime = runtime
        self.wake = wake
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )
        for job in runtime.relais.registry.jobs.values():
            self.scheduler.add_job(
                self.runner(job),
                "interval",
                seconds=job.every.total_seconds(),
                id=job.id,
                name=job.id,
                next_run_time=utcnow() + FIRST_RUN_AFTER,
            )

    def runner(self, job: Job) -> Callable[[], int]:
        """What APScheduler calls for ``job``: run it once and wake the worker if it queued."""

        def run() -> int:
            # An exception is logged by APScheduler; the job runs again at its next interval.
            queued = run_job(job, self.runtime)
            if queued:
                log.info("%s: queued %d message(s)", job.id, queued)
                self.wake()
            return queued

        return run

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
