"""The delivery worker: drains the outbox through the platform adapters.

Throughput comes from bounded concurrency, not from batches awaited whole:
each lane keeps up to ``concurrency`` operations in flight and claims more
as soon as one ends, so one slow answer holds one slot, not fifty. Outcomes
are recorded in batches, in short transactions, by one recorder: at most
the operations in flight (and the outcomes not yet written) can be sent
again after a crash, which is the at-least-once window. A heartbeat renews
the lease of the rows in flight, so a dead worker's rows come back after
the lease (``delivery.lease_seconds``, a minute), not minutes.

Two lanes: the priority lane takes only operational rows at
``PRIORITY_URGENT`` or above, with its own capacity, so a crisis alert never
waits behind a campaign; the platform's token bucket serves it first too.

Promotional rows are never claimed while the stored pause exists, and the
pause is re-read (at most half a second old) before each send and each part
of a split message: if it cannot be read, promotional work stops (fails
closed). A paused, throttled or outage-held row goes back to the queue
without using an attempt; a platform outage (revoked token, unreachable
platform) holds the whole platform and shows on ``/healthz`` until a send
succeeds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, delete, insert, select, update
from sqlmodel import Session

from bot import lanes, logs, metrics
from bot.clock import utcnow
from bot.config import DeliverySettings
from bot.delivery import fleet
from bot.delivery.models import (
    CANCELLED,
    DELETE,
    FAILED,
    PENDING,
    PROMOTIONAL,
    SENDING,
    SENT,
    UPDATE,
    Delivery,
    DeliveryPart,
)
from bot.delivery.outbox import (
    Claimed,
    claim,
    finish,
    load_bodies,
    parts_of,
    promotional_paused,
    renew,
)
from bot.members import service as members
from bot.members.models import Address, Member
from bot.messages import Message
from bot.participation.models import ParticipationEvent
from bot.platforms import Attempt, Part, Platform, SendResult

log = logging.getLogger("relais.delivery")

MAX_BACKOFF = 3600.0
PAUSE_FRESHNESS = 0.5  # seconds a read of the stored pause stays good for
OUTAGE_HOLD = 60.0  # seconds a platform in outage is left alone before trying again
RELEASE_EVERY = 5.0  # at most: seconds between two looks for rows whose worker died
RECORD_LINGER = 0.1  # seconds the recorder waits for a fuller batch (fewer transactions)


def backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt``: 2, 4, 8… capped, with jitter."""
    base = min(MAX_BACKOFF, 2.0 ** max(1, attempt))
    return base * random.uniform(0.8, 1.2)


# What the worker reads of a member and an address (``undeliverable``, ``recipient_of``).
_MEMBER_FIELDS = ("id", "email", "name", "language", "left_at")
_ADDRESS_FIELDS = ("member_id", "platform", "user_id", "channel_id", "reference")


@dataclass
class _Batch:
    """What the operations of one claim need, read in a few queries for all of them."""

    members: dict[int, Any]  # rows with _MEMBER_FIELDS
    addresses: dict[tuple[int, str], Any]  # rows with _ADDRESS_FIELDS
    parts: dict[int, list[Any]]
    statuses: dict[int, str]  # of the messages an update or delete changes
    messages: dict[int, Message]  # by delivery id; identical payloads share one Message


class _Lane:
    """Operations in flight (at most ``capacity``) and claimed rows ready to start."""

    def __init__(self, name: str, capacity: int, urgent: bool) -> None:
        self.name = name
        self.capacity = capacity
        self.urgent = urgent
        self.tasks: set[asyncio.Task[None]] = set()
        self.ready: deque[tuple[Claimed, _Batch]] = deque()
        self.claiming: asyncio.Task[int] | None = None
        self.slot_freed = asyncio.Event()
        self.wake = asyncio.Event()
        # The main lane keeps a lane's worth claimed ahead (one claim per ~capacity rows:
        # each claim is a database trip); the priority lane claims what it can send now.
        self.ahead = 0 if urgent else capacity
        self.low_water = 1 if urgent else capacity


class DeliveryWorker:
    """Sends due outbox rows; ``kick()`` wakes it when something was just queued."""

    def __init__(
        self,
        engine: Engine,
        platforms: dict[str, Platform],
        settings: DeliverySettings,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.platforms = platforms
        self.settings = settings
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:12]}"
        self.fleet_size = 1  # live replicas sharing the platforms' limits (PostgreSQL)
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self.last_cycle_at: datetime | None = None  # shown by /healthz
        self._held: set[int] = set()
        self._results: list[tuple[Claimed, SendResult, int]] = []
        self._flush_lock: asyncio.Lock | None = None
        self._pause_state: tuple[float, bool] = (0.0, True)
        self._pause_lock: asyncio.Lock | None = None
        self.outages: dict[str, dict[str, Any]] = {}  # platform -> {until, error, since}
        self.handled = 0
        self.outage_hold = OUTAGE_HOLD
        self._released_at = 0.0
        self.lease = timedelta(seconds=settings.lease_seconds)
        self._lanes: list[_Lane] = []

    # --- control ---------------------------------------------------------------------

    def kick(self) -> None:
        if self._wake is not None:
            self._wake.set()
        for lane in self._lanes:
            lane.wake.set()

    def stop(self) -> None:
        self._stopping = True
        self.kick()

    def platform_health(self, name: str) -> dict[str, Any]:
        """``ok: False`` with the reason while the platform is in outage."""
        outage = self.outages.get(name)
        if outage is None:
            return {}
        return {"ok": False, "failing": outage["error"], "since": outage["since"].isoformat()}

    def _prepare(self) -> None:
        """Fresh asyncio primitives: the console runs each drain in its own event loop."""
        self._wake = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._pause_lock = asyncio.Lock()
        self._recorder: asyncio.Task[None] | None = None
        self._released_at = 0.0  # the first claim looks for rows whose worker died

    def _kick_recorder(self) -> None:
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_loop())

    async def _record_loop(self) -> None:
        while self._results:
            busy = any(not task.done() for lane in self._lanes for task in lane.tasks)
            if busy and len(self._results) < self.settings.record_batch // 2 and not self._stopping:
                # More outcomes are coming: wait for a fuller batch (fewer, larger
                # transactions). A lone send is recorded at once.
                await asyncio.sleep(RECORD_LINGER)
            try:
                await self.flush()
            except Exception:
                log.exception("could not record delivery outcomes; their leases will expire")
                return

    async def run(self) -> None:
        """Both lanes, the recorder, the heartbeat and the fleet's share, until ``stop()``."""
        self._prepare()
        background = [asyncio.create_task(self._heartbeat())]
        if fleet.shared(self.engine):
            await self._beat()  # a replica knows its share and the holds before it sends
            background.append(asyncio.create_task(self._fleet()))
        try:
            await asyncio.gather(
                self._lane(_Lane("urgent", self.settings.priority_concurrency, True), False),
                self._lane(_Lane("main", self.settings.concurrency, False), False),
            )
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.flush_all()
            if fleet.shared(self.engine):
                try:
                    await lanes.delivery(fleet.leave, self.engine, self.worker_id)
                except Exception:
                    log.exception("could not leave the fleet; the others count it out shortly")

    async def _fleet(self) -> None:
        while True:
            await asyncio.sleep(fleet.BEAT)
            await self._beat()

    async def _beat(self) -> None:
        """Say this replica is alive, take its share of each platform's limits, and hold
        a platform another replica was throttled on."""
        try:
            live, holds = await lanes.delivery(fleet.beat, self.engine, self.worker_id)
        except Exception:
            log.exception("could not reach the fleet's table; keeping the last share")
            return
        if live != self.fleet_size:
            log.info("%d replica(s) share the platforms' limits", live)
        self.fleet_size = live
        now = utcnow()
        for name, platform in self.platforms.items():
            platform.share_limits(1.0 / live)
            if name in holds:
                platform.hold((holds[name] - now).total_seconds())

    async def drain(self, member_id: int | None = None) -> int:
        """Send everything due now, then return how many operations were handled."""
        self._prepare()
        before = self.handled
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await asyncio.gather(
                self._lane(
                    _Lane("urgent", self.settings.priority_concurrency, True), True, member_id
                ),
                self._lane(_Lane("main", self.settings.concurrency, False), True, member_id),
            )
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await self.flush_all()
        return self.handled - before

    async def drain_once(self, member_id: int | None = None) -> int:
        """Claim what fits in one lane's capacity, send it, record it."""
        self._prepare()
        lane = _Lane("main", self.settings.concurrency, False)
        claimed = await self._claim_into(lane, lane.capacity, member_id)
        if lane.tasks:
            await asyncio.gather(*lane.tasks)
        await self.flush_all()
        return claimed

    # --- lanes -----------------------------------------------------------------------------

    def _names(self) -> list[str]:
        now = time.monotonic()
        return [n for n in self.platforms if self.outages.get(n, {}).get("until", 0.0) <= now]

    async def _fetch(self, lane: _Lane, want: int, member_id: int | None) -> int:
        """Claim up to ``want`` rows (and what sending them needs) into ``lane.ready``."""
        names = self._names()
        if not names or want <= 0:
            return 0
        release = time.monotonic() - self._released_at >= min(
            RELEASE_EVERY, self.lease.total_seconds() / 4
        )

        def claim_with_context() -> tuple[list[Claimed], _Batch | None]:
            # One trip to a thread for both: each trip costs a loop wake-up.
            rows = claim(
                self.engine,
                self.worker_id,
                names,
                want,
                None,
                member_id,
                lane.urgent,
                self.lease,
                release,
            )
            return rows, (self._context(rows) if rows else None)

        rows, batch = await lanes.delivery(claim_with_context)
        if release and not lane.urgent:
            self._released_at = time.monotonic()
        self.last_cycle_at = utcnow()
        if not rows or batch is None:
            return 0
        self._held.update(row.id for row in rows)
        lane.ready.extend((row, batch) for row in rows)
        return len(rows)

    def _start(self, lane: _Lane) -> None:
        while lane.ready and len(lane.tasks) < lane.capacity:
            row, batch = lane.ready.popleft()
            task = asyncio.create_task(self._one(row, batch))
            lane.tasks.add(task)
            task.add_done_callback(lambda t, lane=lane: self._done(lane, t))

    async def _claim_into(self, lane: _Lane, free: int, member_id: int | None) -> int:
        claimed = await self._fetch(lane, free, member_id)
        self._start(lane)
        return claimed

    def _done(self, lane: _Lane, task: asyncio.Task[None]) -> None:
        """A slot is free: the next claimed row starts at once, without a trip through
        the lane's loop; the loop wakes only to claim more or to notice it is idle."""
        lane.tasks.discard(task)
        if not self._stopping:
            self._start(lane)
        if len(lane.ready) < lane.low_water or not lane.tasks or self._stopping:
            lane.slot_freed.set()

    async def _lane(self, lane: _Lane, until_idle: bool, member_id: int | None = None) -> None:
        """Keep up to ``capacity`` operations in flight and the next ones claimed ahead.

        The next claim runs while sends are in flight (a claim is a trip to the
        database: waiting for it with empty slots would idle them), in batches of
        a lane's capacity or more for the main lane (one claim per operation would
        cost more than the operation); the priority lane claims as soon as it can.
        """
        self._lanes.append(lane)
        dry = False  # the last claim found nothing due: wait for a kick or the poll
        try:
            while not self._stopping:
                self._start(lane)
                claiming = lane.claiming
                if claiming is not None and claiming.done():
                    lane.claiming = None
                    try:
                        dry = claiming.result() == 0
                    except Exception:  # keep the loop alive; the rows stay claimable
                        log.exception("delivery claim failed")
                        if until_idle:
                            raise
                        dry = True
                    continue
                if claiming is None and not dry and len(lane.ready) < lane.low_water:
                    want = lane.capacity + lane.ahead - len(lane.ready)
                    lane.claiming = asyncio.create_task(self._fetch(lane, want, member_id))
                    continue
                if until_idle and dry and claiming is None and not lane.tasks and not lane.ready:
                    await self.flush_all()
                    # Another lane may have put rows back (a retry due now): one more look.
                    if await self._fetch(lane, lane.capacity, member_id):
                        dry = False
                        continue
                    return
                lane.slot_freed.clear()
                waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(lane.slot_freed.wait())]
                if not until_idle:
                    waits.append(asyncio.ensure_future(lane.wake.wait()))
                if claiming is not None:
                    waits.append(claiming)
                done, _ = await asyncio.wait(
                    waits,
                    timeout=self.settings.poll_seconds if dry and not until_idle else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for waiter in waits:
                    if waiter is not claiming:
                        waiter.cancel()
                if lane.wake.is_set() or not done:  # kicked, or the poll: look again
                    lane.wake.clear()
                    dry = False
        finally:
            self._lanes.remove(lane)
            await self._end_lane(lane)

    async def _end_lane(self, lane: _Lane) -> None:
        """Stopping: sends in flight finish; rows claimed but not started go back at once."""
        if lane.claiming is not None:
            with contextlib.suppress(Exception):
                await lane.claiming
        if lane.tasks:
            await asyncio.gather(*lane.tasks, return_exceptions=True)
        if lane.ready:
            unsent = [row.id for row, _ in lane.ready]
            lane.ready.clear()
            await lanes.delivery(self._unclaim, unsent)
            self._held.difference_update(unsent)

    def _unclaim(self, ids: list[int]) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(ids),  # type: ignore[union-attr]
                    Delivery.claimed_by == self.worker_id,
                    Delivery.status == SENDING,
                )
                .values(
                    status=PENDING,
                    claimed_by=None,
                    claimed_until=None,
                    attempts=Delivery.attempts - 1,
                )
            )

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 4)
            held = list(self._held)
            if held:
                try:
                    await lanes.delivery(renew, self.engine, self.worker_id, held, self.lease)
                except Exception:
                    log.exception("could not renew the delivery leases")

    # --- one operation ---------------------------------------------------------------------

    def _context(self, rows: list[Claimed]) -> _Batch:
        """The batch's members, addresses, payloads and stored parts, in a few queries.

        Core rows, not ORM objects: only what ``undeliverable`` and ``recipient_of`` read.
        """
        ids = {row.member_id for row in rows}
        member_table = Member.__table__  # type: ignore[attr-defined]
        address_table = Address.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as connection:
            found = {
                m.id: m
                for m in connection.execute(
                    select(*(member_table.c[name] for name in _MEMBER_FIELDS)).where(
                        member_table.c.id.in_(ids)
                    )
                )
            }
            addresses = {
                (a.member_id, a.platform): a
                for a in connection.execute(
                    select(*(address_table.c[name] for name in _ADDRESS_FIELDS)).where(
                        address_table.c.member_id.in_(ids)
                    )
                )
            }
            targets = [row.target_id for row in rows if row.target_id]
            # Parts exist only for a message tried before (resumed after a pause, a
            # crash, a throttle) or one an update or delete changes.
            tried = [row.id for row in rows if row.attempts > 1 or row.error is not None]
            parts = parts_of(connection, tried + targets)
            statuses: dict[int, str] = {}
            if targets:
                # An update or delete of a message still queued: it has no parts yet.
                statuses = {
                    found_id: status
                    for found_id, status in connection.execute(
                        select(Delivery.id, Delivery.status).where(Delivery.id.in_(targets))  # type: ignore[union-attr]
                    )
                }
            bodies = load_bodies(connection, {row.body_hash for row in rows})
        messages = {row.id: bodies[row.body_hash] for row in rows}
        return _Batch(found, addresses, parts, statuses, messages)

    async def promotional_allowed(self) -> bool:
        """Whether promotional work may go on now (the stored pause, at most 0.5 s old)."""
        read_at, paused = self._pause_state
        if time.monotonic() - read_at <= PAUSE_FRESHNESS:
            return not paused
        assert self._pause_lock is not None
        async with self._pause_lock:
            read_at, paused = self._pause_state
            if time.monotonic() - read_at <= PAUSE_FRESHNESS:
                return not paused
            try:
                paused = await lanes.delivery(self._read_pause)
            except Exception:
                log.exception("cannot read the promotional pause: holding promotional work")
                return False
            self._pause_state = (time.monotonic(), paused)
            return not paused

    def _read_pause(self) -> bool:
        with Session(self.engine) as session:
            return promotional_paused(session)

    async def _one(self, row: Claimed, batch: _Batch) -> None:
        logs.DELIVERY_ID.set(row.id)  # this task's log lines name the delivery
        began = time.monotonic()
        platform = self.platforms[row.platform]
        delivery_id = row.id
        member = batch.members.get(row.member_id)
        address = batch.addresses.get((row.member_id, row.platform))
        stored = [Part(m, c) for m, c in batch.parts.get(delivery_id, [])]
        stored_count = len(stored)
        promotional = row.purpose == PROMOTIONAL

        # A part an update had to add belongs to the message it updates: a retry of the
        # update finds it there and does not post it again.
        owner = (row.target_id or 0) if row.operation == UPDATE else delivery_id

        async def part_sent(position: int, part: Part) -> None:
            nonlocal stored_count
            await lanes.delivery(self._store_part, owner, position, part)
            stored_count = max(stored_count, position + 1)

        async def part_gone(part: Part) -> None:
            await lanes.delivery(self._drop_part, row.target_id or 0, part.message_id)

        async def channel_learned(channel: str) -> None:
            await lanes.delivery(self._remember, row, {"channel_id": channel})

        result: SendResult
        if reason := members.undeliverable(member):  # deleted, or left the company
            result = SendResult.failed(reason)
        elif promotional and not await self.promotional_allowed():
            result = SendResult.paused()
        else:
            try:
                message = batch.messages[delivery_id]
                recipient = members.recipient_of(member, row.platform, address)
                attempt = Attempt(
                    delivery_id=delivery_id,
                    priority=row.priority,
                    promotional=promotional,
                    parts=stored,
                    part_sent=part_sent,
                    part_gone=part_gone,
                    channel_learned=channel_learned,
                    may_continue=self.promotional_allowed,
                    started_at=time.time(),
                    after_timeout=(row.error or "").startswith("timeout"),
                )
                if row.operation == UPDATE or row.operation == DELETE:
                    result = await self._change(platform, recipient, message, attempt, row, batch)
                else:
                    result = await platform.send(recipient, message, attempt)
            except Exception as exc:  # an adapter bug must not lose the message
                log.exception("adapter %s raised on delivery %s", row.platform, row.id)
                result = SendResult.retry(backoff(row.attempts), f"{type(exc).__name__}: {exc}")
        self._note_platform(row.platform, result)
        metrics.delivery_done(row.platform, result.status, time.monotonic() - began)
        self._results.append((row, result, stored_count))
        self.handled += 1
        if len(self._results) >= 4 * self.settings.record_batch:
            await self.flush()  # the database is behind: slow the sends down to its pace
        else:
            self._kick_recorder()

    async def _change(
        self,
        platform: Platform,
        recipient: Any,
        message: Message,
        attempt: Attempt,
        row: Claimed,
        batch: _Batch,
    ) -> SendResult:
        """An update or delete of the message ``row.target_id`` became."""
        target_status = batch.statuses.get(row.target_id or 0)
        attempt.parts = [Part(m, c) for m, c in batch.parts.get(row.target_id or 0, [])]
        if target_status in (PENDING, SENDING) and not attempt.parts:
            if row.operation == DELETE and target_status == PENDING:
                await lanes.delivery(self._cancel_target, row.target_id or 0)
                return SendResult.sent(None)
            return SendResult.retry(5.0, "the message to change is not sent yet")
        if row.operation == DELETE:
            if not attempt.parts:
                return SendResult.sent(None)
            return await platform.delete(recipient, attempt)
        if not attempt.parts:
            return SendResult.failed("the message to update was never sent")
        return await platform.update(recipient, message, attempt)

    def _note_platform(self, name: str, result: SendResult) -> None:
        if result.status == "outage":
            hold = min(self.outage_hold, result.retry_after or self.outage_hold)
            current = self.outages.get(name)
            self.outages[name] = {
                "until": time.monotonic() + hold,
                "error": result.error or "outage",
                "since": current["since"] if current else utcnow(),
            }
            if current is None:
                log.error("%s is failing (%s): holding its deliveries", name, result.error)
        elif result.status == "sent" and name in self.outages:
            del self.outages[name]
            log.warning("%s works again", name)

    # --- recording -------------------------------------------------------------------------

    def _store_part(self, delivery_id: int, position: int, part: Part) -> None:
        table = DeliveryPart.__table__  # type: ignore[attr-defined]
        with self.engine.begin() as connection:
            connection.execute(
                insert(table).values(
                    delivery_id=delivery_id,
                    position=position,
                    message_id=part.message_id[:200],
                    channel_id=part.channel_id,
                )
            )

    def _drop_part(self, delivery_id: int, message_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(DeliveryPart).where(
                    DeliveryPart.delivery_id == delivery_id, DeliveryPart.message_id == message_id
                )
            )

    def _cancel_target(self, target_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(Delivery)
                .where(Delivery.id == target_id, Delivery.status == PENDING)
                .values(status=CANCELLED, error="deleted before it was sent")
            )

    def _remember(self, row: Claimed, fields: dict[str, Any]) -> None:
        with Session(self.engine) as session:
            members.remember_address(session, row.member_id, row.platform, **fields)
            session.commit()

    async def flush_all(self) -> None:
        """Write every outcome gathered so far (including what the recorder is writing)."""
        while True:
            recorder = getattr(self, "_recorder", None)
            if (
                recorder is not None
                and not recorder.done()
                and recorder is not asyncio.current_task()
            ):
                with contextlib.suppress(Exception):
                    await recorder
            if self._results:
                await self.flush()
                continue
            if self._flush_lock is not None:
                async with self._flush_lock:
                    pass  # a flush in progress has ended
            if not self._results:
                return

    async def flush(self) -> None:
        """Write the outcomes gathered so far, in one transaction."""
        if self._flush_lock is None:
            self._prepare()
        assert self._flush_lock is not None
        async with self._flush_lock:
            batch = self._results[: self.settings.record_batch]
            del self._results[: len(batch)]
            if not batch:
                return
            try:
                await lanes.delivery(self._record, batch)
            finally:
                self._held.difference_update(row.id or 0 for row, _, _ in batch)

    def _record(self, batch: list[tuple[Claimed, SendResult, int]]) -> None:
        """Outcomes of many operations in one short transaction (Core statements: the hot path)."""
        now = utcnow()
        events = ParticipationEvent.__table__  # type: ignore[attr-defined]
        parts_table = DeliveryPart.__table__  # type: ignore[attr-defined]
        sent = [(row, result, stored) for row, result, stored in batch if result.status == "sent"]
        with self.engine.begin() as connection:
            if sent:
                ids = [row.id for row, _, _ in sent]
                mine = set(
                    connection.execute(
                        update(Delivery)
                        .where(
                            Delivery.id.in_(ids),  # type: ignore[union-attr]
                            Delivery.claimed_by == self.worker_id,
                            Delivery.status == SENDING,
                        )
                        .values(status=SENT, sent_at=now, claimed_until=None, error=None)
                        .returning(Delivery.id)
                    ).scalars()
                )
                ours = [item for item in sent if item[0].id in mine]
                with_ids = [
                    {"b_id": row.id, "b_message": result.message_id, "b_channel": result.channel_id}
                    for row, result, _ in ours
                    if result.message_id or result.channel_id
                ]
                if with_ids:
                    connection.execute(
                        update(Delivery)
                        .where(Delivery.id == bindparam("b_id"))
                        .values(
                            platform_message_id=bindparam("b_message"),
                            platform_channel_id=bindparam("b_channel"),
                        ),
                        with_ids,
                    )
                new_parts: list[dict[str, Any]] = []
                for row, result, stored in ours:
                    if row.operation == UPDATE or row.operation == DELETE:
                        connection.execute(
                            delete(DeliveryPart).where(DeliveryPart.delivery_id == row.target_id)
                        )
                        new_parts.extend(
                            {
                                "delivery_id": row.target_id,
                                "position": n,
                                "message_id": part.message_id[:200],
                                "channel_id": part.channel_id,
                            }
                            for n, part in enumerate(result.parts)
                        )
                    else:
                        new_parts.extend(
                            {
                                "delivery_id": row.id,
                                "position": n,
                                "message_id": part.message_id[:200],
                                "channel_id": part.channel_id,
                            }
                            for n, part in enumerate(result.parts)
                            if n >= stored
                        )
                if new_parts:
                    connection.execute(insert(parts_table), new_parts)
                if ours:
                    connection.execute(
                        insert(events),
                        [
                            {
                                "kind": f"{row.kind}_delivered"
                                if row.operation not in (UPDATE, DELETE)
                                else f"{row.kind}_{row.operation}d",
                                "member_id": row.member_id,
                                "subject": row.subject,
                                "platform": row.platform,
                                "data": {"delivery_id": row.id},
                                "occurred_at": now,
                            }
                            for row, _, _ in ours
                        ],
                    )
                # DM channels learned (a campaign's first sends): one statement per platform.
                channels: dict[str, dict[int, str]] = {}
                identified = []
                for row, result, _ in ours:
                    remember = dict(result.remember)
                    if set(remember) == {"channel_id"} and remember["channel_id"]:
                        channels.setdefault(row.platform, {})[row.member_id] = remember[
                            "channel_id"
                        ]
                    elif remember or result.user_id:
                        identified.append((row, result))
                for platform, learned in channels.items():
                    members.remember_channels(connection, platform, learned)
                if identified:
                    with Session(bind=connection) as session:
                        for row, result in identified:
                            if result.remember:
                                members.remember_address(
                                    session, row.member_id, row.platform, **result.remember
                                )
                            if result.user_id:
                                members.link_platform_id(
                                    session, row.member_id, row.platform, result.user_id
                                )
                        session.flush()
            for row, result, _ in batch:
                if result.status != "sent":
                    self._record_other(connection, row, result, now, events)
            # A platform's 429 holds the whole fleet (one row per platform, the longest wait).
            holds: dict[str, tuple[float, str]] = {}
            for row, result, _ in batch:
                if result.status == "throttled" and not result.local:
                    wait = result.retry_after or 1.0
                    if wait >= holds.get(row.platform, (0.0, ""))[0]:
                        holds[row.platform] = (wait, result.error or "")
            for platform, (wait, reason) in holds.items():
                fleet.hold(connection, platform, wait, reason, now)

    def _record_other(
        self, connection: Any, row: Claimed, result: SendResult, now: datetime, events: Any
    ) -> None:
        logs.DELIVERY_ID.set(row.id)  # in the recorder's thread: its log lines name the delivery
        if result.status in ("paused", "throttled", "outage"):
            # Not the message's fault: back in the queue, the attempt given back.
            delay = result.retry_after or 0.0
            if result.status == "outage":
                delay = min(delay, self.outage_hold)
            finish(
                connection,
                row.id or 0,
                self.worker_id,
                {
                    "status": PENDING,
                    "claimed_by": None,
                    "attempts": max(0, row.attempts - 1),
                    "not_before": now + timedelta(seconds=delay),
                    "error": (result.error or "")[:500],
                },
            )
            return
        final = result.status == "failed" or row.attempts >= self.settings.max_attempts
        if final:
            error = (result.error or "")[:500]
            log.warning("delivery %s to member %s failed: %s", row.id, row.member_id, result.error)
            if finish(connection, row.id or 0, self.worker_id, {"status": FAILED, "error": error}):
                connection.execute(
                    insert(events).values(
                        kind=f"{row.kind}_failed",
                        member_id=row.member_id,
                        subject=row.subject,
                        platform=row.platform,
                        data={"delivery_id": row.id, "error": error},
                        occurred_at=now,
                    )
                )
            return
        delay = result.retry_after if result.retry_after is not None else backoff(row.attempts)
        finish(
            connection,
            row.id or 0,
            self.worker_id,
            {
                "status": PENDING,
                "claimed_by": None,
                "not_before": now + timedelta(seconds=delay),
                "error": (result.error or "")[:500],
            },
        )
