"""Training: which lesson a member gets next, how it looks, what an answer does.

Order of priority for a member's next lesson: a question they got wrong whose
review is due (spaced repetition), then the first lesson of their tracks they
have never received, track by track in app.yaml's order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

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


@dataclass(frozen=True)
class ProgressView:
    """The little a scheduler needs to know of a member's progress on one lesson."""

    lesson_id: str
    correct: bool | None
    review_due_at: datetime | None
    answered: bool
    delivered_at: datetime


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
) -> tuple[str, bool] | None:
    """(lesson id, is_review) of what the member should get next, or None."""
    known = {view.lesson_id: view for view in progress}
    reviews = sorted(
        (as_utc(view.review_due_at), view.lesson_id)
        for view in known.values()
        if view.review_due_at is not None
        and as_utc(view.review_due_at) <= now
        and view.lesson_id in content.lessons
    )
    if reviews:
        return reviews[0][1], True
    for track_id in tracks_for(member, config):
        for lesson_id in content.track(track_id):
            if lesson_id in known:
                continue
            lesson = content.lesson(lesson_id, member.language)
            if lesson is not None and members.in_audience(member, lesson.audience, config):
                return lesson_id, False
    return None


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
    )


def render(lesson_id: str, lesson: Lesson, lang: str, review: bool = False) -> Message:
    """The lesson as a neutral message: text, optional link and image, then the quiz."""
    tr = Tr(lang)
    blocks: list = []
    if review:
        blocks.append(
            ContextLine(
                text=tr("Review: this question comes back because it was missed last time.")
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
