"""Lesson results for coordinators: who received, who answered, who got it right."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from bot.content.library import ContentLibrary
from bot.training.models import LessonProgress, QuizAnswer


@dataclass(frozen=True)
class LessonResult:
    lesson_id: str
    delivered: int
    answered: int
    right_first_time: int
    wrong_first_time: int
    first_choices: dict[int, int]  # option index -> members whose first answer it was

    @property
    def answered_share(self) -> float:
        return self.answered / self.delivered if self.delivered else 0.0

    @property
    def correct_share(self) -> float:
        """Right at the first attempt, among those who answered."""
        return self.right_first_time / self.answered if self.answered else 0.0


def lesson_results(
    session: Session, content: ContentLibrary, lesson_ids: list[str]
) -> list[LessonResult]:
    """One result per lesson, counting each member's first answer only."""
    delivered = dict(
        session.execute(
            select(LessonProgress.lesson_id, func.count())
            .where(LessonProgress.lesson_id.in_(lesson_ids))  # type: ignore[attr-defined]
            .group_by(LessonProgress.lesson_id)
        ).all()
    )
    first_answer = (
        select(
            QuizAnswer.lesson_id, QuizAnswer.member_id, func.min(QuizAnswer.id).label("first_id")
        )
        .where(QuizAnswer.lesson_id.in_(lesson_ids))  # type: ignore[attr-defined]
        .group_by(QuizAnswer.lesson_id, QuizAnswer.member_id)
        .subquery()
    )
    rows = session.execute(
        select(QuizAnswer.lesson_id, QuizAnswer.option_index, QuizAnswer.correct).join(
            first_answer, QuizAnswer.id == first_answer.c.first_id
        )  # type: ignore[arg-type]
    ).all()
    choices: dict[str, Counter[int]] = {lesson_id: Counter() for lesson_id in lesson_ids}
    right: Counter[str] = Counter()
    for lesson_id, option, correct in rows:
        choices[lesson_id][option] += 1
        if correct:
            right[lesson_id] += 1
    results = []
    for lesson_id in lesson_ids:
        answered = sum(choices[lesson_id].values())
        results.append(
            LessonResult(
                lesson_id,
                delivered.get(lesson_id, 0),
                answered,
                right[lesson_id],
                answered - right[lesson_id],
                dict(choices[lesson_id]),
            )
        )
    return results


def most_missed(results: list[LessonResult], minimum_answers: int = 1) -> LessonResult | None:
    """The lesson whose question was most often missed at the first attempt."""
    candidates = [r for r in results if r.answered >= minimum_answers and r.wrong_first_time]
    return max(candidates, key=lambda r: (1 - r.correct_share, r.answered), default=None)
