"""Signing in to the dashboard without a password store: single-use links and signed sessions.

A member types `dashboard` (or an administrator runs `relais dashboard link
EMAIL`) and gets a link that works once, within ``LINK_LIFETIME``, for them
only. Only the SHA-256 of a link's token is stored. Redeeming it sets a
session cookie signed (HMAC-SHA256) with the dashboard secret; the dashboard
then shows what the permission model lets that member see.

The secret comes from ``RELAIS_DASHBOARD_SECRET``. On the embedded SQLite
default only, Relais generates one and keeps it in the database when the
variable is unset: whoever can read that file can already read every figure
the dashboard shows, so a secret beside the data adds no new exposure. On
PostgreSQL (shared, replicated, read by more people) the variable is required
and the dashboard is not mounted without it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import as_utc, utcnow
from bot.members.models import Member
from bot.reporting.models import DashboardSecret, DashboardToken

SECRET_ENV = "RELAIS_DASHBOARD_SECRET"
PUBLIC_URL_ENV = "RELAIS_PUBLIC_URL"
LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=8)
COOKIE = "relais_dashboard"
MIN_SECRET = 32


class NoSecret(Exception):
    """The dashboard cannot sign sessions: the message says what to set."""


def secret_for(engine: Engine, environ: dict[str, str] | None = None) -> bytes:
    """The signing secret: the environment's, or (SQLite only) one generated into the database."""
    value = (os.environ if environ is None else environ).get(SECRET_ENV, "")
    if value:
        if len(value) < MIN_SECRET:
            raise NoSecret(
                f"{SECRET_ENV} is too short: use at least {MIN_SECRET} random characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
            )
        return value.encode()
    if engine.dialect.name != "sqlite":
        raise NoSecret(
            f"The dashboard is off: set {SECRET_ENV} (at least {MIN_SECRET} random characters) "
            "to sign its sessions. On PostgreSQL Relais never makes one up."
        )
    with Session(engine) as session:
        row = session.get(DashboardSecret, 1)
        if row is None:
            session.add(DashboardSecret(id=1, value=secrets.token_urlsafe(48)))
            session.commit()
            row = session.get(DashboardSecret, 1)
        assert row is not None
        return row.value.encode()


def public_url() -> str:
    return (os.environ.get(PUBLIC_URL_ENV) or "http://127.0.0.1:8000").rstrip("/")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_link(session: Session, member: Member, now: datetime | None = None) -> str:
    """A single-use sign-in link for ``member``, valid for ``LINK_LIFETIME``."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardToken(
            token_hash=_hash(token),
            member_id=member.id or 0,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    return f"{public_url()}/dashboard/signin/{token}"


def redeem(engine: Engine, token: str, now: datetime | None = None) -> int | None:
    """The member a link signs in, once; None for an unknown, expired or already used link."""
    now = now or utcnow()
    if not token or len(token) > 100:
        return None
    with Session(engine) as session:
        row = session.exec(
            select(DashboardToken)
            .where(DashboardToken.token_hash == _hash(token))
            .with_for_update()
        ).first()
        if row is None or row.used_at is not None or as_utc(row.expires_at) <= now:
            return None
        row.used_at = now
        session.add(row)
        member = session.get(Member, row.member_id)
        if member is None or member.left_at is not None:
            session.commit()
            return None
        session.commit()
        return row.member_id


@dataclass(frozen=True)
class SessionCookie:
    member_id: int
    expires: int  # unix seconds


def sign(secret: bytes, member_id: int, now: datetime | None = None) -> str:
    expires = int(((now or utcnow()) + SESSION_LIFETIME).timestamp())
    body = f"{member_id}.{expires}"
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return f"{body}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def verify(secret: bytes, cookie: str | None, now: datetime | None = None) -> int | None:
    """The member id a cookie carries, if it was signed with ``secret`` and is not expired."""
    if not cookie or len(cookie) > 200:
        return None
    try:
        member, expires, mac = cookie.split(".")
        expected = hmac.new(secret, f"{member}.{expires}".encode(), hashlib.sha256).digest()
        given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        if not hmac.compare_digest(expected, given):
            return None
        if int(expires) <= (now or utcnow()).timestamp():
            return None
        return int(member)
    except (ValueError, TypeError):
        return None
