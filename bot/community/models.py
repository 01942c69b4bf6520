"""Relays learning from each other: good practices (with "useful" reactions) and round tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.clock import utcnow

# A good practice's life: shared by a relay, then approved (sent) or rejected by the central team.
SUBMITTED, APPROVED, REJECTED = "submitted", "approved", "rejected"
# To whom an approved practice goes.
TO_RELAYS, TO_EVERYONE = "relays", "everyone"
AUDIENCES = (TO_RELAYS, TO_EVERYONE)
# A relay's answer to a round table.
COMING, NOT_COMING = "yes", "no"


class Practice(SQLModel, table=True):
    """A good practice a relay shares: a short text and a link, approved by the central team."""

    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="member.id", index=True)
    department: str | None = Field(default=None, max_length=100)  # the author's, when shared
    text: str = Field(max_length=600)
    link: str = Field(max_length=2000)
    status: str = Field(default=SUBMITTED, max_length=16, index=True)
    audience: str | None = Field(default=None, max_length=16)  # chosen by the approver
    decided_by_id: int | None = Field(default=None, foreign_key="member.id")
    decided_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # Sending an approved practice is background work (the ``practices`` job), not the click's:
    # ``queued_after`` is the last member id read, so a fan-out a killed process interrupted
    # goes on from there, never twice (the dedupe key ``practice:<id>``); ``queued_at`` is set
    # once every recipient is queued; ``recipients`` counts the messages queued so far.
    queued_after: int = 0
    queued_at: datetime | None = None
    recipients: int = 0


class PracticeReaction(SQLModel, table=True):
    """A member found a practice useful: once per member and practice (a unique pair)."""

    __table_args__ = (
        UniqueConstraint("practice_id", "member_id", name="uq_practice_reaction_member"),
    )

    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(foreign_key="practice.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)


class Meeting(SQLModel, table=True):
    """A relays' round table: when (UTC, and the zone it was announced in), where, what."""

    __table_args__ = (Index("ix_meeting_starts_at", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    starts_at: datetime
    zone: str = Field(max_length=64)
    link: str = Field(max_length=2000)
    announced_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)
    # Set once attendance is settled: by a coordinator, or from the answers after the meeting.
    attendance_by: str | None = Field(default=None, max_length=16)  # "coordinator" or "answers"
    attendance_at: datetime | None = None


class MeetingInvite(SQLModel, table=True):
    """A relay invited to a round table: their answer, and whether they came."""

    __table_args__ = (UniqueConstraint("meeting_id", "member_id", name="uq_meeting_invite_member"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    answer: str | None = Field(default=None, max_length=8)  # COMING, NOT_COMING, or None
    answered_at: datetime | None = None
    attended: bool | None = None
