"""A crisis, the people it alerted, and its timeline (who did what, when)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.clock import utcnow

ACTIVE, ENDED = "active", "ended"
# A drill (a crisis exercise) while it runs: never "active", so nothing real sees it.
DRILLING = "drilling"


class Crisis(SQLModel, table=True):
    """A crisis declared from a playbook; at most one is active at a time (a unique index).

    A drill is a crisis row too (``drill``): its alerts, acknowledgements and timeline are
    kept the same way, but it runs as "drilling", never "active", pauses nothing, and at
    most one runs at a time (its own unique index).
    """

    __table_args__ = (
        Index(
            "uq_crisis_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "uq_crisis_drilling",
            "status",
            unique=True,
            sqlite_where=text("status = 'drilling'"),
            postgresql_where=text("status = 'drilling'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    playbook: str = Field(max_length=100)
    title: str = Field(
        max_length=300
    )  # the playbook's title when declared, in the default language
    note: str = Field(default="", max_length=2000)
    status: str = Field(default=ACTIVE, max_length=16)
    declared_by_id: int | None = Field(default=None, foreign_key="member.id")
    declared_via: str = Field(max_length=16)  # a platform, or "cli"
    declared_at: datetime = Field(default_factory=utcnow)
    ended_by_id: int | None = Field(default=None, foreign_key="member.id")
    ended_via: str | None = Field(default=None, max_length=16)
    ended_at: datetime | None = None
    summary: str = Field(default="", max_length=4000)
    drill: bool = False
    # A drill's audience (campaign words: department:ID, language:CODE…); empty: everyone.
    audience: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class CrisisAlert(SQLModel, table=True):
    """One person alerted by a crisis, their role and department, and whether they read it."""

    __table_args__ = (UniqueConstraint("crisis_id", "member_id", name="uq_crisisalert_member"),)

    id: int | None = Field(default=None, primary_key=True)
    crisis_id: int = Field(foreign_key="crisis.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    # "crisis_cell:legal", "coordinator", "relay", "manager" or "ambassador": the first that applies.
    role: str = Field(max_length=64)
    department: str | None = Field(default=None, max_length=100)
    alerted_at: datetime = Field(default_factory=utcnow)
    acknowledged_at: datetime | None = None
    reminders: int = 0
    reminded_at: datetime | None = None


class CrisisStep(SQLModel, table=True):
    """A line of the crisis timeline: what happened, who did it (None: the operator or Relais)."""

    __table_args__ = (Index("ix_crisisstep_crisis_time", "crisis_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    crisis_id: int = Field(foreign_key="crisis.id")
    at: datetime = Field(default_factory=utcnow)
    kind: str = Field(max_length=32)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    actor: str = Field(default="", max_length=320)  # who, in words: an e-mail, "operator", "Relais"
    department: str | None = Field(default=None, max_length=100)
    role: str | None = Field(default=None, max_length=64)
    detail: str = Field(default="", max_length=4000)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
