"""Who acknowledged which version of the charter, when and where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.clock import utcnow


class CharterAcknowledgement(SQLModel, table=True):
    """A member's acceptance of one charter version (a new version needs a new one)."""

    __table_args__ = (
        UniqueConstraint("member_id", "version", name="uq_charter_ack_member_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    version: int
    language: str = Field(max_length=8)
    platform: str = Field(max_length=16)
    acknowledged_at: datetime = Field(default_factory=utcnow)
