"""Benchmark: a crisis declared while a 10,000-member campaign is sending to a throttled Slack.

The real delivery worker sends a promotional campaign through the Slack adapter
(real slack_sdk client) to a stand-in Slack Web API on 127.0.0.1 that enforces
a rate limit (429 with Retry-After past it). Once the campaign is well under
way, a crisis is declared exactly as `relais crisis declare` does (one
transaction: pause, alerts, outbox rows). Figures, side by side with their
baselines from the same run:

- declared → last promotional post accepted by Slack (target < 1 s), counted
  from the moment the declaration was asked for and from its commit;
- the holding statement to every ambassador: from the declaration to the last
  alert accepted, against the rate-limit floor (alert posts / rate; target ≤ 1.1×).

    .venv/bin/python benchmarks/crisis.py [--members 10000] [--rate 200] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import (  # noqa: E402
    campaign_posts,
    member_rows,
    slack_app_yaml,
    slack_standin,
    with_postgres,
    worker_thread,
)
from bot.config import load_config  # noqa: E402
from bot.content.sync import load_checked  # noqa: E402
from bot.core import Relais  # noqa: E402
from bot.crisis import service  # noqa: E402
from bot.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.delivery.models import PENDING, SENDING, SENT, Delivery  # noqa: E402
from bot.delivery.outbox import enqueue_many  # noqa: E402
from bot.delivery.worker import DeliveryWorker  # noqa: E402
from bot.i18n import Tr  # noqa: E402
from bot.members.models import Address, Member  # noqa: E402
from bot.messages import simple  # noqa: E402
from bot.registry import build_registry  # noqa: E402

CAMPAIGN_TEXT = "bench campaign post"


def prepare(url: str, count: int):  # type: ignore[no-untyped-def]
    """``count`` ambassadors reachable on Slack, and a promotional campaign queued for each."""
    # The programme with Slack on: members are reached there, as in a real workspace.
    os.environ.setdefault("SLACK_BOT_TOKEN", "xoxb-test-token")
    os.environ.setdefault("SLACK_SIGNING_SECRET", "secret")
    config = load_config(slack_app_yaml(Path(tempfile.mkdtemp())))
    assert "slack" in config.platforms.enabled()
    content = load_checked(ROOT / "content", config)
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        session.connection().execute(
            Member.__table__.insert(),  # type: ignore[attr-defined]
            member_rows(
                count,
                department=lambda n: ("sales", "hr", "legal", "marketing")[n % 4],
                language=lambda n: "en" if n % 2 else "fr",
                preferred_platform="slack",
            ),
        )
    with session_scope(engine) as session:
        ids = session.execute(select(Member.id).order_by(Member.id)).scalars().all()
        session.connection().execute(
            Address.__table__.insert(),  # type: ignore[attr-defined]
            [
                {"member_id": member_id, "platform": "slack", "user_id": f"U{n:08d}"}
                for n, member_id in enumerate(ids)
            ],
        )
        enqueue_many(session, campaign_posts(ids, simple(CAMPAIGN_TEXT)))
    return config, content, engine


def run(label: str, url: str, count: int, rate: float, head_start: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from adapters.slack.platform import SlackPlatform

    config, content, engine = prepare(url, count)
    standin, server = slack_standin(rate)
    with server as api:
        relais = Relais(config, content, engine, build_registry())
        slack = SlackPlatform(relais, "xoxb-test-token", "secret", api_url=f"{api.url}/api/")
        worker = DeliveryWorker(engine, {"slack": slack}, config.delivery)
        _, thread = worker_thread(worker)
        while len(standin.posted) < head_start:  # the campaign is well under way
            time.sleep(0.01)
        asked = time.monotonic()
        with session_scope(engine) as session:
            declared = service.declare(
                session,
                config,
                content,
                Tr("en"),
                playbook_id="storm-power-outage",
                by=None,
                via="cli",
            )
            alerts = declared.cell + declared.ambassadors
        committed = time.monotonic()
        worker.kick()

        def alerts_waiting() -> int:
            with engine.connect() as connection:
                return connection.execute(
                    select(func.count())
                    .select_from(Delivery)
                    .where(
                        Delivery.kind == "crisis_alert",
                        Delivery.status.in_((PENDING, SENDING)),  # type: ignore[attr-defined]
                    )
                ).scalar_one()

        while alerts_waiting():
            time.sleep(0.5)
        with engine.connect() as connection:
            sent = connection.execute(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.kind == "crisis_alert", Delivery.status == SENT)
            ).scalar_one()
        worker.stop()
        thread.join()
    with standin._lock:
        posts = list(standin.post_times)
    campaign = [t for t, _, params in posts if params.get("text") == CAMPAIGN_TEXT]
    alert_posts = [t for t, _, params in posts if params.get("text") != CAMPAIGN_TEXT]
    after = [t for t in campaign if t > committed]
    last_promo = max(campaign)
    last_alert = max(alert_posts)
    floor = len(alert_posts) / rate
    took = last_alert - asked
    print(
        f"{label:<10} {count} ambassadors, Slack limited to {rate:.0f} posts/s; campaign posts "
        f"before the crisis: {len(campaign)}"
    )
    print(
        f"{label:<10} declaration (one transaction, {alerts} alerts queued): "
        f"{committed - asked:5.2f} s; alerts sent {sent}, lost {alerts - sent}"
    )
    print(
        f"{label:<10} declared → last promotional post: {last_promo - asked:5.2f} s from the "
        f"request, {last_promo - committed:+5.2f} s from the commit; {len(after)} promotional "
        f"posts accepted after the commit (target < 1 s)"
    )
    print(
        f"{label:<10} holding statement to everyone: {len(alert_posts)} posts in {took:6.1f} s; "
        f"rate-limit floor {floor:6.1f} s; {took / floor:4.2f}x the floor (target ≤ 1.1x); "
        f"{standin.throttled} 429s"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0, help="the stand-in's limit, per s")
    parser.add_argument("--head-start", type=int, default=1000, help="campaign posts before")
    parser.add_argument("--postgres", default=os.environ.get("RELAIS_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'c.db'}", args.members, args.rate, args.head_start)
    if args.postgres:
        with_postgres(
            args.postgres,
            lambda url: run("postgresql", url, args.members, args.rate, args.head_start),
        )
    else:
        print("postgresql skipped: pass --postgres URL or set RELAIS_BENCH_POSTGRES_URL")


if __name__ == "__main__":
    main()
