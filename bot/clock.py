"""Time in one place: the database stores aware UTC, people live in their own zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Now, as the aware UTC datetime every table stores."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Any datetime as aware UTC (a naive one is taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def local(moment: datetime, zone: str) -> datetime:
    """A moment in a member's time zone."""
    return as_utc(moment).astimezone(ZoneInfo(zone))
