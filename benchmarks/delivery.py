"""Benchmark: draining the outbox, through the console platform and through Slack.

Queues one message for each of N members, then lets the real delivery worker
send them: through the console platform (the core's own cost: claim, send,
record) and through the Slack adapter with the real slack_sdk client against a
stand-in Slack Web API on 127.0.0.1 (one DM channel per member, so Slack's
one-message-per-second-per-channel pacing does not bound the figure).

    .venv/bin/python benchmarks/delivery.py [--members 5000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.console import ConsolePlatform  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.content.sync import load_checked  # noqa: E402
from bot.core import Relais  # noqa: E402
from bot.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.delivery.models import SENT, Delivery  # noqa: E402
from bot.delivery.outbox import Outgoing, enqueue_many  # noqa: E402
from bot.delivery.worker import DeliveryWorker  # noqa: E402
from bot.members.models import Address, Member  # noqa: E402
from bot.registry import build_registry  # noqa: E402
from bot.training.service import render  # noqa: E402


def prepare(url: str, count: int, platform: str) -> tuple:  # type: ignore[type-arg]
    config = load_config(ROOT / "app.yaml")
    content = load_checked(ROOT / "content", config)
    engine = make_engine(url)
    upgrade(engine)
    lesson = content.lesson("welcome", "en")
    message = render("welcome", lesson, "en")
    with session_scope(engine) as session:
        session.connection().execute(
            Member.__table__.insert(),
            [  # type: ignore[attr-defined]
                {
                    "email": f"m{n}@bench.example.com",
                    "name": f"M {n}",
                    "language": "en",
                    "time_zone": "Europe/Paris",
                    "roles": ["ambassador"],
                    "opted_in": True,
                }
                for n in range(count)
            ],
        )
    with session_scope(engine) as session:
        session.connection().execute(
            Address.__table__.insert(),  # type: ignore[attr-defined]
            [
                {"member_id": member_id, "platform": "slack", "user_id": f"U{n:08d}"}
                for n, member_id in enumerate(
                    session.execute(select(Member.id).order_by(Member.id)).scalars()
                )
            ],
        )
    with session_scope(engine) as session:
        ids = session.execute(select(Member.id)).scalars().all()
        enqueue_many(
            session,
            [
                Outgoing(
                    member_id=i,
                    platform=platform,
                    dedupe_key="bench",
                    kind="lesson",
                    subject="welcome",
                    message=message,
                    purpose="promotional",
                )
                for i in ids
            ],
        )
    return config, content, engine


def drain(engine, platforms, config) -> float:  # type: ignore[no-untyped-def]
    worker = DeliveryWorker(engine, platforms, config.delivery)
    started = time.perf_counter()
    asyncio.run(worker.drain())
    elapsed = time.perf_counter() - started
    with engine.connect() as connection:
        sent = connection.execute(
            select(func.count()).select_from(Delivery).where(Delivery.status == SENT)
        ).scalar_one()
    return elapsed if sent else float("nan"), sent


def run_console(label: str, url: str, count: int) -> None:
    config, _, engine = prepare(url, count, "console")
    elapsed, sent = drain(engine, {"console": ConsolePlatform()}, config)
    print(
        f"{label:<10} console: {sent} deliveries in {elapsed:6.1f} s = {sent / elapsed:7.0f} messages/s"
    )
    engine.dispose()


def bare_loop(api_url: str, count: int) -> float:
    """A bare sequential slack_sdk chat_postMessage loop: the reference figure."""
    from slack_sdk.web.async_client import AsyncWebClient

    async def loop() -> float:
        client = AsyncWebClient(token="xoxb-test-token", base_url=api_url, retry_handlers=[])
        started = time.perf_counter()
        for n in range(count):
            await client.chat_postMessage(channel=f"U{n:08d}", text="bench")
        return count / (time.perf_counter() - started)

    return asyncio.run(loop())


def run_slack(label: str, url: str, count: int, rate: float | None = None) -> None:
    """Relais vs the bare loop on one stand-in; with ``rate``, the stand-in throttles at it."""
    sys.path.insert(0, str(ROOT / "tests"))
    from adapters.slack.platform import SlackPlatform
    from tests.conftest import LoopbackServer
    from tests.slack_standin import SlackStandIn

    config, content, engine = prepare(url, count, "slack")
    standin = SlackStandIn({})
    with LoopbackServer(standin.app) as api:
        bare = bare_loop(f"{api.url}/api/", min(count, 2000)) if rate is None else None
        standin.posted.clear()
        standin.post_rate = rate
        relais = Relais(config, content, engine, build_registry())
        slack = SlackPlatform(relais, "xoxb-test-token", "secret", api_url=f"{api.url}/api/")
        elapsed, sent = drain(engine, {"slack": slack}, config)
    channels = [p["channel"] for p in standin.posted]
    doubled = len(channels) - len(set(channels))
    if rate is None:
        print(
            f"{label:<10} slack:   {sent} deliveries in {elapsed:6.1f} s = {sent / elapsed:7.0f} msg/s; "
            f"bare slack_sdk loop {bare:7.0f} msg/s; ratio {sent / elapsed / bare:4.2f}x "
            f"(doubled {doubled})"
        )
    else:
        floor = count / rate
        print(
            f"{label:<10} slack throttled at {rate:.0f}/s: {sent} sent in {elapsed:6.1f} s = "
            f"{elapsed / floor:4.2f}x the floor ({floor:.1f} s); {standin.throttled} 429s "
            f"({standin.throttled / max(1, sent):.1%}); lost {count - len(set(channels))}, "
            f"doubled {doubled}"
        )
    engine.dispose()


def with_postgres(server: str, action) -> None:  # type: ignore[no-untyped-def]
    name = f"relais_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        action(make_url(server).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--postgres", default=os.environ.get("RELAIS_BENCH_POSTGRES_URL"))
    parser.add_argument("--throttled", type=int, default=1000, help="DMs in the throttled run")
    parser.add_argument("--rate", type=float, default=50.0, help="the stand-in's limit, per s")
    args = parser.parse_args()
    settings = load_config(ROOT / "app.yaml").delivery
    print(f"{args.members} deliveries, concurrency {settings.concurrency}")
    with tempfile.TemporaryDirectory() as tmp:
        run_console("sqlite", f"sqlite:///{Path(tmp) / 'c.db'}", args.members)
        run_slack("sqlite", f"sqlite:///{Path(tmp) / 's.db'}", args.members)
        run_slack("sqlite", f"sqlite:///{Path(tmp) / 't.db'}", args.throttled, args.rate)
    if args.postgres:
        with_postgres(args.postgres, lambda url: run_console("postgresql", url, args.members))
        with_postgres(args.postgres, lambda url: run_slack("postgresql", url, args.members))
    else:
        print("postgresql skipped: pass --postgres URL or set RELAIS_BENCH_POSTGRES_URL")
    print(f"peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
