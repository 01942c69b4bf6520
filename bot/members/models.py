"""Member tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.clock import utcnow


class Member(SQLModel, table=True):
    """An employee known to the programme (imported from the HR CSV or met in chat)."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(max_length=200)
    department: str | None = Field(default=None, max_length=100, index=True)
    location: str | None = Field(default=None, max_length=100)
    language: str = Field(max_length=8)
    time_zone: str = Field(max_length=64, index=True)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    opted_in: bool = Field(default=True, index=True)
    opted_changed_at: datetime | None = None
    preferred_platform: str | None = Field(default=None, max_length=16)
    # Set when the member left the company (absent from an HR import with --sync, or
    # `relais members deactivate`): they receive nothing more; their history stays.
    left_at: datetime | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Address(SQLModel, table=True):
    """Who a member is on one platform and where they are reached there.

    ``user_id`` is the platform's own id for the person (a Slack user id, a Teams
    Entra object id), from the members CSV or learned in chat; ``channel_id`` and
    ``reference`` are where to write to them (a Slack DM, a Teams conversation).
    Platform identities live here, not in ``Member``: a new platform needs no column.
    """

    __table_args__ = (
        UniqueConstraint("member_id", "platform", name="uq_address_member_platform"),
        UniqueConstraint("platform", "user_id", name="uq_address_platform_user"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    platform: str = Field(max_length=16)
    user_id: str | None = Field(default=None, max_length=200)
    channel_id: str | None = Field(default=None, max_length=200)
    reference: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    updated_at: datetime = Field(default_factory=utcnow)
