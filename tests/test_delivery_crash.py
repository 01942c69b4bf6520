"""Real worker processes (`relais serve`) on PostgreSQL: kill -9 mid-drain, and two at once.

The workers talk to a stand-in Slack Web API that records every message it
accepted with the delivery id Relais puts in its metadata, so a message sent
twice is counted, whatever the database says.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.delivery.models import SENDING, SENT, Delivery
from bot.delivery.outbox import Outgoing, enqueue_many
from bot.members.models import Address, Member
from bot.messages import simple
from tests.conftest import LoopbackServer, free_port
from tests.slack_standin import SlackStandIn

pytestmark = pytest.mark.postgres

# Small on purpose: the window a crash can double is bounded by these, so it is smaller
# than the drain and the bound below says something.
CONCURRENCY, PRIORITY_CONCURRENCY, RECORD_BATCH = 8, 2, 16
# Rows a worker holds at most: in flight and claimed ahead in both lanes, outcomes not
# yet written (up to four batches before the sends wait) and the batch being written.
WINDOW = 2 * (CONCURRENCY + PRIORITY_CONCURRENCY) + 5 * RECORD_BATCH
ROWS = 600


@pytest.fixture
def world(programme_dir: Path, postgres_url: str, runtime_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A programme with Slack on, a short lease, ``ROWS`` members and the stand-in API."""
    delivery = (
        f"  concurrency: {CONCURRENCY}\n"
        f"  priority_concurrency: {PRIORITY_CONCURRENCY}\n"
        f"  record_batch: {RECORD_BATCH}\n"
        "  lease_seconds: 2\n"
        "  rate_per_second:\n"
        "    slack: 150\n"
    )
    yield from programme_world(programme_dir, postgres_url, runtime_factory, ROWS, delivery)


def programme_world(  # type: ignore[no-untyped-def]
    programme_dir: Path, postgres_url: str, runtime_factory, rows: int, delivery: str
) -> Iterator[dict[str, Any]]:
    """Slack on, ``delivery`` settings (app.yaml lines), ``rows`` members, the stand-in API."""
    runtime = runtime_factory(postgres_url, members=False)  # creates the schema
    config = programme_dir / "app.yaml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("  slack:\n    enabled: false", "  slack:\n    enabled: true")
    text = text.replace("delivery:\n", "delivery:\n" + delivery)
    config.write_text(text, encoding="utf-8")  # for the worker processes
    with session_scope(runtime.engine) as session:
        session.connection().execute(
            Member.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "email": f"relay{n}@example.com",
                    "name": f"Relay {n}",
                    "language": "en",
                    "time_zone": "Europe/Paris",
                    "roles": ["ambassador"],
                    "opted_in": False,  # no scheduled lesson of their own: only ours go out
                }
                for n in range(rows)
            ],
        )
        ids = session.execute(select(Member.id).order_by(Member.id)).scalars().all()
        session.connection().execute(
            Address.__table__.insert(),  # type: ignore[attr-defined]
            [
                {"member_id": member, "platform": "slack", "user_id": f"U{n:08d}"}
                for n, member in enumerate(ids)
            ],
        )
    standin = SlackStandIn({})
    with LoopbackServer(standin.app) as api:
        yield {
            "config": config,
            "url": postgres_url,
            "api": f"{api.url}/api/",
            "engine": runtime.engine,
            "members": ids,
            "standin": standin,
        }


def serve(world: dict[str, Any]) -> subprocess.Popen[bytes]:
    """``relais serve`` in its own process, as production runs it; returns once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "RELAIS_DATABASE_URL": world["url"],
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": world["api"],
        "RELAIS_LOG_LEVEL": "WARNING",
    }
    env.pop("SLACK_APP_TOKEN", None)
    relais = Path(sys.executable).with_name("relais")
    process = subprocess.Popen(
        [str(relais), "serve", "--config", str(world["config"]), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )

    def answers() -> bool:
        assert process.poll() is None, "relais serve exited"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code < 500
        except httpx.TransportError:
            return False

    wait_for(answers, "relais serve answering /healthz")
    return process


def wait_for(check: Callable[[], Any], what: str, seconds: float = 180) -> Any:
    """Poll until ``check()`` is true; the deadline only stops a hung test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def queue(world: dict[str, Any], members: list[int] | None = None, **fields: Any) -> set[int]:
    """One message to every member (or to ``members``), operational unless ``fields`` say otherwise."""
    settings = {"kind": "reply", "purpose": "operational", **fields}
    with session_scope(world["engine"]) as session:
        enqueue_many(
            session,
            [
                Outgoing(
                    member_id=member,
                    platform="slack",
                    dedupe_key="crash-test",
                    message=simple(f"Message {n}"),
                    **settings,
                )
                for n, member in enumerate(world["members"] if members is None else members)
            ],
        )
    with world["engine"].connect() as connection:
        return set(  # only these: the programme's own jobs may have queued others
            connection.execute(
                select(Delivery.id).where(Delivery.dedupe_key == "crash-test")
            ).scalars()
        )


def accepted(standin: SlackStandIn) -> Counter[int]:
    """How many times Slack accepted each delivery (by the id in the message's metadata)."""
    with standin._lock:
        return Counter(
            ((p.get("metadata") or {}).get("event_payload") or {}).get("delivery")
            for p in standin.posted
        )


def statuses(world: dict[str, Any], status: str) -> set[int]:
    with world["engine"].connect() as connection:
        return set(
            connection.execute(select(Delivery.id).where(Delivery.status == status)).scalars()
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_kill_9_mid_drain_another_worker_finishes_doubles_only_within_the_window(world) -> None:  # type: ignore[no-untyped-def]
    first = serve(world)
    try:
        ids = queue(world)
        wait_for(
            lambda: len(accepted(world["standin"]).keys() & ids) >= ROWS // 4, "a quarter sent"
        )
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            first.kill()
    held = statuses(world, SENDING)  # what the dead worker had claimed: the only doubling risk
    sent_before = len(accepted(world["standin"]).keys() & ids)
    assert 0 < sent_before < ROWS, "the kill did not land mid-drain"
    assert 0 < len(held) <= WINDOW

    second = serve(world)
    try:
        wait_for(lambda: statuses(world, SENT) >= ids, "every delivery recorded as sent")
    finally:
        stop(second)
    counts = accepted(world["standin"])
    assert ids <= counts.keys()  # every row sent at least once
    doubled = {delivery: n - 1 for delivery, n in counts.items() if delivery in ids and n > 1}
    print(f"kill -9: {len(held)} rows held by the dead worker, {sum(doubled.values())} doubled")
    assert doubled.keys() <= held  # only rows the dead worker held, each at most once more
    assert max(doubled.values(), default=0) <= 1
    with world["engine"].connect() as connection:
        attempts = connection.execute(
            select(func.max(Delivery.attempts)).where(Delivery.id.in_(ids))  # type: ignore[union-attr]
        ).scalar_one()
    assert attempts <= 2


def test_two_workers_on_one_outbox_send_each_row_once(world) -> None:  # type: ignore[no-untyped-def]
    workers = [serve(world), serve(world)]
    try:
        ids = queue(world)
        wait_for(lambda: statuses(world, SENT) >= ids, "every delivery recorded as sent")
    finally:
        for worker in workers:
            stop(worker)
    counts = accepted(world["standin"])
    assert {delivery: n for delivery, n in counts.items() if delivery in ids} == dict.fromkeys(
        ids, 1
    )
    with world["engine"].connect() as connection:
        by_worker = connection.execute(
            select(Delivery.claimed_by, func.count())
            .where(Delivery.id.in_(ids))  # type: ignore[union-attr]
            .group_by(Delivery.claimed_by)
        ).all()
    assert len(by_worker) == 2, by_worker  # both workers took part
