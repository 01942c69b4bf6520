"""The audit log's table: append-only (no code path updates or deletes it).

On PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE. The one
exception is the erasure of a person (``bot.privacy``): it may rewrite who
and what a line names, never when or which action, and only inside a
transaction that declared itself an erasure (``SET LOCAL relais.erasure``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from bot.clock import utcnow


class AuditEntry(SQLModel, table=True):
    """One thing someone did: who (a member, or the operator at the CLI), what, to what, where."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_action_at", "action", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    # The member who acted (None: the operator at the command line, or Relais itself).
    actor_id: int | None = Field(default=None)
    actor: str = Field(max_length=320)  # an e-mail address, "operator (CLI)" or "Relais"
    action: str = Field(max_length=48)
    target: str = Field(default="", max_length=300)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    platform: str = Field(max_length=16)  # slack, teams, console, cli, web, or "relais"
