"""Reporting's scheduled work: folding events into the rollups, and the managers' weekly digest."""

from __future__ import annotations

from datetime import timedelta

from bot.db import session_scope
from bot.jobs import JobRun
from bot.registry import Registry
from bot.reporting import measures, rollup
from bot.reporting.digest import queue_digests


def fold_events(run: JobRun) -> int:
    """Fold the events older than a few minutes into the rollups; count the heads and the
    alerts of recent crises again.

    It queues no message.
    """
    rollup.catch_up(run.engine, run.config.time.zone, run.now)
    with session_scope(run.engine) as session:
        measures.refresh_heads(session, measures.charter_version(run.content))
        measures.refresh_crises(session)
    return 0


def register(registry: Registry) -> None:
    registry.job("reporting_rollup", every=timedelta(minutes=1))(fold_events)
    registry.job("manager_digest", every=timedelta(minutes=1), serves="manager_digest")(
        queue_digests
    )
