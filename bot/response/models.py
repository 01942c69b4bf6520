"""Mention reports and who was asked to handle them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.clock import utcnow


class MentionReport(SQLModel, table=True):
    """A worrying mention an ambassador reported (a link, and what they saw)."""

    id: int | None = Field(default=None, primary_key=True)
    reporter_id: int = Field(foreign_key="member.id", index=True)
    url: str = Field(max_length=2000)
    text: str = Field(default="", max_length=4000)
    department: str | None = Field(default=None, max_length=100, index=True)
    platform: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    # Kept in the database so a later escalation job can find overdue reports.
    acknowledge_by: datetime
    acknowledged_by_id: int | None = Field(default=None, foreign_key="member.id")
    acknowledged_at: datetime | None = None


class ReportAssignment(SQLModel, table=True):
    """One person asked to handle a report (a relay, a hub, a coordinator)."""

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="mentionreport.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    step: str = Field(max_length=32)
    notified_at: datetime = Field(default_factory=utcnow)
