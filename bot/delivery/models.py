"""Outbox and inbound-idempotency tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.clock import utcnow

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
OPERATIONAL, PROMOTIONAL = "operational", "promotional"
# Priority lanes: replies to a person and crisis statements go before scheduled content.
PRIORITY_REPLY, PRIORITY_SCHEDULED = 10, 0


class Delivery(SQLModel, table=True):
    """One message to one member on one platform.

    ``(member_id, dedupe_key)`` is unique, so a job that runs twice (a retry, a
    second replica) cannot queue the same message twice. ``platform_message_id``
    keeps what the message became, so it can later be edited or retracted.
    ``purpose`` tells promotional sends (paused in a crisis) from operational ones.
    """

    __table_args__ = (
        UniqueConstraint("member_id", "dedupe_key", name="uq_delivery_member_dedupe"),
        Index("ix_delivery_due", "status", "not_before", "priority"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    platform: str = Field(max_length=16)
    dedupe_key: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    subject: str | None = Field(default=None, max_length=200)
    purpose: str = Field(default=OPERATIONAL, max_length=16)
    priority: int = Field(default=PRIORITY_SCHEDULED)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = 0
    not_before: datetime = Field(default_factory=utcnow)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = None
    sent_at: datetime | None = None
    platform_message_id: str | None = Field(default=None, max_length=200)
    platform_channel_id: str | None = Field(default=None, max_length=200)
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class HandledEvent(SQLModel, table=True):
    """An inbound event already handled: a platform retry of the same key is ignored.

    The table keeps its historical name ``inboundevent``.
    """

    __tablename__ = "inboundevent"

    key: str = Field(primary_key=True, max_length=300)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    kind: str = Field(max_length=32)
    received_at: datetime = Field(default_factory=utcnow, index=True)
