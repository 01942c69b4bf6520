"""Content as synced into the database, so what was sent stays known after files change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.clock import utcnow


class ContentItem(SQLModel, table=True):
    """One content item in one language, as last synced from ``content/``."""

    __table_args__ = (
        UniqueConstraint("kind", "item_id", "language", name="uq_content_kind_item_language"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    item_id: str = Field(max_length=100)
    language: str = Field(max_length=8)
    checksum: str = Field(max_length=64)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    first_seen_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    retired_at: datetime | None = None
