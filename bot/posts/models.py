"""A post's life in the database: its content per language and every approval decision.

``content/posts`` files are synced into these tables (``bot.posts.service.sync_files``);
posts submitted from chat are written here directly. Campaigns, share links and
the ``share`` command read only from here, so an approval, an expiry or a
withdrawal is seen by every replica at once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.clock import utcnow

# A post's status. ``changes_requested`` goes back to ``submitted`` when the author
# sends it again; ``live`` is set by a campaign (scheduled or sent).
DRAFT = "draft"
SUBMITTED = "submitted"
CHANGES_REQUESTED = "changes_requested"
APPROVED = "approved"
LIVE = "live"
EXPIRED = "expired"
WITHDRAWN = "withdrawn"
REJECTED = "rejected"
STATUSES = (DRAFT, SUBMITTED, CHANGES_REQUESTED, APPROVED, LIVE, EXPIRED, WITHDRAWN, REJECTED)
# Statuses whose post may be shared (if not past its expiry date).
SHAREABLE = (APPROVED, LIVE)
# Statuses waiting for someone's decision.
PENDING = (SUBMITTED,)

# Where a post came from.
FROM_FILE, FROM_CHAT = "file", "chat"

# A decision on a post, and the capacity it was made in.
APPROVE, REQUEST_CHANGES, REJECT = "approved", "changes_requested", "rejected"
DECISIONS = (APPROVE, REQUEST_CHANGES, REJECT)
# An approver of the post's scope (central team, department relay, unit hub), or legal.
AS_APPROVER, AS_LEGAL = "approver", "legal"


class Post(SQLModel, table=True):
    """One post, whatever its languages: who wrote it, for whom, where it stands."""

    __table_args__ = (Index("ix_post_status_expires", "status", "expires"),)

    # The file's id for a post from ``content/posts`` (``job-fair-lyon``); a slug of the
    # title for a post submitted in chat. Used by the CLI, share links and events.
    id: str = Field(primary_key=True, max_length=100)
    status: str = Field(default=DRAFT, max_length=24)
    source: str = Field(default=FROM_CHAT, max_length=8)
    author_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    # The department (and its business unit) the post comes from: who may approve it.
    department: str | None = Field(default=None, max_length=100, index=True)
    business_unit: str | None = Field(default=None, max_length=100)
    # A topic app.yaml lists as sensitive also needs a legal reviewer's approval.
    topic: str | None = Field(default=None, max_length=100)
    sensitive: bool = False
    # Who it is meant for when shown in `share` (roles, departments, languages…): an Audience.
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    expires: date | None = None
    # Each submission is a round: decisions of an earlier round no longer count.
    round: int = 1
    # For a post from a file: the checksum of every language version, to see edits.
    file_checksum: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    live_at: datetime | None = None
    expired_at: datetime | None = None
    withdrawn_at: datetime | None = None
    withdrawn_by_id: int | None = Field(default=None, foreign_key="member.id")
    # Set when the post's file was removed from ``content/posts``: no longer shared.
    retired_at: datetime | None = None


class PostContent(SQLModel, table=True):
    """What a post says in one language: title, link, per-network texts (variants), picture."""

    __table_args__ = (UniqueConstraint("post_id", "language", name="uq_postcontent_language"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: str = Field(foreign_key="post.id", index=True, max_length=100)
    language: str = Field(max_length=8)
    title: str = Field(max_length=300)
    link: str = Field(max_length=2000)
    # {"linkedin": ["variant 1", "variant 2"], "x": [...], "facebook": [...]}
    networks: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    hashtags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    image: str | None = Field(default=None, max_length=2000)
    image_alt: str | None = Field(default=None, max_length=300)
    body: str = Field(default="", max_length=8000)


class PostApproval(SQLModel, table=True):
    """One decision on a post: who, in what capacity, what, why, when, in which round."""

    id: int | None = Field(default=None, primary_key=True)
    post_id: str = Field(foreign_key="post.id", index=True, max_length=100)
    round: int = 1
    # The member who decided (None for an approval written in a file's front matter).
    member_id: int | None = Field(default=None, foreign_key="member.id")
    email: str = Field(max_length=320)
    role: str = Field(max_length=16)  # AS_APPROVER or AS_LEGAL
    decision: str = Field(max_length=24)
    note: str = Field(default="", max_length=2000)
    decided_at: datetime = Field(default_factory=utcnow)
