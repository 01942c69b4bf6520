"""Benchmark: report → relay notified, and the escalation's delay after its deadline.

The demo programme (app.yaml, content, members) plus N ambassadors, all on
Slack: the real delivery worker runs in the background against the stand-in
Slack Web API on 127.0.0.1, throttled (429 with Retry-After past --rate).

1. Report → relay notified. Reports are handled by the core as the Slack
   adapter hands them over (``Relais.handle``); the time is taken from the
   call to the moment the stand-in accepts the relay's case card. Measured
   idle, then with a promotional campaign to every ambassador queued and
   draining: the card is operational and urgent, so it takes the priority lane.
   Baseline: one bare slack_sdk ``chat.postMessage`` round trip.
2. Escalation delay. Cases whose deadlines fall over the next seconds, the
   real scheduler (APScheduler, the ``case_escalations`` job every 2 s) and
   the worker running: the delay of each step after its deadline (the step
   written in the timeline) and of the escalation card reaching Slack.

    .venv/bin/python benchmarks/response.py [--members 10000] [--reports 40] [--rate 50]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import (  # noqa: E402
    campaign_posts,
    member_rows,
    slack_app_yaml,
    slack_env,
    slack_standin,
    with_postgres,
    worker_thread,
)
from bot.clock import as_utc, utcnow  # noqa: E402
from bot.db import session_scope  # noqa: E402
from bot.delivery.models import PENDING, Delivery  # noqa: E402
from bot.delivery.outbox import enqueue_many  # noqa: E402
from bot.events import CommandEvent, Who  # noqa: E402
from bot.members.importer import import_members  # noqa: E402
from bot.members.models import Address, Member  # noqa: E402
from bot.messages import simple  # noqa: E402
from bot.response.models import Case, CaseStep  # noqa: E402
from bot.runtime import build_runtime  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def figures(values: list[float]) -> str:
    if not values:
        return "no figure"
    return (
        f"p50 {percentile(values, 0.5) * 1000:7.0f} ms  p99 {percentile(values, 0.99) * 1000:7.0f} ms"
        f"  max {max(values) * 1000:7.0f} ms  (n={len(values)})"
    )


class World:
    """A runtime on a fresh database, the Slack stand-in, and the worker in its own thread."""

    def __init__(self, url: str, members: int, rate: float | None, folder: Path) -> None:
        self.standin, server = slack_standin(rate)
        self.api = server.__enter__()
        # The demo programme with Slack on, its Web API being the stand-in.
        config = slack_app_yaml(folder)
        os.environ.update(slack_env(f"{self.api.url}/api/"))
        self.runtime = build_runtime(config, url, content_root=ROOT / "content", auto_upgrade=True)
        self.engine = self.runtime.engine
        import_members(self.engine, ROOT / "demo" / "members.csv", self.runtime.config)
        with session_scope(self.engine) as session:
            if members:
                session.connection().execute(
                    Member.__table__.insert(),  # type: ignore[attr-defined]
                    member_rows(members, department="sales"),
                )
        with session_scope(self.engine) as session:
            ids = session.execute(select(Member.id).order_by(Member.id)).scalars().all()
            session.connection().execute(
                Address.__table__.insert(),  # type: ignore[attr-defined]
                [{"member_id": i, "platform": "slack", "user_id": f"U{i:08d}"} for i in ids],
            )
            session.execute(update(Member).values(preferred_platform="slack"))
            self.ids = {
                email: member_id
                for email, member_id in session.execute(select(Member.email, Member.id)).all()
            }
        self.worker = self.runtime.worker
        self.loop, self.thread = worker_thread(self.worker, daemon=True)

    def kick(self) -> None:
        self.loop.call_soon_threadsafe(self.worker.kick)

    def cards(self, since: int = 0, containing: str = "") -> dict[int, float]:
        """Case id -> when Slack first accepted a card of it (one with its Acknowledge button)."""
        with self.standin._lock:
            posted = list(self.standin.post_times[since:])
        found: dict[int, float] = {}
        for at, _, params in posted:
            blocks = params.get("blocks") or []
            if isinstance(blocks, str):  # form-encoded calls carry them as JSON
                blocks = json.loads(blocks)
            if containing and containing not in json.dumps(blocks, ensure_ascii=False):
                continue
            for block in blocks:
                for element in block.get("elements", []) if isinstance(block, dict) else []:
                    if str(element.get("action_id", "")).startswith("case.ack"):
                        found.setdefault(int(element["value"]), at)
        return found

    def case_of(self, url: str) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(Case.id).where(Case.url == url)).scalar_one()

    def campaign(self) -> int:
        """A promotional message to every bench ambassador, queued at once."""
        message = simple("Our new heat pump range is out: share the launch post!")
        with session_scope(self.engine) as session:
            ids = [i for e, i in self.ids.items() if e.endswith("@bench.example.com")]
            enqueue_many(session, campaign_posts(ids, message))
        self.kick()
        return len(ids)

    def pending(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(Delivery).where(Delivery.status == PENDING)
            ).scalar_one()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.worker.stop)
        self.thread.join(timeout=60)
        self.api.__exit__(None, None, None)
        self.engine.dispose()


def reports(world: World, count: int, tag: str, spacing: float) -> list[float]:
    """Report → the first relay's card accepted by Slack, for ``count`` distinct mentions."""
    relais = world.runtime.relais
    latencies = []
    for n in range(count):
        mark = len(world.standin.post_times)
        url = f"https://x.example.com/{tag}/{n}"
        started = time.monotonic()
        outcome = relais.handle(
            CommandEvent(
                Who("slack", user_id=f"U{world.ids['emma.wilson@example.com']:08d}"),
                f"bench-{tag}-{n}",
                name="report",
                args=f"{url} customer {n} furious: invoice {tag} {n} wrong",
            )
        )
        world.kick()
        assert outcome.queued, outcome
        case_id = world.case_of(url)
        deadline = started + 60
        while time.monotonic() < deadline:
            at = world.cards(mark).get(case_id)
            if at is not None:
                latencies.append(at - started)
                break
            time.sleep(0.002)
        time.sleep(spacing)
    return latencies


def bare_round_trip(api_url: str, count: int = 50) -> list[float]:
    from slack_sdk import WebClient

    client = WebClient(token="xoxb-test-token", base_url=api_url, retry_handlers=[])
    times = []
    for n in range(count):
        started = time.monotonic()
        client.chat_postMessage(channel=f"U9{n:07d}", text="bench")
        times.append(time.monotonic() - started)
    return times


def escalations(world: World, count: int, spread: float) -> tuple[list[float], list[float]]:
    """Deadlines over the next ``spread`` seconds; the real scheduler fires the chain."""
    from bot.scheduler import ProgrammeScheduler

    relais = world.runtime.relais
    for n in range(count):
        relais.handle(
            CommandEvent(
                Who("slack", user_id=f"U{world.ids['liam.tremblay@example.com']:08d}"),
                f"bench-esc-{n}",
                name="report",
                args=f"https://x.example.com/esc/{n} overdue {n}: customer {n} furious",
            )
        )
    now = utcnow()
    first = now + timedelta(seconds=3)
    with session_scope(world.engine) as session:
        cases = session.execute(
            select(Case.id).where(Case.url.like("%/esc/%")).order_by(Case.id)  # type: ignore[attr-defined]
        ).scalars()
        deadlines = {}
        for n, case_id in enumerate(cases):
            due = first + timedelta(seconds=spread * n / max(1, count - 1))
            deadlines[case_id] = due
            session.execute(update(Case).where(Case.id == case_id).values(next_escalation_at=due))
    mark = len(world.standin.post_times)
    scheduler = ProgrammeScheduler(world.runtime, wake=world.kick)
    scheduler.start()
    time.sleep(spread + 3 + 8)
    scheduler.shutdown()
    with session_scope(world.engine) as session:
        steps = session.execute(
            select(CaseStep.case_id, func.min(CaseStep.at))
            .where(CaseStep.kind == "escalated")
            .group_by(CaseStep.case_id)
        ).all()
    fired = [(as_utc(at) - deadlines[c]).total_seconds() for c, at in steps]
    # The chain's first step (the backup relays) gets the card: when Slack accepted it.
    wall = time.time() - time.monotonic()
    delivered = [
        at + wall - deadlines[case_id].timestamp()
        for case_id, at in world.cards(mark, containing="escala").items()
        if case_id in deadlines
    ]
    return fired, delivered


def run(label: str, url: str, members: int, count: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        measure(label, World(url, members, rate, Path(folder)), count, rate)


def measure(label: str, world: World, count: int, rate: float) -> None:
    try:
        base = bare_round_trip(f"{world.api.url}/api/")  # before the campaign takes the rate
        print(
            f"{label}: report → relay's card accepted by Slack (stand-in throttled at {rate:.0f}/s)"
        )
        print(f"  baseline: bare slack_sdk post {figures(base)}", flush=True)
        idle = reports(world, count, "idle", 1.1)  # Slack: 1 message/s per channel
        print(f"  idle                          {figures(idle)}", flush=True)
        queued = world.campaign()
        time.sleep(1.0)  # the campaign is draining
        busy = reports(world, count, "busy", 1.1)
        left = world.pending()
        print(
            f"  {queued:>6} promotional queued   {figures(busy)}  ({left} still queued after)",
            flush=True,
        )
        fired, delivered = escalations(world, 20, 30.0)
        print(f"{label}: escalation after its deadline (real scheduler, job every 2 s)")
        print(f"  step fired (timeline)         {figures(fired)}")
        print(f"  card accepted by Slack        {figures(delivered)}", flush=True)
    finally:
        world.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--reports", type=int, default=40)
    parser.add_argument("--rate", type=float, default=50.0, help="the stand-in's limit, per s")
    parser.add_argument("--postgres", default=os.environ.get("RELAIS_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    os.environ.setdefault("RELAIS_LANG", "en")
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'r.db'}", args.members, args.reports, args.rate)
    if args.postgres:
        with_postgres(
            args.postgres,
            lambda url: run("postgresql", url, args.members, args.reports, args.rate),
        )
    else:
        print("postgresql skipped: pass --postgres URL or set RELAIS_BENCH_POSTGRES_URL")


if __name__ == "__main__":
    main()
