"""Putting operations in the outbox, claiming them, pausing and cancelling them.

Writers insert with ON CONFLICT DO NOTHING on ``(member_id, dedupe_key)``, so
a job that runs twice queues nothing twice. Workers claim due rows by setting
a short lease (``claimed_until``) that their heartbeat keeps extending while
the send is in flight; on PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED``
so replicas never take the same row, on SQLite the single writer lock gives
the same guarantee. A row whose lease expired (its worker died) is put back
in the queue by the next claim.

The stored promotional pause is part of the claim itself, so a paused
programme cannot hand out a promotional row, on any replica.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from bot.clock import utcnow
from bot.delivery.models import (
    CANCELLED,
    FAILED,
    OPERATIONAL,
    OPERATIONS,
    PENDING,
    PRIORITY_SCHEDULED,
    PRIORITY_URGENT,
    PROMOTIONAL,
    PROMOTIONAL_PAUSE,
    PURPOSES,
    SEND,
    SENDING,
    SENT,
    Delivery,
    DeliveryBody,
    DeliveryPart,
    DeliveryPause,
)
from bot.messages import Message

LEASE = timedelta(seconds=60)
# A literal, not a bound parameter: the planners can then use the partial claim index
# (``WHERE status = 'pending'``), also in PostgreSQL's generic plans of prepared statements.
_IS_PENDING = text("delivery.status = 'pending'")
# /healthz counts at most this many rows per status (an index range scan, never the table).
COUNT_CAP = 1_000


@dataclass(frozen=True)
class Outgoing:
    """An operation to queue for one member: send a message, or update/delete one sent.

    ``purpose`` has no default: promotional work (lessons, reminders, posts) stops
    while the programme is paused, operational work (replies, escalations, digests)
    does not, and a forgotten purpose must not slip through a pause.
    """

    member_id: int
    platform: str
    dedupe_key: str
    kind: str
    message: Message
    subject: str | None = None
    priority: int = PRIORITY_SCHEDULED
    not_before: datetime | None = None
    campaign: str | None = None
    operation: str = SEND
    target_id: int | None = None  # the delivery whose message an update or delete changes
    purpose: str = field(kw_only=True)

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {PURPOSES}, not {self.purpose!r}")
        if self.operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {OPERATIONS}, not {self.operation!r}")
        if (self.operation == SEND) != (self.target_id is None):
            raise ValueError("update and delete need target_id; send takes none")

    def row(self, now: datetime, body: str) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "platform": self.platform,
            "dedupe_key": self.dedupe_key,
            "kind": self.kind,
            "subject": self.subject,
            "campaign": self.campaign,
            "purpose": self.purpose,
            "priority": self.priority,
            "operation": self.operation,
            "target_id": self.target_id,
            "body_hash": body,
            "status": PENDING,
            "attempts": 0,
            "not_before": self.not_before or now,
            "created_at": now,
        }


def _insert(session: Session):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(Delivery)


def body_hash(payload: dict[str, Any]) -> str:
    """The key of a message body: SHA-256 of its canonical JSON (same content, same key)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _store_bodies(session: Session, bodies: dict[str, dict[str, Any]], now: datetime) -> None:
    """Each body once; one already stored only has its ``used_at`` touched.

    The touch (an upsert, not "do nothing") is what keeps housekeeping from
    removing a body while a delivery is being queued with it. Sorted by key, so
    two writers queuing the same bodies lock them in the same order.
    """
    dialect = session.get_bind().dialect.name
    table = DeliveryBody.__table__  # type: ignore[attr-defined]
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    statement = statement.on_conflict_do_update(
        index_elements=["hash"], set_={"used_at": statement.excluded.used_at}
    )
    session.connection().execute(
        statement,
        [
            {"hash": key, "payload": payload, "used_at": now}
            for key, payload in sorted(bodies.items())
        ],
    )


def enqueue_many(
    session: Session, items: Iterable[Outgoing], now: datetime | None = None
) -> set[tuple[int, str]]:
    """Queue operations; return the (member_id, dedupe_key) pairs actually inserted.

    Identical messages share one stored body (``DeliveryBody``): a broadcast of
    one post to 10,000 members stores its content once.
    """
    now = now or utcnow()
    rows: list[dict[str, Any]] = []
    bodies: dict[str, dict[str, Any]] = {}
    keys: dict[int, str] = {}  # a message object queued for many members is hashed once
    for item in items:
        key = keys.get(id(item.message))
        if key is None:
            payload = item.message.to_payload()
            key = keys[id(item.message)] = body_hash(payload)
            bodies.setdefault(key, payload)
        rows.append(item.row(now, key))
    if not rows:
        return set()
    _store_bodies(session, bodies, now)
    table = Delivery.__table__  # type: ignore[attr-defined]
    statement = (
        _insert(session)
        .on_conflict_do_nothing(index_elements=["member_id", "dedupe_key"])
        .returning(table.c.member_id, table.c.dedupe_key)
    )
    # executemany: SQLAlchemy batches it as multi-row INSERTs ("insertmanyvalues")
    # without compiling a new statement for every batch size.
    result = session.connection().execute(statement, rows)
    inserted = {(row[0], row[1]) for row in result}
    return inserted


def enqueue(session: Session, item: Outgoing, now: datetime | None = None) -> bool:
    """Queue one operation; False when the same (member, dedupe key) is already queued."""
    return bool(enqueue_many(session, [item], now))


def _paused_promotional() -> Any:
    return exists().where(DeliveryPause.scope == PROMOTIONAL_PAUSE)


CAMPAIGN_PAUSE = "campaign:"  # + the campaign: the stored pause of one campaign


def _paused_campaign() -> Any:
    """The row's campaign has its own stored pause (``relais campaign pause``)."""
    return exists().where(DeliveryPause.scope == literal(CAMPAIGN_PAUSE).concat(Delivery.campaign))


def release_expired(connection: Connection, now: datetime) -> int:
    """Rows whose worker stopped renewing its lease go back to the queue."""
    result = connection.execute(
        update(Delivery)
        .where(Delivery.status == SENDING, Delivery.claimed_until < now)  # type: ignore[operator]
        # Marked like a timeout: the next attempt first asks the platform whether the
        # message already arrived (the dead worker may have sent it), so none is doubled.
        .values(status=PENDING, claimed_by=None, claimed_until=None, error="timeout: lease expired")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery as a worker holds it: what the send needs, without its payload.

    Plain values, not an ORM object: a worker claims thousands a minute. The
    payload is its body (``load_bodies``), read once per distinct body and cached.
    """

    id: int
    member_id: int
    platform: str
    kind: str
    subject: str | None
    campaign: str | None
    purpose: str
    priority: int
    operation: str
    target_id: int | None
    status: str
    attempts: int
    error: str | None
    dedupe_key: str
    body_hash: str


_CLAIMED_COLUMNS = [
    Delivery.__table__.c[name]  # type: ignore[attr-defined]
    for name in Claimed.__dataclass_fields__  # type: ignore[attr-defined]
]


def claim(
    engine: Engine,
    worker_id: str,
    platforms: list[str],
    limit: int,
    now: datetime | None = None,
    member_id: int | None = None,
    urgent_only: bool = False,
    lease: timedelta = LEASE,
    release: bool = True,
) -> list[Claimed]:
    """Take up to ``limit`` due rows for these platforms, highest priority first.

    Promotional rows are skipped while the stored pause exists; ``urgent_only``
    takes only operational rows at ``PRIORITY_URGENT`` or above (the priority lane).
    ``release`` first puts back rows whose lease expired (a busy worker does it
    every few seconds, not at every claim).
    """
    now = now or utcnow()
    due = and_(
        _IS_PENDING,
        Delivery.platform.in_(platforms),  # type: ignore[attr-defined]
        Delivery.not_before <= now,  # type: ignore[operator]
        or_(Delivery.purpose != PROMOTIONAL, ~_paused_promotional()),
        or_(Delivery.campaign.is_(None), ~_paused_campaign()),  # type: ignore[union-attr]
    )
    if member_id is not None:
        due = and_(due, Delivery.member_id == member_id)
    if urgent_only:
        due = and_(
            due,
            Delivery.priority >= PRIORITY_URGENT,  # type: ignore[operator]
            Delivery.purpose == OPERATIONAL,
        )
    candidates = (
        select(Delivery.id)
        .where(due)
        .order_by(Delivery.priority.desc(), Delivery.id)  # type: ignore[attr-defined]
        .limit(limit)
        # Walk the claim index in order and stop at ``limit``; without the hint SQLite
        # (no statistics) sorts every due row at each claim.
        .with_hint(Delivery, "INDEXED BY ix_delivery_claim", "sqlite")
    )
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if release and not urgent_only:
            release_expired(connection, now)
        table = Delivery.__table__  # type: ignore[attr-defined]
        if postgresql:
            # A materialized CTE locks ``limit`` rows once. (In ``id IN (subquery)`` the
            # planner may run the subquery again for each row, and as the rows it locked
            # stop being pending, SKIP LOCKED hands out the next ones: the whole queue.)
            chosen = (
                candidates.with_for_update(skip_locked=True)
                .cte("claimable")
                .prefix_with("MATERIALIZED")
            )
            taken = table.c.id == chosen.c.id
        else:  # the single writer makes the subquery and the update atomic
            taken = table.c.id.in_(candidates.scalar_subquery())
        # One statement takes the rows and hands them back (RETURNING): no second read.
        statement = (
            update(table)
            .where(taken)
            .values(
                status=SENDING,
                claimed_by=worker_id,
                claimed_until=now + lease,
                attempts=Delivery.attempts + 1,
            )
            .returning(*_CLAIMED_COLUMNS)
        )
        rows = [Claimed(*row) for row in connection.execute(statement)]
    rows.sort(key=lambda row: (-row.priority, row.id))
    return rows


def renew(engine: Engine, worker_id: str, ids: list[int], lease: timedelta = LEASE) -> None:
    """The heartbeat: keep the lease of the rows still in flight."""
    if not ids:
        return
    with engine.begin() as connection:
        connection.execute(
            update(Delivery)
            .where(
                Delivery.id.in_(ids),  # type: ignore[union-attr]
                Delivery.claimed_by == worker_id,
                Delivery.status == SENDING,
            )
            .values(claimed_until=utcnow() + lease)
        )


def finish(
    connection: Session | Connection, delivery_id: int, worker_id: str, values: dict[str, Any]
) -> bool:
    """Record an outcome, only if this worker still holds the claim."""
    result = connection.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id, Delivery.claimed_by == worker_id, Delivery.status == SENDING
        )
        .values(claimed_until=None, **values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def parts_of(connection: Session | Connection, delivery_ids: list[int]) -> dict[int, list[Any]]:
    """The stored parts of these deliveries, in order."""
    if not delivery_ids:
        return {}
    found: dict[int, list[Any]] = {}
    rows = connection.execute(
        select(DeliveryPart.delivery_id, DeliveryPart.message_id, DeliveryPart.channel_id)
        .where(DeliveryPart.delivery_id.in_(delivery_ids))  # type: ignore[attr-defined]
        .order_by(DeliveryPart.delivery_id, DeliveryPart.position)  # type: ignore[arg-type]
    )
    for delivery_id, message_id, channel_id in rows:
        found.setdefault(delivery_id, []).append((message_id, channel_id))
    return found


# Bodies never change (the key is their content's hash): a process keeps the latest ones.
BODY_CACHE = 4096
_bodies: OrderedDict[str, Message] = OrderedDict()
_bodies_lock = threading.Lock()


def _cached(key: str) -> Message | None:
    with _bodies_lock:
        message = _bodies.get(key)
        if message is not None:
            _bodies.move_to_end(key)
        return message


def load_bodies(connection: Session | Connection, keys: Iterable[str]) -> dict[str, Message]:
    """The messages stored under these body keys (from the cache, else in one query)."""
    found: dict[str, Message] = {}
    missing = []
    for key in set(keys):
        message = _cached(key)
        if message is None:
            missing.append(key)
        else:
            found[key] = message
    if missing:
        rows = connection.execute(
            select(DeliveryBody.hash, DeliveryBody.payload).where(
                DeliveryBody.hash.in_(missing)  # type: ignore[attr-defined]
            )
        ).all()
        with _bodies_lock:
            for key, payload in rows:
                message = found[key] = Message.from_payload(payload)
                _bodies[key] = message
            while len(_bodies) > BODY_CACHE:
                _bodies.popitem(last=False)
    return found


def message_of(row: Delivery, bind: Engine | Session | Connection | None = None) -> Message:
    """The message a delivery carries: every reader of a delivery's content goes through here.

    ``claim`` loads the bodies of what it hands out, so a worker finds them in
    the cache; otherwise ``bind`` is read.
    """
    message = _cached(row.body_hash)
    if message is not None:
        return message
    if bind is None:
        raise LookupError(f"the body of delivery {row.id} is not loaded and no database was given")
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return load_bodies(connection, [row.body_hash])[row.body_hash]
    return load_bodies(bind, [row.body_hash])[row.body_hash]


# --- pause, cancel -----------------------------------------------------------------


def pause_promotional(engine: Engine, reason: str | None = None) -> None:
    """Stop every promotional delivery, on every replica, until ``resume_promotional``."""
    with Session(engine) as session:
        if session.get(DeliveryPause, PROMOTIONAL_PAUSE) is None:
            session.add(DeliveryPause(scope=PROMOTIONAL_PAUSE, reason=(reason or "")[:300]))
            session.commit()


def resume_promotional(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(delete(DeliveryPause).where(DeliveryPause.scope == PROMOTIONAL_PAUSE))


def pause_campaign(session: Session, campaign: str, reason: str | None = None) -> None:
    """Hold one campaign's queued deliveries, on every replica, until ``resume_campaign``."""
    scope = CAMPAIGN_PAUSE + campaign
    if session.get(DeliveryPause, scope) is None:
        session.add(DeliveryPause(scope=scope, reason=(reason or "")[:300]))


def resume_campaign(session: Session, campaign: str) -> None:
    session.execute(delete(DeliveryPause).where(DeliveryPause.scope == CAMPAIGN_PAUSE + campaign))


def promotional_paused(connection: Session | Connection) -> bool:
    return bool(connection.execute(select(_paused_promotional())).scalar())


def cancel(
    session: Session, *, campaign: str | None = None, ids: Iterable[int] | None = None
) -> int:
    """Cancel queued deliveries (of a campaign, or by id); rows already sent stay as they are."""
    if campaign is None and ids is None:
        raise ValueError("cancel needs a campaign or ids")
    statement = update(Delivery).where(Delivery.status == PENDING)
    if campaign is not None:
        statement = statement.where(Delivery.campaign == campaign)
    if ids is not None:
        statement = statement.where(Delivery.id.in_(list(ids)))  # type: ignore[union-attr]
    result = session.execute(statement.values(status=CANCELLED, error="cancelled"))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- health ------------------------------------------------------------------------


def queue_health(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Queue depth and the oldest due row's age, from indexes only (O(1) in the table size).

    Counts are capped at ``COUNT_CAP`` (reported as ``"1000+"``): health must stay
    cheap at a million rows.
    """
    now = now or utcnow()

    def capped(status: str) -> int | str:
        inner = select(Delivery.id).where(Delivery.status == status).limit(COUNT_CAP + 1)
        count = session.execute(select(func.count()).select_from(inner.subquery())).scalar_one()
        return f"{COUNT_CAP}+" if count > COUNT_CAP else int(count)

    oldest = session.execute(
        select(Delivery.not_before)
        .where(Delivery.status == PENDING, Delivery.not_before <= now)  # type: ignore[operator]
        .order_by(Delivery.not_before)
        .limit(1)
    ).scalar()
    age = None
    if oldest is not None:
        if oldest.tzinfo is None:
            from datetime import UTC

            oldest = oldest.replace(tzinfo=UTC)
        age = round(max(0.0, (now - oldest).total_seconds()), 1)
    return {
        "pending": capped(PENDING),
        "sending": capped(SENDING),
        "oldest_due_seconds": age,
        "promotional_paused": promotional_paused(session),
    }


__all__ = [
    "CANCELLED",
    "FAILED",
    "SENT",
    "Claimed",
    "Outgoing",
    "body_hash",
    "cancel",
    "claim",
    "enqueue",
    "enqueue_many",
    "finish",
    "load_bodies",
    "message_of",
    "parts_of",
    "pause_campaign",
    "pause_promotional",
    "promotional_paused",
    "queue_health",
    "release_expired",
    "renew",
    "resume_campaign",
    "resume_promotional",
]
