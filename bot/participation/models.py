"""Participation event table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from bot.clock import utcnow


class ParticipationEvent(SQLModel, table=True):
    """Something a member did or received (lesson delivered, quiz answered, opted out…)."""

    __table_args__ = (Index("ix_participation_kind_time", "kind", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    kind: str = Field(max_length=48)
    subject: str | None = Field(default=None, max_length=200)
    platform: str | None = Field(default=None, max_length=16)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    occurred_at: datetime = Field(default_factory=utcnow)


def record(
    session: Any,
    kind: str,
    member_id: int | None,
    subject: str | None = None,
    platform: str | None = None,
    **data: Any,
) -> ParticipationEvent:
    """Add an event to the caller's transaction (it commits with the action it records)."""
    event = ParticipationEvent(
        kind=kind, member_id=member_id, subject=subject, platform=platform, data=data
    )
    session.add(event)
    return event
