"""Housekeeping of the core's own tables: handled-event keys, slot records, finished deliveries."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from bot.db import session_scope
from bot.delivery import service
from bot.delivery.models import HandledEvent
from bot.jobs import JobRun, SlotRun
from bot.registry import Registry

HANDLED_KEYS_KEPT = timedelta(days=7)  # platforms retry within minutes; a week is plenty
SLOT_RUNS_KEPT = timedelta(days=60)  # a catch-up window is hours; two months tell the history


def register(registry: Registry) -> None:
    registry.job("prune_handled_events", every=timedelta(hours=6))(prune)
    registry.job("prune_deliveries", every=timedelta(hours=6))(prune_deliveries)


def prune_deliveries(run: JobRun) -> int:
    """Finished deliveries older than ``delivery.retention_days`` go; participation events stay."""
    before = run.now - timedelta(days=run.config.delivery.retention_days)
    return service.prune_finished(run.engine, before)


def prune(run: JobRun) -> int:
    with session_scope(run.engine) as session:
        session.execute(
            delete(HandledEvent).where(HandledEvent.received_at < run.now - HANDLED_KEYS_KEPT)  # type: ignore[arg-type]
        )
        session.execute(delete(SlotRun).where(SlotRun.done_at < run.now - SLOT_RUNS_KEPT))  # type: ignore[arg-type]
    return 0
