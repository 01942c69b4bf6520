"""Scheduled slots read in each member's own time zone.

Every scheduled send (lessons, charter reminders, the managers' digest) uses
the same rules: the latest cron slot within a catch-up window, never on a day
off or in quiet hours, and named by its local wall time so that a DST change
neither doubles nor skips it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
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


def next_sendable(
    after: datetime, zone: str, config: AppConfig, at_local: time | None = None
) -> datetime | None:
    """The first moment at or after ``after`` (aware UTC) when ``zone`` may be written to.

    With ``at_local`` (10:00): the first day, from ``after``'s, whose 10:00 in
    ``zone`` is still to come and is sendable. Without: ``after`` itself when it
    is sendable there, else the next minute that is (the end of quiet hours, the
    next working day). None when no moment in the next two weeks qualifies (an
    ``at_local`` inside quiet hours, or no working day at all) or the zone is unknown.
    """
    try:
        tz = ZoneInfo(zone)
    except (ValueError, KeyError):
        return None
    start = as_utc(after).astimezone(tz)
    if at_local is not None:
        for offset in range(15):
            day = (start + timedelta(days=offset)).date()
            # fold=0: in a DST gap or overlap the earlier reading of the wall time.
            candidate = datetime.combine(day, at_local, tzinfo=tz)
            if candidate < start:
                continue
            if sendable(candidate, config):
                return as_utc(candidate)
        return None
    if sendable(start, config):
        return as_utc(after)
    cursor = start.replace(second=0, microsecond=0)
    # Quiet hours end and days start on the minute: walk minute by minute within
    # the day, then day by day, never more than two weeks.
    for _ in range(15 * 24 * 60 // 15):
        cursor = (cursor.astimezone(UTC) + timedelta(minutes=15)).astimezone(tz)
        if sendable(cursor, config):
            # Back up to the first sendable minute of this quarter of an hour.
            for minute in range(14, 0, -1):
                earlier = (cursor.astimezone(UTC) - timedelta(minutes=minute)).astimezone(tz)
                if earlier > start and sendable(earlier, config):
                    return as_utc(earlier)
            return as_utc(cursor)
    return None
