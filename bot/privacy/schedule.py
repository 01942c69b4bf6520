"""Retention: raw participation events older than ``privacy.raw_events_days`` are removed.

Only kinds the reporting rollups hold (and that nothing else reads event by
event) go, and only once folded: every figure stays, the per-person trail goes.
Sent messages are removed by the delivery engine's own retention job
(``delivery.retention_days``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from bot.db import session_scope
from bot.jobs import JobRun
from bot.participation.models import ParticipationEvent
from bot.registry import Registry
from bot.reporting import rollup
from bot.reporting.models import DashboardToken

# Folded into the rollups and read nowhere else event by event.
FOLDED_RAW = ("lesson_delivered", "lesson_answered", "post_delivered")
# Not counted anywhere: the trail of what someone typed or opened.
UNCOUNTED_RAW = ("command_used", "charter_viewed", "language_changed")
BATCH = 5000
LINKS_KEPT = timedelta(days=1)


def register(registry: Registry) -> None:
    registry.job("prune_raw_events", every=timedelta(hours=24))(prune_raw_events)


def prune_raw_events(run: JobRun) -> int:
    """Delete old raw events in batches (short transactions), then expired sign-in links."""
    before = run.now - timedelta(days=run.config.privacy.raw_events_days)
    while True:
        with session_scope(run.engine) as session:
            folded = rollup.mark(session)
            ids = list(
                session.execute(
                    select(ParticipationEvent.id)
                    .where(
                        ParticipationEvent.occurred_at < before,  # type: ignore[operator]
                        (
                            ParticipationEvent.kind.in_(FOLDED_RAW)  # type: ignore[attr-defined]
                            & (ParticipationEvent.id <= folded)  # type: ignore[operator]
                        )
                        | ParticipationEvent.kind.in_(UNCOUNTED_RAW),  # type: ignore[attr-defined]
                    )
                    .limit(BATCH)
                ).scalars()
            )
            if ids:
                session.execute(
                    delete(ParticipationEvent).where(ParticipationEvent.id.in_(ids))  # type: ignore[union-attr]
                )
        if len(ids) < BATCH:
            break
    with session_scope(run.engine) as session:
        # Sign-in links (a hash, who, when) are of no use a day after they expired.
        session.execute(
            delete(DashboardToken).where(DashboardToken.expires_at < run.now - LINKS_KEPT)  # type: ignore[arg-type]
        )
    return 0
