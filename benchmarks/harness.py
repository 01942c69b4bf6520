"""What the benchmarks start the same way: the demo programme with Slack on, the Slack
stand-in served on loopback, a delivery worker in its own thread, a throw-away PostgreSQL
database, and the median and 95th percentile of a timed call.

Scripts put the repository's root on ``sys.path`` first, then ``from benchmarks.harness
import …``.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
SLACK_OFF = "  slack:\n    enabled: false"
SLACK_ON = "  slack:\n    enabled: true"


def slack_app_yaml(folder: Path) -> Path:
    """The demo app.yaml with Slack enabled, written in ``folder``; its path."""
    config = folder / "app.yaml"
    config.write_text(
        (ROOT / "app.yaml").read_text(encoding="utf-8").replace(SLACK_OFF, SLACK_ON),
        encoding="utf-8",
    )
    return config


def slack_env(api_url: str, secret: str = "secret") -> dict[str, str]:
    """The environment that points Relais's Slack adapter at the stand-in's Web API."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": api_url,
    }


def slack_standin(rate: float | None = None) -> tuple[Any, Any]:
    """The Slack stand-in sending at most ``rate`` posts a second (None: no limit), and the
    loopback server that serves it (not started: enter it)."""
    from tests.conftest import LoopbackServer
    from tests.slack_standin import SlackStandIn

    standin = SlackStandIn({})
    standin.post_rate = rate
    return standin, LoopbackServer(standin.app)


def worker_thread(worker: Any, daemon: bool = False) -> tuple[asyncio.AbstractEventLoop, Any]:
    """The delivery worker running in its own thread and event loop, started: its loop and
    thread (stop the worker, then join the thread)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(worker.run()), daemon=daemon)
    thread.start()
    return loop, thread


@contextmanager
def throwaway_database(server: str) -> Iterator[str]:
    """A database of its own on the PostgreSQL ``server``: its URL, dropped afterwards."""
    name = f"relais_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def with_postgres(server: str, action: Callable[[str], None]) -> None:
    """``action(url)`` on a throw-away database of the PostgreSQL ``server``."""
    with throwaway_database(server) as url:
        action(url)


def timed(runs: int, call: Callable[[], Any]) -> tuple[float, float]:
    """``call()`` ``runs`` times: the median and the 95th percentile, in milliseconds."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)]
    return statistics.median(samples), p95


def member_rows(count: int, **columns: Any) -> list[dict[str, Any]]:
    """``count`` bench members (m<n>@bench.example.com, English, in Europe/Paris, opted-in
    ambassadors) as rows to insert; ``columns`` add or change a column: a value, or a
    function of n for one that varies."""
    return [
        {
            "email": f"m{n}@bench.example.com",
            "name": f"M {n}",
            "language": "en",
            "time_zone": "Europe/Paris",
            "roles": ["ambassador"],
            "opted_in": True,
            **{name: value(n) if callable(value) else value for name, value in columns.items()},
        }
        for n in range(count)
    ]


def campaign_posts(ids: list[int], message: Any, **fields: Any) -> list[Any]:
    """The bench campaign's promotional post to each of these members on Slack, to enqueue."""
    from bot.delivery.outbox import Outgoing

    return [
        Outgoing(
            member_id=member_id,
            platform="slack",
            dedupe_key="bench-campaign",
            kind="post",
            message=message,
            campaign="bench",
            purpose="promotional",
            **fields,
        )
        for member_id in ids
    ]
