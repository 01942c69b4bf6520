"""Campaigns and their share links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from bot.clock import utcnow

# A campaign's life: it runs until its messages are all sent (or failed); paused and
# cancelled are the coordinator's doing, withdrawn the post's.
RUNNING, DONE, PAUSED, CANCELLED, WITHDRAWN = "running", "done", "paused", "cancelled", "withdrawn"
STATUSES = (RUNNING, DONE, PAUSED, CANCELLED, WITHDRAWN)
NOW, AT, LOCAL = "now", "at", "local"


class Campaign(SQLModel, table=True):
    """One approved post pushed to an audience, now, at a time, or at a local time of day.

    ``audience`` is the list of ``kind:value`` targets as given (``department:sales``,
    ``language:fr``, ``all``): the same kind widens, different kinds narrow.
    ``queued_after`` is the last member id read, so a campaign whose queueing was
    interrupted (a killed process) goes on from there, never twice (the dedupe key).
    """

    id: int | None = Field(default=None, primary_key=True)
    post_id: str = Field(max_length=100, index=True)
    audience: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    timing: str = Field(default=NOW, max_length=8)
    send_at: datetime | None = None  # AT: the moment; NOW: when it was asked
    local_time: str | None = Field(default=None, max_length=5)  # LOCAL: "HH:MM"
    status: str = Field(default=RUNNING, max_length=16, index=True)
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)
    queued_after: int = 0
    queued_at: datetime | None = None  # when every member was queued
    recipients: int = 0  # messages queued so far
    # The coordinator's chat message that shows the progress, updated in place.
    progress_delivery_id: int | None = Field(default=None, foreign_key="delivery.id")
    progress_shown: str | None = Field(default=None, max_length=100)
    finished_at: datetime | None = None
    withdrawn_at: datetime | None = None


class ShareLink(SQLModel, table=True):
    """One share button of one member: ``/s/<token>`` records the click, then redirects."""

    token: str = Field(primary_key=True, max_length=32)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    post_id: str = Field(max_length=100)
    network: str = Field(max_length=16)
    variant: int = 0
    target: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
