"""Campaigns through Slack, for real: the slash command and clicks signed to `POST /slack/events`,
the real slack_sdk client against the stand-in Slack; a `relais campaign send --wait` process
killed mid-way and resumed without a message doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.campaigns import service
from bot.campaigns.models import Campaign
from bot.clock import utcnow
from bot.delivery.models import SENT, Delivery
from bot.delivery.outbox import release_expired
from bot.web import create_app
from tests.conftest import DEMO_MEMBERS, LoopbackServer
from tests.slack_standin import SlackStandIn
from tests.test_slack import SECRET, SlackWorld, buttons

POST = "winter-energy-guide"


def demo_users() -> dict[str, str]:
    """A Slack user id for every demo member."""
    emails = [line.split(",")[0] for line in DEMO_MEMBERS.read_text().splitlines()[1:] if line]
    return {f"U{index:08d}": email for index, email in enumerate(emails, 1)}


USERS = demo_users()
HUGO = next(uid for uid, email in USERS.items() if email == "hugo.lambert@example.com")
EMMA = next(uid for uid, email in USERS.items() if email == "emma.wilson@example.com")


def any_time(programme_dir: Path, extra: str = "", slack: bool = True) -> None:
    """No quiet hours and every day a working day: these tests run at the real time of day."""
    config = programme_dir / "app.yaml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('  quiet_hours: { start: "19:00", end: "08:30" }\n', "")
    text = text.replace(
        "working_days: [mon, tue, wed, thu, fri]",
        "working_days: [mon, tue, wed, thu, fri, sat, sun]",
    )
    if slack:
        text = text.replace(
            "  slack:\n    enabled: false",
            "  slack:\n    enabled: true\n    process_before_response: true",
        )
    config.write_text(text + extra, encoding="utf-8")


@pytest.fixture
def slack_env(programme_dir: Path, monkeypatch) -> Iterator[tuple[SlackStandIn, str]]:  # type: ignore[no-untyped-def]
    standin = SlackStandIn(USERS)
    with LoopbackServer(standin.app) as api:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("SLACK_API_URL", f"{api.url}/api/")
        monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
        yield standin, api.url


@contextmanager
def world(runtime_factory, database_url, standin) -> Iterator[SlackWorld]:  # type: ignore[no-untyped-def]
    runtime = runtime_factory(database_url)
    assert set(runtime.platforms) == {"slack", "console"}
    with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
        yield SlackWorld(standin, server.url, runtime)


def share_urls(message: dict[str, Any]) -> list[str]:
    return [button["url"] for button in buttons(message) if button.get("url")]


@pytest.mark.parametrize("on_withdraw", ["update", "delete"])
def test_broadcast_in_slack_then_withdraw_retracts_every_message(  # type: ignore[no-untyped-def]
    runtime_factory, programme_dir, database_url, slack_env, on_withdraw
) -> None:
    any_time(programme_dir)
    config = programme_dir / "app.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("on_withdraw: update", f"on_withdraw: {on_withdraw}"), "utf-8")
    standin, _ = slack_env
    with world(runtime_factory, database_url, standin) as slack:
        broadcast_and_withdraw(slack, standin, on_withdraw)


def broadcast_and_withdraw(slack: SlackWorld, standin: SlackStandIn, on_withdraw: str) -> None:
    # Emma accepts the charter in Slack: her post comes with share buttons, the others' do not.
    slack.command(EMMA, "charter")
    slack.settled()
    (charter,) = slack.dms(EMMA)
    accept = next(b for b in buttons(charter) if b["action_id"].startswith("charter.accept"))
    slack.click(EMMA, accept, charter["ts"], "1700000998.000001")
    slack.settled()
    standin.posted.clear()
    answer = slack.command(HUGO, f"broadcast {POST} department:sales department:hr")
    assert answer.status_code == 200
    slack.settled()
    recipients = {
        uid
        for uid, email in USERS.items()
        if email
        in {
            "thomas.girard@example.com",
            "julien.roux@example.com",
            "emma.wilson@example.com",
            "amelie.garnier@example.com",
            "noah.bernard@example.com",
        }
    }
    for user in recipients:
        (post,) = slack.dms(user)
        assert post["metadata"]["event_payload"]["delivery"]
        urls = share_urls(post)
        if user == EMMA:
            assert len(urls) == 3 and all(u.startswith("http://127.0.0.1:8000/s/") for u in urls)
        else:  # the charter first
            assert urls == [] and "chart" in str(post["blocks"]).lower()
    (progress,) = slack.dms(HUGO)
    assert "Campaign 1" in str(progress["blocks"]) and "remaining: 5" in str(progress["blocks"])
    # The campaigns job updates the coordinator's message in place (chat.update, same ts).
    from tests.conftest import run_scheduled

    run_scheduled(slack.runtime, "campaigns", utcnow() + timedelta(seconds=1))
    slack.settled()
    (progress,) = slack.dms(HUGO)
    assert progress.get("edited") and "Delivered: 5" in str(progress["blocks"])
    withdraw = next(
        b for b in buttons(progress) if b["action_id"].startswith(service.WITHDRAW_ACTION)
    )
    slack.click(HUGO, withdraw, progress["ts"], "1700000999.000001")
    slack.settled()
    reply = slack.dms(HUGO)[-1]
    assert "5 messages already sent are being retracted" in str(reply["blocks"])
    for user in recipients:
        remaining = slack.dms(user)
        if on_withdraw == "delete":
            assert remaining == []
        else:
            (notice,) = remaining
            assert notice.get("edited") and "Winter guide" not in notice["text"]
            assert "withdrew this post" in str(notice["blocks"]) or "retiré" in str(
                notice["blocks"]
            )
    updated = standin.called("chat.update")
    deleted = standin.called("chat.delete")
    if on_withdraw == "delete":
        assert len(deleted) == 5
    else:
        assert len([u for u in updated if u["channel"] != "D" + HUGO[1:]]) == 5
    with Session(slack.runtime.engine) as session:
        assert session.exec(select(Campaign)).one().status == "withdrawn"


def test_a_killed_send_wait_is_resumed_without_doubles(  # type: ignore[no-untyped-def]
    runtime_factory, programme_dir, database_url, slack_env, tmp_path
) -> None:
    any_time(programme_dir)
    standin, _ = slack_env
    standin.post_rate = 4.0  # 15 messages take about four seconds
    runtime = runtime_factory(database_url)
    env = {
        **os.environ,
        "RELAIS_DATABASE_URL": database_url,
        "RELAIS_CONFIG": str(programme_dir / "app.yaml"),
        "RELAIS_LANG": "en",
    }
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "relais"),
            "campaign",
            "send",
            POST,
            "--to",
            "all",
            "--wait",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
    )
    deadline = time.monotonic() + 60
    while len(standin.posted) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(standin.posted) >= 5, process.stderr.read() if process.poll() is not None else ""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=20)
    with Session(runtime.engine) as session:
        campaign = session.exec(select(Campaign)).one()
        sent_before = len(session.exec(select(Delivery).where(Delivery.status == SENT)).all())
    assert campaign.recipients == 15 and sent_before < 15
    # Another process goes on once the dead one's leases expired (a minute later).
    with runtime.engine.begin() as connection:
        release_expired(connection, utcnow() + timedelta(minutes=2))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        asyncio.run(runtime.worker.drain())  # until the 429s' Retry-After are over too
        with Session(runtime.engine) as session:
            if len(session.exec(select(Delivery).where(Delivery.status == SENT)).all()) == 15:
                break
        time.sleep(0.2)
    per_user = Counter(post["channel"] for post in standin.posted)
    assert len(per_user) == 15 and set(per_user.values()) == {1}, per_user
    with Session(runtime.engine) as session:
        statuses = Counter(
            row.status
            for row in session.exec(select(Delivery).where(Delivery.campaign == str(campaign.id)))
        )
    assert statuses == {SENT: 15}
