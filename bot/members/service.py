"""Finding members, their roles and where to reach them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.config import AppConfig, Audience
from bot.events import Who
from bot.members.models import Address, Member
from bot.platforms import Recipient


def find(session: Session, who: Who) -> Member | None:
    """The member behind a platform identity: by platform id first, then by e-mail.

    A member imported without a platform id is linked to it on first contact.
    Someone who has left the company is not found: to the bot they are like
    anyone not in the programme.
    """
    column = {"slack": Member.slack_user_id, "teams": Member.teams_id}.get(who.platform)
    member: Member | None = None
    if column is not None and who.user_id:
        member = session.exec(select(Member).where(column == who.user_id)).first()
    if member is None and who.email:
        member = session.exec(select(Member).where(Member.email == who.email.lower())).first()
        if member is not None and member.left_at is None and column is not None and who.user_id:
            setattr(member, column.key, who.user_id)  # type: ignore[union-attr]
            member.updated_at = utcnow()
    if member is not None and member.left_at is not None:
        return None
    return member


LEFT = "member has left"


def undeliverable(member: Member | None) -> str | None:
    """Why a queued message must not be sent to this member, or None when it may be.

    The delivery worker asks this for every row: a member deleted or gone from
    the company gets nothing more, even what was queued before they left.
    """
    if member is None:
        return "member no longer exists"
    if member.left_at is not None:
        return LEFT
    return None


PLATFORM_ID_COLUMNS = {"slack": "slack_user_id", "teams": "teams_id"}


def link_platform_id(session: Session, member_id: int, platform: str, user_id: str) -> None:
    """Keep the member's id on a platform, learned by an adapter (e.g. from their e-mail)."""
    column = PLATFORM_ID_COLUMNS.get(platform)
    member = session.get(Member, member_id)
    if column and member is not None and getattr(member, column) != user_id:
        setattr(member, column, user_id)
        member.updated_at = utcnow()


def by_email(session: Session, email: str) -> Member | None:
    return session.exec(select(Member).where(Member.email == email.strip().lower())).first()


def set_left(session: Session, member: Member, left: bool) -> bool:
    """Mark a member as left the company (or back); False when they already were.

    Nothing of theirs is deleted, and their own opt-out is kept as it was.
    """
    if (member.left_at is not None) == left:
        return False
    member.left_at = utcnow() if left else None
    member.updated_at = utcnow()
    return True


def roles(member: Member, config: AppConfig) -> set[str]:
    """Roles from the CSV, from app.yaml, and 'ambassador' for anyone opted in."""
    result = set(member.roles) | config.roles_of(member.email)
    if member.opted_in or config.programme.effective("everyone_is_ambassador"):
        result.add("ambassador")
    return result


def business_unit(member: Member, config: AppConfig) -> str | None:
    department = config.department(member.department)
    return department.business_unit if department else None


def in_audience(member: Member, audience: Audience, config: AppConfig) -> bool:
    """True when the member matches every restriction the audience sets."""
    if audience.roles and not roles(member, config) & set(audience.roles):
        return False
    if audience.departments and member.department not in audience.departments:
        return False
    if audience.business_units and business_unit(member, config) not in audience.business_units:
        return False
    if audience.languages and member.language not in audience.languages:
        return False
    return not (audience.locations and member.location not in audience.locations)


def platform_for(member: Member, config: AppConfig) -> str:
    """Where to send to a member: the platform they last used, else the first enabled one."""
    enabled = config.platforms.enabled()
    if member.preferred_platform in enabled:
        return member.preferred_platform  # type: ignore[return-value]
    for name in enabled:
        if name == "teams" and not member.teams_id:
            continue
        return name
    return enabled[0]


def remember_address(session: Session, member_id: int, platform: str, **fields: Any) -> None:
    """Keep (or update) where a member is reached on a platform.

    One statement that inserts or updates (ON CONFLICT on member and platform):
    two messages to the same member sent at once may both learn the address,
    and the second must update it, not fail on the unique constraint (which
    would leave its delivery claimed but unrecorded, to be sent again later).
    """
    values = {**fields, "updated_at": utcnow()}
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = Address.__table__  # type: ignore[attr-defined]
    session.execute(
        insert(table)
        .values(member_id=member_id, platform=platform, **values)
        .on_conflict_do_update(index_elements=["member_id", "platform"], set_=values)
    )


def recipient(session: Session, member: Member, platform: str) -> Recipient:
    address = session.exec(
        select(Address).where(Address.member_id == member.id, Address.platform == platform)
    ).first()
    return recipient_of(member, platform, address)


def recipient_of(member: Member, platform: str, address: Address | None) -> Recipient:
    """What an adapter needs to reach the member on ``platform``."""
    return Recipient(
        member_id=member.id or 0,
        email=member.email,
        name=member.name,
        language=member.language,
        slack_user_id=member.slack_user_id,
        teams_id=member.teams_id,
        channel_id=address.channel_id if address else None,
        reference=address.reference if address else None,
    )
