"""Finding members, their roles and where to reach them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.config import AppConfig, Audience
from bot.events import Who
from bot.members.models import Address, Member
from bot.platforms import Recipient


def find(session: Session, who: Who) -> Member | None:
    """The member behind a platform identity: by their id on that platform, then by e-mail.

    A member imported without a platform id is linked to it on first contact.
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
        if member is not None and who.user_id:
            link_platform_id(session, member.id or 0, who.platform, who.user_id)
    return member


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
    return session.exec(select(Member).where(Member.email == email.lower())).first()


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
    """Keep (or update) where a member is reached on a platform."""
    address = session.exec(
        select(Address).where(Address.member_id == member_id, Address.platform == platform)
    ).first()
    if address is None:
        address = Address(member_id=member_id, platform=platform)
        session.add(address)
    for key, value in fields.items():
        setattr(address, key, value)
    address.updated_at = utcnow()
    if fields.get("user_id") or fields.get("reference"):
        # A platform where the member is known becomes where we reach them, unless they chose.
        member = session.get(Member, member_id)
        if member is not None and member.preferred_platform is None:
            member.preferred_platform = platform


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
            session.exec(select(Member.time_zone).where(Member.opted_in.is_(True)).distinct()).all()
        )
