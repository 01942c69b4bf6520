"""Who acknowledged which version of the charter; which versions are signed off and published."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
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


# A charter version's state when app.yaml names signatories (charter.sign_off).
DRAFT = "draft"
PUBLISHED = "published"
# How a version came to be published.
BY_SIGN_OFF = "sign_off"  # every signature was given in chat
WITHOUT_SIGN_OFF = "direct"  # no signatories were configured when it appeared
ACCEPTED_BEFORE = "accepted"  # members had already accepted it when sign-off was turned on

APPROVED = "approved"
CHANGES_REQUESTED = "changes_requested"


class CharterRelease(SQLModel, table=True):
    """Where a charter version stands: a draft waiting for its signatures, or published."""

    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    status: str = Field(max_length=16)
    # The text (all languages) the signatories were last asked about: a new text asks again.
    checksum: str | None = Field(default=None, max_length=64)
    first_seen_at: datetime = Field(default_factory=utcnow)
    requested_at: datetime | None = None
    published_at: datetime | None = None
    published_how: str | None = Field(default=None, max_length=16)


class CharterSignOff(SQLModel, table=True):
    """A signatory's decision on one text of a charter version; the latest one counts."""

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(index=True)
    checksum: str = Field(max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    email: str = Field(max_length=320)
    decision: str = Field(max_length=20)
    note: str | None = Field(default=None, max_length=2000)
    platform: str = Field(max_length=16)
    decided_at: datetime = Field(default_factory=utcnow)
    # The click's idempotency key: a platform's retry records nothing twice.
    event_key: str = Field(max_length=300, unique=True)


class CharterReminderRequest(SQLModel, table=True):
    """A coordinator's "remind now" (`charter remind`, or the button of `charter status`).

    The chat request only stores it and answers; the ``charter_remind_now`` job queues the
    reminders in chunks of members, in id order, each chunk in its own transaction with the
    mark ``queued_after``: a process killed in the middle leaves the rest to the next run,
    and the dedupe key ``charter-remind:v<version>:<id>`` reminds nobody twice.
    """

    id: int | None = Field(default=None, primary_key=True)
    asked_by: int | None = Field(default=None, foreign_key="member.id")
    # The departments in the asker's reach; None: the whole programme.
    departments: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    queued_after: int = 0
    queued_at: datetime | None = None  # when every member in reach was read
    recipients: int = 0  # reminders queued so far
