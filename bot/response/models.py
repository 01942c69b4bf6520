"""Cases (reports of one mention merged), who was asked to handle them, and their timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from bot.clock import utcnow

# A case's status: waiting for someone, someone has it, done, or dismissed.
OPEN, ACKNOWLEDGED, RESOLVED, NOT_RELEVANT = "open", "acknowledged", "resolved", "not_relevant"
STATUSES = (OPEN, ACKNOWLEDGED, RESOLVED, NOT_RELEVANT)
ACTIVE = (OPEN, ACKNOWLEDGED)


class Case(SQLModel, table=True):
    """One worrying mention, however many ambassadors reported it.

    ``next_escalation_at`` is the only thing the escalation job reads: it is set
    while the case waits for an acknowledgement and cleared once someone has it,
    so "is anything due?" is one indexed query.
    """

    __tablename__ = "responsecase"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    # The link without scheme, "www.", tracking parameters or fragment: same mention, same key.
    url_key: str = Field(max_length=2000, index=True)
    # The link's key hashed with its merge window, while the case is active: the database
    # refuses a second case for one mention in one window, however simultaneous the reports.
    merge_key: str | None = Field(default=None, max_length=80, unique=True, index=True)
    text: str = Field(default="", max_length=4000)
    category: str = Field(max_length=32)
    severity: str = Field(max_length=16)
    # Why triage decided: [{"text": English, "message", "values", "plural"}] (rendered per reader).
    reasons: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    department: str | None = Field(default=None, max_length=100, index=True)
    status: str = Field(default=OPEN, max_length=16, index=True)
    reporters: int = 1
    opened_by_id: int = Field(foreign_key="member.id")
    owner_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, index=True)
    acknowledge_by: datetime | None = None
    acknowledged_at: datetime | None = None
    escalation_step: int = 0  # chain steps (and repeats) already fired
    next_escalation_at: datetime | None = Field(default=None, index=True)
    closed_at: datetime | None = None
    note: str = Field(default="", max_length=2000)  # what was done (resolve)


class MentionReport(SQLModel, table=True):
    """One ambassador's report (a link, and what they saw); reports of one mention share a case."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="responsecase.id", index=True)
    reporter_id: int = Field(foreign_key="member.id", index=True)
    url: str = Field(max_length=2000)
    text: str = Field(default="", max_length=4000)
    department: str | None = Field(default=None, max_length=100, index=True)
    platform: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class CaseAssignment(SQLModel, table=True):
    """One person asked to handle a case (a relay, a backup, a hub, a coordinator, the cell)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="responsecase.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    step: str = Field(max_length=32)
    notified_at: datetime = Field(default_factory=utcnow)


class CaseStep(SQLModel, table=True):
    """A line of a case's timeline: what happened, when, by whom (opened, merged, routed…)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="responsecase.id", index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    kind: str = Field(max_length=32, index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    # What the step is about: a department, a chain step, a category, a playbook…
    detail: str = Field(default="", max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
