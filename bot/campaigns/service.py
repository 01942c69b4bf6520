"""Campaigns: who gets an approved post, when, with which variant and which share links.

A campaign is created (checked against the permission model and the programme)
and then queued in chunks of members, in member id order, each chunk in its own
transaction with the campaign's ``queued_after`` mark: a process killed in the
middle leaves a campaign the ``campaigns`` job goes on queueing, and the dedupe
key ``campaign:<id>`` makes a member queued twice impossible. Every member's
message carries their own share links (``/s/<token>``), so a click is recorded
against the member, the post and the network before the browser goes on.

Each member gets the post at a moment that is sendable in their own zone
(``bot.slots.next_sendable``: never in quiet hours or on a day off): now or a
given time for everyone, or a local time of day (10:00 where they are).
"""

from __future__ import annotations

import re
import secrets
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from bot import notify, permissions
from bot.campaigns.models import (
    AT,
    CANCELLED,
    DONE,
    LOCAL,
    NOW,
    PAUSED,
    RUNNING,
    WITHDRAWN,
    Campaign,
    ShareLink,
)
from bot.charter.models import CharterAcknowledgement
from bot.clock import as_utc, utcnow
from bot.config import ROLES, AppConfig, Audience
from bot.content.library import ContentLibrary
from bot.content.schema import NETWORKS
from bot.delivery import outbox
from bot.delivery.models import (
    CANCELLED as DELIVERY_CANCELLED,
)
from bot.delivery.models import (
    DELETE,
    FAILED,
    OPERATIONAL,
    PENDING,
    PRIORITY_REPLY,
    PROMOTIONAL,
    SEND,
    SENDING,
    SENT,
    UPDATE,
    Delivery,
)
from bot.delivery.outbox import Outgoing, enqueue_many
from bot.i18n import Tr
from bot.members import service as members
from bot.members.models import Member
from bot.messages import (
    Actions,
    Button,
    ContextLine,
    Image,
    Link,
    Message,
    Section,
    command_button,
)
from bot.participation.models import ParticipationEvent, record
from bot.permissions import Actor, Permissions, Target
from bot.posts import models as post_models
from bot.posts import service as posts
from bot.slots import next_sendable

KIND = "post"  # the deliveries' kind: the worker records post_delivered, post_updated…
SHARED_ACTION = "campaign.shared"  # "I shared it"
WITHDRAW_ACTION = "campaign.withdraw"  # a coordinator's Withdraw button
CHUNK = 2000
# Retractions go before scheduled content and replies: a withdrawn post must disappear fast.
PRIORITY_WITHDRAW = 50
NETWORK_NAMES = {"linkedin": "LinkedIn", "x": "X", "facebook": "Facebook"}
TARGET_KINDS = ("all", "department", "business_unit", "location", "language", "role")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


class CampaignError(Exception):
    """A request that cannot be done as asked; the message (translated) says why."""


# --- share targets ------------------------------------------------------------------


def share_target(network: str, link: str, text: str) -> str:
    """The network's own share page for ``link`` (and the text, where the network takes one)."""
    if network == "linkedin":
        return "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": link})
    if network == "x":
        return "https://x.com/intent/tweet?" + urlencode(
            {"text": text, "url": link}, quote_via=quote
        )
    return "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": link})


def new_token() -> str:
    return secrets.token_urlsafe(16)  # 22 characters, 128 bits


# --- the post, as campaigns see it ------------------------------------------------------


def post_version(session: Session, content: ContentLibrary, post_id: str, lang: str) -> Any:
    """The post in ``lang`` (else the programme's default, else any): title, body, link,
    image, networks (variants per network), hashtags; None when it is not in the database."""
    return pick(post_contents(session, post_id), lang, content.default_language)


def post_contents(session: Session, post_id: str) -> dict[str, Any]:
    """Every language version of a post (read once for a whole chunk of members)."""
    return posts.contents_of(session, post_id)


def pick(contents: dict[str, Any], lang: str, default: str) -> Any:
    if not contents:
        return None
    return contents.get(lang) or contents.get(default) or next(iter(contents.values()))


def live_posts(session: Session, today: Any, lang: str, default: str) -> list[tuple[str, str]]:
    """(id, title) of every post a campaign may send today, newest approval first."""
    return [
        (live.id, live.content(lang, default).title) for live in posts.live_posts(session, today)
    ]


# One definition, with the posts' own: a campaign shares what the post's preview showed.
with_hashtags = posts.with_hashtags


def check_post(session: Session, content: ContentLibrary, post_id: str, tr: Tr, today: Any) -> Any:
    """The approved post a campaign may push, or a clear refusal."""
    post = posts.find(session, post_id)
    if post is None:
        known = (
            ", ".join(
                pid for pid, _ in live_posts(session, today, tr.lang, content.default_language)
            )
            or "—"
        )
        raise CampaignError(
            tr("No approved post has the id “{id}”. Approved posts: {ids}", id=post_id, ids=known)
        )
    if post.status == post_models.WITHDRAWN:
        raise CampaignError(
            tr("The post “{id}” was withdrawn: it cannot be sent again.", id=post_id)
        )
    if post.status == post_models.EXPIRED or (post.expires and post.expires < today):
        raise CampaignError(
            tr(
                "The post “{id}” expired on {date}.",
                id=post_id,
                date=(post.expires or today).isoformat(),
            )
        )
    live = posts.live_post(session, post_id, today)
    if live is None:
        raise CampaignError(
            tr("The post “{id}” is not approved yet: it cannot be sent.", id=post_id)
        )
    return live.content(tr.lang, content.default_language)


# --- audience ----------------------------------------------------------------------------


def parse_targets(values: Iterable[str], config: AppConfig, tr: Tr) -> Audience:
    """``--to`` values as an audience: the same kind widens, different kinds narrow."""
    wanted: dict[str, list[str]] = defaultdict(list)
    given = [value.strip() for value in values if value.strip()]
    if not given:
        raise CampaignError(
            tr("Say who gets the post: --to all, or --to department:ID (and more).")
        )
    for value in given:
        kind, _, item = value.partition(":")
        kind = kind.strip().lower().replace("-", "_")
        item = item.strip()
        if kind == "all" and not item:
            continue
        if kind not in TARGET_KINDS or kind == "all" or not item:
            raise CampaignError(
                tr(
                    "“{value}” is not an audience: write all, department:ID, business_unit:ID, "
                    "location:NAME, language:CODE or role:ROLE.",
                    value=value,
                )
            )
        known: list[str] | None = None
        if kind == "department":
            known = [d.id for d in config.departments]
        elif kind == "business_unit":
            known = [u.id for u in config.business_units]
        elif kind == "language":
            known = list(config.languages.available)
        elif kind == "role":
            known = list(ROLES)
        if known is not None and item not in known:
            raise CampaignError(
                tr(
                    "“{value}”: no {kind} has the id “{item}”. Known: {known}",
                    value=value,
                    kind=kind,
                    item=item,
                    known=", ".join(known) or "—",
                )
            )
        if item not in wanted[kind]:
            wanted[kind].append(item)
    return Audience(
        departments=wanted["department"],
        business_units=wanted["business_unit"],
        locations=wanted["location"],
        languages=wanted["language"],
        roles=wanted["role"],  # type: ignore[arg-type]
    )


def audience_departments(audience: Audience, config: AppConfig) -> set[str] | None:
    """The departments an audience is limited to, or None when it is not limited to any."""
    found: set[str] | None = None
    if audience.departments:
        found = set(audience.departments)
    if audience.business_units:
        in_units = {d.id for d in config.departments if d.business_unit in audience.business_units}
        found = in_units if found is None else found & in_units
    return found


def check_scope(
    rules: Permissions, actor: Actor, audience: Audience, config: AppConfig, tr: Tr
) -> None:
    """Broadcasting is for those the permission model allows, only within their scope."""
    reach = rules.reach(actor, permissions.BROADCAST)
    if reach.none:
        raise CampaignError(
            tr(
                "Sorry, you may not {action}. Ask your programme coordinator if you should.",
                action=tr(permissions.ACTIONS[permissions.BROADCAST]),
            )
        )
    if reach.programme:
        return
    limited = audience_departments(audience, config)
    mine = sorted(permissions.departments_in(reach, config), key=lambda d: d.id)
    if limited is None or any(
        not rules.allows(actor, permissions.BROADCAST, Target(department=d)) for d in limited
    ):
        raise CampaignError(
            tr(
                "You may broadcast to your own scope only: choose among {departments} "
                "(department:ID).",
                departments=", ".join(d.id for d in mine) or "—",
            )
        )


_COLUMNS = (
    Member.id,
    Member.email,
    Member.department,
    Member.location,
    Member.language,
    Member.time_zone,
    Member.roles,
    Member.opted_in,
    Member.preferred_platform,
)


def _audience_query(audience: Audience, config: AppConfig) -> Any:
    """Opted-in members still in the company, narrowed by what SQL can check."""
    conditions = [Member.opted_in.is_(True), Member.left_at.is_(None)]  # type: ignore[union-attr]
    departments = audience_departments(audience, config)
    if departments is not None:
        conditions.append(Member.department.in_(sorted(departments)))  # type: ignore[union-attr]
    if audience.languages:
        conditions.append(Member.language.in_(audience.languages))  # type: ignore[attr-defined]
    if audience.locations:
        conditions.append(Member.location.in_(audience.locations))  # type: ignore[union-attr]
    # Colleagues of one department are numbered in id order: the variants go round them.
    rank = func.row_number().over(partition_by=Member.department, order_by=Member.id).label("rank")
    return select(*_COLUMNS, rank).where(*conditions)


def _roles_match(row: Any, audience: Audience, config: AppConfig) -> bool:
    if not audience.roles:
        return True
    return bool(members.roles(row, config) & set(audience.roles))  # type: ignore[arg-type]


def resolve(session: Session, audience: Audience, config: AppConfig) -> list[Any]:
    """Every member the audience reaches (rows with id, department, language, zone, rank)."""
    inner = _audience_query(audience, config).subquery()
    rows = session.execute(select(inner).order_by(inner.c.id)).all()
    return [row for row in rows if _roles_match(row, audience, config)]


# --- variants -------------------------------------------------------------------------------


def variant_for(post_id: str, department: str | None, rank: int, count: int) -> int:
    """Which of ``count`` variants the ``rank``-th colleague of a department gets.

    Round the department: the first ``count`` colleagues all get different
    texts; the starting variant depends on the post and the department, so not
    every department starts with the first. Deterministic: the same member
    gets the same text every time it is computed.
    """
    if count <= 1:
        return 0
    offset = zlib.crc32(f"{post_id}:{department or ''}".encode()) % count
    return (rank - 1 + offset) % count


# --- timing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    kind: str
    send_at: datetime | None = None
    local_time: str | None = None


def parse_timing(
    at: str | None, local_hhmm: str | None, config: AppConfig, tr: Tr, now: datetime
) -> Timing:
    if at and local_hhmm:
        raise CampaignError(tr("Choose --at or --local, not both."))
    if local_hhmm:
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", local_hhmm.strip())
        if not match:
            raise CampaignError(
                tr("“{value}” is not a time of day: write HH:MM, e.g. 10:00.", value=local_hhmm)
            )
        moment = time(int(match.group(1)), int(match.group(2)))
        quiet = config.time.quiet_hours
        if quiet and quiet.contains(moment):
            raise CampaignError(
                tr(
                    "{time} falls in the quiet hours ({start}–{end}): choose a time outside them.",
                    time=moment.strftime("%H:%M"),
                    start=quiet.start.strftime("%H:%M"),
                    end=quiet.end.strftime("%H:%M"),
                )
            )
        return Timing(LOCAL, send_at=now, local_time=moment.strftime("%H:%M"))
    if at:
        try:
            moment_at = datetime.fromisoformat(at.strip())
        except ValueError:
            raise CampaignError(
                tr(
                    "“{value}” is not a date and time: write ISO 8601, e.g. 2026-11-24T10:00+01:00.",
                    value=at,
                )
            ) from None
        if moment_at.tzinfo is None:
            from zoneinfo import ZoneInfo

            moment_at = moment_at.replace(tzinfo=ZoneInfo(config.time.zone))
        moment_at = as_utc(moment_at)
        if moment_at < now - timedelta(minutes=1):
            raise CampaignError(tr("{value} is in the past.", value=at.strip()))
        return Timing(AT, send_at=max(moment_at, now))
    return Timing(NOW, send_at=now)


class Schedule:
    """When each zone gets a campaign: computed once per zone, never in quiet hours."""

    def __init__(self, campaign: Campaign, config: AppConfig) -> None:
        self.config = config
        self.start = as_utc(campaign.send_at or campaign.created_at)
        self.at_local = time.fromisoformat(campaign.local_time) if campaign.local_time else None
        self._zones: dict[str, datetime] = {}

    def moment(self, zone: str) -> datetime:
        if zone not in self._zones:
            found = next_sendable(self.start, zone, self.config, self.at_local)
            self._zones[zone] = found or self.start
        return self._zones[zone]


# --- creating and queueing ------------------------------------------------------------------


def create(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    rules: Permissions,
    actor: Actor,
    post_id: str,
    targets: Iterable[str],
    tr: Tr,
    at: str | None = None,
    local_hhmm: str | None = None,
    now: datetime | None = None,
) -> Campaign:
    """Check everything, then store the campaign (queued by ``queue``)."""
    now = now or utcnow()
    if not config.web.public_url:
        raise CampaignError(
            tr(
                "Set web.public_url in app.yaml (where members' browsers reach relais serve): "
                "share links are built on it."
            )
        )
    today = now.astimezone(UTC).date()
    check_post(session, content, post_id, tr, today)
    target_list = [value.strip() for value in targets if value.strip()]
    audience = parse_targets(target_list, config, tr)
    check_scope(rules, actor, audience, config, tr)
    timing = parse_timing(at, local_hhmm, config, tr, now)
    campaign = Campaign(
        post_id=post_id,
        audience=target_list,
        timing=timing.kind,
        send_at=timing.send_at,
        local_time=timing.local_time,
        status=RUNNING,
        created_by=actor.member_id,
        created_at=now,
    )
    session.add(campaign)
    posts.mark_live(session, post_id, now)  # an approved post a campaign took is live
    session.flush()
    return campaign


def audience_of(campaign: Campaign, config: AppConfig) -> Audience:
    return parse_targets(campaign.audience, config, Tr("en"))


def _charter_versions(content: ContentLibrary, languages: Iterable[str]) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for lang in languages:
        current = content.current_charter(lang)
        found[lang] = current[1].version if current else None
    return found


def queue_chunk(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    campaign: Campaign,
    now: datetime | None = None,
    limit: int | None = None,
) -> int:
    """Queue the next members of the campaign; return how many were read (0: all queued)."""
    now = now or utcnow()
    limit = limit or CHUNK
    if campaign.queued_at is not None or campaign.status in (CANCELLED, WITHDRAWN):
        return 0
    audience = audience_of(campaign, config)
    inner = _audience_query(audience, config).subquery()
    batch = session.execute(
        select(inner).where(inner.c.id > campaign.queued_after).order_by(inner.c.id).limit(limit)
    ).all()
    if not batch:
        campaign.queued_at = now
        return 0
    campaign.queued_after = batch[-1].id
    rows = [row for row in batch if _roles_match(row, audience, config)]
    key = f"campaign:{campaign.id}"
    ids = [row.id for row in rows]
    done = (
        set(
            session.execute(
                select(Delivery.member_id).where(
                    Delivery.dedupe_key == key,
                    Delivery.member_id.in_(ids),  # type: ignore[attr-defined]
                )
            ).scalars()
        )
        if ids
        else set()
    )
    versions = _charter_versions(content, {row.language for row in rows})
    accepted = (
        {
            (member_id, version)
            for member_id, version in session.execute(
                select(CharterAcknowledgement.member_id, CharterAcknowledgement.version).where(
                    CharterAcknowledgement.member_id.in_(ids)  # type: ignore[attr-defined]
                )
            ).all()
        }
        if ids
        else set()
    )
    schedule = Schedule(campaign, config)
    contents = post_contents(session, campaign.post_id)
    base = config.web.public_url or ""
    outgoing: list[Outgoing] = []
    links: list[dict[str, Any]] = []
    cache: dict[Any, Any] = {}  # what is the same for many members: built once per chunk
    languages: dict[str, Tr] = {}
    for row in rows:
        if row.id in done:
            continue
        post = pick(contents, row.language, content.default_language)
        if post is None:
            continue
        version = versions.get(row.language)
        charter_ok = version is None or (row.id, version) in accepted
        buttons: dict[str, str] = {}
        chosen: dict[str, int] = {}
        for network, variants in post.networks.items():
            index = variant_for(campaign.post_id, row.department, row.rank, len(variants))
            chosen[network] = index
            if charter_ok:
                token = new_token()
                target_key = ("target", id(post), network, index)
                if target_key not in cache:
                    text = hashtagged(cache, post, network, index)
                    cache[target_key] = share_target(network, post.link, text)
                links.append(
                    {
                        "token": token,
                        "campaign_id": campaign.id,
                        "member_id": row.id,
                        "post_id": campaign.post_id,
                        "network": network,
                        "variant": index,
                        "target": cache[target_key],
                        "created_at": now,
                    }
                )
                buttons[network] = f"{base}/s/{token}"
        tr = languages.get(row.language) or languages.setdefault(row.language, Tr(row.language))
        message = render(post, campaign, tr, chosen, buttons, charter_ok, cache)
        outgoing.append(
            notify.to_member(
                row,
                config,
                message,
                key=key,
                kind=KIND,
                subject=campaign.post_id,
                purpose=PROMOTIONAL,
                not_before=schedule.moment(row.time_zone),
                campaign=str(campaign.id),
            )
        )
    if links:
        session.connection().execute(insert(ShareLink.__table__), links)  # type: ignore[attr-defined]
    campaign.recipients += len(enqueue_many(session, outgoing, now))
    if len(batch) < limit:
        campaign.queued_at = now
    return len(batch)


def queue(
    engine: Any,
    config: AppConfig,
    content: ContentLibrary,
    campaign_id: int,
    now: datetime | None = None,
    chunks: int | None = None,
    limit: int | None = None,
) -> int:
    """Queue a campaign's members, chunk by chunk (of ``limit``), each in its own transaction."""
    from bot.db import session_scope

    total = 0
    done_chunks = 0
    while chunks is None or done_chunks < chunks:
        with session_scope(engine) as session:
            campaign = session.get(Campaign, campaign_id)
            if campaign is None:
                return total
            before = campaign.recipients
            read = queue_chunk(session, config, content, campaign, now, limit)
            total += campaign.recipients - before
            if read == 0 or campaign.queued_at is not None:
                return total
        done_chunks += 1
    return total


# --- what an ambassador receives -------------------------------------------------------------


def _labels(tr: Tr, post: Any) -> dict[str, Any]:
    """Everything a post's message says that is the same for every member of one language."""
    return {
        "fallback": tr("A post to share: {title}", title=post.title),
        "head": Section(title=post.title, text=post.body.strip() or post.title),
        "open": Link(url=post.link, label=tr("Open the page")),
        "shared": tr("I shared it"),
        "explain": ContextLine(
            text=tr(
                "The share buttons open the network's own page with the text ready; "
                "Relais counts the click on its link, nothing else."
            )
        ),
        "gate": [
            Section(
                text=tr(
                    "Sharing comes with the programme's charter: read and accept it first, "
                    "then “share” shows you the posts to share."
                )
            ),
            Actions(buttons=[command_button(tr("Read and accept the charter first"), "charter")]),
        ],
        **{
            f"share:{network}": tr("Share on {network}", network=name)
            for network, name in NETWORK_NAMES.items()
        },
    }


def render(
    post: Any,
    campaign: Campaign,
    tr: Tr,
    variants: dict[str, int],
    links: dict[str, str],
    charter_ok: bool,
    cache: dict[Any, Any] | None = None,
) -> Message:
    """The post in the member's language: picture, suggested texts, share buttons.

    ``cache``: kept across the members of a chunk, so what does not depend on the member
    (labels, the post's blocks, each variant's text) is built once per language.
    """
    cache = {} if cache is None else cache
    key = (tr.lang, id(post))
    if key not in cache:
        cache[key] = _labels(tr, post)
    labels = cache[key]
    blocks: list[Any] = [labels["head"]]
    image = getattr(post, "image", None)
    if image:
        blocks.append(Image(url=image, alt=getattr(post, "image_alt", None) or post.title))
    for network in post.networks:
        index = variants.get(network, 0)
        section_key = (tr.lang, id(post), network, index)
        if section_key not in cache:
            cache[section_key] = Section(
                title=tr("Suggested text for {network}", network=NETWORK_NAMES[network]),
                text=hashtagged(cache, post, network, index),
            )
        blocks.append(cache[section_key])
    blocks.append(labels["open"])
    if charter_ok:
        buttons = [
            Button(
                label=labels[f"share:{network}"],
                action_id=f"campaign.open_{network}",
                url=links[network],
                style="primary" if n == 0 else "default",
            )
            for n, network in enumerate(network for network in NETWORKS if network in links)
        ]
        buttons.append(
            Button(label=labels["shared"], action_id=SHARED_ACTION, value=str(campaign.id))
        )
        blocks.append(Actions(buttons=buttons))
        blocks.append(labels["explain"])
    else:
        blocks += labels["gate"]
    return Message(text=labels["fallback"], blocks=blocks)


def hashtagged(cache: dict[Any, Any], post: Any, network: str, index: int) -> str:
    """A variant's text with the post's hashtags, computed once per chunk."""
    key = ("text", id(post), network, index)
    if key not in cache:
        cache[key] = with_hashtags(post.networks[network][index], post.hashtags)
    return cache[key]  # type: ignore[no-any-return]


# --- progress -------------------------------------------------------------------------------------


@dataclass
class Progress:
    campaign: Campaign
    delivered: int = 0
    failed: int = 0
    cancelled: int = 0
    waiting: int = 0  # queued, due now or in flight
    scheduled: int = 0  # queued for later (a member's local time, the end of quiet hours)

    @property
    def remaining(self) -> int:
        return self.waiting + self.scheduled

    @property
    def queued(self) -> bool:
        return self.campaign.queued_at is not None

    @property
    def finished(self) -> bool:
        return self.queued and self.remaining == 0

    def signature(self) -> str:
        return f"{self.campaign.status}:{self.delivered}:{self.failed}:{self.remaining}"


def progress_of(
    session: Session, campaigns: list[Campaign], now: datetime | None = None
) -> dict[int, Progress]:
    """Counts of every campaign's messages, in one query."""
    now = now or utcnow()
    found = {c.id or 0: Progress(c) for c in campaigns}
    if not found:
        return found
    later = (Delivery.status == PENDING) & (Delivery.not_before > now)  # type: ignore[operator]
    rows = session.execute(
        select(Delivery.campaign, Delivery.status, later.label("later"), func.count())
        .where(
            Delivery.campaign.in_([str(i) for i in found]),  # type: ignore[union-attr]
            Delivery.operation == SEND,
        )
        .group_by(Delivery.campaign, Delivery.status, later)
    ).all()
    for campaign, status, is_later, count in rows:
        progress = found[int(campaign)]
        if status == SENT:
            progress.delivered += count
        elif status == FAILED:
            progress.failed += count
        elif status == DELIVERY_CANCELLED:
            progress.cancelled += count
        elif status == PENDING and is_later:
            progress.scheduled += count
        else:
            progress.waiting += count
    return found


def progress(session: Session, campaign: Campaign) -> Progress:
    return progress_of(session, [campaign])[campaign.id or 0]


def status_word(campaign: Campaign, tr: Tr) -> str:
    words = {
        RUNNING: tr("running") if campaign.queued_at else tr("queueing"),
        PAUSED: tr("paused"),
        CANCELLED: tr("cancelled"),
        DONE: tr("done"),
        WITHDRAWN: tr("withdrawn"),
    }
    return words.get(campaign.status, campaign.status)


def when_words(campaign: Campaign, tr: Tr) -> str:
    if campaign.timing == LOCAL:
        return tr("at {time} in each member's time zone", time=campaign.local_time)
    if campaign.timing == AT and campaign.send_at:
        return tr("from {moment} UTC", moment=as_utc(campaign.send_at).strftime("%Y-%m-%d %H:%M"))
    return tr("now")


def progress_text(progress: Progress, tr: Tr, title: str) -> str:
    campaign = progress.campaign
    lines = [
        tr(
            "Campaign {id} — “{title}” ({status}), {when}.",
            id=campaign.id,
            title=title,
            status=status_word(campaign, tr),
            when=when_words(campaign, tr),
        ),
        tr(
            "Delivered: {delivered} · failed: {failed} · remaining: {remaining}",
            delivered=progress.delivered,
            failed=progress.failed,
            remaining=progress.remaining,
        ),
    ]
    if progress.scheduled:
        lines.append(
            tr.plural(
                "{count} message waits for its member's local time or the end of quiet hours.",
                "{count} messages wait for their members' local time or the end of quiet hours.",
                progress.scheduled,
                count=progress.scheduled,
            )
        )
    if progress.cancelled:
        lines.append(tr("Cancelled before sending: {count}", count=progress.cancelled))
    return "\n".join(lines)


def progress_message(progress: Progress, tr: Tr, title: str, withdraw: bool = True) -> Message:
    text = progress_text(progress, tr, title)
    blocks: list[Any] = [Section(text=text)]
    if withdraw and progress.campaign.status != WITHDRAWN:
        blocks.append(
            Actions(
                buttons=[
                    Button(
                        label=tr("Withdraw the post"),
                        action_id=WITHDRAW_ACTION,
                        value=progress.campaign.post_id,
                        style="danger",
                    )
                ]
            )
        )
    return Message(text=text.splitlines()[0], blocks=blocks)


PROGRESS_KIND = "campaign_progress"


def show_progress(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    campaign: Campaign,
    member: Member,
    may_withdraw: bool,
    platform: str | None = None,
) -> None:
    """The coordinator's progress message; the campaigns job updates it in place."""
    found = progress(session, campaign)
    tr = Tr(member.language)
    post = post_version(session, content, campaign.post_id, member.language)
    message = progress_message(found, tr, post.title if post else campaign.post_id, may_withdraw)
    key = f"campaign-progress:{campaign.id}"
    enqueue_many(
        session,
        [
            notify.to_member(
                member,
                config,
                message,
                key=key,
                kind=PROGRESS_KIND,
                subject=str(campaign.id),
                purpose=OPERATIONAL,
                priority=PRIORITY_REPLY,
                platform=platform,
            )
        ],
    )
    campaign.progress_delivery_id = session.execute(
        select(Delivery.id).where(Delivery.member_id == member.id, Delivery.dedupe_key == key)
    ).scalar_one()
    campaign.progress_shown = found.signature()


def refresh_progress(
    session: Session, rules: Permissions, content: ContentLibrary, campaign: Campaign, now: datetime
) -> bool:
    """Queue an update of the coordinator's progress message when the figures changed."""
    if campaign.progress_delivery_id is None:
        return False
    found = progress(session, campaign)
    signature = found.signature()
    if signature == campaign.progress_shown:
        return False
    target = session.get(Delivery, campaign.progress_delivery_id)
    member = session.get(Member, target.member_id) if target else None
    if target is None or member is None:
        return False
    tr = Tr(member.language)
    post = post_version(session, content, campaign.post_id, member.language)
    actor = rules.actor(member.id, member.email, member.department, member.roles, member.opted_in)
    may_withdraw = rules.allows(actor, permissions.APPROVE, permissions.EVERYONE)
    message = progress_message(found, tr, post.title if post else campaign.post_id, may_withdraw)
    enqueue_many(
        session,
        [
            Outgoing(
                member_id=member.id or 0,
                platform=target.platform,
                dedupe_key=f"campaign-progress:{campaign.id}:{signature}"[:200],
                kind=PROGRESS_KIND,
                subject=str(campaign.id),
                message=message,
                purpose=OPERATIONAL,
                priority=PRIORITY_REPLY,
                operation=UPDATE,
                target_id=target.id,
            )
        ],
        now,
    )
    campaign.progress_shown = signature
    return True


# --- pause, resume, cancel -------------------------------------------------------------------


def find(session: Session, campaign_id: int, tr: Tr) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignError(tr("No campaign has the number {id}.", id=campaign_id))
    return campaign


def pause(session: Session, campaign: Campaign, tr: Tr) -> None:
    if campaign.status != RUNNING:
        raise CampaignError(
            tr(
                "Campaign {id} is {status}: only a running campaign can be paused.",
                id=campaign.id,
                status=status_word(campaign, tr),
            )
        )
    outbox.pause_campaign(session, str(campaign.id), "paused by a coordinator")
    campaign.status = PAUSED


def resume(session: Session, campaign: Campaign, tr: Tr) -> None:
    if campaign.status != PAUSED:
        raise CampaignError(
            tr(
                "Campaign {id} is {status}: only a paused campaign can be resumed.",
                id=campaign.id,
                status=status_word(campaign, tr),
            )
        )
    outbox.resume_campaign(session, str(campaign.id))
    campaign.status = RUNNING


def cancel(session: Session, campaign: Campaign, tr: Tr) -> int:
    """Stop a campaign: what is still queued is cancelled (what was sent stays)."""
    if campaign.status in (CANCELLED, WITHDRAWN, DONE):
        raise CampaignError(
            tr(
                "Campaign {id} is {status}: there is nothing left to cancel.",
                id=campaign.id,
                status=status_word(campaign, tr),
            )
        )
    campaign.status = CANCELLED
    campaign.finished_at = utcnow()
    outbox.resume_campaign(session, str(campaign.id))
    return outbox.cancel(session, campaign=str(campaign.id))


# --- withdrawal ---------------------------------------------------------------------------------


@dataclass
class Withdrawal:
    post_id: str
    campaigns: int = 0
    cancelled: int = 0  # queued messages that will never be sent
    retracting: int = 0  # messages sent (or being sent) to update or delete
    ids: list[int] = field(default_factory=list)


def withdrawn_message(tr: Tr, title: str) -> Message:
    text = tr("This post was withdrawn: please do not share it.")
    return Message(
        text=text,
        blocks=[
            Section(
                title=tr("Withdrawn: {title}", title=title),
                text=tr(
                    "The programme team withdrew this post: please do not share it any more. "
                    "If you already published it, you may delete your publication."
                ),
            )
        ],
    )


def queue_retractions(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    post_id: str,
    campaign_ids: list[int],
    now: datetime,
) -> int:
    """An update (or delete, per ``sharing.on_withdraw``) of every message sent with the post."""
    if not campaign_ids:
        return 0
    operation = DELETE if config.sharing.on_withdraw == "delete" else UPDATE
    retraction = aliased(Delivery)
    rows = session.execute(
        select(Delivery.id, Delivery.member_id, Delivery.platform, Member.language)
        .join(Member, Member.id == Delivery.member_id)  # type: ignore[arg-type]
        .where(
            Delivery.campaign.in_([str(i) for i in campaign_ids]),  # type: ignore[union-attr]
            Delivery.operation == SEND,
            Delivery.status.in_((SENT, SENDING)),  # type: ignore[attr-defined]
            ~exists().where(retraction.target_id == Delivery.id),
        )
    ).all()
    messages: dict[str, Message] = {}
    items = []
    for delivery_id, member_id, platform, language in rows:
        if language not in messages:
            post = post_version(session, content, post_id, language)
            messages[language] = withdrawn_message(Tr(language), post.title if post else post_id)
        items.append(
            Outgoing(
                member_id=member_id,
                platform=platform,
                dedupe_key=f"withdraw:{delivery_id}",
                kind=KIND,
                subject=post_id,
                message=messages[language],
                purpose=OPERATIONAL,  # a retraction goes even while promotion is paused
                priority=PRIORITY_WITHDRAW,
                operation=operation,
                target_id=delivery_id,
            )
        )
    return len(enqueue_many(session, items, now))


def withdraw(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    post_id: str,
    tr: Tr,
    by: int | None = None,
    now: datetime | None = None,
) -> Withdrawal:
    """Withdraw a post everywhere: cancel what is queued, retract what was sent, stop its links."""
    now = now or utcnow()
    campaigns = list(session.execute(select(Campaign).where(Campaign.post_id == post_id)).scalars())
    actor = session.get(Member, by) if by else None
    try:
        posts.withdraw(session, post_id, actor)  # records post_withdrawn
    except posts.PostError:
        raise CampaignError(tr("No post has the id “{id}”.", id=post_id)) from None
    result = Withdrawal(post_id)
    for campaign in campaigns:
        result.campaigns += 1
        result.ids.append(campaign.id or 0)
        outbox.resume_campaign(session, str(campaign.id))
        result.cancelled += outbox.cancel(session, campaign=str(campaign.id))
        if campaign.status != WITHDRAWN:
            campaign.status = WITHDRAWN
            campaign.withdrawn_at = now
            campaign.finished_at = campaign.finished_at or now
    result.retracting = queue_retractions(session, config, content, post_id, result.ids, now)
    return result


@dataclass
class Retraction:
    total: int = 0
    done: int = 0
    failed: int = 0

    @property
    def remaining(self) -> int:
        return self.total - self.done - self.failed


def retraction_of(session: Session, post_id: str) -> Retraction:
    """How far the retraction of a withdrawn post's messages has gone.

    The retractions are found through what they retract (the post's campaigns' sends, by
    the campaign and target indexes): never a scan of the whole outbox, which a follower
    polling twice a second would otherwise read each time.
    """
    found = Retraction()
    campaign_ids = [
        str(campaign_id)
        for campaign_id in session.execute(
            select(Campaign.id).where(Campaign.post_id == post_id)
        ).scalars()
    ]
    if not campaign_ids:
        return found
    sent = aliased(Delivery)
    rows = session.execute(
        select(Delivery.status, func.count())
        .join(sent, sent.id == Delivery.target_id)
        .where(
            sent.campaign.in_(campaign_ids),  # type: ignore[union-attr]
            Delivery.kind == KIND,
            Delivery.operation.in_((UPDATE, DELETE)),  # type: ignore[attr-defined]
        )
        .group_by(Delivery.status)
    ).all()
    for status, count in rows:
        found.total += count
        if status == SENT:
            found.done += count
        elif status in (FAILED, DELIVERY_CANCELLED):
            found.failed += count
    return found


# --- share links, "I shared it", results ---------------------------------------------------------


@dataclass(frozen=True)
class Click:
    """What ``/s/<token>`` does: go on to ``target``, or say why not (unknown, withdrawn)."""

    outcome: str  # "redirect", "unknown", "withdrawn"
    target: str | None = None
    language: str | None = None


def follow(session: Session, token: str, record_click: bool, now: datetime | None = None) -> Click:
    """Resolve a share link; record the click (``share_clicked``) when it goes on."""
    if not TOKEN.match(token or ""):
        return Click("unknown")
    row = session.execute(
        select(ShareLink, Campaign.status, Member.language)
        .join(Campaign, Campaign.id == ShareLink.campaign_id)  # type: ignore[arg-type]
        .join(Member, Member.id == ShareLink.member_id)  # type: ignore[arg-type]
        .where(ShareLink.token == token)
    ).first()
    if row is None:
        return Click("unknown")
    link, status, language = row
    if status == WITHDRAWN:
        return Click("withdrawn", language=language)
    if record_click:
        event = record(
            session,
            "share_clicked",
            link.member_id,
            link.post_id,
            None,
            network=link.network,
            campaign=link.campaign_id,
            variant=link.variant,
        )
        if now is not None:
            event.occurred_at = now
    return Click("redirect", target=link.target, language=language)


def declare_shared(session: Session, member: Member, value: str, platform: str, tr: Tr) -> str:
    """The "I shared it" button: a self-declaration, recorded as such."""
    from bot.events import record_id

    campaign_id = record_id(value)
    campaign = session.get(Campaign, campaign_id) if campaign_id else None
    if campaign is None:
        raise CampaignError(tr("That button is no longer in use."))
    if campaign.status == WITHDRAWN:
        return tr("This post was withdrawn: please do not share it.")
    already = session.execute(
        select(ParticipationEvent.id).where(
            ParticipationEvent.kind == "share_declared",
            ParticipationEvent.member_id == member.id,
            ParticipationEvent.subject == campaign.post_id,
        )
    ).first()
    if already is None:
        record(
            session, "share_declared", member.id, campaign.post_id, platform, campaign=campaign.id
        )
    return tr("Thank you for sharing it! Noted.")


@dataclass
class Results:
    post_id: str
    delivered: int = 0
    clicked: dict[str, int] = field(default_factory=dict)  # network -> members who clicked
    clickers: int = 0
    declared: int = 0
    withdrawn: bool = False
    retraction: Retraction = field(default_factory=Retraction)
    campaigns: int = 0


def results(session: Session, post_id: str) -> Results:
    found = Results(post_id)
    campaign_rows = session.execute(
        select(Campaign.id, Campaign.status).where(Campaign.post_id == post_id)
    ).all()
    found.campaigns = len(campaign_rows)
    found.withdrawn = any(status == WITHDRAWN for _, status in campaign_rows)
    ids = [str(cid) for cid, _ in campaign_rows]
    if ids:
        found.delivered = session.execute(
            select(func.count()).where(
                Delivery.campaign.in_(ids),  # type: ignore[union-attr]
                Delivery.operation == SEND,
                Delivery.status == SENT,
            )
        ).scalar_one()
    clicks = session.execute(
        select(ParticipationEvent.member_id, ParticipationEvent.data).where(
            ParticipationEvent.kind == "share_clicked", ParticipationEvent.subject == post_id
        )
    ).all()
    per_network: dict[str, set[int]] = defaultdict(set)
    for member_id, data in clicks:
        per_network[str((data or {}).get("network"))].add(member_id)
    found.clicked = {
        network: len(per_network[network]) for network in NETWORKS if per_network[network]
    }
    found.clickers = len({member_id for member_id, _ in clicks})
    found.declared = session.execute(
        select(func.count(func.distinct(ParticipationEvent.member_id))).where(
            ParticipationEvent.kind == "share_declared", ParticipationEvent.subject == post_id
        )
    ).scalar_one()
    if found.withdrawn:
        found.retraction = retraction_of(session, post_id)
    return found


def results_message(found: Results, tr: Tr, title: str) -> Message:
    clicks = (
        ", ".join(f"{NETWORK_NAMES[network]} {count}" for network, count in found.clicked.items())
        or "0"
    )
    lines = [
        tr.plural(
            "Delivered to {count} member.",
            "Delivered to {count} members.",
            found.delivered,
            count=found.delivered,
        ),
        tr(
            "Clicked a share link of ours: {clicks} (members who opened the network's share page "
            "from our button; whether they published, we cannot see).",
            clicks=clicks,
        ),
        tr.plural(
            "Said “I shared it”: {count} member (their own declaration).",
            "Said “I shared it”: {count} members (their own declaration).",
            found.declared,
            count=found.declared,
        ),
    ]
    if found.withdrawn:
        lines.append(
            tr(
                "Withdrawn: {done} of {total} messages retracted ({failed} could not be).",
                done=found.retraction.done,
                total=found.retraction.total,
                failed=found.retraction.failed,
            )
        )
    blocks: list[Any] = [
        Section(title=title, text="\n".join(lines)),
        ContextLine(
            text=tr(
                "Relais counts clicks on its own links and what members tell it; it does not "
                "measure reach or engagement on the networks."
            )
        ),
    ]
    return Message(text=title, blocks=blocks)


def campaigns_due_for_work(session: Session) -> list[Campaign]:
    return list(
        session.execute(
            select(Campaign).where(
                or_(
                    Campaign.status.in_((RUNNING, PAUSED)),  # type: ignore[attr-defined]
                    Campaign.queued_at.is_(None),  # type: ignore[union-attr]
                )
            )
        ).scalars()
    )


def finish_done(session: Session, found: dict[int, Progress], now: datetime) -> None:
    for item in found.values():
        if item.campaign.status == RUNNING and item.finished:
            item.campaign.status = DONE
            item.campaign.finished_at = now


def recent_withdrawn(session: Session, now: datetime) -> list[Campaign]:
    return list(
        session.execute(
            select(Campaign).where(
                Campaign.status == WITHDRAWN,
                Campaign.withdrawn_at >= now - timedelta(days=1),  # type: ignore[operator]
            )
        ).scalars()
    )


def mark_cancelled_pending(session: Session, campaign: Campaign) -> int:
    """Rows of a withdrawn campaign that came back to the queue (a dead worker's) never go."""
    return int(
        session.execute(
            update(Delivery)
            .where(
                Delivery.campaign == str(campaign.id),
                Delivery.status == PENDING,
                Delivery.operation == SEND,
            )
            .values(status=DELIVERY_CANCELLED, error="post withdrawn")
        ).rowcount
        or 0
    )


def withdrawal_text(found: Withdrawal, tr: Tr) -> str:
    lines = [tr("The post “{id}” is withdrawn: its share links no longer work.", id=found.post_id)]
    lines.append(
        tr.plural(
            "{count} message already sent is being retracted on the chat platforms.",
            "{count} messages already sent are being retracted on the chat platforms.",
            found.retracting,
            count=found.retracting,
        )
    )
    if found.cancelled:
        lines.append(
            tr.plural(
                "{count} queued message will not be sent.",
                "{count} queued messages will not be sent.",
                found.cancelled,
                count=found.cancelled,
            )
        )
    return "\n".join(lines)
