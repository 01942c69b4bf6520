"""Outbox, message parts, pause and inbound-idempotency tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.clock import utcnow

PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"
OPERATIONAL, PROMOTIONAL = "operational", "promotional"
PURPOSES = (OPERATIONAL, PROMOTIONAL)
SEND, UPDATE, DELETE = "send", "update", "delete"
OPERATIONS = (SEND, UPDATE, DELETE)
# Priority lanes: replies to a person and crisis statements go before scheduled content;
# operational rows at PRIORITY_URGENT or above are sent by the worker's own priority lane.
PRIORITY_URGENT, PRIORITY_REPLY, PRIORITY_SCHEDULED = 100, 10, 0
PROMOTIONAL_PAUSE = "promotional"

_PENDING_ONLY = text("status = 'pending'")


class DeliveryBody(SQLModel, table=True):
    """What a message says, stored once however many members it goes to.

    Keyed by the SHA-256 of the message's canonical JSON: a broadcast of one post
    to 10,000 members stores one body and 10,000 deliveries pointing to it, and
    each delivery still says exactly what its member was sent. Bodies never
    change (same content, same key), so a process may cache them. ``used_at`` is
    touched whenever a delivery is queued with the body: housekeeping removes
    only bodies no delivery uses and nobody queued with lately.
    """

    hash: str = Field(primary_key=True, max_length=64)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    used_at: datetime = Field(default_factory=utcnow)


class Delivery(SQLModel, table=True):
    """One operation (send, update, delete) on one message to one member on one platform.

    ``(member_id, dedupe_key)`` is unique, so a job that runs twice (a retry, a
    second replica) cannot queue the same message twice. What the message became
    on the platform (every part of it) is in ``DeliveryPart``, so a later update or
    delete (``operation`` with ``target_id``) reaches exactly the parts that exist.
    ``purpose`` is required: promotional rows stop while the programme is paused.
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
    campaign: str | None = Field(default=None, max_length=100, index=True)
    purpose: str = Field(max_length=16)
    priority: int = Field(default=PRIORITY_SCHEDULED)
    operation: str = Field(default=SEND, max_length=8)
    target_id: int | None = Field(default=None, foreign_key="delivery.id", index=True)
    # What the member was sent: read it with ``bot.delivery.outbox.message_of``.
    body_hash: str = Field(foreign_key="deliverybody.hash", max_length=64, index=True)
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


# Serves the claim order (priority DESC, id) over pending rows only.
Index(
    "ix_delivery_claim",
    Delivery.__table__.c.priority.desc(),  # type: ignore[attr-defined]
    Delivery.__table__.c.id,  # type: ignore[attr-defined]
    postgresql_where=_PENDING_ONLY,
    sqlite_where=_PENDING_ONLY,
)


class DeliveryPart(SQLModel, table=True):
    """One part of a sent message as the platform knows it (Slack ts, Teams activity id).

    Written as each part is accepted, so a restart or another replica resumes a
    split message after the parts that exist, and an update or delete reaches all of them.
    """

    __table_args__ = (UniqueConstraint("delivery_id", "position", name="uq_deliverypart_position"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    position: int
    message_id: str = Field(max_length=200)
    channel_id: str | None = Field(default=None, max_length=200)


class DeliveryPause(SQLModel, table=True):
    """A stored pause (e.g. of promotional deliveries): every replica honours it."""

    scope: str = Field(primary_key=True, max_length=32)
    reason: str | None = Field(default=None, max_length=300)
    paused_at: datetime = Field(default_factory=utcnow)


class HandledEvent(SQLModel, table=True):
    """An inbound event already handled: a platform retry of the same key is ignored.

    The table keeps its historical name ``inboundevent``.
    """

    __tablename__ = "inboundevent"

    key: str = Field(primary_key=True, max_length=300)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    kind: str = Field(max_length=32)
    received_at: datetime = Field(default_factory=utcnow, index=True)
