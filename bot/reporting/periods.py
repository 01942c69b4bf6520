"""Reporting periods: calendar weeks (Monday to Sunday), months and quarters.

Periods are read in the programme's time zone (``time.zone``): a week is the
same seven days for every department, and rollups can count per period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from bot.clock import as_utc
from bot.i18n import Tr, format_day

GRAINS = ("week", "month", "quarter")


class PeriodError(ValueError):
    """The text does not name a period; the message (translated) says what would."""


def _month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def start_of(grain: str, day: date) -> date:
    """The first day of the ``grain`` period that contains ``day``."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    raise ValueError(grain)


def after(grain: str, start: date, steps: int = 1) -> date:
    """The first day ``steps`` periods after ``start``."""
    if grain == "week":
        return start + timedelta(days=7 * steps)
    return _month_start(start, steps * (3 if grain == "quarter" else 1))


@dataclass(frozen=True)
class Period:
    grain: str
    start: date  # first day, in the programme's zone
    zone: str

    @property
    def end(self) -> date:
        """The first day after the period."""
        return after(self.grain, self.start)

    @property
    def previous(self) -> Period:
        return Period(self.grain, after(self.grain, self.start, -1), self.zone)

    @property
    def next(self) -> Period:
        return Period(self.grain, self.end, self.zone)

    def _utc(self, day: date) -> datetime:
        return datetime.combine(day, time(0), ZoneInfo(self.zone)).astimezone(UTC)

    @cached_property
    def start_utc(self) -> datetime:
        return self._utc(self.start)

    @cached_property
    def end_utc(self) -> datetime:
        return self._utc(self.end)

    def contains(self, moment: datetime) -> bool:
        return self.start_utc <= as_utc(moment) < self.end_utc

    def complete(self, now: datetime) -> bool:
        return as_utc(now) >= self.end_utc

    def label(self, tr: Tr) -> str:
        """'week of 16 November 2026', 'November 2026', 'Q4 2026' in the reader's language."""
        if self.grain == "week":
            return tr("week of {date}", date=format_day(self.start, tr.lang, "long"))
        if self.grain == "month":
            from babel.dates import format_date

            return format_date(self.start, "LLLL y", locale=tr.lang)
        return tr(
            "Q{quarter} {year}", quarter=(self.start.month - 1) // 3 + 1, year=self.start.year
        )

    @property
    def code(self) -> str:
        """The period as typed: 2026-W47, 2026-11, 2026-Q4."""
        if self.grain == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.grain == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"


def current(grain: str, now: datetime, zone: str) -> Period:
    day = as_utc(now).astimezone(ZoneInfo(zone)).date()
    return Period(grain, start_of(grain, day), zone)


def last_complete(grain: str, now: datetime, zone: str) -> Period:
    return current(grain, now, zone).previous


WORDS = {
    "week": "week",
    "semaine": "week",
    "month": "month",
    "mois": "month",
    "quarter": "quarter",
    "trimestre": "quarter",
}
LAST = ("last-", "previous-")
# French puts the word after: semaine-dernière, mois-dernier, trimestre-précédent.
LAST_AFTER = (
    "-dernière",
    "-derniere",
    "-dernier",
    "-précédente",
    "-precedente",
    "-précédent",
    "-precedent",
)


def _last(word: str) -> str | None:
    """The grain of a 'last …' word, or None."""
    for prefix in LAST:
        if word.startswith(prefix) and word[len(prefix) :] in WORDS:
            return WORDS[word[len(prefix) :]]
    for suffix in LAST_AFTER:
        if word.endswith(suffix) and word[: -len(suffix)] in WORDS:
            return WORDS[word[: -len(suffix)]]
    return None


_WEEK = re.compile(r"^(\d{4})-w(\d{1,2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-[qt]([1-4])$")


def is_period(text: str) -> bool:
    """Whether ``text`` looks like a period (so `stats sales` is read as a department)."""
    word = text.lower()
    if _last(word):
        return True
    return word in WORDS or bool(_WEEK.match(word) or _MONTH.match(word) or _QUARTER.match(word))


def parse(text: str, now: datetime, zone: str, tr: Tr) -> Period:
    """A period from what a person typed: week, month, quarter (so far), last-week…,
    2026-W47, 2026-11, 2026-Q4 (French words too)."""
    word = text.strip().lower()
    if grain := _last(word):
        return last_complete(grain, now, zone)
    if word in WORDS:
        return current(WORDS[word], now, zone)
    try:
        if match := _WEEK.match(word):
            start = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
            return Period("week", start, zone)
        if match := _MONTH.match(word):
            return Period("month", date(int(match.group(1)), int(match.group(2)), 1), zone)
        if match := _QUARTER.match(word):
            return Period(
                "quarter", date(int(match.group(1)), int(match.group(2)) * 3 - 2, 1), zone
            )
    except ValueError:
        pass
    raise PeriodError(
        tr(
            "“{text}” is not a period. Write week, month, quarter, last-week, last-month, "
            "last-quarter, or a date such as 2026-W47, 2026-11 or 2026-Q4.",
            text=text,
        )
    )
