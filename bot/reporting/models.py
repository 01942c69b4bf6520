"""Reporting rollups: participation events folded into per-period counts.

Ten million events cannot be counted on every `stats`: a job folds new events
into counts per (period, department, location, kind, detail) and into the set
of members active in each period. Reads add the few events not yet folded
(the *tail*), so figures are exact and fresh at once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class ReportingCount(SQLModel, table=True):
    """How many events of a kind (and detail) a department × location had in one period."""

    __tablename__ = "reporting_count"

    grain: str = Field(max_length=8, primary_key=True)  # week, month, quarter
    start: date = Field(primary_key=True)  # the period's first day, in the programme's zone
    department: str = Field(default="", max_length=100, primary_key=True)  # "" when none
    location: str = Field(default="", max_length=100, primary_key=True)
    kind: str = Field(max_length=48, primary_key=True)
    detail: str = Field(default="", max_length=48, primary_key=True)  # network, right/wrong…
    events: int = 0


class ReportingActive(SQLModel, table=True):
    """A member who did something themselves in one period (counted once per period)."""

    __tablename__ = "reporting_active"
    __table_args__ = (
        Index("ix_reporting_active_scope", "grain", "start", "department", "location"),
    )

    grain: str = Field(max_length=8, primary_key=True)
    start: date = Field(primary_key=True)
    member_id: int = Field(primary_key=True)
    department: str = Field(default="", max_length=100)
    location: str = Field(default="", max_length=100)


class ReportingMark(SQLModel, table=True):
    """The last participation event folded into the rollups."""

    __tablename__ = "reporting_mark"

    name: str = Field(max_length=32, primary_key=True)
    last_event_id: int = 0


class ReportingHeads(SQLModel, table=True):
    """Head counts of each department × location, refreshed by the rollup job.

    The whole programme's overview reads these (a 100,000-member join is too slow
    to run on every read); narrower scopes count their members live.
    """

    __tablename__ = "reporting_heads"

    department: str = Field(default="", max_length=100, primary_key=True)
    location: str = Field(default="", max_length=100, primary_key=True)
    members: int = 0
    opted_in: int = 0
    charter_version: int | None = None
    charter_accepted: int = 0
    computed_at: datetime


class DashboardToken(SQLModel, table=True):
    """A single-use sign-in link to the dashboard (only its SHA-256 is kept)."""

    __tablename__ = "dashboard_token"

    token_hash: str = Field(max_length=64, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class DashboardSecret(SQLModel, table=True):
    """The session-signing secret generated for the embedded SQLite default (see access.py)."""

    __tablename__ = "dashboard_secret"

    id: int = Field(default=1, primary_key=True)
    value: str = Field(max_length=128)


class ReportingCrisis(SQLModel, table=True):
    """The alerts a crisis recorded per department × location, and how many were read.

    The rollup job refreshes them each minute while acknowledgements can still come
    (the crisis is active or recent); readers count live what is not fresh here.
    """

    __tablename__ = "reporting_crisis"

    crisis_id: int = Field(primary_key=True)
    department: str = Field(default="", max_length=100, primary_key=True)
    location: str = Field(default="", max_length=100, primary_key=True)
    alerted: int = 0
    acknowledged: int = 0
    computed_at: datetime
