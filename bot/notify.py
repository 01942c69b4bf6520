"""One way to queue a message for one member: on the platform that reaches them.

Every capability that tells someone something (a report to a relay, a charter
reminder, a lesson, a digest) builds its outbox row here, so the choice of
platform and the row's shape live in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config import AppConfig
from bot.delivery.models import PRIORITY_SCHEDULED
from bot.delivery.outbox import Outgoing
from bot.members import service as members
from bot.messages import Message


def to_member(
    member: Any,
    config: AppConfig,
    message: Message,
    *,
    key: str,
    kind: str,
    purpose: str,
    subject: str | None = None,
    priority: int = PRIORITY_SCHEDULED,
    platform: str | None = None,
    not_before: datetime | None = None,
    campaign: str | None = None,
) -> Outgoing:
    """The outbox row for ``member`` (a Member or a row with its columns).

    ``purpose`` is required: promotional rows stop during a pause (a crisis),
    operational ones never do, so nobody may leave it to a default.

    ``platform``: where the member just wrote from (a reply goes back there);
    otherwise the platform they last used, else the first that reaches them.
    """
    return Outgoing(
        member_id=member.id or 0,
        platform=platform or members.platform_for(member, config),
        dedupe_key=key,
        kind=kind,
        subject=subject,
        message=message,
        purpose=purpose,
        priority=priority,
        not_before=not_before,
        campaign=campaign,
    )
