"""Benchmark: /healthz with 1,000,000 delivery rows, against the same database empty.

/healthz is what a load balancer or an orchestrator polls every few seconds:
it must answer in milliseconds however large the outbox grew. The rows are
made by the database itself (a generated series): mostly sent, some failed or
cancelled, a few thousand waiting, a few scheduled for later, so the queue's
counts go past their cap as in a real backlog. Each figure is the median and
95th percentile of N requests through the real FastAPI app (in process; the
worker and scheduler are not started, so nothing drains the rows meanwhile).

    .venv/bin/python benchmarks/healthz.py [--rows 1000000] [--requests 200] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import bindparam, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from sqlmodel.sql.sqltypes import UTCDateTime  # noqa: E402

from benchmarks.harness import member_rows, throwaway_database  # noqa: E402
from bot.clock import utcnow  # noqa: E402
from bot.db import session_scope  # noqa: E402
from bot.delivery.outbox import Outgoing, enqueue_many  # noqa: E402
from bot.members.models import Member  # noqa: E402
from bot.messages import simple  # noqa: E402
from bot.runtime import build_runtime  # noqa: E402
from bot.web import create_app  # noqa: E402

MEMBERS = 1000

# status by n % 1000: 950 sent, 30 failed, 10 cancelled, 8 waiting (due), 2 scheduled later
FILL = """
INSERT INTO delivery (member_id, platform, dedupe_key, kind, campaign, purpose, priority,
    operation, body_hash, status, attempts, not_before, sent_at, created_at)
SELECT
    {first} + (n % {members}),
    'slack',
    'bench:' || n,
    'post',
    'campaign-' || (n / 10000),
    CASE WHEN n % 7 = 0 THEN 'operational' ELSE 'promotional' END,
    CASE WHEN n % 97 = 0 THEN 100 ELSE 0 END,
    'send',
    :body,
    CASE
        WHEN n % 1000 < 950 THEN 'sent'
        WHEN n % 1000 < 980 THEN 'failed'
        WHEN n % 1000 < 990 THEN 'cancelled'
        ELSE 'pending'
    END,
    1,
    CASE WHEN n % 1000 >= 998 THEN :later ELSE :past END,
    CASE WHEN n % 1000 < 950 THEN :past ELSE NULL END,
    :past
FROM {series}
"""
SERIES = {
    "postgresql": "generate_series(1, :rows) AS n",
    "sqlite": "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :rows) "
    "SELECT n FROM s)",
}


def timed(client: TestClient, requests: int) -> tuple[float, float]:
    """Median and 95th percentile of /healthz, in milliseconds."""
    assert client.get("/healthz").status_code == 200
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get("/healthz")
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def run(name: str, url: str, rows: int, requests: int) -> None:
    runtime = build_runtime(ROOT / "app.yaml", url, auto_upgrade=True)
    engine = runtime.engine
    with session_scope(engine) as session:
        session.connection().execute(
            Member.__table__.insert(),  # type: ignore[attr-defined]
            member_rows(MEMBERS),
        )
        first = session.execute(text("SELECT min(id) FROM member")).scalar_one()
    client = TestClient(create_app(runtime, run_scheduler=False))
    empty = timed(client, requests)

    # One real enqueue stores the body every generated row points to.
    with session_scope(engine) as session:
        enqueue_many(
            session,
            [Outgoing(first, "slack", "seed", "post", simple("Launch"), purpose="promotional")],
        )
        body = session.execute(text("SELECT body_hash FROM delivery")).scalar_one()
    now = utcnow()
    start = time.perf_counter()
    series = SERIES["postgresql" if engine.dialect.name == "postgresql" else "sqlite"]
    fill = text(FILL.format(first=first, members=MEMBERS, series=series)).bindparams(
        bindparam("past", type_=UTCDateTime()), bindparam("later", type_=UTCDateTime())
    )
    with engine.begin() as connection:
        connection.execute(
            fill,
            {
                "rows": rows,
                "body": body,
                "past": now - timedelta(hours=1),
                "later": now + timedelta(days=7),
            },
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    filled = time.perf_counter() - start
    full = timed(client, requests)
    body_json = client.get("/healthz").json()["outbox"]
    print(f"\n{name}: /healthz over {requests} requests (rows made in {filled:.0f} s)")
    print(f"  {'':28}{'median ms':>11}{'p95 ms':>9}")
    print(f"  {'empty outbox':28}{empty[0]:>11.1f}{empty[1]:>9.1f}")
    print(f"  {f'{rows:,} delivery rows':28}{full[0]:>11.1f}{full[1]:>9.1f}")
    print(f"  ratio: {full[0] / empty[0]:.2f}x the empty database; outbox shown: {body_json}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("RELAIS_TEST_POSTGRES_URL"),
        help="a PostgreSQL server URL (a database is created on it for the run and dropped)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{folder}/relais.db", args.rows, args.requests)
    if args.postgres:
        with throwaway_database(args.postgres) as url:
            run("PostgreSQL", url, args.rows, args.requests)


if __name__ == "__main__":
    main()
