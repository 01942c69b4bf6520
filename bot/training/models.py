"""Training tables: where each member stands with each lesson."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.clock import utcnow


class LessonProgress(SQLModel, table=True):
    """A member's state for one lesson: delivered, answered, due again for review."""

    __table_args__ = (UniqueConstraint("member_id", "lesson_id", name="uq_progress_member_lesson"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    lesson_id: str = Field(max_length=100, index=True)
    track: str = Field(max_length=100)
    first_delivered_at: datetime = Field(default_factory=utcnow)
    last_delivered_at: datetime = Field(default_factory=utcnow)
    times_delivered: int = 1
    answered_at: datetime | None = None
    correct: bool | None = None
    wrong_answers: int = 0
    review_due_at: datetime | None = Field(default=None, index=True)
    reminded_at: datetime | None = None


class QuizAnswer(SQLModel, table=True):
    """One click on a quiz option; the event key makes a platform retry count once."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    lesson_id: str = Field(max_length=100, index=True)
    option_index: int
    correct: bool
    answered_at: datetime = Field(default_factory=utcnow)
    seconds_to_answer: int | None = None
    event_key: str = Field(max_length=300, unique=True)
