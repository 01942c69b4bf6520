"""The lesson schedule: who is due a lesson now, in their own time zone.

The job runs every minute. For each time zone among opted-in members it finds
the latest slot of ``schedules.lessons`` (cron, read in that zone) that has
passed within the catch-up window, skips it on non-working days and in quiet
hours, and queues each member's next lesson with the dedupe key
``lesson-slot:<local slot time>``. Running it twice for the same slot, on one
replica or several, queues nothing twice; a slot is named by its local wall
time, so a DST change neither doubles nor skips it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, update
from sqlmodel import Session, select

from bot import notify
from bot.clock import local
from bot.config import AppConfig
from bot.content.library import ContentLibrary
from bot.db import session_scope
from bot.delivery.models import PROMOTIONAL, Delivery
from bot.delivery.outbox import Outgoing, enqueue_many
from bot.i18n import Tr
from bot.jobs import JobRun
from bot.members import service as members
from bot.members.models import Member
from bot.messages import ContextLine, Message
from bot.registry import Registry
from bot.slots import due_zone_slots, sendable
from bot.training import service
from bot.training.models import LessonProgress

CHUNK = 2000


class MessageCache:
    """Rendered lessons by (lesson, language, kind): rendering once serves thousands."""

    def __init__(self, content: ContentLibrary) -> None:
        self.content = content
        self._cache: dict[tuple[str, str, str], Message] = {}
        self._missed: _LazyMissed | None = None

    def get(self, lesson_id: str, lang: str, kind: service.Kind) -> Message:
        key = (lesson_id, lang, kind)
        if key not in self._cache:
            lesson = self.content.lesson(lesson_id, lang)
            assert lesson is not None
            self._cache[key] = service.render(lesson_id, lesson, lang, kind)
        return self._cache[key]

    def missed(self, session: Session) -> Mapping[str, float]:
        """The programme's most-missed lessons, read once per run and only if a refresher asks."""
        if self._missed is None or self._missed._found is None:
            self._missed = _LazyMissed(session)  # bound to this chunk's session until it loads
        return self._missed


class _LazyMissed(Mapping[str, float]):
    """``service.missed_by_programme``, queried at the first look-up (most runs never need it)."""

    def __init__(self, session: Session) -> None:
        self._session: Session | None = session
        self._found: dict[str, float] | None = None

    def _load(self) -> dict[str, float]:
        if self._found is None:
            assert self._session is not None
            self._found = service.missed_by_programme(self._session)
            self._session = None
        return self._found

    def __getitem__(self, key: str) -> float:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def register(registry: Registry) -> None:
    registry.job("lessons", every=timedelta(minutes=1), serves="lessons")(queue_due_lessons)
    registry.job("lesson_reminders", every=timedelta(minutes=5))(queue_reminders)


def queue_due_lessons(run: JobRun) -> int:
    """Queue the lessons due now in every time zone; return how many were queued.

    A zone's slot is recorded once done, so the next minutes skip it in one query.
    """
    config, content, engine = run.config, run.content, run.engine
    if not config.schedules.lessons:
        return 0
    cache = MessageCache(content)
    queued = 0
    for zone, slot in due_zone_slots(run, config.schedules.lessons, members.active_zones(engine)):
        key = "lesson-slot:" + slot
        done = _queue_zone(engine, config, content, cache, zone, key, run.now)
        run.record(zone, slot, done)
        queued += done
    return queued


# The columns the schedule reads: plain rows are far cheaper than ORM objects at 100,000 members.
_MEMBER_COLUMNS = (
    Member.id,
    Member.email,
    Member.department,
    Member.location,
    Member.language,
    Member.roles,
    Member.opted_in,
    Member.preferred_platform,
)
_PROGRESS_COLUMNS = (
    LessonProgress.id,
    LessonProgress.member_id,
    LessonProgress.lesson_id,
    LessonProgress.correct,
    LessonProgress.review_due_at,
    LessonProgress.answered_at,
    LessonProgress.last_delivered_at,
    LessonProgress.first_delivered_at,
    LessonProgress.wrong_answers,
)


def _queue_zone(
    engine: Engine,
    config: AppConfig,
    content: ContentLibrary,
    cache: MessageCache,
    zone: str,
    key: str,
    now: datetime,
) -> int:
    queued = 0
    after = 0
    progress_table = LessonProgress.__table__  # type: ignore[attr-defined]
    while True:
        with session_scope(engine) as session:
            batch = session.execute(
                select(*_MEMBER_COLUMNS)
                .where(
                    Member.time_zone == zone,
                    Member.opted_in.is_(True),
                    Member.left_at.is_(None),
                    Member.id > after,
                )
                .order_by(Member.id)
                .limit(CHUNK)
            ).all()
            if not batch:
                return queued
            after = batch[-1].id
            ids = [m.id for m in batch]
            done = set(
                session.execute(
                    select(Delivery.member_id).where(
                        and_(Delivery.dedupe_key == key, Delivery.member_id.in_(ids))
                    )
                ).scalars()
            )  # type: ignore[attr-defined]
            progress: dict[int, list[service.ProgressView]] = defaultdict(list)
            row_ids: dict[tuple[int, str], int] = {}
            for row in session.execute(
                select(*_PROGRESS_COLUMNS).where(LessonProgress.member_id.in_(ids))
            ):  # type: ignore[attr-defined]
                progress[row.member_id].append(
                    service.ProgressView(
                        row.lesson_id,
                        row.correct,
                        row.review_due_at,
                        row.answered_at is not None,
                        row.last_delivered_at,
                        row.first_delivered_at,
                        row.wrong_answers,
                    )
                )
                row_ids[(row.member_id, row.lesson_id)] = row.id
            outgoing: list[Outgoing] = []
            chosen: dict[int, tuple[str, str]] = {}
            missed = cache.missed(session)
            for member in batch:
                if member.id in done:
                    continue
                found = service.next_lesson(
                    member,  # type: ignore[arg-type]
                    progress[member.id],
                    content,
                    config,
                    now,
                    missed,
                )
                if found is None:
                    continue
                lesson_id, kind = found
                chosen[member.id] = (lesson_id, member.language)
                outgoing.append(
                    notify.to_member(
                        member,
                        config,
                        cache.get(lesson_id, member.language, kind),
                        key=key,
                        kind="lesson",
                        subject=lesson_id,
                        purpose=PROMOTIONAL,
                    )
                )
            inserted = enqueue_many(session, outgoing, now)
            new_rows, reviewed = [], []
            for member_id, _ in inserted:
                lesson_id, language = chosen[member_id]
                existing = row_ids.get((member_id, lesson_id))
                if existing is None:
                    lesson = content.lesson(lesson_id, language)
                    new_rows.append(
                        {
                            "member_id": member_id,
                            "lesson_id": lesson_id,
                            "track": lesson.track if lesson else "",
                            "first_delivered_at": now,
                            "last_delivered_at": now,
                            "times_delivered": 1,
                            "wrong_answers": 0,
                        }
                    )
                else:
                    reviewed.append(existing)
            if new_rows:
                session.connection().execute(progress_table.insert(), new_rows)
            if reviewed:
                session.execute(
                    update(LessonProgress)
                    .where(LessonProgress.id.in_(reviewed))  # type: ignore[union-attr]
                    .values(
                        last_delivered_at=now,
                        times_delivered=LessonProgress.times_delivered + 1,
                        review_due_at=None,
                        reminded_at=None,
                    )
                )
            queued += len(inserted)


REMINDERS_PER_ROUND = 5000


def queue_reminders(run: JobRun) -> int:
    """Remind once, in the member's daytime, of a lesson left unanswered too long.

    Only members whose zone is in daytime now are read, oldest lesson first, so
    a round's limit never fills with people who are asleep.
    """
    config, content, now = run.config, run.content, run.now
    cutoff = now - timedelta(hours=config.training.remind_unanswered_after_hours)
    awake = [
        zone for zone in members.active_zones(run.engine) if sendable(local(now, zone), config)
    ]
    if not awake:
        return 0
    queued = 0
    with session_scope(run.engine) as session:
        rows = session.exec(
            select(LessonProgress, Member)
            .join(Member, Member.id == LessonProgress.member_id)  # type: ignore[arg-type]
            .where(
                LessonProgress.answered_at.is_(None),
                LessonProgress.reminded_at.is_(None),
                LessonProgress.last_delivered_at <= cutoff,  # type: ignore[operator]
                Member.opted_in.is_(True),
                Member.time_zone.in_(awake),  # type: ignore[attr-defined]
                Member.left_at.is_(None),
            )
            .order_by(LessonProgress.last_delivered_at, LessonProgress.id)  # type: ignore[arg-type]
            .limit(REMINDERS_PER_ROUND)
        ).all()
        outgoing = []
        for progress, member in rows:
            lesson = content.lesson(progress.lesson_id, member.language)
            if lesson is None:
                progress.reminded_at = now  # a retired lesson is not reminded
                continue
            tr = Tr(member.language)
            base = service.render(progress.lesson_id, lesson, member.language)
            message = Message(
                text=base.text,
                blocks=[
                    ContextLine(text=tr("Reminder: this lesson is waiting for your answer.")),
                    *base.blocks,
                ],
            )
            outgoing.append(
                notify.to_member(
                    member,
                    config,
                    message,
                    key=f"lesson-reminder:{progress.lesson_id}:{progress.times_delivered}",
                    kind="lesson_reminder",
                    subject=progress.lesson_id,
                    purpose=PROMOTIONAL,
                )
            )
            progress.reminded_at = now
        queued = len(enqueue_many(session, outgoing, now))
    return queued
