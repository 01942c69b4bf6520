"""Several `relais serve` replicas on one PostgreSQL, as a large programme runs them.

Real processes against a stand-in Slack that enforces a workspace rate limit,
fails some calls and answers 429 bursts: a campaign is delivered once to each
member, a replica killed with -9 costs doubles only within what it held, the
workspace's limit is shared by the fleet (not taken by each replica), a 429 to
one replica holds them all, SIGTERM hands back what a replica holds, content
syncs from replicas starting together, and a scheduled slot runs once across
replicas and still runs when the replica that held it died.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlmodel import Session

from bot.clock import utcnow
from bot.content.models import ContentItem
from bot.content.sync import load_checked, sync
from bot.db import make_engine, session_scope
from bot.delivery import fleet
from bot.delivery.fleet import PlatformHold, Replica
from bot.delivery.models import SENDING, SENT, Delivery
from bot.delivery.pacing import TokenBucket
from bot.jobs import lock_key
from tests.conftest import run_scheduled
from tests.test_delivery_crash import (
    accepted,
    programme_world,
    queue,
    serve,
    statuses,
    stop,
    wait_for,
)

RATE = 300  # the workspace's limit, per second, for the whole fleet
CONCURRENCY, RECORD_BATCH = 8, 16
# What one replica holds at most: in flight, claimed ahead, outcomes not yet written.
WINDOW = 3 * CONCURRENCY + 2 + 5 * RECORD_BATCH
MEMBERS = 5000


@pytest.fixture
def fleet_world(programme_dir: Path, postgres_url: str, runtime_factory):  # type: ignore[no-untyped-def]
    delivery = (
        f"  concurrency: {CONCURRENCY}\n"
        "  priority_concurrency: 2\n"
        f"  record_batch: {RECORD_BATCH}\n"
        "  lease_seconds: 3\n"
        "  rate_per_second:\n"
        f"    slack: {RATE}\n"
    )
    yield from programme_world(programme_dir, postgres_url, runtime_factory, MEMBERS, delivery)


def live_replicas(world: dict[str, Any]) -> int:
    with world["engine"].connect() as connection:
        return connection.execute(
            select(func.count())
            .select_from(Replica)
            .where(Replica.seen_at >= utcnow() - timedelta(seconds=fleet.GONE_AFTER))  # type: ignore[arg-type]
        ).scalar_one()


@pytest.mark.postgres
def test_three_replicas_deliver_a_campaign_once_each_at_the_fleets_rate(fleet_world) -> None:  # type: ignore[no-untyped-def]
    world, standin = fleet_world, fleet_world["standin"]
    standin.post_rate = RATE  # 429 + Retry-After past it, for the whole workspace
    standin.error_fraction = 0.05  # and 5 % of posts answered HTTP 500, not accepted
    replicas = [serve(world) for _ in range(3)]
    try:
        wait_for(lambda: live_replicas(world) == 3, "three replicas in the fleet")
        time.sleep(fleet.BEAT * 1.5)  # each has read the fleet's size since
        ids = queue(world, kind="post", purpose="promotional", campaign="fleet-test")
        wait_for(lambda: len(accepted(standin).keys() & ids) >= MEMBERS // 3, "a third delivered")
        with standin._lock:
            standin.rate_limited = 50  # a burst of 429s on top of the limit
        victim = replicas.pop(0)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        wait_for(lambda: statuses(world, SENT) >= ids, "every delivery recorded as sent", 300)
    finally:
        for replica in replicas:
            stop(replica)
        for replica in replicas:
            if replica.poll() is None:
                replica.kill()
    counts = accepted(standin)
    assert ids <= counts.keys()  # everyone got it
    doubled = sum(n - 1 for delivery, n in counts.items() if delivery in ids and n > 1)
    print(f"3 replicas, kill -9 of one: {doubled} doubled, {standin.throttled} 429s")
    assert doubled <= WINDOW  # only what the dead replica held, sent again
    assert max(counts[delivery] for delivery in ids) <= 2
    # The replicas paced themselves at a third of the limit each: the stand-in's limit
    # (not counting the burst it was told to send) refused under 2 % of the posts.
    assert standin.throttled < 0.02 * len(standin.posted), (standin.throttled, len(standin.posted))
    with world["engine"].connect() as connection:
        workers = connection.execute(
            select(func.count(func.distinct(Delivery.claimed_by))).where(Delivery.id.in_(ids))  # type: ignore[union-attr]
        ).scalar_one()
        assert workers >= 2  # the survivors both took part (the dead one's rows were retaken)
        assert connection.execute(select(func.count()).select_from(Replica)).scalar_one() <= 1


@pytest.mark.postgres
def test_a_429_to_one_replica_holds_every_replica(fleet_world) -> None:  # type: ignore[no-untyped-def]
    world, standin = fleet_world, fleet_world["standin"]
    replica = serve(world)
    try:
        # Another replica was told "too many" for 15 s, just now.
        until = utcnow() + timedelta(seconds=15)
        with session_scope(world["engine"]) as session:
            session.add(PlatformHold(platform="slack", until=until, reason="429"))
        time.sleep(fleet.BEAT * 1.5)  # the replica has read it
        ids = queue(world, members=world["members"][:200])
        wait_for(lambda: statuses(world, SENDING), "the replica claimed the rows")
        time.sleep(1.0)
        assert utcnow() < until, "the machine was too slow to see the hold"
        assert not accepted(standin).keys() & ids  # held: nothing went out meanwhile
        wait_for(lambda: statuses(world, SENT) >= ids, "everything sent once the hold ended")
    finally:
        stop(replica)


@pytest.mark.postgres
def test_sigterm_hands_back_what_a_replica_holds(fleet_world) -> None:  # type: ignore[no-untyped-def]
    world, standin = fleet_world, fleet_world["standin"]
    standin.post_rate = 100
    replica = serve(world)
    try:
        ids = queue(world)
        wait_for(lambda: len(accepted(standin).keys() & ids) >= 200, "200 delivered")
        replica.send_signal(signal.SIGTERM)
        # Uvicorn shuts down gracefully, then re-raises the signal (the exit status says so).
        assert replica.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if replica.poll() is None:
            replica.kill()
    held = statuses(world, SENDING)
    sent = statuses(world, SENT)
    assert held == set()  # nothing left claimed: another replica may take it all at once
    assert sent == accepted(standin).keys() & ids  # what went out is recorded, nothing else
    assert 200 <= len(sent) < MEMBERS
    with world["engine"].connect() as connection:
        assert connection.execute(select(func.count()).select_from(Replica)).scalar_one() == 0


@pytest.mark.postgres
def test_replicas_starting_together_sync_the_content_once(
    programme_dir: Path, postgres_url
) -> None:  # type: ignore[no-untyped-def]
    from bot.config import load_config
    from bot.db import upgrade

    config = load_config(programme_dir / "app.yaml")
    library = load_checked(programme_dir / "content", config)
    upgrade(make_engine(postgres_url))
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def replica() -> None:
        engine = make_engine(postgres_url)
        try:
            start.wait()
            with session_scope(engine) as session:
                sync(session, library, config)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=replica) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = make_engine(postgres_url)
    with Session(engine) as session:
        stored = session.execute(select(func.count()).select_from(ContentItem)).scalar_one()
    assert stored == len(list(library.items()))
    engine.dispose()


HOLD_THE_LESSONS_LOCK = """
import sys, time
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
with engine.begin() as connection:  # exactly as bot.jobs.job_lock takes it for a run
    assert connection.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": int(sys.argv[2])}).scalar()
    print("running", flush=True)
    time.sleep(600)
"""


@pytest.mark.postgres
def test_a_lesson_slot_runs_once_across_replicas_and_after_its_runner_died(  # type: ignore[no-untyped-def]
    runtime_factory, postgres_url
) -> None:
    from tests.test_scheduler import PARIS_TEN, slot_runs

    runtime = runtime_factory(postgres_url)
    # A replica is running the lessons job, and dies mid-run (kill -9): its lock goes
    # with its connection, and the slot was not recorded as done.
    runner = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LESSONS_LOCK, postgres_url, str(lock_key("lessons"))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert runner.stdout is not None and runner.stdout.readline().strip() == "running"
        assert run_scheduled(runtime, "lessons", PARIS_TEN) == 0  # another replica: held
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    finally:
        if runner.poll() is None:
            runner.kill()
    # Three replicas' schedulers reach the same slot: it is done once, by one of them.
    others = [runtime_factory(postgres_url, members=False) for _ in range(2)]
    queued = [run_scheduled(r, "lessons", PARIS_TEN) for r in [runtime, *others]]
    assert queued[0] > 0 and queued[1:] == [0, 0]
    assert slot_runs(runtime, "lessons") == [("Europe/Paris", "2026-11-24T10:00")]
    with runtime.engine.connect() as connection:
        per_member = connection.execute(
            select(Delivery.member_id, func.count())
            .where(Delivery.kind == "lesson")
            .group_by(Delivery.member_id)
        ).all()
    assert per_member and all(count == 1 for _, count in per_member)
    assert len(per_member) == queued[0]


# --- the token bucket's share of the fleet (a controlled clock) ---------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_sends_at_its_share_of_the_workspace_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(90.0, clock=clock)
    bucket.set_share(1 / 3)
    assert bucket.rate == pytest.approx(30.0) and bucket.ceiling == pytest.approx(30.0)

    async def first() -> None:
        await bucket.acquire()

    asyncio.run(first())
    assert bucket._next_slot == pytest.approx(100.0 + 1 / 30)  # the next slot, a 30th later
    bucket.set_share(1.0)  # the others left
    assert bucket.rate == pytest.approx(90.0)


def test_a_learned_slowdown_is_kept_in_proportion_when_the_share_changes() -> None:
    bucket = TokenBucket(100.0, clock=Clock())
    bucket.rate = 80.0  # learned from a 429: 80 % of the configured rate
    bucket.set_share(0.5)
    assert bucket.rate == pytest.approx(40.0) and bucket.ceiling == pytest.approx(50.0)


def test_a_hold_from_the_fleet_stops_the_bucket_until_it_ends() -> None:
    clock = Clock()
    bucket = TokenBucket(None, clock=clock)
    bucket.hold(2.5)
    assert bucket.paused_until == pytest.approx(102.5)
    bucket.hold(1.0)  # a shorter one does not shorten it
    assert bucket.paused_until == pytest.approx(102.5)


@pytest.mark.postgres
def test_replicas_count_each_other_and_share_holds(postgres_url) -> None:  # type: ignore[no-untyped-def]
    from bot.db import upgrade

    engine = make_engine(postgres_url)
    upgrade(engine)
    now = utcnow()
    assert fleet.beat(engine, "a", now) == (1, {})
    assert fleet.beat(engine, "b", now)[0] == 2
    with engine.begin() as connection:
        fleet.hold(connection, "slack", 5, "ratelimited", now)
        fleet.hold(connection, "slack", 2, "ratelimited", now)  # the longer one stays
    live, holds = fleet.beat(engine, "a", now + timedelta(seconds=1))
    assert live == 2 and holds == {"slack": now + timedelta(seconds=5)}
    # b fell silent: counted out after GONE_AFTER; a leaves cleanly.
    later = now + timedelta(seconds=fleet.GONE_AFTER + 1)
    assert fleet.beat(engine, "a", later) == (1, {})
    fleet.leave(engine, "a")
    admin = create_engine(postgres_url)
    with admin.connect() as connection:
        assert [r[0] for r in connection.execute(text("SELECT id FROM replica"))] == ["b"]
    admin.dispose()
    engine.dispose()
