"""Training: which lesson a member gets next, how it looks, what an answer does.

Order of priority for a member's next lesson: a question they got wrong whose
review is due (spaced repetition); then a lesson of their tracks they have
never received, the tracks running side by side (each slot goes to the track
that has waited longest for a new lesson, so a relay's own track starts in
week one, not after the basics); and once every track is done, a refresher:
the lessons they missed most first, then those the programme missed most.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from sqlalchemy import case, func
from sqlmodel import Session, select

from bot.clock import as_utc, utcnow
from bot.config import AppConfig
from bot.content.library import ContentLibrary
from bot.content.schema import Lesson
from bot.i18n import Tr, format_day
from bot.members import service as members
from bot.members.models import Member
from bot.messages import Button, Choice, ContextLine, Image, Link, Message, Section
from bot.participation.models import record
from bot.training.models import LessonProgress, QuizAnswer

ANSWER_ACTION = "lesson.answer"

Kind = Literal["new", "review", "refresher"]
NEW: Kind = "new"
REVIEW: Kind = "review"
REFRESHER: Kind = "refresher"


@dataclass(frozen=True)
class ProgressView:
    """The little a scheduler needs to know of a member's progress on one lesson."""

    lesson_id: str
    correct: bool | None
    review_due_at: datetime | None
    answered: bool
    delivered_at: datetime  # the last time it was sent (a review or refresher included)
    first_delivered_at: datetime | None = None
    wrong_answers: int = 0


class NextLesson(NamedTuple):
    lesson_id: str
    kind: Kind

    @property
    def review(self) -> bool:
        return self.kind == REVIEW


def tracks_for(member: Member, config: AppConfig) -> list[str]:
    """The member's tracks, in app.yaml's order."""
    return [
        track.id
        for track in config.training.tracks
        if members.in_audience(member, track.audience, config)
    ]


def next_lesson(
    member: Member,
    progress: Iterable[ProgressView],
    content: ContentLibrary,
    config: AppConfig,
    now: datetime,
    missed_by_programme: Mapping[str, float] | None = None,
    asked: bool = False,
) -> NextLesson | None:
    """What the member should get next, or None.

    ``missed_by_programme`` (lesson id -> share of members who missed it) ranks
    refreshers among lessons the member never missed; ``asked`` is a member
    typing ``lesson``: a refresher comes at once rather than on its weekly pace.
    """
    known = {view.lesson_id: view for view in progress}
    reviews = sorted(
        (as_utc(view.review_due_at), view.lesson_id)
        for view in known.values()
        if view.review_due_at is not None
        and as_utc(view.review_due_at) <= now
        and view.lesson_id in content.lessons
    )
    if reviews:
        return NextLesson(reviews[0][1], REVIEW)
    tracks = tracks_for(member, config)
    fresh = _next_new(member, tracks, known, content, config)
    if fresh is not None:
        return NextLesson(fresh, NEW)
    refresher = _refresher(member, tracks, known, content, config, now, missed_by_programme, asked)
    return NextLesson(refresher, REFRESHER) if refresher is not None else None


_NEVER = datetime.min.replace(tzinfo=None)


def _next_new(
    member: Member,
    tracks: list[str],
    known: dict[str, ProgressView],
    content: ContentLibrary,
    config: AppConfig,
) -> str | None:
    """The first unreceived lesson of the track that has waited longest for a new one.

    A track never started has waited longest of all; ties go to app.yaml's order.
    A lesson written later joins its track and is picked like any other.
    """
    candidates = []
    for position, track_id in enumerate(tracks):
        lesson_ids = content.track(track_id)
        waiting = next(
            (
                lesson_id
                for lesson_id in lesson_ids
                if lesson_id not in known
                and (lesson := content.lesson(lesson_id, member.language)) is not None
                and members.in_audience(member, lesson.audience, config)
            ),
            None,
        )
        if waiting is None:
            continue
        started = [
            as_utc(view.first_delivered_at or view.delivered_at).replace(tzinfo=None)
            for lesson_id in lesson_ids
            if (view := known.get(lesson_id)) is not None
        ]
        candidates.append((max(started, default=_NEVER), position, waiting))
    return min(candidates)[2] if candidates else None


def _refresher(
    member: Member,
    tracks: list[str],
    known: dict[str, ProgressView],
    content: ContentLibrary,
    config: AppConfig,
    now: datetime,
    missed_by_programme: Mapping[str, float] | None,
    asked: bool,
) -> str | None:
    """A lesson worth revisiting once every track is done.

    The member's most-missed lessons first, then those they left unanswered,
    then those the programme as a whole missed most; the longest unseen first.
    """
    settings = config.training.refreshers
    if not settings.every_days or not known:
        return None
    if not asked:
        latest = max(as_utc(view.delivered_at) for view in known.values())
        if latest > now - timedelta(days=settings.every_days):
            return None
    spaced = now - timedelta(days=settings.same_lesson_after_days)
    shared = missed_by_programme or {}
    ranked = []
    for track_id in tracks:
        for lesson_id in content.track(track_id):
            view = known.get(lesson_id)
            if view is None or as_utc(view.delivered_at) > spaced:
                continue
            lesson = content.lesson(lesson_id, member.language)
            if lesson is None or not members.in_audience(member, lesson.audience, config):
                continue
            ranked.append(
                (
                    -view.wrong_answers,
                    view.answered,
                    -shared.get(lesson_id, 0.0),
                    as_utc(view.delivered_at),
                    lesson_id,
                )
            )
    return min(ranked)[-1] if ranked else None


def missed_by_programme(session: Session) -> dict[str, float]:
    """Lesson id -> share of the members who answered it and got it wrong at least once."""
    rows = session.execute(
        select(
            LessonProgress.lesson_id,
            func.count(),
            func.sum(case((LessonProgress.wrong_answers > 0, 1), else_=0)),
        )
        .where(LessonProgress.answered_at.is_not(None))  # type: ignore[union-attr]
        .group_by(LessonProgress.lesson_id)
    ).all()
    return {lesson_id: (missed or 0) / count for lesson_id, count, missed in rows if count}


def progress_of(session: Session, member_id: int) -> list[ProgressView]:
    rows = session.exec(select(LessonProgress).where(LessonProgress.member_id == member_id)).all()
    return [to_view(row) for row in rows]


def to_view(row: LessonProgress) -> ProgressView:
    return ProgressView(
        row.lesson_id,
        row.correct,
        row.review_due_at,
        row.answered_at is not None,
        row.last_delivered_at,
        row.first_delivered_at,
        row.wrong_answers,
    )


def render(lesson_id: str, lesson: Lesson, lang: str, kind: Kind = NEW) -> Message:
    """The lesson as a neutral message: text, optional link and image, then the quiz."""
    tr = Tr(lang)
    blocks: list = []
    if kind == REVIEW:
        blocks.append(
            ContextLine(
                text=tr("Review: this question comes back because it was missed last time.")
            )
        )
    elif kind == REFRESHER:
        blocks.append(
            ContextLine(
                text=tr(
                    "Refresher: you have done every lesson of your training; this one is "
                    "worth another look. New lessons will come as the team writes them."
                )
            )
        )
    blocks.append(Section(title=lesson.title, text=lesson.body or lesson.title))
    if lesson.image:
        blocks.append(Image(url=lesson.image, alt=lesson.image_alt or lesson.title))
    if lesson.link:
        blocks.append(Link(url=lesson.link, label=tr("Learn more")))
    blocks.append(
        Choice(
            question=lesson.quiz.question,
            options=[
                Button(label=option.text, action_id=ANSWER_ACTION, value=f"{lesson_id}:{index}")
                for index, option in enumerate(lesson.quiz.options)
            ],
        )
    )
    return Message(text=f"{lesson.title} — {lesson.quiz.question}", blocks=blocks)


def note_delivery(
    session: Session, member: Member, lesson_id: str, track: str, now: datetime
) -> None:
    """Remember that a lesson (or its review) was queued for the member."""
    row = session.exec(
        select(LessonProgress).where(
            LessonProgress.member_id == member.id, LessonProgress.lesson_id == lesson_id
        )
    ).first()
    if row is None:
        session.add(
            LessonProgress(
                member_id=member.id or 0,
                lesson_id=lesson_id,
                track=track,
                first_delivered_at=now,
                last_delivered_at=now,
            )
        )
        return
    row.last_delivered_at = now
    row.times_delivered += 1
    row.review_due_at = None
    row.reminded_at = None


@dataclass(frozen=True)
class AnswerResult:
    correct: bool
    accepted: bool
    message: Message


def answer(
    session: Session,
    member: Member,
    value: str,
    event_key: str,
    content: ContentLibrary,
    config: AppConfig,
    now: datetime | None = None,
) -> AnswerResult:
    """Record a quiz answer and say whether it was right, with the explanation."""
    now = now or utcnow()
    tr = Tr(member.language)
    lesson_id, _, raw_index = value.rpartition(":")
    lesson = content.lesson(lesson_id, member.language)
    try:
        index = int(raw_index)
    except ValueError:
        index = -1
    if lesson is None or not 0 <= index < len(lesson.quiz.options):
        return AnswerResult(
            False,
            False,
            Message(
                text=tr("This lesson is no longer available."),
                blocks=[Section(text=tr("This lesson is no longer available."))],
            ),
        )
    progress = session.exec(
        select(LessonProgress).where(
            LessonProgress.member_id == member.id, LessonProgress.lesson_id == lesson_id
        )
    ).first()
    if progress is None:  # answering a lesson shown outside the outbox (should not happen)
        progress = LessonProgress(
            member_id=member.id or 0,
            lesson_id=lesson_id,
            track=lesson.track,
            first_delivered_at=now,
            last_delivered_at=now,
        )
        session.add(progress)
    awaiting = progress.answered_at is None or as_utc(progress.last_delivered_at) > as_utc(
        progress.answered_at
    )
    if not awaiting:
        if progress.correct:
            text = tr("You already answered this question correctly. Well done!")
        elif progress.review_due_at:
            text = tr(
                "You already answered this question. It will come back for review on {date}.",
                date=_day(progress.review_due_at, member, tr),
            )
        else:
            text = tr("You already answered this question.")
        return AnswerResult(
            bool(progress.correct), False, Message(text=text, blocks=[Section(text=text)])
        )

    correct = index == lesson.quiz.correct_index
    seconds = int((now - as_utc(progress.last_delivered_at)).total_seconds())
    is_review = progress.answered_at is not None
    session.add(
        QuizAnswer(
            member_id=member.id or 0,
            lesson_id=lesson_id,
            option_index=index,
            correct=correct,
            answered_at=now,
            seconds_to_answer=max(0, seconds),
            event_key=event_key,
        )
    )
    progress.answered_at = now
    progress.correct = correct
    if correct:
        progress.review_due_at = None
    else:
        progress.wrong_answers += 1
        intervals = config.training.review_after_days
        step = min(progress.wrong_answers, len(intervals)) - 1
        progress.review_due_at = now + timedelta(days=intervals[step]) if intervals else None
    record(
        session,
        "lesson_answered",
        member.id,
        lesson_id,
        None,
        correct=correct,
        option=index,
        seconds_to_answer=max(0, seconds),
        review=is_review,
    )

    right = lesson.quiz.options[lesson.quiz.correct_index].text
    if correct:
        headline = tr("✅ Right!")
    else:
        headline = tr("❌ Not quite. The right answer was: {answer}", answer=right)
    blocks: list = [Section(text=f"{headline}\n\n{lesson.quiz.explanation}")]
    if not correct and progress.review_due_at:
        blocks.append(
            ContextLine(
                text=tr(
                    "This question will come back on {date}.",
                    date=_day(progress.review_due_at, member, tr),
                )
            )
        )
    return AnswerResult(correct, True, Message(text=headline, blocks=blocks))


def _day(moment: datetime, member: Member, tr: Tr) -> str:
    from bot.clock import local

    return format_day(local(moment, member.time_zone).date(), tr.lang, "full")
