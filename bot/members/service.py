"""Finding members, their roles and where to reach them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.config import AppConfig, Audience
from bot.events import Who
from bot.members.models import Address, Member
from bot.platforms import Recipient


def find(session: Session, who: Who) -> Member | None:
    """The member behind a platform identity: by their id on that platform, then by e-mail.

    A member imported without a platform id is linked to it on first contact.
    Someone who has left the company is not found: to the bot they are like
    anyone not in the programme.
    """
    member: Member | None = None
    if who.user_id:
        member = session.exec(
            select(Member)
            .join(Address, Address.member_id == Member.id)  # type: ignore[arg-type]
            .where(Address.platform == who.platform, Address.user_id == who.user_id)
        ).first()
    if member is None and who.email:
        member = session.exec(select(Member).where(Member.email == who.email.lower())).first()
        if member is not None and member.left_at is None and who.user_id:
            link_platform_id(session, member.id or 0, who.platform, who.user_id)
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


def link_platform_id(session: Session, member_id: int, platform: str, user_id: str) -> None:
    """Keep the member's id on a platform, learned by an adapter (e.g. from their e-mail).

    An id can belong to one member only: if another member held it (an e-mail
    changed in the HR file), it moves to this one.
    """
    session.execute(
        update(Address)
        .where(
            Address.platform == platform,
            Address.user_id == user_id,
            Address.member_id != member_id,
        )
        .values(user_id=None)
    )
    remember_address(session, member_id, platform, user_id=user_id)
    session.flush()


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


def platform_for(member: Any, config: AppConfig) -> str:
    """Where to send to a member: the platform they last used, else the first enabled one
    that can reach someone it has never met (Slack finds people by e-mail; Teams cannot)."""
    enabled = config.platforms.enabled()
    if member.preferred_platform in enabled:
        return member.preferred_platform  # type: ignore[no-any-return]
    reachable = config.platforms.reachable_unmet()
    return reachable[0] if reachable else enabled[0]


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
    if fields.get("user_id") or fields.get("reference"):
        # A platform where the member is known becomes where we reach them, unless they chose.
        member = session.get(Member, member_id)
        if member is not None and member.preferred_platform is None:
            member.preferred_platform = platform


_CHANNEL_UPSERTS: dict[str, Any] = {}


def remember_channels(connection: Any, platform: str, channels: dict[int, str]) -> None:
    """Many DM channels learned at once (member id -> channel), in one statement.

    The delivery worker's batch form of ``remember_address``: a campaign's first
    sends each learn a DM channel, and one upsert per member would cost more
    than the sends.
    """
    if not channels:
        return
    now = utcnow()
    dialect = (
        connection.dialect.name
        if hasattr(connection, "dialect")
        else connection.get_bind().dialect.name
    )
    statement = _CHANNEL_UPSERTS.get(dialect)
    if statement is None:  # built once: ``excluded`` is costly to build at every batch
        insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(Address.__table__)  # type: ignore[attr-defined]
        statement = _CHANNEL_UPSERTS[dialect] = insert.on_conflict_do_update(
            index_elements=["member_id", "platform"],
            set_={
                "channel_id": insert.excluded.channel_id,
                "updated_at": insert.excluded.updated_at,
            },
        )
    connection.execute(
        statement,
        [
            {"member_id": member_id, "platform": platform, "channel_id": channel, "updated_at": now}
            for member_id, channel in sorted(channels.items())
        ],
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
        user_id=address.user_id if address else None,
        channel_id=address.channel_id if address else None,
        reference=address.reference if address else None,
    )


def active_zones(engine: Engine) -> list[str]:
    """The time zones of members in the programme: scheduled slots are computed per zone."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(Member.time_zone)
                .where(Member.opted_in.is_(True), Member.left_at.is_(None))  # type: ignore[union-attr]
                .distinct()
            ).all()
        )
