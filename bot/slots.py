"""Scheduled slots read in each member's own time zone.

Every scheduled send (lessons, charter reminders, the managers' digest) uses
the same rules: the latest cron slot within a catch-up window, never on a day
off or in quiet hours, and named by its local wall time so that a DST change
neither doubles nor skips it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.clock import as_utc, local
from bot.config import WEEKDAYS, AppConfig

if TYPE_CHECKING:
    from bot.jobs import JobRun

CATCH_UP = timedelta(hours=3)  # a slot missed while Relais was down is still sent within this


def latest_slot(
    cron: str, zone: str, now: datetime, window: timedelta = CATCH_UP
) -> datetime | None:
    """The last time ``cron`` fired in ``zone`` during (now - window, now], aware, in that zone."""
    tz = ZoneInfo(zone)
    trigger = CronTrigger.from_crontab(cron, timezone=tz)
    cursor = as_utc(now - window)
    last = None
    # Step at least a minute each time: around a DST change APScheduler may
    # answer the same wall time twice, and the loop must still end.
    for _ in range(int(window.total_seconds() // 60) + 2):
        fire = trigger.get_next_fire_time(None, cursor.astimezone(tz))
        if fire is None or fire > now:
            break
        last = fire
        cursor = max(as_utc(fire), cursor) + timedelta(minutes=1)
    return last


def sendable(moment_local: datetime, config: AppConfig) -> bool:
    """True on a working day outside quiet hours (both read in the member's zone)."""
    if WEEKDAYS[moment_local.weekday()] not in config.time.working_days:
        return False
    quiet = config.time.quiet_hours
    return not (quiet and quiet.contains(moment_local.time().replace(second=0, microsecond=0)))


def due_slot(cron: str, zone: str, now: datetime, config: AppConfig) -> str | None:
    """The name of the slot due now in ``zone`` ('2026-11-24T10:00'), or None.

    None when no slot passed within the catch-up window, when it fell on a day
    off or in quiet hours, when it is quiet hours now, or when the zone is unknown.
    """
    try:
        slot = latest_slot(cron, zone, now)
    except (ValueError, KeyError):
        return None  # a broken zone was reported at import; skip it
    if slot is None or not sendable(slot, config) or not sendable(local(now, zone), config):
        return None
    return slot.strftime("%Y-%m-%dT%H:%M")


def due_zone_slots(run: JobRun, cron: str, zones: Iterable[str]) -> list[tuple[str, str]]:
    """The (zone, slot) pairs due now that this job has not done yet (one query for all)."""
    due = [(zone, slot) for zone in zones if (slot := due_slot(cron, zone, run.now, run.config))]
    done = run.done(due)
    return [pair for pair in due if pair not in done]
