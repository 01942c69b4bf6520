"""Relays' corrections of triage: the labelled texts the classifier learns from next."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.clock import utcnow


class TriageCorrection(SQLModel, table=True):
    """A relay said a text's category was wrong: the text, what triage said, what is right."""

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(max_length=4000)
    language: str = Field(max_length=8)
    predicted: str = Field(max_length=16)
    corrected: str = Field(max_length=16)
    corrected_by_id: int = Field(foreign_key="member.id", index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
