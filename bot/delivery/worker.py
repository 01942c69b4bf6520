"""The delivery worker: drains the outbox through the platform adapters.

Each claimed row is sent once by the adapter, then marked sent (with the
platform's id of the message, for later edits and retractions), rescheduled
(rate limit, server error: exponential backoff with jitter, or the
platform's Retry-After), or failed for good with the reason. Nothing is lost
when a worker dies: its lease expires and another worker takes the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.config import Delivery as DeliverySettings
from bot.delivery.models import FAILED, PENDING, SENT, Delivery
from bot.delivery.outbox import claim, finish
from bot.members import service as members
from bot.members.models import Address, Member
from bot.messages import Message
from bot.participation.models import ParticipationEvent
from bot.platforms import Platform, SendResult

log = logging.getLogger("relais.delivery")

MAX_BACKOFF = 3600.0


def backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt``: 2, 4, 8… capped, with jitter."""
    base = min(MAX_BACKOFF, 2.0 ** max(1, attempt))
    return base * random.uniform(0.8, 1.2)


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
        self._wake = asyncio.Event()
        self._stopping = False
        self.last_cycle_at: datetime | None = None  # shown by /healthz

    def kick(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Drain forever (until ``stop()``), sleeping ``poll_seconds`` when idle."""
        while not self._stopping:
            try:
                sent = await self.drain_once()
            except Exception:  # keep the loop alive; the rows stay claimable
                log.exception("delivery cycle failed")
                sent = 0
            self.last_cycle_at = utcnow()
            if sent == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.settings.poll_seconds)
                self._wake.clear()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def drain_once(self, member_id: int | None = None) -> int:
        """Claim one batch and send it; return how many rows were handled."""
        names = list(self.platforms)
        if not names:
            return 0
        rows = await asyncio.to_thread(
            claim, self.engine, self.worker_id, names, self.settings.batch_size, None, member_id
        )
        if not rows:
            return 0
        found, addresses = await asyncio.to_thread(self._recipients, rows)
        await asyncio.gather(
            *(
                self._deliver(
                    row, found.get(row.member_id), addresses.get((row.member_id, row.platform))
                )
                for row in rows
            )
        )
        return len(rows)

    async def drain(self, member_id: int | None = None) -> int:
        """Send everything due now (used by the console and tests)."""
        total = 0
        while handled := await self.drain_once(member_id):
            total += handled
        return total

    async def _deliver(self, row: Delivery, member: Member | None, address: Address | None) -> None:
        platform = self.platforms[row.platform]
        if reason := members.undeliverable(member):  # deleted, or left the company
            result = SendResult.failed(reason)
        else:
            try:
                message = Message.from_payload(row.payload)
                recipient = members.recipient_of(member, row.platform, address)
                result = await platform.send(recipient, message, row.id or 0)
            except Exception as exc:  # an adapter bug must not lose the message
                log.exception("adapter %s raised while sending delivery %s", row.platform, row.id)
                result = SendResult.retry(backoff(row.attempts), f"{type(exc).__name__}: {exc}")
        # Recorded one by one, as each send ends: a crash resends as little as possible.
        await asyncio.to_thread(self._record, row, result)

    def _recipients(
        self, rows: list[Delivery]
    ) -> tuple[dict[int, Member], dict[tuple[int, str], Address]]:
        """The batch's members and their addresses, in two queries."""
        ids = {row.member_id for row in rows}
        with Session(self.engine, expire_on_commit=False) as session:
            found = {
                m.id or 0: m for m in session.exec(select(Member).where(Member.id.in_(ids))).all()
            }  # type: ignore[union-attr]
            addresses = {
                (a.member_id, a.platform): a
                for a in session.exec(select(Address).where(Address.member_id.in_(ids))).all()  # type: ignore[attr-defined]
            }
        return found, addresses

    def _record(self, row: Delivery, result: SendResult) -> None:
        """The outcome of one send, in one short transaction (Core statements: this is the hot path)."""
        now = utcnow()
        events = ParticipationEvent.__table__  # type: ignore[attr-defined]
        with self.engine.begin() as connection:
            if result.status == "sent":
                values = {
                    "status": SENT,
                    "sent_at": now,
                    "platform_message_id": result.message_id,
                    "platform_channel_id": result.channel_id,
                    "error": None,
                }
                if finish(connection, row.id or 0, self.worker_id, values):
                    connection.execute(
                        insert(events).values(
                            kind=f"{row.kind}_delivered",
                            member_id=row.member_id,
                            subject=row.subject,
                            platform=row.platform,
                            data={"delivery_id": row.id},
                            occurred_at=now,
                        )
                    )
                    if result.remember or result.user_id:
                        with Session(bind=connection) as session:
                            if result.remember:
                                members.remember_address(
                                    session, row.member_id, row.platform, **result.remember
                                )
                            if result.user_id:
                                members.link_platform_id(
                                    session, row.member_id, row.platform, result.user_id
                                )
                            session.flush()
                return
            final = result.status == "failed" or row.attempts >= self.settings.max_attempts
            if final:
                error = (result.error or "")[:500]
                log.warning(
                    "delivery %s to member %s failed: %s", row.id, row.member_id, result.error
                )
                if finish(
                    connection, row.id or 0, self.worker_id, {"status": FAILED, "error": error}
                ):
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
                    "not_before": now + timedelta(seconds=delay),
                    "error": (result.error or "")[:500],
                },
            )
