"""Lesson slots in each member's own time: zones, quiet hours, working days, DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.config import load_config
from bot.delivery.models import Delivery
from bot.members.models import Member
from bot.slots import latest_slot, sendable
from tests.conftest import DEMO_CONFIG, run_scheduled

CONFIG = load_config(DEMO_CONFIG)


def lesson_recipients(runtime) -> set[str]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        rows = session.exec(
            select(Member.email)
            .join(Delivery, Delivery.member_id == Member.id)
            .where(Delivery.kind == "lesson")
        ).all()
    return set(rows)


def test_paris_and_montreal_each_get_the_lesson_at_their_own_ten(runtime) -> None:  # type: ignore[no-untyped-def]
    paris_ten = datetime(2026, 11, 24, 9, 0, 30, tzinfo=UTC)  # Tue 10:00 Paris, 04:00 Montréal
    run_scheduled(runtime, "lessons", paris_ten)
    first = lesson_recipients(runtime)
    assert "karim.benali@example.com" in first
    assert "lea.petit@example.com" not in first and "liam.tremblay@example.com" not in first
    montreal_ten = datetime(2026, 11, 24, 15, 0, 30, tzinfo=UTC)  # Tue 10:00 Montréal
    run_scheduled(runtime, "lessons", montreal_ten)
    second = lesson_recipients(runtime) - first
    assert second == {"lea.petit@example.com", "liam.tremblay@example.com"}


def test_nothing_on_a_non_slot_day_or_outside_the_window(runtime) -> None:  # type: ignore[no-untyped-def]
    wednesday_ten = datetime(2026, 11, 25, 9, 0, 30, tzinfo=UTC)
    assert run_scheduled(runtime, "lessons", wednesday_ten) == 0
    tuesday_late = datetime(
        2026, 11, 24, 14, 0, tzinfo=UTC
    )  # 15:00 Paris: slot 5 h ago, past catch-up
    run_scheduled(runtime, "lessons", tuesday_late)
    assert not {
        e
        for e in lesson_recipients(runtime)
        if e.endswith("example.com") and "tremblay" not in e and "petit" not in e
    }


def test_catch_up_after_a_restart_within_the_window(runtime) -> None:  # type: ignore[no-untyped-def]
    back_at_eleven_thirty = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    assert run_scheduled(runtime, "lessons", back_at_eleven_thirty) > 0


def test_weekend_and_quiet_hours_are_respected() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert not sendable(datetime(2026, 11, 28, 10, 0, tzinfo=paris), CONFIG)  # Saturday
    assert not sendable(datetime(2026, 11, 26, 20, 0, tzinfo=paris), CONFIG)  # quiet 19:00–08:30
    assert not sendable(datetime(2026, 11, 26, 8, 15, tzinfo=paris), CONFIG)
    assert sendable(datetime(2026, 11, 26, 10, 0, tzinfo=paris), CONFIG)


def test_slot_in_quiet_hours_is_skipped(runtime) -> None:  # type: ignore[no-untyped-def]
    relais = runtime.relais
    evening = relais.config.model_copy(
        update={"schedules": relais.config.schedules.model_copy(update={"lessons": "0 20 * * tue"})}
    )
    relais.config = evening
    at_eight_pm = datetime(2026, 11, 24, 19, 0, 30, tzinfo=UTC)  # 20:00 Paris, quiet
    assert run_scheduled(runtime, "lessons", at_eight_pm) == 0


@pytest.mark.parametrize(
    ("cron", "zone", "now_utc", "expected_local"),
    [
        # Spring forward in Paris (29 March 2026, 02:00 -> 03:00): the 10:00 slot happens once, at 08:00 UTC.
        (
            "0 10 * * *",
            "Europe/Paris",
            datetime(2026, 3, 29, 8, 0, 5, tzinfo=UTC),
            "2026-03-29T10:00",
        ),
        # Fall back in Paris (25 October 2026): 10:00 local is 09:00 UTC.
        (
            "0 10 * * *",
            "Europe/Paris",
            datetime(2026, 10, 25, 9, 0, 5, tzinfo=UTC),
            "2026-10-25T10:00",
        ),
        # Montréal changes on 1 November 2026: 10:00 local is 15:00 UTC after the change.
        (
            "0 10 * * *",
            "America/Montreal",
            datetime(2026, 11, 1, 15, 0, 5, tzinfo=UTC),
            "2026-11-01T10:00",
        ),
    ],
)
def test_dst_days_have_exactly_one_slot(
    cron: str, zone: str, now_utc: datetime, expected_local: str
) -> None:
    slot = latest_slot(cron, zone, now_utc)
    assert slot is not None and slot.strftime("%Y-%m-%dT%H:%M") == expected_local
    # An hour earlier in UTC the slot of that day had not come yet.
    earlier = latest_slot(cron, zone, now_utc - timedelta(hours=1), window=timedelta(hours=1))
    assert earlier is None


def test_ambiguous_hour_on_fall_back_is_one_slot() -> None:
    # 02:30 happens twice in Paris on 25 October 2026; both moments name the same slot.
    first = latest_slot("30 2 * * *", "Europe/Paris", datetime(2026, 10, 25, 0, 31, tzinfo=UTC))
    second = latest_slot("30 2 * * *", "Europe/Paris", datetime(2026, 10, 25, 1, 31, tzinfo=UTC))
    assert first is not None
    names = {slot.strftime("%Y-%m-%dT%H:%M") for slot in (first, second) if slot is not None}
    assert names == {"2026-10-25T02:30"}
