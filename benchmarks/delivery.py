"""Benchmark: the delivery engine against a stand-in Slack Web API, side by side with its baselines.

Every figure comes from one run, against one stand-in Slack Web API
(``tests/slack_standin.py``) served by uvicorn in its OWN process on
127.0.0.1, so it does not share the interpreter (and its GIL) with what is
measured: the bare loops and Relais hit the same stand-in.

1. Unthrottled, per database: a bare sequential ``slack_sdk`` ``chat_postMessage``
   loop posting the same Block Kit message (SDK defaults: a new HTTP session per
   call; and with one kept-alive session, the stronger baseline), then Relais's
   real worker draining N queued DMs; the ratio is Relais / the stronger bare
   loop. CPU per message (this process, and the stand-in's) is printed too: on a
   shared machine it says more than the wall clock.
2. Throttled: the stand-in limits chat.postMessage to ``--rate``/s (429 +
   Retry-After); wall / floor (N / rate), 429s, lost, doubled.
3. Priority and pause: a ``--campaign``-DM promotional campaign runs against the
   throttled stand-in; an operational alert to 50 relays at PRIORITY_URGENT is
   queued mid-campaign: its time until the last alert was accepted vs its floor
   (50 / rate). Then ``pause_promotional`` is stored: the time from the pause to
   the last promotional chat.postMessage the stand-in saw start.
4. Faults: the same DMs with 5 % of chat.postMessage answered only after the
   client's timeout (``--timeout``, short on purpose; Slack accepted them), then
   with 5 % answered HTTP 500: wall vs a clean run, lost, doubled, and how many
   conversations.open / conversations.history calls the checks cost.

Sizes (defaults; ``--quick`` divides them by about 5): 5,000 DMs unthrottled
(bare loops: 3,000 calls), 2,000 throttled at 50/s (40 s floor), a 10,000-DM
campaign for the priority/pause run (cancelled once measured), 2,000 DMs per
fault run. About 3 minutes on SQLite, as much again with PostgreSQL.

    .venv/bin/python benchmarks/delivery.py [--quick] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.console import ConsolePlatform  # noqa: E402
from adapters.slack.platform import SlackPlatform  # noqa: E402
from benchmarks.harness import member_rows  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.content.sync import load_checked  # noqa: E402
from bot.core import Relais  # noqa: E402
from bot.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.delivery.models import (  # noqa: E402
    CANCELLED,
    FAILED,
    PRIORITY_URGENT,
    SENT,
    Delivery,
)
from bot.delivery.outbox import Outgoing, cancel, enqueue_many, pause_promotional  # noqa: E402
from bot.delivery.worker import DeliveryWorker  # noqa: E402
from bot.members.models import Address, Member  # noqa: E402
from bot.messages import simple  # noqa: E402
from bot.registry import build_registry  # noqa: E402
from bot.training.service import render  # noqa: E402
from tests.conftest import free_port  # noqa: E402

TOKEN = "xoxb-test-token"


# --- the stand-in, in its own process ------------------------------------------------


class StandIn:
    """``python -m tests.slack_standin PORT`` in a child process, driven over HTTP."""

    def __enter__(self) -> StandIn:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = f"{self.url}/api/"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.slack_standin", str(self.port)], cwd=ROOT
        )
        self.http = httpx.Client(base_url=self.url, timeout=60)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.http.get("/_standin/count")
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(timeout=20)

    def configure(self, **settings: Any) -> None:
        self.http.post("/_standin/configure", json={"reset": True, **settings})

    def record(self) -> dict[str, Any]:
        return self.http.get("/_standin/record").json()

    def cpu(self) -> float:
        """CPU seconds the stand-in's process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def count(self) -> int:
        return int(self.http.get("/_standin/count").json()["posted"])


def tally(record: dict[str, Any], ids: set[int]) -> dict[str, Any]:
    """What the stand-in accepted for these deliveries: lost, doubled, 429s, the checks."""
    accepted = Counter(row[2] for row in record["posted"] if row[2] in ids)
    methods = Counter(call[1] for call in record["calls"])
    return {
        "lost": len(ids - set(accepted)),
        "doubled": sum(n - 1 for n in accepted.values()),
        "throttled": record["throttled"],
        "posts": methods["chat.postMessage"],
        "opens": methods["conversations.open"],
        "histories": methods["conversations.history"],
    }


# --- the programme ---------------------------------------------------------------------


def prepare(url: str, count: int, platform: str, campaign: str | None = None) -> tuple:  # type: ignore[type-arg]
    """N members with a Slack user id each (no DM channel yet), one lesson queued for each."""
    config = load_config(ROOT / "app.yaml")
    content = load_checked(ROOT / "content", config)
    engine = make_engine(url)
    upgrade(engine)
    lesson = content.lesson("welcome", "en")
    message = render("welcome", lesson, "en")
    with session_scope(engine) as session:
        session.connection().execute(
            Member.__table__.insert(),  # type: ignore[attr-defined]
            member_rows(count),
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
        members = session.execute(select(Member.id).order_by(Member.id)).scalars().all()
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
                    campaign=campaign,
                )
                for i in members
            ],
        )
    with engine.connect() as connection:
        ids = set(connection.execute(select(Delivery.id)).scalars())
    return config, content, engine, ids


def slack_platform(config, content, engine, api: str, timeout: float = 10.0) -> SlackPlatform:  # type: ignore[no-untyped-def]
    relais = Relais(config, content, engine, build_registry())
    return SlackPlatform(relais, TOKEN, "secret", api_url=api, send_timeout=timeout)


def open_rows(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.status.not_in([SENT, FAILED, CANCELLED]))  # type: ignore[attr-defined]
        ).scalar_one()


async def serve(
    worker: DeliveryWorker,
    platform: Any,
    until: Callable[[], Any],
    poll: float = 0.05,
) -> None:
    """The worker as ``relais serve`` runs it, until ``until()`` (a blocking check) is true."""
    task = asyncio.create_task(worker.run())
    try:
        while not await asyncio.to_thread(until):
            if task.done():
                await task
            await asyncio.sleep(poll)
    finally:
        worker.stop()
        await task
        if hasattr(platform, "close"):
            await platform.close()


def sent_count(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(Delivery).where(Delivery.status == SENT)
        ).scalar_one()


# --- 1. unthrottled ---------------------------------------------------------------------


def cpu() -> float:
    """CPU seconds this process has used (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Costs:
    """CPU per message, of this process and of the stand-in, over a measured stretch."""

    def __init__(self, standin: StandIn) -> None:
        self.standin = standin
        self.mine, self.theirs = cpu(), standin.cpu()

    def per_message(self, count: int) -> str:
        mine = (cpu() - self.mine) / max(1, count) * 1000
        theirs = (self.standin.cpu() - self.theirs) / max(1, count) * 1000
        return f"CPU/msg {mine:.2f} ms here + {theirs:.2f} ms stand-in"


def lesson_payload() -> dict[str, Any]:
    """The Block Kit Relais sends for the benchmark's lesson: the bare loop posts the same."""
    from adapters.slack.render import render as slack_render

    config = load_config(ROOT / "app.yaml")
    content = load_checked(ROOT / "content", config)
    (payload,) = slack_render(render("welcome", content.lesson("welcome", "en"), "en"))
    return payload


def bare_loop(api: str, count: int, kept_alive: bool) -> float:
    """A bare sequential slack_sdk chat_postMessage loop of the same message: the reference."""
    import aiohttp
    from slack_sdk.web.async_client import AsyncWebClient

    payload = lesson_payload()

    async def loop() -> float:
        session = aiohttp.ClientSession() if kept_alive else None
        client = AsyncWebClient(token=TOKEN, base_url=api, retry_handlers=[], session=session)
        started = time.perf_counter()
        for n in range(count):
            await client.chat_postMessage(channel=f"U{n:08d}", **payload)
        elapsed = time.perf_counter() - started
        if session is not None:
            await session.close()
        return count / elapsed

    return asyncio.run(loop())


def run_console(label: str, url: str, count: int) -> None:
    config, _, engine, _ = prepare(url, count, "console")
    worker = DeliveryWorker(engine, {"console": ConsolePlatform()}, config.delivery)
    started = time.perf_counter()
    asyncio.run(worker.drain())
    elapsed = time.perf_counter() - started
    sent = sent_count(engine)
    print(
        f"{label:<10} console (the core's own cost): {sent} in {elapsed:5.1f} s = {sent / elapsed:6.0f}/s"
    )
    engine.dispose()


def run_unthrottled(label: str, url: str, count: int, standin: StandIn, bare_count: int) -> None:
    standin.configure(post_rate=None)
    costs = Costs(standin)
    default = bare_loop(standin.api, bare_count, kept_alive=False)
    default_costs = costs.per_message(bare_count)
    standin.configure(post_rate=None)
    costs = Costs(standin)
    kept = bare_loop(standin.api, bare_count, kept_alive=True)
    kept_costs = costs.per_message(bare_count)
    standin.configure(post_rate=None)
    config, content, engine, ids = prepare(url, count, "slack")
    slack = slack_platform(config, content, engine, standin.api)
    worker = DeliveryWorker(engine, {"slack": slack}, config.delivery)

    async def drain() -> None:
        await worker.drain()
        await slack.close()

    costs = Costs(standin)
    started = time.perf_counter()
    asyncio.run(drain())
    elapsed = time.perf_counter() - started
    relais_costs = costs.per_message(count)
    sent = sent_count(engine)
    seen = tally(standin.record(), ids)
    rate = sent / elapsed
    best = max(default, kept)
    print(
        f"{label:<10} unthrottled: bare slack_sdk loop, SDK defaults {default:5.0f} msg/s ({default_costs})\n"
        f"{label:<10} unthrottled: bare slack_sdk loop, kept-alive   {kept:5.0f} msg/s ({kept_costs})\n"
        f"{label:<10} unthrottled: Relais worker, {sent} DMs         {rate:5.0f} msg/s ({relais_costs})\n"
        f"{label:<10} unthrottled: ratio {rate / best:4.2f}x the best bare loop "
        f"({rate / default:4.2f}x SDK defaults); lost {seen['lost']}, doubled {seen['doubled']}"
    )
    engine.dispose()


# --- 2. throttled -------------------------------------------------------------------------


def run_throttled(label: str, url: str, count: int, rate: float, standin: StandIn) -> None:
    standin.configure(post_rate=rate)
    config, content, engine, ids = prepare(url, count, "slack")
    slack = slack_platform(config, content, engine, standin.api)
    worker = DeliveryWorker(engine, {"slack": slack}, config.delivery)
    started = time.perf_counter()
    asyncio.run(serve(worker, slack, lambda: open_rows(engine) == 0))
    elapsed = time.perf_counter() - started
    seen = tally(standin.record(), ids)
    floor = count / rate
    print(
        f"{label:<10} throttled at {rate:.0f}/s: {count} DMs in {elapsed:5.1f} s = "
        f"{elapsed / floor:4.2f}x the floor ({floor:.1f} s); 429s {seen['throttled']} "
        f"({seen['throttled'] / count:.1%} of sends); lost {seen['lost']}, doubled {seen['doubled']}"
    )
    engine.dispose()


# --- 3. priority lane and pause -------------------------------------------------------------


def run_priority_and_pause(
    label: str, url: str, count: int, rate: float, standin: StandIn, relays: int = 50
) -> None:
    standin.configure(post_rate=rate)
    config, content, engine, campaign_ids = prepare(url, count + relays, "slack", "bench")
    with engine.connect() as connection:  # the last 50 members are the relays: no campaign DM
        relay_members = (
            connection.execute(select(Member.id).order_by(Member.id.desc()).limit(relays))  # type: ignore[union-attr]
            .scalars()
            .all()
        )
    with session_scope(engine) as session:  # the relays get the alert, not the campaign
        session.execute(
            Delivery.__table__.update()  # type: ignore[attr-defined]
            .where(Delivery.member_id.in_(relay_members))  # type: ignore[attr-defined]
            .values(status=CANCELLED)
        )
    slack = slack_platform(config, content, engine, standin.api)
    worker = DeliveryWorker(engine, {"slack": slack}, config.delivery)
    figures: dict[str, Any] = {}

    async def scenario() -> None:
        task = asyncio.create_task(worker.run())
        try:
            while await asyncio.to_thread(standin.count) < 5 * rate:  # ~5 s into the campaign
                await asyncio.sleep(0.1)

            def alert() -> set[int]:
                with session_scope(engine) as session:
                    enqueue_many(
                        session,
                        [
                            Outgoing(
                                member_id=m,
                                platform="slack",
                                dedupe_key="alert",
                                kind="crisis_alert",
                                message=simple("Crisis: hold every post until further notice."),
                                purpose="operational",
                                priority=PRIORITY_URGENT,
                            )
                            for m in relay_members
                        ],
                    )
                with engine.connect() as connection:
                    return set(
                        connection.execute(
                            select(Delivery.id).where(Delivery.dedupe_key == "alert")
                        ).scalars()
                    )

            queued_at = time.monotonic()
            alert_ids = await asyncio.to_thread(alert)
            worker.kick()  # as the handler that queued it does
            while True:
                record = await asyncio.to_thread(standin.record)
                accepted = [row for row in record["posted"] if row[2] in alert_ids]
                if len({row[2] for row in accepted}) == len(alert_ids):
                    break
                await asyncio.sleep(0.05)
            figures["alert"] = max(row[0] for row in accepted) - queued_at
            figures["alert_doubled"] = len(accepted) - len(alert_ids)
            await asyncio.sleep(1.0)
            paused_at = time.monotonic()
            await asyncio.to_thread(pause_promotional, engine, "benchmark")
            figures["pause_stored"] = time.monotonic() - paused_at
            await asyncio.sleep(3.0)
            record = await asyncio.to_thread(standin.record)
            starts = [
                call[0]
                for call in record["calls"]
                if call[1] == "chat.postMessage" and call[3] in campaign_ids
            ]
            figures["pause"] = max(starts) - paused_at
            figures["after_pause"] = sum(1 for t in starts if t > paused_at)
            figures["campaign_sent"] = len(
                {row[2] for row in record["posted"] if row[2] in campaign_ids}
            )
        finally:
            worker.stop()
            await task
            await slack.close()

    asyncio.run(scenario())
    with session_scope(engine) as session:
        cancel(session, campaign="bench")
    floor = relays / rate
    print(
        f"{label:<10} priority: alert to {relays} relays during a {count}-DM campaign at {rate:.0f}/s "
        f"delivered in {figures['alert']:4.2f} s; floor {floor:.2f} s, target <= {1.1 * floor + 1:.2f} s; "
        f"doubled {figures['alert_doubled']}"
    )
    print(
        f"{label:<10} pause: last promotional chat.postMessage started {figures['pause']:+.2f} s after "
        f"the pause was stored (target <= 1 s); {figures['after_pause']} started after it; "
        f"campaign DMs sent before the pause {figures['campaign_sent']}"
    )
    engine.dispose()


# --- 4. faults ------------------------------------------------------------------------------


def run_faults(
    label: str, url: Callable[[str], str], count: int, timeout: float, standin: StandIn
) -> None:
    results: dict[str, tuple[float, dict[str, Any]]] = {}
    for name, faults in (
        ("clean", {}),
        ("timeouts", {"slow_fraction": 0.05, "slow_seconds": timeout * 2}),
        ("HTTP 500", {"error_fraction": 0.05}),
    ):
        standin.configure(
            **{"post_rate": None, "slow_fraction": 0.0, "error_fraction": 0.0, **faults}
        )
        config, content, engine, ids = prepare(url(f"f{len(results)}"), count, "slack")
        slack = slack_platform(config, content, engine, standin.api, timeout=timeout)
        worker = DeliveryWorker(engine, {"slack": slack}, config.delivery)
        started = time.perf_counter()
        asyncio.run(serve(worker, slack, lambda engine=engine: open_rows(engine) == 0))
        elapsed = time.perf_counter() - started
        results[name] = (elapsed, tally(standin.record(), ids))
        engine.dispose()
    clean = results["clean"][0]
    for name, (elapsed, seen) in results.items():
        print(
            f"{label:<10} faults ({name:<8}, client timeout {timeout:.0f} s): {count} DMs in {elapsed:5.1f} s "
            f"= {elapsed / clean:4.2f}x clean; lost {seen['lost']}, doubled {seen['doubled']}; "
            f"chat.postMessage calls {seen['posts']}, conversations.open {seen['opens']}, "
            f"conversations.history {seen['histories']}"
        )


# --- the run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about a fifth of every size")
    parser.add_argument("--members", type=int, help="DMs in the unthrottled run (5000)")
    parser.add_argument("--throttled", type=int, help="DMs in the throttled run (2000)")
    parser.add_argument(
        "--campaign", type=int, help="DMs in the campaign the alert overtakes (10000)"
    )
    parser.add_argument("--faults", type=int, help="DMs per fault run (2000)")
    parser.add_argument("--rate", type=float, default=50.0, help="the stand-in's limit, per s")
    parser.add_argument(
        "--timeout", type=float, default=1.0, help="client timeout in the fault runs"
    )
    parser.add_argument("--postgres", default=os.environ.get("RELAIS_BENCH_POSTGRES_URL"))
    parser.add_argument(
        "--only", default="unthrottled,throttled,priority,faults,console", help="scenarios to run"
    )
    args = parser.parse_args()
    scale = 5 if args.quick else 1
    members = args.members or 5000 // scale
    throttled = args.throttled or 2000 // scale
    campaign = args.campaign or 10_000 // scale
    faults = args.faults or 2000 // scale
    only = set(args.only.split(","))
    settings = load_config(ROOT / "app.yaml").delivery
    print(
        f"concurrency {settings.concurrency} (+{settings.priority_concurrency} priority lane); "
        f"stand-in Slack in its own process; {os.cpu_count()} CPUs"
    )

    def scenarios(label: str, url: Callable[[str], str], standin: StandIn) -> None:
        if "console" in only:
            run_console(label, url("c"), members)
        if "unthrottled" in only:
            run_unthrottled(label, url("u"), members, standin, min(members, 3000))
        if "throttled" in only:
            run_throttled(label, url("t"), throttled, args.rate, standin)
        if "priority" in only:
            run_priority_and_pause(label, url("p"), campaign, args.rate, standin)
        if "faults" in only:
            run_faults(label, url, faults, args.timeout, standin)

    with StandIn() as standin:
        with tempfile.TemporaryDirectory() as tmp:
            scenarios("sqlite", lambda name: f"sqlite:///{Path(tmp) / name}.db", standin)
        if args.postgres:
            server = args.postgres

            def on_postgres(name: str) -> str:
                database = f"relais_bench_{name}_{uuid.uuid4().hex[:8]}"
                admin = create_engine(server, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{database}"'))
                admin.dispose()
                created.append(database)
                return make_url(server).set(database=database).render_as_string(hide_password=False)

            created: list[str] = []
            try:
                scenarios("postgresql", on_postgres, standin)
            finally:
                admin = create_engine(server, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    for database in created:
                        connection.execute(
                            text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                        )
                admin.dispose()
        else:
            print("postgresql skipped: pass --postgres URL or set RELAIS_BENCH_POSTGRES_URL")
    print(f"peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
